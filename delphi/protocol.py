"""The study protocol file (``../shared/spec/protocol.md``): read, validate, and write it back.

``load_protocol`` checks the whole file and raises :class:`ProtocolError` listing every problem, each naming the key;
nothing is created from a file with any problem.
"""
from __future__ import annotations

import enum
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

from delphi.errors import InputErrors, Problem, Term
from delphi.free_text import clean_text
from delphi.localised import join_protocol, split_protocol


def N_(message: str) -> str:
    """Marks an English text for the translation catalogue (``pybabel extract`` knows ``N_``) without translating it:
    a page that shows it translates it with ``gettext``; reports and files keep the English."""
    return message


class RichEnum(enum.Enum):
    """An Enum whose members carry the words people read: ``title`` (a choice on a form) from ``__titles__`` and,
    where a report's methods describe the setting in a sentence, ``phrase`` from ``__phrases__``; both keyed by
    member name, as indico's ``RichEnum.__titles__``."""

    __titles__: dict[str, str] = {}
    __phrases__: dict[str, str] = {}

    @property
    def title(self) -> str:
        return self.__titles__[self.name]

    @property
    def phrase(self) -> str:
        return self.__phrases__[self.name]

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, title) pairs for a form's choices."""
        return [(member.value, member.title) for member in cls]


class ConsensusScope(RichEnum):
    """Whose ratings the consensus rules are applied to (``analysis.SCOPES``)."""

    overall = "overall"
    each_group = "each_group"
    equal_groups = "equal_groups"

    __titles__ = {
        "overall": N_("Overall: the rule is applied to all panellists' ratings pooled"),
        "each_group": N_("Each group: the rule must hold in every stakeholder group that rated"),
        "equal_groups": N_("Equal groups: each group weighs the same, whatever its size"),
    }
    __phrases__ = {
        "overall": "applied to all panellists' ratings pooled",
        "each_group": "required to hold in every stakeholder group that rated the statement (multi-stakeholder "
                      "consensus)",
        "equal_groups": "applied to figures in which each stakeholder group weighs the same, whatever its size",
    }


class StoppingRule(RichEnum):
    """When the study has done its work (the study page says so; the owner closes it)."""

    max_rounds = "max_rounds"
    all_classified = "all_classified"
    stable = "stable"
    all_classified_or_stable = "all_classified_or_stable"

    __titles__ = {
        "max_rounds": N_("Only when the maximum number of rounds is reached"),
        "all_classified": N_("When every statement is in or out (or at the maximum)"),
        "stable": N_("When every statement without consensus is stable between rounds (or at the maximum)"),
        "all_classified_or_stable": N_("When every statement is in or out, or the rest are stable (or at the "
                                       "maximum)"),
    }
    __phrases__ = {
        "max_rounds": "the study runs its maximum number of rounds",
        "all_classified": "the study stops when every statement is classified in or out, or at the maximum number "
                          "of rounds",
        "stable": "the study stops when every carried-forward statement is stable between rounds, or at the maximum",
        "all_classified_or_stable": "the study stops when every statement is classified or stable between rounds, "
                                    "or at the maximum number of rounds",
    }


class WithdrawalPolicy(RichEnum):
    """What happens to a panellist's answers when they leave the study (their contact details are erased either
    way). Panellists consent under it, so it locks when round 1 opens."""

    keep = "keep"  # ratings stay, anonymous, in the analysis; contact details are erased
    delete = "delete"  # ratings are deleted too

    __titles__ = {
        "keep": N_("Keep their answers in the analysis, with no trace of whose they were"),
        "delete": N_("Delete their answers too"),
    }


LANGUAGES = ("en", "nb")
SCOPES = ConsensusScope.values()
STOPPING_RULES = StoppingRule.values()
WITHDRAWAL_POLICIES = WithdrawalPolicy.values()
QUANTILE_METHODS = (
    "linear", "weibull", "hazen", "median_unbiased", "normal_unbiased", "inverted_cdf", "averaged_inverted_cdf",
    "closest_observation", "interpolated_inverted_cdf",
)
GROUP_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
STATEMENT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
MAX_TEXT = 2000
# How big a study may be, for the web and for files alike (docs/limits.md): far above what a Delphi panel can rate
# (the national-scale benchmark has 4 groups and 200 statements), and small enough that every page stays usable.
MAX_GROUPS = 20
MAX_STATEMENTS = 500
MAX_OPEN_QUESTIONS = 50
MAX_QUESTION = 1000  # characters of an open question
MAX_LABEL = 200
MAX_DEPTH = 4  # lists and tables inside each other (the top-level table not counted)
MAX_SUPPORT_SERVICES = 10
MAX_MINUTES = 600
WEB_ADDRESS = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{1,38}$")


