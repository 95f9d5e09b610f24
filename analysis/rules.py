"""The consensus-rule language of the protocol (``include`` / ``exclude``) and the classification of statements.

Grammar (``and`` binds tighter than ``or``)::

    rule       := conjunction ("or" conjunction)*
    conjunction:= term ("and" term)*
    term       := "(" rule ")" | METRIC OP NUMBER
    METRIC     := n | pct_agree | pct_neutral | pct_disagree | median | iqr | mean | sd
    OP         := >= | > | <= | < | ==

Rules are parsed by a hand-written tokenizer and recursive-descent parser; nothing is ever passed to ``eval``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ._tally import group_index, value_counts
from .scale import check_ratings
from .summary import equal_groups_from_counts, summary_from_counts

__all__ = ["Rule", "RuleError", "parse_rule", "classify", "verdicts", "classify_summaries", "check_rule_scope",
           "METRICS", "OPERATORS", "SCOPES", "TOLERANCE"]

METRICS = ("n", "pct_agree", "pct_neutral", "pct_disagree", "median", "iqr", "mean", "sd")
OPERATORS = (">=", ">", "<=", "<", "==")
SCOPES = ("overall", "each_group", "equal_groups")
TOLERANCE = 1e-9
# Figures that summarise_equal_groups cannot give (NaN): a rule using them could never hold under equal_groups.
EQUAL_GROUPS_UNDEFINED = frozenset({"median", "iqr", "sd"})

_TOKEN = re.compile(r"\s*(?:(?P<number>-?(?:\d+\.?\d*|\.\d+))|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op>>=|<=|==|>|<)|(?P<paren>[()])|(?P<bad>\S))")


class RuleError(ValueError):
    """A consensus rule that cannot be read or used. ``str(error)`` is the English message; the attributes say the
    same in parts, so an application can put it in its reader's language:

    ``code``
        ``"expected"`` (``expected`` names what was expected at ``position``, ``token`` what was found there, ``None``
        for the end of the rule), ``"empty"``, ``"not_text"`` (``token`` is the type's name), ``"unknown_scope"``
        (``token`` is the scope) or ``"scope_figures"`` (``token`` lists the figures the scope does not compute).
    ``rule``
        The rule's text (``None`` when it was not text).
    ``position``
        The 1-based position of ``token`` in the rule, for ``"expected"``; ``None`` otherwise.
    ``expected``
        For ``"expected"``: ``"closing"``, ``"metric"``, ``"operator"``, ``"number"`` or ``"junction"``.
    """

    def __init__(self, message: str, code: str, rule: str | None = None, position: int | None = None,
                 token: str | None = None, expected: str | None = None):
        super().__init__(message)
        self.code, self.rule, self.position, self.token, self.expected = code, rule, position, token, expected


# What the parser expected, by RuleError.expected, as the English message says it.
EXPECTED = {
    "closing": '")" or "and" / "or"',
    "metric": f'a metric ({", ".join(METRICS)}) or "("',
    "operator": f"a comparison ({' '.join(OPERATORS)})",
    "number": "a number",
    "junction": '"and", "or" or the end of the rule',
}


@dataclass(frozen=True)
class _Token:
    kind: str  # number, word, op, paren, end
    text: str
    position: int  # 1-based


@dataclass(frozen=True)
class _Comparison:
    metric: str
    op: str
    number: float

    def evaluate(self, values: np.ndarray) -> np.ndarray:
        # The tolerance keeps a percentage of exactly 70 that floating point gives as 69.99999999999999 on the
        # intended side of ">= 70" (and likewise for the other operators). A NaN metric makes every comparison False.
        with np.errstate(invalid="ignore"):
            if self.op == ">=":
                return values >= self.number - TOLERANCE
            if self.op == ">":
                return values > self.number + TOLERANCE
            if self.op == "<=":
                return values <= self.number + TOLERANCE
            if self.op == "<":
                return values < self.number - TOLERANCE
            return np.abs(values - self.number) <= TOLERANCE


@dataclass(frozen=True)
class _Junction:
    op: str  # "and" | "or"
    terms: tuple

    def evaluate_with(self, lookup) -> np.ndarray:
        results = [_evaluate(term, lookup) for term in self.terms]
        combine = np.logical_and if self.op == "and" else np.logical_or
        out = results[0]
        for result in results[1:]:
            out = combine(out, result)
        return out


def _evaluate(node, lookup) -> np.ndarray:
    if isinstance(node, _Comparison):
        return node.evaluate(lookup(node.metric))
    return node.evaluate_with(lookup)


def _tokens(text: str) -> list[_Token]:
    out, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:  # only trailing whitespace is left
            break
        kind = match.lastgroup
        start = match.start(kind)
        out.append(_Token(kind, match.group(kind), start + 1))
        at = match.end()
    out.append(_Token("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, expected: str, token: _Token):
        found = "the end of the rule" if token.kind == "end" else repr(token.text)
        raise RuleError(f'rule "{self.text}": expected {EXPECTED[expected]} at position {token.position}, '
                        f'found {found}', "expected", self.text, token.position,
                        None if token.kind == "end" else token.text, expected)

    def rule(self):
        terms = [self.conjunction()]
        while self.peek().kind == "word" and self.peek().text == "or":
            self.take()
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else _Junction("or", tuple(terms))

    def conjunction(self):
        terms = [self.term()]
        while self.peek().kind == "word" and self.peek().text == "and":
            self.take()
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else _Junction("and", tuple(terms))

    def term(self):
        token = self.take()
        if token.kind == "paren" and token.text == "(":
            node = self.rule()
            closing = self.take()
            if not (closing.kind == "paren" and closing.text == ")"):
                self.fail("closing", closing)
            return node
        if token.kind != "word" or token.text not in METRICS:
            self.fail("metric", token)
        op = self.take()
        if op.kind != "op":
            self.fail("operator", op)
        number = self.take()
        if number.kind != "number":
            self.fail("number", number)
        return _Comparison(token.text, op.text, float(number.text))

    def parse(self):
        if self.peek().kind == "end":
            raise RuleError(f'rule "{self.text}": the rule is empty; expected a comparison such as "pct_agree >= 70"',
                            "empty", self.text)
        node = self.rule()
        token = self.peek()
        if token.kind != "end":
            self.fail("junction", token)
        return node


def _metrics(node) -> frozenset:
    if isinstance(node, _Comparison):
        return frozenset({node.metric})
    return frozenset().union(*(_metrics(term) for term in node.terms))


@dataclass(frozen=True)
class Rule:
    """A parsed consensus rule. ``text`` is the rule as written; ``metrics`` the metric names it uses."""

    text: str
    tree: object
    metrics: frozenset

    def evaluate(self, summary) -> np.ndarray:
        """Whether the rule holds for each statement of ``summary`` (a :class:`~analysis.summary.Summary` or any
        object or mapping with the metric arrays). A comparison with a NaN metric is False."""
        def lookup(metric):
            value = summary[metric] if isinstance(summary, Mapping) else getattr(summary, metric)
            return np.asarray(value, dtype=float)

        return np.asarray(_evaluate(self.tree, lookup), dtype=bool)


def parse_rule(text: str) -> Rule:
    r"""Parse a consensus rule such as ``"pct_agree >= 70 and pct_disagree < 15"``.

    Comparisons ``METRIC OP NUMBER`` joined by ``and`` / ``or`` (``and`` binds tighter) with parentheses; ``OP`` is
    one of ``>= > <= < ==`` and ``METRIC`` one of ``n pct_agree pct_neutral pct_disagree median iqr mean sd``.
    Comparisons allow a tolerance of :math:`10^{-9}`: :math:`x \geq c` is :math:`x \geq c - 10^{-9}`,
    :math:`x > c` is :math:`x > c + 10^{-9}`, :math:`x = c` is :math:`|x - c| \leq 10^{-9}`, so that a figure that
    is exactly the threshold in arithmetic is never flipped by floating-point rounding.

    Parameters
    ----------
    text : str

    Returns
    -------
    Rule

    Raises
    ------
    RuleError
        A ``ValueError`` naming the 1-based position in the rule and what was expected there (also as attributes).

    References
    ----------
    Diamond IR et al. (2014). Defining consensus: a systematic review recommends methodologic criteria for
    reporting of Delphi studies. Journal of Clinical Epidemiology 67:401-409.

    Examples
    --------
    >>> rule = parse_rule("pct_agree >= 70 and (median >= 7 or n < 5)")
    >>> sorted(rule.metrics)
    ['median', 'n', 'pct_agree']
    >>> rule.evaluate({"pct_agree": [70.0, 69.9], "median": [8, 8], "n": [10, 10]}).tolist()
    [True, False]
    >>> parse_rule("pct_agree >= ")
    Traceback (most recent call last):
    ...
    analysis.rules.RuleError: rule "pct_agree >= ": expected a number at position 14, found the end of the rule
    """
    if not isinstance(text, str):
        raise RuleError(f"rule: must be text such as \"pct_agree >= 70\", got {type(text).__name__}", "not_text",
                        token=type(text).__name__)
    tree = _Parser(text).parse()
    return Rule(text=text, tree=tree, metrics=_metrics(tree))


def _as_rule(rule) -> Rule:
    return rule if isinstance(rule, Rule) else parse_rule(rule)


def check_rule_scope(rule, scope: str) -> None:
    """Raise :class:`RuleError` (a ``ValueError``) if ``scope`` is unknown, or if the rule can never hold under it:
    equal-group figures have no median, IQR or SD (see :func:`analysis.summary.summarise_equal_groups`).

    Examples
    --------
    >>> check_rule_scope("median >= 7", "equal_groups")
    Traceback (most recent call last):
    ...
    analysis.rules.RuleError: rule "median >= 7" uses median, which the equal_groups scope does not compute (groups are weighted equally only in n, mean and the percentages); use pct_* or mean, or another scope
    """
    if scope not in SCOPES:
        raise RuleError(f"scope: {scope!r} is not one of {', '.join(SCOPES)}", "unknown_scope", token=scope)
    rule = _as_rule(rule)
    if scope == "equal_groups" and rule.metrics & EQUAL_GROUPS_UNDEFINED:
        used = ", ".join(sorted(rule.metrics & EQUAL_GROUPS_UNDEFINED))
        raise RuleError(f'rule "{rule.text}" uses {used}, which the equal_groups scope does not compute (groups are '
                        "weighted equally only in n, mean and the percentages); use pct_* or mean, or another scope",
                        "scope_figures", rule.text, token=used)


def verdicts(include, exclude, summary) -> np.ndarray:
    """``"in"`` where ``include`` holds, else ``"out"`` where ``exclude`` holds, else ``"none"``, per statement.

    Examples
    --------
    >>> verdicts("pct_agree >= 70", "pct_disagree >= 70", {"pct_agree": [80, 10, 50],
    ...          "pct_disagree": [0, 90, 50]}).tolist()
    ['in', 'out', 'none']
    """
    held_in = _as_rule(include).evaluate(summary)
    held_out = _as_rule(exclude).evaluate(summary)
    return np.where(held_in, "in", np.where(held_out, "out", "none")).astype("<U4")


def classify_summaries(include, exclude, scope: str, overall=None, by_group=None, equal_groups=None) -> np.ndarray:
    """The study classification (``in`` / ``out`` / ``none``) from precomputed summaries, so the app can reuse them.

    ``overall``: the rules on ``overall``. ``equal_groups``: the rules on ``equal_groups``. ``each_group``: *in* when
    ``include`` holds in every group of ``by_group`` (a mapping key -> summary) that has at least one rating on the
    statement, else *out* when ``exclude`` holds in all of them, else *none*; a statement no group rated is *none*.

    Examples
    --------
    >>> by_group = {"staff": {"n": [4, 0], "pct_agree": [80, np.nan]}, "users": {"n": [3, 0], "pct_agree": [60, np.nan]}}
    >>> classify_summaries("pct_agree >= 70", "pct_agree < 15", "each_group", by_group=by_group).tolist()
    ['none', 'none']
    """
    include, exclude = _as_rule(include), _as_rule(exclude)
    check_rule_scope(include, scope)
    check_rule_scope(exclude, scope)
    if scope == "overall":
        if overall is None:
            raise ValueError("classify_summaries: scope 'overall' needs the overall summary")
        return verdicts(include, exclude, overall)
    if scope == "equal_groups":
        if equal_groups is None:
            raise ValueError("classify_summaries: scope 'equal_groups' needs the equal-groups summary")
        return verdicts(include, exclude, equal_groups)
    if not by_group:
        raise ValueError("classify_summaries: scope 'each_group' needs the summaries of the groups")
    summaries = list(by_group.values())

    def n_of(summary):
        return np.asarray(summary["n"] if isinstance(summary, Mapping) else summary.n)

    rated = np.array([n_of(s) > 0 for s in summaries])
    all_in = np.where(rated, np.array([include.evaluate(s) for s in summaries]), True).all(axis=0)
    all_out = np.where(rated, np.array([exclude.evaluate(s) for s in summaries]), True).all(axis=0)
    any_rated = rated.any(axis=0)
    return np.where(any_rated & all_in, "in", np.where(any_rated & all_out, "out", "none")).astype("<U4")


def classify(ratings, groups, scale, include, exclude, scope: str = "overall",
             quantile_method: str = "linear") -> np.ndarray:
    """Classify each statement as consensus ``in``, ``out`` or ``none`` under the protocol's rules and scope.

    ``overall`` pools all panellists; ``each_group`` needs the rule to hold in every group with at least one rating
    on the statement (a statement nobody rated is ``none``); ``equal_groups`` applies the rules to
    :func:`~analysis.summary.summarise_equal_groups`, and refuses rules on median, IQR or SD, which it does not compute.

    Parameters
    ----------
    ratings : array_like, shape (panellists, statements)
    groups : array_like, shape (panellists,)
        Group label of each row (ignored by ``overall``; may be None then).
    scale : Scale
    include, exclude : str or Rule
    scope : {"overall", "each_group", "equal_groups"}
    quantile_method : str

    Returns
    -------
    ndarray of str

    Examples
    --------
    >>> from analysis import Scale
    >>> ratings = [[9, 1, 5], [8, 2, 5], [7, 9, 5], [9, 1, 5]]
    >>> classify(ratings, None, Scale(), "pct_agree >= 70", "pct_disagree >= 70").tolist()
    ['in', 'out', 'none']
    >>> classify(ratings, ["a", "a", "b", "b"], Scale(), "pct_agree >= 70", "pct_disagree >= 70",
    ...          scope="each_group").tolist()
    ['in', 'none', 'none']
    """
    include, exclude = _as_rule(include), _as_rule(exclude)
    check_rule_scope(include, scope)
    check_rule_scope(exclude, scope)
    x = check_ratings(ratings, scale)
    if scope == "overall":
        t = value_counts(x, scale.min, scale.n_points)[0]
        return verdicts(include, exclude, summary_from_counts(t, x.shape[0], scale, quantile_method))
    g, keys = group_index(groups, x.shape[0])
    counts = value_counts(x, scale.min, scale.n_points, g, len(keys))
    if scope == "equal_groups":
        return verdicts(include, exclude, equal_groups_from_counts(counts, x.shape[0], scale))
    by_group = {key: summary_from_counts(counts[i], int((g == i).sum()), scale, quantile_method)
                for i, key in enumerate(keys)}
    return classify_summaries(include, exclude, "each_group", by_group=by_group)
