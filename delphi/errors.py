"""Input with problems, as one typed error that carries each problem's field.

A protocol file, a contacts or ratings CSV, a statement list: each is checked whole, and every problem is reported at
once, in plain words, tied to where it is (a protocol key such as ``consensus.include``, a CSV line, a form field), so
a page can show each message beside its field without parsing the message back.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Problem:
    """One problem: the message a person reads, and where it is (``field``: a protocol key or a form field's name;
    ``line``: a line of an uploaded file), when it is anywhere in particular."""

    message: str
    field: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        return self.message


class InputErrors(ValueError):
    """Input that cannot be used as given; ``problems`` lists each :class:`Problem`, ``errors`` their messages."""

    def __init__(self, problems: Iterable[Problem | str]):
        self.problems = [p if isinstance(p, Problem) else Problem(p) for p in problems]
        super().__init__("; ".join(self.errors))

    @property
    def errors(self) -> list[str]:
        return [p.message for p in self.problems]
