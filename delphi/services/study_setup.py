"""Setting a study up in the browser: creating it, and changing its protocol settings until round 1 locks them.

Every change goes through the protocol validator (``delphi.protocol.parse_protocol``), so a setting is refused in the
browser exactly as it would be in a protocol file, with a message that names the key.
"""
from __future__ import annotations

import tomllib
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from delphi.extensions import db
from delphi.localised import row_translations
from delphi.localised import study_language_only as _plain
from delphi.models import DomainError, Panellist, StaffUser, StakeholderGroup, Study
from delphi.protocol import LANGUAGES, GroupSpec, Protocol, ProtocolError, at, parse_protocol, protocol_from_text, protocol_to_toml
from delphi.services import audit
from delphi.services.consent import consent_changed
from delphi.services.studies import create_study, study_protocol, write_settings

# Keys that make up the consensus definition, the scale it is read on, the smallest group whose figures are shown,
# the stopping rule and the groups: fixed when round 1 opens (protocol.md, "Locked at round 1").
LOCKED_KEYS = frozenset({"scale", "consensus", "min_group_feedback", "stopping", "max_rounds", "groups", "withdrawal",
                         "experiment"})


def create_from_protocol_text(text: str, owner: StaffUser) -> Study:
    """Create a draft study from protocol TOML; raises ProtocolError listing every problem."""
    return create_study(protocol_from_text(text), owner=owner)


def create_blank(title: str, language: str, groups: list[dict], owner: StaffUser) -> Study:
    """Create a draft study with default settings, the given groups and no statements."""
    protocol = parse_protocol({"title": title, "language": language, "groups": groups})
    return create_study(protocol, owner=owner)


def parse_lines(text: str, separator: str, what: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Split ``left SEP right`` lines (blank lines skipped); returns the pairs and a message per bad line."""
    pairs, errors = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        left, sep, right = line.partition(separator)
        if not sep or not left.strip() or not right.strip():
            errors.append(_("line %(line)s: write %(what)s", line=number, what=what))
            continue
        pairs.append((left.strip(), right.strip()))
    return pairs, errors


def current_settings(study: Study) -> dict[str, Any]:
    """The study's protocol as the plain dict a TOML file would give (statements left out)."""
    raw = tomllib.loads(protocol_to_toml(study_protocol(study)))
    raw.pop("statements", None)
    return raw


def update_settings(study: Study, changes: dict[str, Any], actor: StaffUser | None) -> list[str]:
    """Apply protocol changes (top-level keys; tables merge key by key); returns the keys that changed.

    Raises ProtocolError (nothing changed) when the result is not a valid protocol, or when a change touches a key
    of :data:`LOCKED_KEYS` of a locked study: one problem per such setting, naming it (``consensus.include``).
    """
    raw = current_settings(study)
    merged = dict(raw)
    for key, value in changes.items():
        # A text's table of languages replaces the text; a settings table ([scale]) merges key by key.
        table = isinstance(value, dict) and isinstance(raw.get(key, {}), dict) and key != "groups"
        merged[key] = {**raw.get(key, {}), **value} if table else value
    changed = sorted(key for key in merged if merged.get(key) != raw.get(key))
    # Translations are not the definition (docs/languages.md): a scale label's or group name's other languages may
    # change after round 1; their study-language text may not.
    plain_raw, plain_merged = _plain(raw, LANGUAGES), _plain(merged, LANGUAGES)
    locked = sorted(key for key in plain_merged if plain_merged.get(key) != plain_raw.get(key))
    if study.is_locked and LOCKED_KEYS.intersection(locked):
        raise ProtocolError([at(key, _("round 1 has opened, so this setting is locked and can no longer change"))
                             for key in _changed_settings(plain_raw, plain_merged)
                             if key.partition(".")[0] in LOCKED_KEYS])
    protocol = parse_protocol(merged)
    if changed:
        _apply(study, protocol)
        audit.record("study.settings", study=study, actor=actor, target=f"study {study.id}", keys=changed)
        db.session.flush()
    return changed


def _changed_settings(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The settings that differ, as protocol keys: a table's by its own keys (``scale.max``), groups as one."""
    changed = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changed.extend(f"{key}.{part}" for part in sorted(set(old) | set(new)) if old.get(part) != new.get(part))
        elif old != new:
            changed.append(key)
    return changed


def _apply(study: Study, protocol: Protocol) -> None:
    if consent_changed(study.consent_text, protocol.consent):
        study.consent_version += 1  # panellists who consented to the earlier text are asked again
    write_settings(study, protocol)
    _apply_groups(study, protocol.groups, protocol.translations)


def _apply_groups(study: Study, groups: tuple[GroupSpec, ...], translations: dict[str, dict[str, str]]) -> None:
    wanted = {g.key for g in groups}
    for group in list(study.groups):
        if group.key not in wanted:
            if db.session.scalar(sa.select(Panellist.id).where(Panellist.group_id == group.id).limit(1)) is not None:
                raise ProtocolError([at("groups", _("%(group)s has panellists, so it cannot be removed",
                                                    group=repr(group.key)))])
            study.groups.remove(group)
    for position, spec in enumerate(groups):
        group = study.group_by_key(spec.key)
        if group is None:
            group = StakeholderGroup(key=spec.key)
            study.groups.append(group)
        group.name, group.description, group.position = spec.name, spec.description, position
        group.translations = row_translations(translations, f"groups[{position + 1}].name")


def require_unlocked(study: Study, what: str) -> None:
    """:class:`DomainError` once round 1 has opened; ``what`` names what can no longer change, in the page's
    language (the words "statements", as the statements pages pass them, are translated here)."""
    if study.is_locked:
        what = _("statements") if what == "statements" else what
        raise DomainError(_("Round 1 has opened, so %(what)s can no longer change.", what=what))
