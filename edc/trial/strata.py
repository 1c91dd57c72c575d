"""A stratification factor's level from the answer it is read from (pure).

A factor's ``source`` names an item; its answer is the level itself (a choice item coded with
the levels), or the level is derived: a number falls in the first band it is below (the last
band, without ``below``, takes the rest), a code or boolean is looked up in ``map``.
"""

from __future__ import annotations

from decimal import Decimal

from edc.protocol.model import StratumSource

Answer = str | Decimal | bool | None


def level_of(source: StratumSource, answer: Answer) -> str | None:
    """The level ``answer`` gives (None: no answer, or one no band or mapping covers)."""
    if answer is None:
        return None
    if source.bands:
        if isinstance(answer, bool) or not isinstance(answer, Decimal | int | float):
            return None
        value = Decimal(str(answer))
        for band in source.bands:
            if band.below is None or value < band.below:
                return band.level
        return None
    if source.map:
        key = ("true" if answer else "false") if isinstance(answer, bool) else str(answer)
        return source.map.get(key)
    return str(answer)


def derived(source: StratumSource) -> bool:
    return bool(source.bands or source.map)
