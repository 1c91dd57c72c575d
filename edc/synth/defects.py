"""Optional data-quality defects in QuestionnaireResponses, recorded so tests know what to expect.

With ``--defect-rate r`` each response is damaged with probability r, in one of five ways the
sync's checks must catch: a number outside the item's min/max, an item the Questionnaire does
not have, a choice code not among the options, a required answer removed, or a line that is
not JSON at all. Each defect is written to ``truth/defects.ndjson`` (kind, resource, item,
file and line). Defects draw from their own stream (seed, DEFECTS, patient), so a run with
defects differs from one without only in the damaged responses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from edc.synth.answers import FormFiller
from edc.synth.answers.generic import ItemSpec
from edc.synth.rng import Draw

KINDS = ("out-of-range", "unknown-linkid", "unknown-option", "missing-required", "malformed-line")
MALFORMED = "malformed-line"


@dataclasses.dataclass(frozen=True)
class Defect:
    kind: str
    resource_id: str
    form_id: str
    link_id: str | None
    detail: str

    def record(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "resourceType": "QuestionnaireResponse",
            "id": self.resource_id,
            "form": self.form_id,
            "linkId": self.link_id,
            "detail": self.detail,
        }


def _answered(items: list[dict[str, Any]]) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """(parent list, item) for every item with answers, depth first."""
    for item in items:
        if "answer" in item:
            yield items, item
        yield from _answered(item.get("item", []))


def inject(
    response: dict[str, Any], form_id: str, filler: FormFiller, draw: Draw, rate: float
) -> Defect | None:
    """Maybe damage ``response`` in place; the defect, or None when it was left alone."""
    if rate <= 0 or not draw.chance(rate):
        return None
    specs = filler.forms[form_id].by_link
    items: list[dict[str, Any]] = response.get("item", [])
    candidates: dict[str, list[tuple[list[dict[str, Any]], dict[str, Any]]]] = {
        kind: [] for kind in KINDS
    }
    for parent, item in _answered(items):
        spec = specs.get(item["linkId"])
        if spec is None or spec.read_only:
            continue
        value = item["answer"][0]
        if _numeric(value) is not None and spec.high is not None:
            candidates["out-of-range"].append((parent, item))
        if "valueCoding" in value and spec.options:
            candidates["unknown-option"].append((parent, item))
        if spec.required and parent is items and len(items) > 1:
            # Top-level only, and never the last item: FHIR forbids empty arrays.
            candidates["missing-required"].append((parent, item))
    kinds = [k for k in KINDS if candidates[k] or k in ("unknown-linkid", MALFORMED)]
    kind = kinds[draw.integer(0, len(kinds) - 1)]
    rid = str(response.get("id"))
    if kind == MALFORMED:
        return Defect(kind, rid, form_id, None, "the line is cut off in the middle")
    if kind == "unknown-linkid":
        link_id = f"{form_id}-not-in-questionnaire"
        response["item"] = [*items, {"linkId": link_id, "answer": [{"valueString": "unexpected"}]}]
        return Defect(kind, rid, form_id, link_id, "an item the Questionnaire does not define")
    parent, item = candidates[kind][draw.integer(0, len(candidates[kind]) - 1)]
    spec = specs[item["linkId"]]
    if kind == "out-of-range":
        return _out_of_range(item, spec, rid, form_id)
    if kind == "unknown-option":
        coding = item["answer"][0]["valueCoding"]
        coding["code"] = f"{coding['code']}-invalid"
        return Defect(kind, rid, form_id, spec.link_id, f"code {coding['code']!r} not an option")
    parent.remove(item)
    return Defect(kind, rid, form_id, spec.link_id, "required answer removed")


def _numeric(value: Mapping[str, Any]) -> float | None:
    for key in ("valueDecimal", "valueInteger"):
        if key in value:
            return float(value[key])
    return None


def _out_of_range(item: dict[str, Any], spec: ItemSpec, rid: str, form_id: str) -> Defect:
    high = spec.high if spec.high is not None else 0.0
    answer = item["answer"][0]
    low = spec.low or 0.0
    bad = high + max(1.0, (high - low) * 0.5)
    if "valueInteger" in answer:
        answer["valueInteger"] = round(bad)
        shown: float = round(bad)
    else:
        answer["valueDecimal"] = shown = round(bad, 1)
    return Defect("out-of-range", rid, form_id, spec.link_id, f"{shown} above the maximum {high:g}")


def malformed(line: bytes) -> bytes:
    """A serialized resource cut in half: not JSON any more."""
    return line[: max(1, len(line) // 2)]
