"""The study protocol file (``../shared/spec/protocol.md``): read, validate, and write it back.

``load_protocol`` checks the whole file and raises :class:`ProtocolError` listing every problem, each naming the key;
nothing is created from a file with any problem.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

LANGUAGES = ("en", "nb")
SCOPES = ("overall", "each_group", "equal_groups")
STOPPING_RULES = ("max_rounds", "all_classified", "stable", "all_classified_or_stable")
WITHDRAWAL_POLICIES = ("keep", "delete")
QUANTILE_METHODS = (
    "linear", "weibull", "hazen", "median_unbiased", "normal_unbiased", "inverted_cdf", "averaged_inverted_cdf",
    "closest_observation", "interpolated_inverted_cdf",
)
GROUP_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
STATEMENT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
MAX_TEXT = 2000


class ProtocolError(ValueError):
    """A protocol file with problems; ``errors`` lists each one in plain words, naming the key."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


@dataclass(frozen=True)
class ScaleSpec:
    min: int = 1
    max: int = 9
    unable_to_rate: bool = True
    labels: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConsensusSpec:
    agree: tuple[int, int] = (7, 9)
    disagree: tuple[int, int] = (1, 3)
    scope: str = "overall"
    include: str = "pct_agree >= 70 and pct_disagree < 15"
    exclude: str = "pct_disagree >= 70 and pct_agree < 15"
    stable_change: float = 15.0
    quantile_method: str = "linear"


@dataclass(frozen=True)
class GroupSpec:
    key: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class StatementSpec:
    code: str
    domain: str
    text: str


@dataclass(frozen=True)
class Protocol:
    title: str
    language: str = "en"
    max_rounds: int = 3
    min_group_feedback: int = 5
    scale: ScaleSpec = field(default_factory=ScaleSpec)
    consensus: ConsensusSpec = field(default_factory=ConsensusSpec)
    groups: tuple[GroupSpec, ...] = ()
    statements: tuple[StatementSpec, ...] = ()
    information: str = ""
    consent: str = ""
    stopping: str = "all_classified_or_stable"
    withdrawal: str = "keep"
    allow_group_choice: bool = False
    allow_suggestions: bool = True
    open_questions: tuple[str, ...] = ()


def load_protocol(source: str | Path) -> Protocol:
    """Read a protocol from a path, or from TOML text when ``source`` is a str that is not an existing file."""
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and Path(source).is_file()):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ProtocolError([f"cannot read {path}: {exc.strerror}"]) from None
        except UnicodeDecodeError:
            raise ProtocolError([f"{path} is not UTF-8 text"]) from None
    else:
        text = str(source)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError([f"the file is not valid TOML: {exc}"]) from None
    return parse_protocol(raw)


def parse_protocol(raw: dict[str, Any]) -> Protocol:
    """Validate a protocol already read from TOML (a dict) and build a :class:`Protocol`."""
    errors: list[str] = []
    check = _Checker(errors)

    known_top = {
        "title", "language", "max_rounds", "min_group_feedback", "scale", "consensus", "groups", "statements",
        "information", "consent", "stopping", "withdrawal", "allow_group_choice", "allow_suggestions",
        "open_questions",
    }
    for key in raw:
        if key not in known_top:
            errors.append(f"{key}: unknown key (known keys: {', '.join(sorted(known_top))})")

    title = check.text(raw, "title", required=True, max_len=300)
    language = check.choice(raw, "language", LANGUAGES, "en")
    max_rounds = check.integer(raw, "max_rounds", 3, low=1, high=10)
    min_group_feedback = check.integer(raw, "min_group_feedback", 5, low=1, high=1000)
    information = check.text(raw, "information", max_len=20000)
    consent = check.text(raw, "consent", max_len=20000)
    stopping = check.choice(raw, "stopping", STOPPING_RULES, "all_classified_or_stable")
    withdrawal = check.choice(raw, "withdrawal", WITHDRAWAL_POLICIES, "keep")
    allow_group_choice = check.boolean(raw, "allow_group_choice", False)
    allow_suggestions = check.boolean(raw, "allow_suggestions", True)

    scale = _parse_scale(check.table(raw, "scale"), errors)
    consensus = _parse_consensus(check.table(raw, "consensus"), scale, errors)
    groups = _parse_groups(raw.get("groups"), errors)
    statements = _parse_statements(raw.get("statements", []), errors)
    open_questions = _parse_open_questions(raw.get("open_questions", []), errors)

    if errors:
        raise ProtocolError(errors)
    return Protocol(
        title=title, language=language, max_rounds=max_rounds, min_group_feedback=min_group_feedback, scale=scale,
        consensus=consensus, groups=groups, statements=statements, information=information, consent=consent,
        stopping=stopping, withdrawal=withdrawal, allow_group_choice=allow_group_choice,
        allow_suggestions=allow_suggestions, open_questions=open_questions,
    )


