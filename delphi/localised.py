"""Texts in more than one language (protocol.md, "Texts in more than one language"; docs/languages.md).

One shape, defined here: a text a panellist reads is kept as today, in the study's language (``Statement.text``,
``Study.title``, ...), and its other languages beside it in the row's ``translations`` column, ``{field: {lang:
text}}`` (a study's scale labels as fields ``labels.<point>``). A protocol file writes a text as a string or as a
table ``{ nb = "...", en = "..." }``; :func:`split_protocol` reads the tables into a flat
``{protocol key: {lang: text}}`` (keys such as ``statements[3].text``) and leaves the study-language string in place,
so the rest of the protocol is read as before; :func:`join_protocol` writes them back.

:func:`pick` chooses the text a reader sees: theirs when the study offers it and has it, else the study language's,
returned with the language it is in so that a page marks it (``lang``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from delphi.errors import Problem
from delphi.free_text import clean_text

LANGUAGE_NAMES = {"en": "English", "nb": "Norsk bokmål"}  # each in its own language, as a field's label shows it

# The protocol keys whose value may be a table of languages, with the longest text each may hold (delphi.protocol's
# limits for the same keys; that module imports this one, so they are written here too).
TOP_KEYS = {"title": 300, "information": 20000, "consent": 20000}
LABEL_LIMIT, GROUP_NAME_LIMIT, STATEMENT_LIMIT, QUESTION_LIMIT = 200, 200, 2000, 1000
# The fields of a study row that have translations (besides ``labels.<point>``), and the protocol keys they come from.
STUDY_FIELDS = {"title": "title", "information": "information", "consent": "consent"}
_COLUMNS = {"information": "information_text", "consent": "consent_text"}  # a study's fields kept in other columns
_ROW_KEY = re.compile(r"^(groups|statements)\[(\d+)\]\.(name|text)$|^open_questions\[(\d+)\]$")


@dataclass(frozen=True)
class Localised:
    """A text as a page shows it: ``text`` is in ``lang``; ``page`` is the language of the page around it."""

    text: str
    lang: str
    page: str

    @property
    def foreign(self) -> bool:
        return self.lang != self.page

    @property
    def attr(self) -> Markup:
        """` lang="nb"` for the element holding the text when it is not in the page's language, else nothing."""
        return Markup(' lang="{}"').format(self.lang) if self.foreign else Markup("")

    def __str__(self) -> str:
        return self.text

    def __html__(self) -> Markup:
        if self.foreign:
            return Markup('<span lang="{}">{}</span>').format(self.lang, self.text)
        return escape(self.text)

    def __bool__(self) -> bool:
        return bool(self.text)

    @property
    def lowered(self) -> Localised:
        """The text in lower case, for the middle of a sentence ("... and 9 means critically important")."""
        return Localised(self.text.lower(), self.lang, self.page)


