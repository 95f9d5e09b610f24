"""`delphi panel ...` and `delphi round ...`: the facilitator's work from the command line (cli.md)."""
from __future__ import annotations
