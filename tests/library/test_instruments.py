"""The shipped instruments: they load, compile to valid R4 Questionnaires, and carry the
published codes and weights."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import fhirkit
import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from edc.compiler.questionnaire import instrument_questionnaire
from edc.items.model import Item
from edc.library import Library, mappings_root, scoring
from edc.library.instruments import Instrument
from edc.protocol.forms import walk_items

INSTRUMENT_IDS = sorted(
    [
        "bilsky-escc", "ecog", "eligibility-labs", "frankel", "kps", "medd", "nrs-pain", "odi",
        "procedure-record", "qlq-bm22", "sins", "spinal-lesion", "tokuhashi-revised", "tomita",
        "vas-pain",
    ]
)  # fmt: skip
LEVELS = (
    [f"C{n}" for n in range(1, 8)]
    + [f"T{n}" for n in range(1, 13)]
    + [f"L{n}" for n in range(1, 6)]
) + ["S1"]


def _item(instrument: Instrument, link_id: str) -> Item:
    return next(item for item in walk_items(instrument.items) if item.id == link_id)


def test_every_instrument_file_loads(library: Library) -> None:
    assert sorted(library.instruments) == INSTRUMENT_IDS


@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
def test_instrument_compiles_to_a_valid_r4_questionnaire(
    library: Library, instrument_id: str
) -> None:
    instrument = library.instruments[instrument_id]
    questionnaire = instrument_questionnaire(instrument)
    assert fhirkit.validate(questionnaire) == []
    parsed = Questionnaire.model_validate(questionnaire)
    assert parsed.url is not None and parsed.url.endswith(instrument_id)
    assert instrument.reference and instrument.license


def test_every_score_has_an_independent_python_rule(library: Library) -> None:
    declared = {
        (instrument.id, score.id)
        for instrument in library.instruments.values()
        for score in instrument.scores
    }
    assert declared == set(scoring.RULES)


def test_bm22_has_22_neutrally_labelled_items_in_four_scales(library: Library) -> None:
    bm22 = library.instruments["qlq-bm22"]
    assert bm22.neutral_labels
    assert [item.id for item in bm22.items] == [f"bm22-q{n}" for n in range(31, 53)]
    for item in bm22.items:
        assert [(o.code, o.weight) for o in item.options] == [
            (str(n), Decimal(n)) for n in range(1, 5)
        ]
    assert [score.id for score in bm22.scores] == ["bm22-ps", "bm22-pc", "bm22-fi", "bm22-pa"]


@pytest.mark.parametrize(
    ("instrument_id", "loinc", "answers"),
    [
        (
            "kps",
            "89243-0",
            {
                "LA29175-9": 100, "LA29176-7": 90, "LA29177-5": 80, "LA29178-3": 70,
                "LA29179-1": 60, "LA29180-9": 50, "LA29181-7": 40, "LA29182-5": 30,
                "LA29183-3": 20, "LA29184-1": 10, "LA9627-6": 0,
            },
        ),
        (
            "ecog",
            "89247-1",
            {
                "LA9622-7": 0, "LA9623-5": 1, "LA9624-3": 2, "LA9625-0": 3, "LA9626-8": 4,
                "LA9627-6": 5,
            },
        ),
    ],
)  # fmt: skip
def test_performance_status_uses_loinc_answer_codes(
    library: Library, instrument_id: str, loinc: str, answers: dict[str, int]
) -> None:
    instrument = library.instruments[instrument_id]
    item = _item(instrument, instrument_id)
    assert instrument.code is not None and instrument.code.code == loinc
    assert item.code is not None and item.code.code == loinc
    assert {o.code: o.weight for o in item.options} == answers
    assert {o.system for o in item.options} == {"http://loinc.org"}


def test_medd_option_weights_equal_the_cdc_2022_csv(library: Library) -> None:
    text = mappings_root().joinpath("terminology", "mme", "cdc-2022.csv").read_text("utf-8")
    rows = csv.DictReader(io.StringIO("".join(ln for ln in text.splitlines(True) if ln[0] != "#")))
    csv_factors = {row["opioid"].replace(" ", "-"): Decimal(row["cdc_2022_factor"]) for row in rows}
    opioid = _item(library.instruments["medd"], "medd-opioid")
    assert {o.code: o.weight for o in opioid.options} == csv_factors


def test_library_mme_factors_are_the_cdc_2022_values(library: Library) -> None:
    # Dowell et al., MMWR 2022 table; 2016 differed for hydromorphone (4), methadone, tramadol.
    published = {
        "codeine": "0.15", "fentanyl transdermal": "2.4", "hydrocodone": "1", "hydromorphone": "5",
        "methadone": "4.7", "morphine": "1", "oxycodone": "1.5", "oxymorphone": "3",
        "tapentadol": "0.4", "tramadol": "0.2",
    }  # fmt: skip
    assert {k: v.factor for k, v in library.mme_factors.items()} == {
        k: Decimal(v) for k, v in published.items()
    }
    assert library.mme_factors["fentanyl transdermal"].daily_dose_unit.startswith("mcg/hr")


def test_medd_amounts_have_ucum_units_chosen_by_the_opioid(library: Library) -> None:
    medd = library.instruments["medd"]
    dose, patch = _item(medd, "medd-dose"), _item(medd, "medd-patch")
    assert (dose.unit, patch.unit) == ("mg/d", "ug/h")
    assert [(c.question, c.operator, c.answer) for c in dose.enable_when] == [
        ("medd-opioid", "!=", "fentanyl-transdermal")
    ]
    assert [(c.question, c.operator, c.answer) for c in patch.enable_when] == [
        ("medd-opioid", "=", "fentanyl-transdermal")
    ]
    assert _item(medd, "medd-entry").repeats


@pytest.mark.parametrize(
    ("instrument_id", "link_id"),
    [("spinal-lesion", "lesion-levels"), ("procedure-record", "levels-treated")],
)
def test_level_options_are_ordinal_c1_to_s1(
    library: Library, instrument_id: str, link_id: str
) -> None:
    item = _item(library.instruments[instrument_id], link_id)
    assert item.repeats
    assert [(o.code, o.weight) for o in item.options] == [
        (level, Decimal(n)) for n, level in enumerate(LEVELS, 1)
    ]


def test_procedure_details_depend_on_ablation_and_leakage(library: Library) -> None:
    procedure = library.instruments["procedure-record"]
    units = {item.id: item.unit for item in procedure.items if item.unit}
    assert units == {
        "operation-time": "min", "blood-loss": "mL", "cement-volume": "mL",
        "ablation-power": "W", "ablation-time": "min", "ablation-max-temperature": "Cel",
    }  # fmt: skip
    for link_id in ("ablation-power", "ablation-time", "ablation-max-temperature"):
        conditions = _item(procedure, link_id).enable_when
        assert [(c.question, c.answer) for c in conditions] == [("ablation", True)]
    sites = _item(procedure, "leakage-sites")
    assert sites.repeats and [(c.question, c.answer) for c in sites.enable_when] == [
        ("cement-leakage", True)
    ]
    assert {o.code for o in sites.options} == {
        "intradiscal", "paravertebral", "venous", "epidural", "foraminal", "pulmonary-embolism"
    }  # fmt: skip


def test_eligibility_labs_are_loinc_coded_with_units(library: Library) -> None:
    labs = library.instruments["eligibility-labs"]
    platelets, inr = _item(labs, "lab-platelets"), _item(labs, "lab-inr")
    assert platelets.code is not None and platelets.code.code == "777-3"
    assert platelets.unit == "10*9/L"
    assert inr.code is not None and inr.code.code == "6301-6"
    assert platelets.min is not None and platelets.max is not None
    assert inr.min is not None and inr.max is not None


@pytest.mark.parametrize(
    ("instrument_id", "codes"),
    [
        ("frankel", ["A", "B", "C", "D", "E"]),
        ("bilsky-escc", ["0", "1a", "1b", "1c", "2", "3"]),
    ],
)
def test_graded_classifications_list_their_grades(
    library: Library, instrument_id: str, codes: list[str]
) -> None:
    item = _item(library.instruments[instrument_id], instrument_id)
    assert [o.code for o in item.options] == codes
