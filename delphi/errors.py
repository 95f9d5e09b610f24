"""Input with problems, as one typed error that carries each problem's field.

A protocol file, a contacts or ratings CSV, a statement list: each is checked whole, and every problem is reported at
once, in plain words, tied to where it is (a protocol key such as ``consensus.include``, a CSV line, a form field), so
a page can show each message beside its field without parsing the message back.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Iterable


class Term(str):
    """A word from the catalogue (marked with ``N_``) put into a problem's message, such as "a list" in "must be text
    in quotes, not a list": :meth:`Problem.shown` translates it with the message."""


@dataclass(frozen=True)
class Problem:
    """One problem: the message a person reads, and where it is (``field``: a protocol key or a form field's name;
    ``line``: a line of an uploaded file), when it is anywhere in particular.

    A problem found outside a request (the protocol checker also serves the command line) keeps ``message`` in English
    and carries its catalogue text in ``msgid`` (marked with ``N_``) and the values put into it in ``params``: a page
    shows :meth:`shown`, the message in its reader's language; the command line and logs use ``message``."""

    message: str
    field: str | None = None
    line: int | None = None
    msgid: str | None = dataclass_field(default=None, compare=False)
    params: tuple[tuple[str, Any], ...] = dataclass_field(default=(), compare=False)

    def __str__(self) -> str:
        return self.message

    def shown(self) -> str:
        """The message in the language of the page being drawn ("key: message" when it names a key)."""
        if self.msgid is None:
            return self.message
        from flask_babel import gettext

        params = {name: gettext(value) if isinstance(value, Term) else value for name, value in self.params}
        text = gettext(self.msgid, **params) if params else gettext(self.msgid)
        return f"{self.field}: {text}" if self.field else text


class InputErrors(ValueError):
    """Input that cannot be used as given; ``problems`` lists each :class:`Problem`, ``errors`` their messages."""

    def __init__(self, problems: Iterable[Problem | str]):
        self.problems = [p if isinstance(p, Problem) else Problem(p) for p in problems]
        super().__init__("; ".join(self.errors))

    @property
    def errors(self) -> list[str]:
        return [p.message for p in self.problems]

    @property
    def shown_errors(self) -> list[str]:
        """The messages in the language of the page being drawn (:meth:`Problem.shown`)."""
        return [p.shown() for p in self.problems]
