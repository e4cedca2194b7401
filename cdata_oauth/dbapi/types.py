"""PEP 249 type objects and constructors.

Result columns are strings (tokens, URLs) or numbers (ExpiresIn); the other type objects
exist because PEP 249 asks every module to provide them.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "Date",
    "DateFromTicks",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "type_code_for",
]


class DBAPIType(frozenset[str]):
    """A type object: compares equal to every type code it stands for."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return other in self
        return frozenset.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return frozenset.__hash__(self)


STRING = DBAPIType({"STRING", "string"})
BINARY = DBAPIType({"BINARY", "binary"})
NUMBER = DBAPIType({"NUMBER", "int", "double", "long", "integer", "boolean"})
DATETIME = DBAPIType({"DATETIME", "datetime", "date", "time"})
ROWID = DBAPIType({"ROWID"})

Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime


def DateFromTicks(ticks: float) -> datetime.date:
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> datetime.time:
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> datetime.datetime:
    return Timestamp(*time.localtime(ticks)[:6])


def Binary(value: bytes | bytearray | str) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def type_code_for(xs_type: str, value: Any = None) -> str:
    """The type code a column of this declared type reports in ``description``."""
    if xs_type in ("int", "long", "integer", "double", "boolean"):
        return "NUMBER"
    if xs_type in ("datetime", "date", "time"):
        return "DATETIME"
    if isinstance(value, bool | int | float):
        return "NUMBER"
    return "STRING"