class _Checker:
    """Reads one key of a table, appending a message that names the key when the value is wrong."""

    def __init__(self, errors: list[str]):
        self.errors = errors

    def table(self, raw: dict, key: str) -> dict:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            self.errors.append(f"{key}: must be a table ([{key}])")
            return {}
        return value

    def text(self, raw: dict, key: str, *, required: bool = False, max_len: int = MAX_TEXT, prefix: str = "") -> str:
        value = raw.get(key)
        if value is None:
            if required:
                self.errors.append(f"{prefix}{key}: missing; it is required")
            return ""
        if not isinstance(value, str):
            self.errors.append(f"{prefix}{key}: must be text in quotes, not {_kind(value)}")
            return ""
        value = value.strip()
        if required and not value:
            self.errors.append(f"{prefix}{key}: must not be empty")
        if len(value) > max_len:
            self.errors.append(f"{prefix}{key}: is {len(value)} characters long; the limit is {max_len}")
        if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
            self.errors.append(f"{prefix}{key}: contains control characters")
        return value

    def integer(self, raw: dict, key: str, default: int, *, low: int, high: int, prefix: str = "") -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors.append(f"{prefix}{key}: must be a whole number, not {_kind(value)}")
            return default
        if not low <= value <= high:
            self.errors.append(f"{prefix}{key}: must be between {low} and {high}, not {value}")
        return value

    def number(self, raw: dict, key: str, default: float, *, low: float, high: float, prefix: str = "") -> float:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.errors.append(f"{prefix}{key}: must be a number, not {_kind(value)}")
            return default
        if not low <= value <= high:
            self.errors.append(f"{prefix}{key}: must be between {low:g} and {high:g}, not {value:g}")
        return float(value)

    def boolean(self, raw: dict, key: str, default: bool, prefix: str = "") -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.errors.append(f"{prefix}{key}: must be true or false, not {_kind(value)}")
            return default
        return value

    def choice(self, raw: dict, key: str, choices: tuple[str, ...], default: str, prefix: str = "") -> str:
        value = raw.get(key, default)
        if value not in choices:
            self.errors.append(f"{prefix}{key}: must be one of {', '.join(repr(c) for c in choices)}, not {value!r}")
            return default
        return value


def _kind(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "a table"}.get(
        type(value), type(value).__name__
    )