class ProtocolError(InputErrors):
    """A protocol file with problems; each :class:`~delphi.errors.Problem` carries its key in ``field`` (such as
    ``consensus.include`` or ``groups[2].key``), and ``errors`` lists the messages, each naming that key."""


def at(key: str, message: str, **params: Any) -> Problem:
    """The problem ``message`` (English, marked with ``N_``; ``%(name)s`` filled from ``params``) with protocol key
    ``key``: read as "key: message", carried as ``field``; a page shows it in its reader's language
    (:meth:`~delphi.errors.Problem.shown`), the command line in English."""
    text = message % {k: str(v) for k, v in params.items()} if params else message
    return Problem(f"{key}: {text}", field=key, msgid=message, params=tuple(params.items()))


def whole(message: str, **params: Any) -> Problem:
    """A problem with the whole file (no key), as :func:`at`."""
    text = message % {k: str(v) for k, v in params.items()} if params else message
    return Problem(text, msgid=message, params=tuple(params.items()))


@dataclass(frozen=True)
class ScaleSpec:
    min: int = 1
    max: int = 9
    unable_to_rate: bool = True
    # "Prefer not to answer" beside "unable to rate": the panellist's right not to answer, counted apart (issue 22).
    prefer_not_to_answer: bool = False
    labels: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConsensusSpec:
    agree: tuple[int, int] = (7, 9)
    disagree: tuple[int, int] = (1, 3)
    scope: str = ConsensusScope.overall.value
    include: str = "pct_agree >= 70 and pct_disagree < 15"
    exclude: str = "pct_disagree >= 70 and pct_agree < 15"
    stable_change: float = 15.0
    quantile_method: str = "linear"
    unable_in_denominator: bool = False  # count "unable to rate" in the denominator of pct_agree/neutral/disagree


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
    column: str = ""  # the statement's column in a wide ratings file from elsewhere, when not its code (cli.md)


@dataclass(frozen=True)
class SupportService:
    """Help a panellist can turn to, such as a crisis line: its name, and a phone number or web address or both."""

    name: str
    phone: str = ""
    url: str = ""
    hours: str = ""  # when it is open, as the study team writes it ("every day, 24 hours")


@dataclass(frozen=True)
class SupportSpec:
    """Who panellists can ask about the study, and where they can find support (the help panel on every page)."""

    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    services: tuple[SupportService, ...] = ()


# Issue 23: the feedback formats an arm of a study within the study can show from round 2 on (docs/experiments.md).
FEEDBACK_FORMATS = ("panel", "all_groups", "own_group")  # the panel only; the panel and every group; and own group
STATEMENT_ORDERS = ("fixed", "random")  # the protocol's order, or a random order per panellist
ALLOCATION_METHODS = ("stratified-blocks",)  # permuted blocks within each stakeholder group


@dataclass(frozen=True)
class ArmSpec:
    """One arm of a randomised comparison of feedback formats: what its panellists see from round 2 on."""

    key: str
    name: str
    feedback: str = "all_groups"  # one of FEEDBACK_FORMATS
    comments: bool = True  # whether the panel's approved comments are shown
    order: str = "fixed"  # one of STATEMENT_ORDERS


@dataclass(frozen=True)
class ExperimentSpec:
    """A study within the study (``[experiment]``, ``[[experiment.arms]]``), locked when round 1 opens.

    ``seed`` is never written by the facilitator: the app draws it when round 1 opens (allocation concealment) and the
    exported protocol states it afterwards."""

    arms: tuple[ArmSpec, ...]
    allocation: str = "stratified-blocks"  # one of ALLOCATION_METHODS
    block_size: int | None = None  # a multiple of the number of arms; None: twice the number of arms
    seed: int | None = None


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
    stopping: str = StoppingRule.all_classified_or_stable.value
    withdrawal: str = WithdrawalPolicy.keep.value
    allow_group_choice: bool = False
    allow_suggestions: bool = True
    open_questions: tuple[str, ...] = ()
    # How long a round takes, as panellists are told on the start page; 0: estimated from the number of statements.
    minutes: int = 0
    support: SupportSpec = field(default_factory=SupportSpec)
    experiment: ExperimentSpec | None = None  # issue 23: randomised feedback formats; None: no experiment
    # Issue 21 (delphi/localised.py): the languages offered when more than ``language`` (() : only it), and each
    # text's other languages by protocol key ({"statements[3].text": {"en": "..."}}); the texts above are the
    # study language's.
    languages: tuple[str, ...] = ()
    translations: dict[str, dict[str, str]] = field(default_factory=dict)


