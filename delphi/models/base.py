"""Declarative base with a constraint naming convention, so migrations name constraints the same on every database."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite stores naive values and returns them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use delphi.models.base.utcnow()")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class EncryptedText(TypeDecorator):
    """Text stored encrypted with the app's contacts key (delphi/contact_cipher.py); read and written as plain text.

    ``purpose`` (the column's name, such as ``"contact.email"``) is bound into each ciphertext, so a value copied into
    another column does not open. The database sees only ciphertext, so it cannot compare or search these values:
    comparing one with anything but None raises, rather than silently matching nothing (find an e-mail address by
    its blind index, ``Contact.email_index``)."""

    impl = sa.Text
    cache_ok = True

    class Comparator(TypeDecorator.Comparator):
        def operate(self, op, *other, **kwargs):
            if op in (operators.is_, operators.is_not) or (
                    op in (operators.eq, operators.ne) and all(o is None for o in other)):
                return super().operate(op, *other, **kwargs)
            raise TypeError(f"{self.expr} is encrypted: the database cannot compare it (use the blind index)")

    comparator_factory = Comparator

    def __init__(self, purpose: str):
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        from delphi.contact_cipher import contact_cipher

        return contact_cipher().encrypt(value, self.purpose)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        from delphi.contact_cipher import contact_cipher

        return contact_cipher().decrypt(value, self.purpose)


class Base(DeclarativeBase):
    registry = sa.orm.registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class DomainError(Exception):
    """An action the study's state does not allow (opening a closed round, editing a locked protocol, ...)."""


def enum_type(enum_cls, length: int = 20) -> sa.Enum:
    """An Enum stored as its value in a VARCHAR (no native PostgreSQL type to migrate), checked on write."""
    return sa.Enum(
        enum_cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e],
        validate_strings=True, create_constraint=False,
    )