def offered(language: str, languages: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """The languages a study offers, its own first: ``languages``, or ``(language,)`` when none are set."""
    rest = [code for code in (languages or ()) if code != language]
    return (language, *rest)


def pick(text: str, others: dict[str, str] | None, language: str, languages, want: str) -> tuple[str, str]:
    """(text, its language) for a reader of ``want``: the translation when the study offers ``want`` and has it,
    else ``text`` in the study's ``language``."""
    if want != language and want in offered(language, languages):
        translated = (others or {}).get(want)
        if translated:
            return translated, want
    return text, language


def localise(obj: Any, field: str, study: Any, want: str, page: str | None = None) -> Localised:
    """The text ``field`` of a row (a study, group, statement, open question or a page's statement) as ``want``
    reads it; ``labels.<point>`` of a study is a scale label."""
    if field.startswith("labels."):
        base = (study.scale_labels or {}).get(field.partition(".")[2], "")
    else:
        base = getattr(obj, _COLUMNS.get(field, field))
    others = (getattr(obj, "translations", None) or {}).get(field)
    text, lang = pick(base, others, study.language, study.languages, want)
    return Localised(text, lang, page or want)


# -- the protocol file --------------------------------------------------------------------------------------------

def _check_text(key: str, value: Any, limit: int, problems: list[Problem]) -> str:
    if not isinstance(value, str):
        problems.append(Problem(f"{key}: must be text in quotes", field=key))
        return ""
    text = clean_text(value, None)
    if not text:
        problems.append(Problem(f"{key}: must not be empty", field=key))
    elif len(text) > limit:
        problems.append(Problem(f"{key}: is {len(text)} characters long; the limit is {limit}", field=key))
    return text


def _split_one(key: str, value: Any, limit: int, language: str, allowed: tuple[str, ...], known: tuple[str, ...],
               problems: list[Problem], found: dict[str, dict[str, str]]) -> Any:
    """The study-language string for a table ``value`` (its other languages go into ``found[key]``); any other
    value unchanged, for the protocol's own checks."""
    if not isinstance(value, dict):
        return value
    others: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in known:
            problems.append(Problem(f"{key}.{lang}: {lang!r} is not a language this app offers "
                                    f"(known: {', '.join(known)})", field=f"{key}.{lang}"))
            continue
        if lang not in allowed:
            problems.append(Problem(f"{key}.{lang}: {lang!r} is not among the study's languages "
                                    f"({', '.join(allowed)}); add it to languages", field=f"{key}.{lang}"))
            continue
        cleaned = _check_text(f"{key}.{lang}", text, limit, problems)
        if lang != language and cleaned:
            others[lang] = cleaned
    if language not in value:
        problems.append(Problem(f"{key}: a table of languages needs the text in the study's language "
                                f"({language} = \"...\")", field=f"{key}.{language}"))
        return None
    if others:
        found[key] = others
    return value[language] if isinstance(value[language], str) else None


def parse_languages(raw: dict, language: str, known: tuple[str, ...], problems: list[Problem]) -> tuple[str, ...]:
    """The protocol's ``languages``: () when absent or only the study's language (the default), else the list."""
    value = raw.get("languages")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        problems.append(Problem('languages: must be a list of language codes such as ["nb", "en"]', field="languages"))
        return ()
    for code in value:
        if code not in known:
            problems.append(Problem(f"languages: {code!r} is not a language this app offers (known: "
                                    f"{', '.join(known)})", field="languages"))
    if len(set(value)) != len(value):
        problems.append(Problem("languages: a language is listed twice", field="languages"))
    if language not in value:
        problems.append(Problem(f"languages: must include the study's language ({language!r})", field="languages"))
    codes = tuple(code for code in value if code in known)
    return () if codes == (language,) else codes


def split_protocol(raw: dict, known: tuple[str, ...], problems: list[Problem]) -> tuple[dict, tuple[str, ...],
                                                                                        dict[str, dict[str, str]]]:
    """A copy of ``raw`` with every table of languages replaced by its study-language string, the study's
    ``languages`` and the other languages' texts by protocol key; every problem named by its key."""
    language = raw.get("language", "en") if raw.get("language", "en") in known else "en"
    languages = parse_languages(raw, language, known, problems)
    allowed = offered(language, languages)
    found: dict[str, dict[str, str]] = {}
    raw = dict(raw)
    raw.pop("languages", None)

    def split(key, value, limit):
        return _split_one(key, value, limit, language, allowed, known, problems, found)

    for key, limit in TOP_KEYS.items():
        if key in raw:
            raw[key] = split(key, raw[key], limit)
    scale = raw.get("scale")
    if isinstance(scale, dict) and isinstance(scale.get("labels"), dict):
        labels = {point: split(f"scale.labels.{point}", label, LABEL_LIMIT) for point, label in scale["labels"].items()}
        raw["scale"] = {**scale, "labels": labels}
    for table, field, limit in (("groups", "name", GROUP_NAME_LIMIT), ("statements", "text", STATEMENT_LIMIT)):
        rows = raw.get(table)
        if isinstance(rows, list):
            raw[table] = [
                {**row, field: split(f"{table}[{i}].{field}", row[field], limit)}
                if isinstance(row, dict) and field in row else row
                for i, row in enumerate(rows, start=1)
            ]
    questions = raw.get("open_questions")
    if isinstance(questions, list):
        raw["open_questions"] = [split(f"open_questions[{i}]", q, QUESTION_LIMIT)
                                 for i, q in enumerate(questions, start=1)]
    if "consent" in found and isinstance(raw.get("consent"), str):
        _check_consent_lines(raw["consent"], found["consent"], problems)
    return raw, languages, found


def _check_consent_lines(consent: str, others: dict[str, str], problems: list[Problem]) -> None:
    """Each consent statement is a line a panellist ticks, and a translation ticks the same statements: a
    translation has as many lines as the study-language text."""
    count = _lines(consent)
    for lang, text in others.items():
        if _lines(text) != count:
            problems.append(Problem(f"consent.{lang}: has {_lines(text)} statements (non-empty lines); the "
                                    f"study's language has {count}, and each must be translated line by line",
                                    field=f"consent.{lang}"))


def _lines(text: str) -> int:
    return sum(1 for line in (text or "").splitlines() if line.strip())


def join_protocol(doc: dict, language: str, languages: tuple[str, ...], found: dict[str, dict[str, str]]) -> None:
    """Write ``languages`` and every text with translations as a table (study language first) into a protocol
    document ``doc`` built with plain strings; nothing changes for a protocol without either."""
    allowed = offered(language, languages)
    if languages:
        doc["languages"] = list(languages)
    for key, others in found.items():
        others = {lang: text for lang, text in others.items() if lang in allowed and lang != language and text}
        if not others:
            continue
        container, last = _locate(doc, key)
        if container is None:
            continue
        container[last] = {language: container[last], **dict(sorted(others.items()))}


def _locate(doc: dict, key: str) -> tuple[Any, Any]:
    """The list or table holding protocol key ``key`` in ``doc``, and the key or index in it; (None, None) if the
    key names nothing there."""
    try:
        if key in TOP_KEYS:
            return (doc, key) if key in doc else (None, None)
        if key.startswith("scale.labels."):
            labels = doc["scale"]["labels"]
            point = key.rpartition(".")[2]
            return (labels, point) if point in labels else (None, None)
        match = _ROW_KEY.match(key)
        if match and match.group(1):
            row = doc[match.group(1)][int(match.group(2)) - 1]
            return (row, match.group(3)) if match.group(3) in row else (None, None)
        if match:
            index = int(match.group(4)) - 1
            questions = doc["open_questions"]
            return (questions, index) if 0 <= index < len(questions) else (None, None)
    except (KeyError, IndexError, TypeError):
        pass
    return None, None


def study_key(key: str) -> str | None:
    """The field of a study row for protocol key ``key`` (``title``, ``labels.7``), None for a key of another row."""
    if key in STUDY_FIELDS:
        return STUDY_FIELDS[key]
    if key.startswith("scale.labels."):
        return "labels." + key.rpartition(".")[2]
    return None


def study_translations(found: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The translations kept on the study row, by its fields."""
    return {field: dict(others) for key, others in found.items() if (field := study_key(key))}


def protocol_translations(study_fields: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """A study row's translations back as protocol keys (the inverse of :func:`study_translations`)."""
    keys = {field: key for key, field in STUDY_FIELDS.items()}
    return {(keys.get(field) or "scale." + field): dict(others) for field, others in (study_fields or {}).items()
            if others}


def row_translations(found: dict[str, dict[str, str]], key: str) -> dict[str, dict[str, str]]:
    """The translations of the row whose text has protocol key ``key`` (``statements[3].text``), by its field."""
    others = found.get(key)
    if not others:
        return {}
    field = "text" if key.startswith("open_questions") else key.rpartition(".")[2]
    return {field: dict(others)}


def study_language_only(raw: dict, known: tuple[str, ...]) -> dict:
    """A protocol dict with every table of languages replaced by its study-language text (and no ``languages``):
    what stays the same when only translations change."""
    return split_protocol(raw, known, [])[0]


def for_page(obj: Any, field: str = "text", study: Any = None) -> Localised:
    """:func:`localise` for the page being written: in its language (the panellist's choice), for ``g.study``."""
    from flask import g
    from flask_babel import get_locale

    study = study if study is not None else g.study
    return localise(obj, field, study, str(get_locale() or study.language))


def page_labels(study: Any) -> dict[str, Localised]:
    """The study's scale labels as the page being written shows them, by point ("7")."""
    return {point: for_page(study, f"labels.{point}", study) for point in (study.scale_labels or {})}


def consent_lines(study: Any) -> list[Localised]:
    """The consent statements (one per non-empty line) as the page being written shows them: the translation's
    line when the translation has as many lines as the study-language text (the protocol and the texts page make
    sure of that), else the study language's."""
    consent = for_page(study, "consent", study)
    own = [line.strip() for line in (study.consent_text or "").splitlines() if line.strip()]
    lines = [line.strip() for line in consent.text.splitlines() if line.strip()]
    if len(lines) != len(own):
        lines, consent = own, Localised(study.consent_text, study.language, consent.page)
    return [Localised(line, consent.lang, consent.page) for line in lines]


def as_protocol_value(language: str, text: str, others: dict[str, str]) -> str | dict[str, str]:
    """A text as a protocol value: the plain string, or a table of languages when any other language has text."""
    others = {lang: value for lang, value in others.items() if lang != language and value and value.strip()}
    return {language: text, **others} if others else text