def load_protocol(source: str | Path) -> Protocol:
    """Read a protocol from a path, or from TOML text when ``source`` is a str that is not an existing file (text
    from a person, such as an upload, goes to :func:`protocol_from_text`, which never opens a file)."""
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and _is_file(source)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ProtocolError([whole(N_("cannot read %(path)s: %(reason)s"), path=path,
                                       reason=exc.strerror)]) from None
        except UnicodeDecodeError:
            raise ProtocolError([whole(N_("%(path)s is not UTF-8 text"), path=path)]) from None
    else:
        text = str(source)
    return protocol_from_text(text)


def _is_file(name: str) -> bool:
    try:
        return Path(name).is_file()
    except (OSError, ValueError):  # a name too long for the system, a NUL byte: not a file
        return False


def protocol_from_text(text: str) -> Protocol:
    """Read a protocol from TOML text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError([whole(N_("the file is not valid TOML: %(reason)s"), reason=exc)]) from None
    except RecursionError:  # tomllib reads nested lists and tables recursively: a few hundred levels exhaust it
        raise ProtocolError([_too_deep()]) from None
    return parse_protocol(raw)


def _too_deep() -> Problem:
    return whole(N_("the file puts lists or tables inside each other more than %(depth)s levels deep; a protocol "
                    "needs at most 3 (such as [[statements]] with text = { en = \"...\" })"), depth=MAX_DEPTH)


def _depth(value: Any) -> int:
    """How many lists and tables lie inside each other in ``value`` (read without recursion, level by level)."""
    depth, level = 0, [value]
    while level:
        level = [inner for item in level if isinstance(item, (dict, list))
                 for inner in (item.values() if isinstance(item, dict) else item)]
        depth += 1
        if depth > MAX_DEPTH + 1:
            break
    return depth - 1


def parse_protocol(raw: dict[str, Any]) -> Protocol:
    """Validate a protocol already read from TOML (a dict) and build a :class:`Protocol`."""
    if _depth(raw) > MAX_DEPTH:
        raise ProtocolError([_too_deep()])
    problems: list[Problem] = []
    check = _Checker(problems)
    raw, languages, translations = split_protocol(raw, LANGUAGES, problems)

    known_top = tuple(key for key in _keys(Protocol) if key != "translations")
    for key in raw:
        if key not in known_top:
            problems.append(at(key, N_("unknown key (known keys: %(known)s)"), known=", ".join(sorted(known_top))))

    title = check.text(raw, "title", required=True, max_len=300)
    language = check.choice(raw, "language", LANGUAGES, Protocol.language)
    max_rounds = check.integer(raw, "max_rounds", Protocol.max_rounds, low=1, high=10)
    min_group_feedback = check.integer(raw, "min_group_feedback", Protocol.min_group_feedback, low=1, high=1000)
    information = check.text(raw, "information", max_len=20000)
    consent = check.text(raw, "consent", max_len=20000)
    stopping = check.choice(raw, "stopping", STOPPING_RULES, Protocol.stopping)
    withdrawal = check.choice(raw, "withdrawal", WITHDRAWAL_POLICIES, Protocol.withdrawal)
    allow_group_choice = check.boolean(raw, "allow_group_choice", Protocol.allow_group_choice)
    allow_suggestions = check.boolean(raw, "allow_suggestions", Protocol.allow_suggestions)
    minutes = check.integer(raw, "minutes", Protocol.minutes, low=0, high=MAX_MINUTES)
    support = _parse_support(check.table(raw, "support"), problems)
    experiment = _parse_experiment(raw, problems)

    scale = _parse_scale(check.table(raw, "scale"), problems)
    consensus = _parse_consensus(check.table(raw, "consensus"), scale, problems)
    groups = _parse_groups(raw.get("groups"), problems)
    statements = _parse_statements(raw.get("statements", []), problems)
    open_questions = _parse_open_questions(raw.get("open_questions", []), problems)

    if problems:
        raise ProtocolError(problems)
    return Protocol(
        title=title, language=language, max_rounds=max_rounds, min_group_feedback=min_group_feedback, scale=scale,
        consensus=consensus, groups=groups, statements=statements, information=information, consent=consent,
        stopping=stopping, withdrawal=withdrawal, allow_group_choice=allow_group_choice,
        allow_suggestions=allow_suggestions, open_questions=open_questions, minutes=minutes, support=support,
        languages=languages, translations=translations,
        experiment=experiment,
    )


class _Checker:
    """Reads one key of a table, appending a message that names the key when the value is wrong."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems

    def table(self, raw: dict, key: str) -> dict:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            self.problems.append(at(key, N_("must be a table ([%(key)s])"), key=key))
            return {}
        return value

    def text(self, raw: dict, key: str, *, required: bool = False, max_len: int = MAX_TEXT, prefix: str = "") -> str:
        value = raw.get(key)
        if value is None:
            if required:
                self.problems.append(at(prefix + key, N_("missing; it is required")))
            return ""
        if not isinstance(value, str):
            self.problems.append(at(prefix + key, N_("must be text in quotes, not %(kind)s"), kind=_kind(value)))
            return ""
        value = clean_text(value, None)  # as every text a person writes is cleaned (delphi.free_text)
        if required and not value:
            self.problems.append(at(prefix + key, N_("must not be empty")))
        if len(value) > max_len:
            self.problems.append(at(prefix + key, N_("is %(length)s characters long; the limit is %(limit)s"),
                                    length=len(value), limit=max_len))
        return value

    def integer(self, raw: dict, key: str, default: int, *, low: int, high: int, prefix: str = "") -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.append(at(prefix + key, N_("must be a whole number, not %(kind)s"), kind=_kind(value)))
            return default
        if not low <= value <= high:
            self.problems.append(at(prefix + key, N_("must be between %(low)s and %(high)s, not %(value)s"),
                                    low=low, high=high, value=value))
        return value

    def number(self, raw: dict, key: str, default: float, *, low: float, high: float, prefix: str = "") -> float:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problems.append(at(prefix + key, N_("must be a number, not %(kind)s"), kind=_kind(value)))
            return default
        if not low <= value <= high:
            self.problems.append(at(prefix + key, N_("must be between %(low)s and %(high)s, not %(value)s"),
                                    low=f"{low:g}", high=f"{high:g}", value=f"{value:g}"))
        return float(value)

    def boolean(self, raw: dict, key: str, default: bool, prefix: str = "") -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.problems.append(at(prefix + key, N_("must be true or false, not %(kind)s"), kind=_kind(value)))
            return default
        return value

    def choice(self, raw: dict, key: str, choices: tuple[str, ...], default: str, prefix: str = "") -> str:
        value = raw.get(key, default)
        if value not in choices:
            self.problems.append(
                at(prefix + key, N_("must be one of %(choices)s, not %(value)s"),
                   choices=", ".join(repr(c) for c in choices), value=repr(value)))
            return default
        return value