def _parse_scale(raw: dict, errors: list[str]) -> ScaleSpec:
    check = _Checker(errors)
    for key in raw:
        if key not in {"min", "max", "unable_to_rate", "labels"}:
            errors.append(f"scale.{key}: unknown key (known: min, max, unable_to_rate, labels)")
    low = check.integer(raw, "min", 1, low=0, high=100, prefix="scale.")
    high = check.integer(raw, "max", 9, low=1, high=101, prefix="scale.")
    if low >= high:
        errors.append(f"scale: min ({low}) must be smaller than max ({high})")
    elif high - low > 100:
        errors.append("scale: at most 101 points")
    unable = check.boolean(raw, "unable_to_rate", True, prefix="scale.")
    labels: dict[int, str] = {}
    raw_labels = raw.get("labels", {})
    if not isinstance(raw_labels, dict):
        errors.append("scale.labels: must be a table such as { \"1\" = \"Not important\" }")
        raw_labels = {}
    for point, label in raw_labels.items():
        try:
            number = int(point)
        except ValueError:
            errors.append(f"scale.labels.{point}: the key must be a whole number on the scale")
            continue
        if not low <= number <= high:
            errors.append(f"scale.labels.{point}: {number} is not on the scale {low}-{high}")
        if not isinstance(label, str) or not label.strip():
            errors.append(f"scale.labels.{point}: must be non-empty text")
            continue
        labels[number] = label.strip()
    return ScaleSpec(min=low, max=high, unable_to_rate=unable, labels=dict(sorted(labels.items())))


def _parse_band(raw: dict, key: str, scale: ScaleSpec, default: tuple[int, int], errors: list[str]):
    value = raw.get(key, list(default))
    if (
        not isinstance(value, list)
        or len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
    ):
        errors.append(f"consensus.{key}: must be two whole numbers such as [7, 9]")
        return default
    band = (value[0], value[1])
    if band[0] > band[1]:
        errors.append(f"consensus.{key}: the first number must not be larger than the second")
    if band[0] < scale.min or band[1] > scale.max:
        errors.append(f"consensus.{key}: {list(band)} must lie on the scale {scale.min}-{scale.max}")
    return band


def _parse_consensus(raw: dict, scale: ScaleSpec, errors: list[str]) -> ConsensusSpec:
    from analysis import check_rule_scope, parse_rule

    check = _Checker(errors)
    known = {"agree", "disagree", "scope", "include", "exclude", "stable_change", "quantile_method"}
    for key in raw:
        if key not in known:
            errors.append(f"consensus.{key}: unknown key (known: {', '.join(sorted(known))})")
    defaults = ConsensusSpec()
    agree = _parse_band(raw, "agree", scale, defaults.agree, errors)
    disagree = _parse_band(raw, "disagree", scale, defaults.disagree, errors)
    if not (agree[1] < disagree[0] or disagree[1] < agree[0]):
        errors.append(f"consensus: the agree band {list(agree)} and disagree band {list(disagree)} overlap")
    scope = check.choice(raw, "scope", SCOPES, defaults.scope, prefix="consensus.")
    rules = {}
    for key in ("include", "exclude"):
        text = check.text(raw, key, max_len=500, prefix="consensus.") if key in raw else getattr(defaults, key)
        rules[key] = text
        if not text:
            errors.append(f"consensus.{key}: must not be empty")
            continue
        try:
            rules[key + "_rule"] = parse_rule(text)
        except ValueError as exc:
            errors.append(f"consensus.{key}: {exc}")
    for key in ("include", "exclude"):
        if key + "_rule" in rules and scope in SCOPES:
            try:
                check_rule_scope(rules[key + "_rule"], scope)
            except ValueError as exc:
                errors.append(f"consensus.{key}: {exc}")
    stable_change = check.number(raw, "stable_change", defaults.stable_change, low=0, high=100, prefix="consensus.")
    quantile_method = check.choice(raw, "quantile_method", QUANTILE_METHODS, "linear", prefix="consensus.")
    return ConsensusSpec(
        agree=agree, disagree=disagree, scope=scope, include=rules["include"], exclude=rules["exclude"],
        stable_change=stable_change, quantile_method=quantile_method,
    )


