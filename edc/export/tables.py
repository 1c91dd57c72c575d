"""A dataset as the exports write it: named columns, rows of text in a fixed order."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class Dataset:
    name: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