def _keys(spec) -> tuple[str, ...]:
    """A table's known keys: the fields of its dataclass, in order."""
    return tuple(f.name for f in fields(spec))


def _kind(value: Any) -> str:
    return {bool: Term(N_("true/false")), int: Term(N_("a number")), float: Term(N_("a number")),
            str: Term(N_("text")), list: Term(N_("a list")), dict: Term(N_("a table"))}.get(
        type(value), type(value).__name__
    )


def _parse_scale(raw: dict, problems: list[Problem]) -> ScaleSpec:
    check = _Checker(problems)
    for key in raw:
        if key not in _keys(ScaleSpec):
            problems.append(at(f"scale.{key}", N_("unknown key (known: %(known)s)"), known=", ".join(_keys(ScaleSpec))))
    low = check.integer(raw, "min", ScaleSpec.min, low=0, high=100, prefix="scale.")
    high = check.integer(raw, "max", ScaleSpec.max, low=1, high=101, prefix="scale.")
    if low >= high:
        problems.append(at("scale", N_("min (%(low)s) must be smaller than max (%(high)s)"), low=low, high=high))
    elif high - low > 100:
        problems.append(at("scale", N_("at most 101 points")))
    unable = check.boolean(raw, "unable_to_rate", ScaleSpec.unable_to_rate, prefix="scale.")
    declined = check.boolean(raw, "prefer_not_to_answer", ScaleSpec.prefer_not_to_answer, prefix="scale.")
    labels: dict[int, str] = {}
    raw_labels = raw.get("labels", {})
    if not isinstance(raw_labels, dict):
        problems.append(at("scale.labels", N_("must be a table such as { \"1\" = \"Not important\" }")))
        raw_labels = {}
    for point, label in raw_labels.items():
        try:
            number = int(point)
        except ValueError:
            problems.append(at(f"scale.labels.{point}", N_("the key must be a whole number on the scale")))
            continue
        if not low <= number <= high:
            problems.append(at(f"scale.labels.{point}", N_("%(point)s is not on the scale %(low)s-%(high)s"),
                               point=number, low=low, high=high))
        label = clean_text(label, None) if isinstance(label, str) else ""
        if not label:
            problems.append(at(f"scale.labels.{point}", N_("must be non-empty text")))
            continue
        if len(label) > MAX_LABEL:
            problems.append(at(f"scale.labels.{point}", N_("is %(length)s characters long; the limit is %(limit)s"),
                               length=len(label), limit=MAX_LABEL))
        labels[number] = label
    return ScaleSpec(min=low, max=high, unable_to_rate=unable, prefer_not_to_answer=declined,
                     labels=dict(sorted(labels.items())))


