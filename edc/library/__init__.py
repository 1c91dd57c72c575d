"""The instrument and terminology library kept as data in fhir_mappings/ (shipped in the wheel)."""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
from collections.abc import Iterator, Mapping
from importlib.resources.abc import Traversable

from pydantic import ValidationError

from edc import errors, located_yaml
from edc.items import checks as item_checks
from edc.items.model import Item
from edc.library.ctcae import CtcaeTerm, CtcaeTerminology, parse_ctcae
from edc.library.instruments import Instrument
from edc.library.mme import MmeFactor, parse_mme_factors
from edc.located_yaml import Reporter

CTCAE_FILES = {"5.0": "ctcae-v5.0.json"}


def mappings_root() -> Traversable:
    """The fhir_mappings data directory, wherever the package is installed."""
    return importlib.resources.files("fhir_mappings")


@dataclasses.dataclass(frozen=True)
class Library:
    """Instruments by id, plus terminology read on first use (CTCAE alone is 0.5 MB)."""

    root: Traversable
    instruments: Mapping[str, Instrument]
    _ctcae: dict[str, CtcaeTerminology] = dataclasses.field(
        default_factory=dict, repr=False, compare=False
    )

    def find_instrument(self, instrument_id: str) -> Instrument | None:
        return self.instruments.get(instrument_id)

    def find_ctcae(self, version: str) -> CtcaeTerminology | None:
        """CTCAE of that version, or None when the library does not ship it."""
        if version not in CTCAE_FILES:
            return None
        if version not in self._ctcae:
            path = self.root.joinpath("terminology", "ctcae", CTCAE_FILES[version])
            self._ctcae[version] = parse_ctcae(version, json.loads(path.read_text("utf-8")))
        return self._ctcae[version]

    def ctcae_synonyms(self, version: str) -> Mapping[str, str]:
        """Everyday words for CTCAE terms (lower case -> term), for suggestions only."""
        path = self.root.joinpath("terminology", "ctcae", f"synonyms-v{version}.yaml")
        if not path.is_file():
            return {}
        data = located_yaml.parse_yaml(path.read_text("utf-8"), path.name).data
        return {str(key).lower(): str(value) for key, value in (data or {}).items()}

    @functools.cached_property
    def mme_factors(self) -> Mapping[str, MmeFactor]:
        path = self.root.joinpath("terminology", "mme", "cdc-2022.csv")
        return parse_mme_factors(path.read_text("utf-8"))


def load_library(root: Traversable | None = None) -> Library:
    """Load every instrument in ``root``/instruments (default: the shipped fhir_mappings).

    :raises errors.ProblemsError: when an instrument file is invalid (file:line and field path).
    """
    root = root or mappings_root()
    instruments: dict[str, Instrument] = {}
    problems: list[errors.Problem] = []
    files = sorted(
        (entry for entry in root.joinpath("instruments").iterdir() if entry.name.endswith(".yaml")),
        key=lambda entry: entry.name,
    )
    for entry in files:
        name = f"fhir_mappings/instruments/{entry.name}"
        try:
            document = located_yaml.parse_yaml(entry.read_text("utf-8"), name)
            instrument = Instrument.model_validate(document.data)
        except errors.ProblemsError as exc:
            problems.extend(exc.problems)
            continue
        except ValidationError as exc:
            problems.extend(located_yaml.validation_problems(document, exc))
            continue
        problems.extend(_instrument_problems(instrument, document, entry.name))
        instruments[instrument.id] = instrument
    if problems:
        raise errors.ProblemsError("the instrument library is invalid", problems)
    return Library(root=root, instruments=instruments)


def _instrument_problems(
    instrument: Instrument, document: located_yaml.YamlDocument, file_name: str
) -> list[errors.Problem]:
    report = Reporter(document)
    if file_name != f"{instrument.id}.yaml":
        report.add(("id",), f"must match the file name {file_name}")
    known: dict[str, Item] = {}
    for item in _walk(instrument.items):
        if item.id in known:
            report.add(("items",), f"linkId {item.id!r} is used twice")
        known[item.id] = item
    item_checks.check_items(report, ("items",), instrument.items, known)
    link_ids = set(known) | {score.id for score in instrument.scores}
    item_checks.check_expressions(report, (), instrument.variables, instrument.scores, link_ids)
    return report.problems


def _walk(items: tuple[Item, ...]) -> Iterator[Item]:
    for item in items:
        yield item
        yield from _walk(item.items)


__all__ = [
    "CtcaeTerm",
    "CtcaeTerminology",
    "Instrument",
    "Library",
    "MmeFactor",
    "load_library",
    "mappings_root",
]