def _parse_groups(raw: Any, errors: list[str]) -> tuple[GroupSpec, ...]:
    if raw is None:
        errors.append("groups: missing; list at least one stakeholder group as [[groups]] with key and name")
        return ()
    if not isinstance(raw, list) or not all(isinstance(g, dict) for g in raw):
        errors.append("groups: must be a list of tables ([[groups]])")
        return ()
    if not raw:
        errors.append("groups: list at least one stakeholder group")
    groups, seen = [], set()
    for i, entry in enumerate(raw, start=1):
        check = _Checker(errors)
        prefix = f"groups[{i}]."
        for key in entry:
            if key not in {"key", "name", "description"}:
                errors.append(f"{prefix}{key}: unknown key (known: key, name, description)")
        key = check.text(entry, "key", required=True, max_len=40, prefix=prefix)
        name = check.text(entry, "name", required=True, max_len=200, prefix=prefix)
        description = check.text(entry, "description", max_len=500, prefix=prefix)
        if key and not GROUP_KEY.match(key):
            errors.append(f"{prefix}key: {key!r} must start with a small letter and use only a-z, 0-9 and _")
        if key in seen:
            errors.append(f"{prefix}key: {key!r} is used by an earlier group")
        seen.add(key)
        groups.append(GroupSpec(key=key, name=name, description=description))
    return tuple(groups)


def _parse_statements(raw: Any, errors: list[str]) -> tuple[StatementSpec, ...]:
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        errors.append("statements: must be a list of tables ([[statements]])")
        return ()
    statements, seen = [], set()
    for i, entry in enumerate(raw, start=1):
        check = _Checker(errors)
        prefix = f"statements[{i}]."
        for key in entry:
            if key not in {"code", "domain", "text"}:
                errors.append(f"{prefix}{key}: unknown key (known: code, domain, text)")
        code = check.text(entry, "code", max_len=40, prefix=prefix) or f"S{i:02d}"
        if not STATEMENT_CODE.match(code):
            errors.append(f"{prefix}code: {code!r} may use only letters, digits, '-', '_' and '.'")
        if code in seen:
            errors.append(f"{prefix}code: {code!r} is used by an earlier statement")
        seen.add(code)
        domain = check.text(entry, "domain", max_len=200, prefix=prefix)
        text = check.text(entry, "text", required=True, prefix=prefix)
        statements.append(StatementSpec(code=code, domain=domain, text=text))
    return tuple(statements)


def _parse_open_questions(raw: Any, errors: list[str]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(q, str) and q.strip() for q in raw):
        errors.append("open_questions: must be a list of non-empty texts")
        return ()
    return tuple(q.strip() for q in raw)


def protocol_to_toml(protocol: Protocol) -> str:
    """Write a protocol as TOML that :func:`load_protocol` reads back to an equal :class:`Protocol`."""
    doc: dict[str, Any] = {
        "title": protocol.title,
        "language": protocol.language,
        "max_rounds": protocol.max_rounds,
        "min_group_feedback": protocol.min_group_feedback,
        "stopping": protocol.stopping,
        "withdrawal": protocol.withdrawal,
        "allow_group_choice": protocol.allow_group_choice,
        "allow_suggestions": protocol.allow_suggestions,
    }
    if protocol.information:
        doc["information"] = protocol.information
    if protocol.consent:
        doc["consent"] = protocol.consent
    if protocol.open_questions:
        doc["open_questions"] = list(protocol.open_questions)
    doc["scale"] = {
        "min": protocol.scale.min,
        "max": protocol.scale.max,
        "unable_to_rate": protocol.scale.unable_to_rate,
        "labels": {str(k): v for k, v in protocol.scale.labels.items()},
    }
    c = protocol.consensus
    doc["consensus"] = {
        "agree": list(c.agree), "disagree": list(c.disagree), "scope": c.scope, "include": c.include,
        "exclude": c.exclude, "stable_change": c.stable_change, "quantile_method": c.quantile_method,
    }
    doc["groups"] = [
        {"key": g.key, "name": g.name, **({"description": g.description} if g.description else {})}
        for g in protocol.groups
    ]
    if protocol.statements:
        doc["statements"] = [
            {"code": s.code, **({"domain": s.domain} if s.domain else {}), "text": s.text} for s in protocol.statements
        ]
    return tomli_w.dumps(doc, multiline_strings=True)
STATEMENT_BANK = Path(__file__).resolve().parent / "bank" / "recovery_practice.toml"