def _parse_band(raw: dict, key: str, scale: ScaleSpec, default: tuple[int, int], problems: list[Problem]):
    value = raw.get(key, list(default))
    if (
        not isinstance(value, list)
        or len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
    ):
        problems.append(at(f"consensus.{key}", N_("must be two whole numbers such as [7, 9]")))
        return default
    band = (value[0], value[1])
    if band[0] > band[1]:
        problems.append(at(f"consensus.{key}", N_("the first number must not be larger than the second")))
    if band[0] < scale.min or band[1] > scale.max:
        problems.append(at(f"consensus.{key}", N_("%(band)s must lie on the scale %(low)s-%(high)s"), band=list(band),
                           low=scale.min, high=scale.max))
    return band


def _parse_consensus(raw: dict, scale: ScaleSpec, problems: list[Problem]) -> ConsensusSpec:
    from analysis import check_rule_scope, parse_rule
    from delphi.rule_errors import rule_problem

    check = _Checker(problems)
    known = _keys(ConsensusSpec)
    for key in raw:
        if key not in known:
            problems.append(at(f"consensus.{key}", N_("unknown key (known: %(known)s)"),
                               known=", ".join(sorted(known))))
    defaults = ConsensusSpec
    agree = _parse_band(raw, "agree", scale, defaults.agree, problems)
    disagree = _parse_band(raw, "disagree", scale, defaults.disagree, problems)
    if not (agree[1] < disagree[0] or disagree[1] < agree[0]):
        problems.append(at("consensus", N_("the agree band %(agree)s and disagree band %(disagree)s overlap"),
                           agree=list(agree), disagree=list(disagree)))
    scope = check.choice(raw, "scope", SCOPES, defaults.scope, prefix="consensus.")
    rules = {}
    for key in ("include", "exclude"):
        text = check.text(raw, key, max_len=500, prefix="consensus.") if key in raw else getattr(defaults, key)
        rules[key] = text
        if not text:
            problems.append(at(f"consensus.{key}", N_("must not be empty")))
            continue
        try:
            rules[key + "_rule"] = parse_rule(text)
        except ValueError as exc:
            problems.append(rule_problem(f"consensus.{key}", exc))
    for key in ("include", "exclude"):
        if key + "_rule" in rules and scope in SCOPES:
            try:
                check_rule_scope(rules[key + "_rule"], scope)
            except ValueError as exc:
                problems.append(rule_problem(f"consensus.{key}", exc))
    stable_change = check.number(raw, "stable_change", defaults.stable_change, low=0, high=100, prefix="consensus.")
    quantile_method = check.choice(raw, "quantile_method", QUANTILE_METHODS, defaults.quantile_method,
                                   prefix="consensus.")
    unable_in_denominator = check.boolean(raw, "unable_in_denominator", defaults.unable_in_denominator,
                                          prefix="consensus.")
    return ConsensusSpec(
        agree=agree, disagree=disagree, scope=scope, include=rules["include"], exclude=rules["exclude"],
        stable_change=stable_change, quantile_method=quantile_method, unable_in_denominator=unable_in_denominator,
    )


