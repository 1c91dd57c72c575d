"""The one renderer: a command's result as a table for people (Rich), JSON or CSV for programs.

A result is a dataclass or pydantic model (or a list of them) with numbers as numbers. A ``View``
says how people see it: which lists are tables (``Section``), and a headline. The renderer
never queries anything.

- ``json``: the whole result, fields in declared order, numbers as numbers, dates ISO 8601,
  durations in seconds, paths as text; plus the view's ``extra`` keys. The headline goes to
  stderr so stdout parses.
- ``csv``: the first section's rows (or the result as one row), nested mappings flattened to
  ``field.key`` columns, lists as ``;``-joined text. Headline on stderr.
- ``table``: each section as a Rich table (numbers right-aligned, with thousands separators),
  then the headline, on stdout; or the view's ``text`` lines when a table does not fit the data.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import enum
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Format(enum.StrEnum):
    """``--format``: how a command prints its result."""

    table = "table"
    json = "json"
    csv = "csv"


@dataclasses.dataclass(frozen=True)
class Section:
    """A list (or mapping) in the result shown as a table.

    :ivar path: dotted attribute path to a list of records, or to a mapping of key -> record
        (then ``key`` names the column of its keys).
    :ivar title: shown above the table.
    :ivar columns: which columns, in order (default: every field).
    :ivar total: label of a last row summing the numeric columns (None: no such row).
    """

    path: str
    title: str | None = None
    key: str = "key"
    columns: tuple[str, ...] = ()
    total: str | None = None


@dataclasses.dataclass(frozen=True)
class View(Generic[T]):
    """How people see a result (``table``); ``extra`` adds computed keys to the JSON."""

    sections: tuple[Section, ...] = ()
    headline: Callable[[T], str | Sequence[str]] | None = None
    text: Callable[[T], Sequence[str]] | None = None
    extra: Mapping[str, Callable[[T], Any]] = dataclasses.field(default_factory=dict)


def emit(result: T, fmt: Format, view: View[T] | None = None, *, quiet: bool = False) -> None:
    """Print ``result`` on stdout in ``fmt``; headline lines on stdout (table) or stderr."""
    view = view or View()
    headline = _lines(view.headline(result)) if view.headline else []
    if fmt is Format.json:
        data = to_data(result)
        if isinstance(data, dict):
            data.update({key: to_data(get(result)) for key, get in view.extra.items()})
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif fmt is Format.csv:
        section = view.sections[0] if view.sections else None
        write_csv(rows_of(result, section), sys.stdout, section.columns if section else ())
    else:
        _print_table(result, view, headline)
        return
    if headline and not quiet:
        sys.stderr.write("\n".join(headline) + "\n")


def to_data(value: Any) -> Any:
    """``value`` as JSON-ready data: declared field order, numbers stay numbers."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump") and not isinstance(value, type):
        return to_data(dict(value))  # pydantic model: its fields in declared order
    if isinstance(value, Mapping):
        return {str(to_data(k)): to_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [to_data(v) for v in items]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def rows_of(result: Any, section: Section | None, *, table: bool = False) -> list[dict[str, Any]]:
    """The rows a section shows (the result itself as one row without a section).

    For CSV (``table=False``) nested mappings become ``field.key`` columns and every column is
    kept; a table keeps a mapping in one cell and shows only the section's ``columns``.
    """
    flatten = (lambda record: record) if table else _flatten
    if section is None:
        data = to_data(result)
        records: list[Any] = data if isinstance(data, list) else [data]
        return [flatten(r) if isinstance(r, dict) else {"value": r} for r in records]
    value: Any = result
    for part in section.path.split(".") if section.path else ():
        value = getattr(value, part) if not isinstance(value, Mapping) else value[part]
    data = to_data(value)
    if isinstance(data, dict):
        data = [{section.key: key, **_as_record(record)} for key, record in data.items()]
    rows = [flatten(_as_record(record)) for record in data]
    if section.columns and table:
        rows = [{c: row.get(c) for c in section.columns} for row in rows]
    return rows


def write_csv(rows: Sequence[Mapping[str, Any]], stream: Any, declared: Sequence[str] = ()) -> None:
    """Rows as CSV with a header: the ``declared`` columns, then any others in order of first
    appearance (so an empty result still has its header)."""
    columns: dict[str, None] = dict.fromkeys(declared)
    for row in rows:
        columns.update(dict.fromkeys(row))
    writer = csv.DictWriter(stream, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})


def _as_record(record: Any) -> dict[str, Any]:
    return record if isinstance(record, dict) else {"value": record}


def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(_csv_cell(v)) for v in value)
    return value


def _lines(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _print_table(result: T, view: View[T], headline: list[str]) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console = stdout_console()
    if view.text is not None:
        for line in view.text(result):
            console.print(Text(line), soft_wrap=True)
    elif view.sections:
        shown = 0
        for section in view.sections:
            rows = rows_of(result, section, table=True)
            if not rows and section.total is None:
                continue  # an empty list is no table (say so in the headline if it matters)
            if shown:
                console.print()
            shown += 1
            table = Table(
                box=box.SIMPLE_HEAD,
                show_edge=False,
                pad_edge=False,
                title=section.title,
                title_justify="left",
            )
            columns = list(dict.fromkeys(c for row in rows for c in row)) or list(section.columns)
            # Without rows every column but the first counts as numeric (a total of zeros).
            numeric = {c for c in columns[1:] if all(_is_number(r.get(c)) for r in rows)}
            for column in columns:
                table.add_column(
                    column.replace("_", " "), justify="right" if column in numeric else "left"
                )
            for row in rows:
                table.add_row(*(Text(_cell(row.get(c))) for c in columns))
            if section.total is not None:
                table.add_section()
                table.add_row(*_total_row(section.total, columns, numeric, rows))
            console.print(table)
    elif not headline:
        table = Table(box=None, show_header=False, pad_edge=False)
        for key, value in to_data(result).items():
            table.add_row(Text(key.replace("_", " ")), Text(_cell(value)))
        console.print(table)
    for line in headline:
        console.print(Text(line), soft_wrap=True)


def _total_row(
    label: str, columns: list[str], numeric: set[str], rows: Iterable[Mapping[str, Any]]
) -> list[Any]:
    from rich.text import Text

    rows = list(rows)
    cells = [Text(label)]
    for column in columns[1:]:
        total = sum(r[column] for r in rows) if column in numeric else None
        cells.append(Text(_cell(total)))
    return cells


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    return str(value)


def stdout_console() -> Any:
    """A Rich console on stdout; unlimited width when piped (no wrapping of long rows)."""
    from rich.console import Console

    terminal = sys.stdout.isatty()
    return Console(file=sys.stdout, width=None if terminal else 10_000, highlight=False)
