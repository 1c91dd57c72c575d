"""`edc generate` allocates by the protocol's own rule: permuted blocks per stratum (site and
region of the index lesion in SPINE-MWA-01), the region read from the subject's screening
answers, as `edc randomize` would."""

from __future__ import annotations

import collections
from typing import Any

from tests.synth.conftest import Run


def _answer(items: list[dict[str, Any]], link_id: str) -> Any:
    for item in items:
        if item["linkId"] == link_id:
            return item["answer"][0]
        found = _answer(item.get("item", []), link_id)
        if found is not None:
            return found
    return None


def test_generated_allocation_is_blocked_within_each_stratum(mwa_run: Run) -> None:
    rows = mwa_run.truth("allocations")
    by_stratum: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for row in rows:
        by_stratum[row["stratum"]].append(row)
    regions = {stratum.split("|")[1] for stratum in by_stratum}
    assert regions == {"region=thoracic", "region=lumbar"}
    for stratum, members in by_stratum.items():
        assert all(stratum.startswith(f"site={m['site']}|") for m in members)
        # The stratum's own list, used in order: positions 1..size block after block...
        expected, counts = 1, collections.Counter[str]()
        for member in members:
            assert member["position"] == expected, stratum
            counts[member["arm"]] += 1
            assert abs(counts["ARM-A"] - counts["ARM-B"]) <= 6 // 2, stratum
            if member["position"] == member["block_size"]:  # ...each block 1:1
                assert counts["ARM-A"] == counts["ARM-B"], stratum
                expected = 1
            else:
                expected += 1


def test_the_stratum_is_the_region_the_subject_answered_at_screening(mwa_run: Run) -> None:
    region_of = {}
    for response in mwa_run.resources("QuestionnaireResponse"):
        _, subject, *_, form, _ = response["identifier"]["value"].split(".")
        if form == "lesion":
            answer = _answer(response.get("item", []), "index-region")
            if answer is not None:
                region_of[subject] = answer["valueCoding"]["code"]
    rows = mwa_run.truth("allocations")
    assert len(region_of) >= len(rows) - 2
    for row in rows:
        if row["subject"] in region_of:
            assert row["stratum"] == f"site={row['site']}|region={region_of[row['subject']]}"