def _parse_support(raw: dict, problems: list[Problem]) -> SupportSpec:
    check = _Checker(problems)
    for key in raw:
        if key not in _keys(SupportSpec):
            problems.append(at(f"support.{key}", N_("unknown key (known: %(known)s)"),
                               known=", ".join(_keys(SupportSpec))))
    name = check.text(raw, "contact_name", max_len=200, prefix="support.")
    email = check.text(raw, "contact_email", max_len=254, prefix="support.")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        problems.append(at("support.contact_email", N_("%(value)s is not an e-mail address"), value=repr(email)))
    phone = _phone(check, raw, "contact_phone", "support.", problems)
    services = []
    raw_services = raw.get("services", [])
    if not isinstance(raw_services, list) or not all(isinstance(s, dict) for s in raw_services):
        problems.append(at("support.services", N_("must be a list of tables ([[support.services]])")))
        raw_services = []
    if len(raw_services) > MAX_SUPPORT_SERVICES:
        problems.append(at("support.services", N_("%(count)s services are listed; the limit is %(limit)s"),
                           count=len(raw_services), limit=MAX_SUPPORT_SERVICES))
        raw_services = []
    for i, entry in enumerate(raw_services, start=1):
        prefix = f"support.services[{i}]."
        for key in entry:
            if key not in _keys(SupportService):
                problems.append(at(prefix + key, N_("unknown key (known: %(known)s)"),
                                   known=", ".join(_keys(SupportService))))
        service_name = check.text(entry, "name", required=True, max_len=200, prefix=prefix)
        service_phone = _phone(check, entry, "phone", prefix, problems)
        url = check.text(entry, "url", max_len=500, prefix=prefix)
        # Only web addresses become links: a javascript: or data: address in a help panel would run in the page.
        if url and not WEB_ADDRESS.match(url):
            problems.append(at(prefix + "url", N_("%(value)s must be a web address starting with https:// or http://"),
                               value=repr(url)))
        hours = check.text(entry, "hours", max_len=200, prefix=prefix)
        if service_name and not service_phone and not url:
            problems.append(at(prefix + "phone", N_("give a phone number or a web address (url), or both")))
        services.append(SupportService(name=service_name, phone=service_phone, url=url, hours=hours))
    return SupportSpec(contact_name=name, contact_email=email, contact_phone=phone, services=tuple(services))


ARM_KEY = GROUP_KEY  # arm keys go into ratings.csv and the SPSS/Stata files: the same plain form as group keys
MAX_ARMS = 6


def _parse_experiment(raw: dict, problems: list[Problem]) -> ExperimentSpec | None:
    """``[experiment]`` and ``[[experiment.arms]]`` (docs/experiments.md); None when the file has no experiment.

    ``seed`` is accepted only as an exported study states it (a whole number of at most
    ``analysis.experiment.ALLOCATION_SEED_BITS`` bits); creating a study ignores it and draws its own when round 1
    opens (``services.experiment``), so that nobody can choose the allocation in advance."""
    from analysis.experiment import ALLOCATION_SEED_BITS

    if "experiment" not in raw:
        return None
    table = raw["experiment"]
    if not isinstance(table, dict):
        problems.append(at("experiment", N_("must be a table ([experiment]) with a list of [[experiment.arms]]")))
        return None
    check = _Checker(problems)
    known = _keys(ExperimentSpec)
    for key in table:
        if key not in known:
            problems.append(at(f"experiment.{key}", N_("unknown key (known: %(known)s)"), known=", ".join(known)))
    allocation = check.choice(table, "allocation", ALLOCATION_METHODS, ExperimentSpec.allocation, prefix="experiment.")
    raw_arms = table.get("arms", [])
    if not isinstance(raw_arms, list) or not all(isinstance(a, dict) for a in raw_arms):
        problems.append(at("experiment.arms", N_("must be a list of tables ([[experiment.arms]])")))
        raw_arms = []
    if len(raw_arms) < 2:
        problems.append(at("experiment.arms", N_("a comparison needs at least 2 arms ([[experiment.arms]]), not %(count)s"),
                           count=len(raw_arms)))
    if len(raw_arms) > MAX_ARMS:
        problems.append(at("experiment.arms", N_("%(count)s arms are listed; the limit is %(limit)s"), count=len(raw_arms),
                           limit=MAX_ARMS))
        raw_arms = []
    arms, seen = [], set()
    for i, entry in enumerate(raw_arms, start=1):
        prefix = f"experiment.arms[{i}]."
        for key in entry:
            if key not in _keys(ArmSpec):
                problems.append(at(prefix + key, N_("unknown key (known: %(known)s)"), known=", ".join(_keys(ArmSpec))))
        key = check.text(entry, "key", required=True, max_len=40, prefix=prefix)
        if key and not ARM_KEY.match(key):
            problems.append(at(f"{prefix}key", N_("%(value)s must start with a small letter and use only a-z, 0-9 and _"),
                                   value=repr(key)))
        if key and key in seen:
            problems.append(at(f"{prefix}key", N_("%(value)s is used by an earlier arm"), value=repr(key)))
        seen.add(key)
        name = check.text(entry, "name", required=True, max_len=200, prefix=prefix)
        feedback = check.choice(entry, "feedback", FEEDBACK_FORMATS, ArmSpec.feedback, prefix=prefix)
        comments = check.boolean(entry, "comments", ArmSpec.comments, prefix=prefix)
        order = check.choice(entry, "order", STATEMENT_ORDERS, ArmSpec.order, prefix=prefix)
        arms.append(ArmSpec(key=key, name=name, feedback=feedback, comments=comments, order=order))
    block_size = None
    if "block_size" in table:
        block_size = check.integer(table, "block_size", 0, low=1, high=100, prefix="experiment.")
        if arms and block_size and block_size % len(arms):
            problems.append(at("experiment.block_size", N_("must be a multiple of the number of arms (%(arms)s), not %(value)s"),
                                   arms=len(arms), value=block_size))
    seed = None
    if "seed" in table:
        seed = check.integer(table, "seed", 0, low=0, high=2 ** ALLOCATION_SEED_BITS - 1, prefix="experiment.")
    return ExperimentSpec(arms=tuple(arms), allocation=allocation, block_size=block_size, seed=seed)


