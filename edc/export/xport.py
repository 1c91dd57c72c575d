"""SAS transport files, version 5 (XPORT), as the FDA takes them: character variables only.

The layout is SAS's published "Record Layout of a SAS Version 5 or 6 Data Set in SAS Transport
(XPORT) Format" (TS-140): 80-byte records; a library header, then per member a header, the
140-byte NAMESTR of each variable, and the observations, each part padded to 80 bytes with
blanks. The limits of version 5 are checked rather than silently met: names of 1-8 letters,
digits or underscores starting with a letter, labels of at most 40 characters, values of at
most 200 bytes (longer values are refused: an export must not cut data without saying so).

Every value is written as a character variable; times in the headers come from the caller (the
lock's time), so the same data gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
from collections.abc import Sequence

from edc import errors

RECORD = 80
MAX_NAME = 8
MAX_LABEL = 40
MAX_LENGTH = 200
_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,7}")
_LIBRARY = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!" + b"0" * 30 + b"  "
_MEMBER = b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!" + b"0" * 17 + b"1600000000140  "
_DESCRIPTOR = b"HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!" + b"0" * 30 + b"  "
_OBS = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!" + b"0" * 30 + b"  "
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def write(
    name: str,
    label: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[str]],
    *,
    created: dt.datetime,
) -> bytes:
    """One dataset as an XPORT v5 file.

    :param columns: (name, label) of each variable, all character.
    :raises errors.BadInputError: a name, label or value beyond the version 5 limits.
    """
    _check_name(name, f"dataset {name}")
    _check_label(label, f"dataset {name}")
    encoded = [[value.encode() for value in row] for row in rows]
    lengths = []
    for index, (column, column_label) in enumerate(columns):
        _check_name(column, f"{name}.{column}")
        _check_label(column_label, f"{name}.{column}")
        longest = max((len(row[index]) for row in encoded), default=1)
        if longest > MAX_LENGTH:
            raise errors.BadInputError(
                f"{name}.{column} holds a value of {longest} bytes: XPORT v5 allows {MAX_LENGTH}"
            )
        lengths.append(max(longest, 1))
    stamp = _stamp(created)
    out = bytearray()
    out += _LIBRARY
    out += _pad(b"SAS     SAS     SASLIB  9.4     " + _field("Linux", 8) + b" " * 24 + stamp)
    out += _pad(stamp)
    out += _MEMBER + _DESCRIPTOR
    out += _pad(
        b"SAS     " + _field(name, 8) + b"SASDATA 9.4     " + _field("Linux", 8) + b" " * 24
        + stamp
    )  # fmt: skip
    out += _pad(stamp + b" " * 16 + _field(label, 40) + _field("", 8))
    header = f"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000{len(columns):04d}"
    out += _pad((header + "0" * 20).encode())
    names = bytearray()
    position = 0
    for number, ((column, column_label), length) in enumerate(zip(columns, lengths, strict=True)):
        names += struct.pack(">hhhh", 2, 0, length, number + 1)
        names += _field(column, 8) + _field(column_label, 40) + _field("", 8)
        names += struct.pack(">hhh", 0, 0, 0) + b"\0\0" + _field("", 8)
        names += struct.pack(">hhi", 0, 0, position) + b"\0" * 52
        position += length
    out += _pad(bytes(names))
    out += _OBS
    data = bytearray()
    for row in encoded:
        for value, length in zip(row, lengths, strict=True):
            data += value.ljust(length, b" ")
    out += _pad(bytes(data))
    return bytes(out)


def _check_name(name: str, where: str) -> None:
    if not _NAME.fullmatch(name):
        raise errors.BadInputError(
            f"{where}: {name!r} is not an XPORT v5 name (1-{MAX_NAME} capitals, digits, _)"
        )


def _check_label(label: str, where: str) -> None:
    if len(label.encode()) > MAX_LABEL:
        raise errors.BadInputError(f"{where}: label {label!r} is over {MAX_LABEL} bytes")


def _field(text: str, width: int) -> bytes:
    return text.encode().ljust(width, b" ")[:width]


def _pad(data: bytes) -> bytes:
    """Blanks up to the next 80-byte record."""
    return data + b" " * (-len(data) % RECORD)


def _stamp(when: dt.datetime) -> bytes:
    """``ddMMMyy:hh:mm:ss`` in UTC (16 bytes), as the headers hold it."""
    at = when.astimezone(dt.UTC)
    text = f"{at.day:02d}{_MONTHS[at.month - 1]}{at.year % 100:02d}:{at:%H:%M:%S}"
    return text.encode()
