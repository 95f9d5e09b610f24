"""A consensus rule's problem (``analysis.RuleError``) in the words of the person reading it.

``analysis`` never imports Flask or Babel, so it states its problems in English with the parts as attributes; here
each kind of problem has a catalogue text, so the settings page, the live rule check and the protocol upload show it in
their reader's language, while the command line keeps the English of ``str(error)``.
"""
from __future__ import annotations

from analysis import RuleError
from delphi.errors import Problem, Term
from delphi.protocol import N_

# The English of each text is exactly the English of analysis.rules (a test compares them).
MESSAGES = {
    "expected": N_('rule "%(rule)s": expected %(expected)s at position %(position)s, found %(found)s'),
    "empty": N_('rule "%(rule)s": the rule is empty; expected a comparison such as "pct_agree >= 70"'),
    "not_text": N_('rule: must be text such as "pct_agree >= 70", got %(token)s'),
    "unknown_scope": N_("scope: %(token)s is not one of overall, each_group, equal_groups"),
    "scope_figures": N_('rule "%(rule)s" uses %(token)s, which the equal_groups scope does not compute (groups are '
                        "weighted equally only in n, mean and the percentages); use pct_* or mean, or another scope"),
}
EXPECTED = {
    "closing": N_('")" or "and" / "or"'),
    "metric": N_('a metric (n, pct_agree, pct_neutral, pct_disagree, median, iqr, mean, sd) or "("'),
    "operator": N_("a comparison (>= > <= < ==)"),
    "number": N_("a number"),
    "junction": N_('"and", "or" or the end of the rule'),
}
END_OF_RULE = N_("the end of the rule")


def rule_problem(key: str | None, error: ValueError) -> Problem:
    """The problem ``error`` (from ``analysis.parse_rule`` or ``check_rule_scope``) at protocol key ``key`` (or at no
    key): ``message`` is the English "key: error", :meth:`~delphi.errors.Problem.shown` the reader's language."""
    message = f"{key}: {error}" if key else str(error)
    if not isinstance(error, RuleError) or error.code not in MESSAGES:
        return Problem(message, field=key)
    params = {"rule": error.rule, "position": error.position}
    if error.code == "expected":
        params["expected"] = Term(EXPECTED[error.expected])
        params["found"] = Term(END_OF_RULE) if error.token is None else repr(error.token)
    elif error.code == "unknown_scope":
        params["token"] = repr(error.token)
    else:
        params["token"] = error.token
    return Problem(message, field=key, msgid=MESSAGES[error.code], params=tuple(params.items()))


def rule_message(error: ValueError) -> str:
    """The rule's problem as a page shows it, in its reader's language."""
    return rule_problem(None, error).shown()