def experiment_table(experiment: ExperimentSpec) -> dict[str, Any]:
    """The ``[experiment]`` table of a protocol file (defaults left out; the seed once drawn)."""
    table: dict[str, Any] = {"allocation": experiment.allocation}
    if experiment.block_size is not None:
        table["block_size"] = experiment.block_size
    if experiment.seed is not None:
        table["seed"] = experiment.seed
    table["arms"] = [{"key": a.key, "name": a.name, "feedback": a.feedback, "comments": a.comments, "order": a.order}
                     for a in experiment.arms]
    return table


def _phone(check: _Checker, raw: dict, key: str, prefix: str, problems: list[Problem]) -> str:
    phone = check.text(raw, key, max_len=40, prefix=prefix)
    if phone and not PHONE.match(phone):
        problems.append(at(prefix + key, N_("%(value)s is not a phone number (digits, spaces, + ( ) - . /)"),
                           value=repr(phone)))
    return phone


def _parse_groups(raw: Any, problems: list[Problem]) -> tuple[GroupSpec, ...]:
    if raw is None:
        problems.append(at("groups",
                           N_("missing; list at least one stakeholder group as [[groups]] with key and name")))
        return ()
    if not isinstance(raw, list) or not all(isinstance(g, dict) for g in raw):
        problems.append(at("groups", N_("must be a list of tables ([[groups]])")))
        return ()
    if not raw:
        problems.append(at("groups", N_("list at least one stakeholder group")))
    if len(raw) > MAX_GROUPS:
        problems.append(at("groups", N_("%(count)s groups are listed; the limit is %(limit)s"), count=len(raw),
                           limit=MAX_GROUPS))
        return ()
    groups, seen = [], set()
    for i, entry in enumerate(raw, start=1):
        check = _Checker(problems)
        prefix = f"groups[{i}]."
        for key in entry:
            if key not in _keys(GroupSpec):
                problems.append(at(prefix + key, N_("unknown key (known: %(known)s)"),
                                   known=", ".join(_keys(GroupSpec))))
        key = check.text(entry, "key", required=True, max_len=40, prefix=prefix)
        name = check.text(entry, "name", required=True, max_len=200, prefix=prefix)
        description = check.text(entry, "description", max_len=500, prefix=prefix)
        if key and not GROUP_KEY.match(key):
            problems.append(at(f"{prefix}key",
                               N_("%(value)s must start with a small letter and use only a-z, 0-9 and _"),
                               value=repr(key)))
        if key in seen:
            problems.append(at(f"{prefix}key", N_("%(value)s is used by an earlier group"), value=repr(key)))
        seen.add(key)
        groups.append(GroupSpec(key=key, name=name, description=description))
    return tuple(groups)


def _parse_statements(raw: Any, problems: list[Problem]) -> tuple[StatementSpec, ...]:
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        problems.append(at("statements", N_("must be a list of tables ([[statements]])")))
        return ()
    if len(raw) > MAX_STATEMENTS:
        problems.append(at("statements", N_("%(count)s statements are listed; the limit is %(limit)s"), count=len(raw),
                           limit=MAX_STATEMENTS))
        return ()
    statements, seen = [], set()
    for i, entry in enumerate(raw, start=1):
        check = _Checker(problems)
        prefix = f"statements[{i}]."
        for key in entry:
            if key not in _keys(StatementSpec):
                problems.append(at(prefix + key, N_("unknown key (known: %(known)s)"),
                                   known=", ".join(_keys(StatementSpec))))
        code = check.text(entry, "code", max_len=40, prefix=prefix) or f"S{i:02d}"
        if not STATEMENT_CODE.match(code):
            problems.append(at(f"{prefix}code", N_("%(value)s may use only the letters A-Z, digits, '-', '_' and '.'"),
                               value=repr(code)))
        if code in seen:
            problems.append(at(f"{prefix}code", N_("%(value)s is used by an earlier statement"), value=repr(code)))
        seen.add(code)
        domain = check.text(entry, "domain", max_len=200, prefix=prefix)
        text = check.text(entry, "text", required=True, prefix=prefix)
        column = check.text(entry, "column", max_len=500, prefix=prefix)
        statements.append(StatementSpec(code=code, domain=domain, text=text, column=column))
    return tuple(statements)


def _parse_open_questions(raw: Any, problems: list[Problem]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(q, str) and clean_text(q, None) for q in raw):
        problems.append(at("open_questions", N_("must be a list of non-empty texts")))
        return ()
    if len(raw) > MAX_OPEN_QUESTIONS:
        problems.append(at("open_questions", N_("%(count)s questions are listed; the limit is %(limit)s"),
                           count=len(raw), limit=MAX_OPEN_QUESTIONS))
        return ()
    questions = tuple(clean_text(q, None) for q in raw)
    for i, question in enumerate(questions, start=1):
        if len(question) > MAX_QUESTION:
            problems.append(at(f"open_questions[{i}]", N_("is %(length)s characters long; the limit is %(limit)s"),
                               length=len(question), limit=MAX_QUESTION))
    return questions


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
    if protocol.minutes:
        doc["minutes"] = protocol.minutes
    support = {key: value for key, value in (("contact_name", protocol.support.contact_name),
                                              ("contact_email", protocol.support.contact_email),
                                              ("contact_phone", protocol.support.contact_phone)) if value}
    if protocol.support.services:
        support["services"] = [service_table(s) for s in protocol.support.services]
    if support:
        doc["support"] = support
    doc["scale"] = {
        "min": protocol.scale.min,
        "max": protocol.scale.max,
        "unable_to_rate": protocol.scale.unable_to_rate,
        "prefer_not_to_answer": protocol.scale.prefer_not_to_answer,
        "labels": {str(k): v for k, v in protocol.scale.labels.items()},
    }
    c = protocol.consensus
    doc["consensus"] = {
        "agree": list(c.agree), "disagree": list(c.disagree), "scope": c.scope, "include": c.include,
        "exclude": c.exclude, "stable_change": c.stable_change, "quantile_method": c.quantile_method,
        "unable_in_denominator": c.unable_in_denominator,
    }
    doc["groups"] = [
        {"key": g.key, "name": g.name, **({"description": g.description} if g.description else {})}
        for g in protocol.groups
    ]
    if protocol.statements:
        doc["statements"] = [
            {"code": s.code, **({"domain": s.domain} if s.domain else {}), "text": s.text,
             **({"column": s.column} if s.column else {})} for s in protocol.statements
        ]
    join_protocol(doc, protocol.language, protocol.languages, protocol.translations)
    if protocol.experiment is not None:
        doc["experiment"] = experiment_table(protocol.experiment)
    return tomli_w.dumps(doc, multiline_strings=True)


def service_table(service: SupportService) -> dict[str, str]:
    """A support service as a protocol table (empty keys left out)."""
    return {f.name: getattr(service, f.name) for f in fields(SupportService) if getattr(service, f.name)}


STATEMENT_BANK = Path(__file__).resolve().parent / "bank" / "recovery_practice.toml"


def statement_bank(language: str) -> Path:
    """The built-in bank written in ``language`` (one of :data:`LANGUAGES`): the same study, groups and statement
    codes in each language; English for a language it is not written in."""
    if language != "en" and language in LANGUAGES:
        return STATEMENT_BANK.with_name(f"{STATEMENT_BANK.stem}.{language}.toml")
    return STATEMENT_BANK
