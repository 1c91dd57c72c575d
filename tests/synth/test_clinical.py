"""One latent state behind every classification: the scores agree with each other."""

from __future__ import annotations

import collections

from edc.library import scoring
from edc.synth import clinical
from edc.synth.population import Population
from edc.synth.tumours import PRIMARIES


def test_performance_neurology_and_prognosis_scores_agree(prd):
    population = Population(prd.protocol, prd.profile, seed=8, sites=3, patients=1500)
    seen = collections.Counter()
    for patient in population.patients():
        state = patient.state
        tokuhashi = state.tokuhashi()
        solitary = len(state.lesions) == 1 and state.extraspinal == 0
        tomita = clinical.tomita_answers(
            primary=state.primary, visceral=state.visceral, solitary=solitary
        )
        # KPS and ECOG describe the same performance, and Tokuhashi reads the same KPS
        assert (state.ecog >= 3) == (state.kps <= 40)
        band = {"kps-10-40": (10, 40), "kps-50-70": (50, 70), "kps-80-100": (80, 100)}[
            tokuhashi["tokuhashi-condition"]
        ]
        assert band[0] <= state.kps <= band[1]
        # Frankel drives the Tokuhashi palsy item; high-grade ESCC the deficits
        assert (tokuhashi["tokuhashi-palsy"] == "frankel-e") == (state.frankel == "E")
        if state.escc in {"0", "1a", "1b", "1c"}:
            assert state.frankel in {"D", "E"}
        # Tomita and Tokuhashi agree on organs and on the tumour
        assert {
            "none": "organ-none",
            "treatable": "organ-removable",
            "untreatable": "organ-unremovable",
        }[tomita["tomita-visceral"]] == tokuhashi["tokuhashi-organs"]
        assert tomita["tomita-growth"] == PRIMARIES[state.primary].tomita
        # slow-growing primaries (breast, thyroid, prostate) score 5 on Tokuhashi's site item
        if tomita["tomita-growth"] == "slow":
            assert tokuhashi["tokuhashi-primary"] in {"breast", "thyroid", "prostate"}
        total = clinical.total("tokuhashi-revised", "tokuhashi-total", tokuhashi)
        low, high = clinical.survival_weeks_band(total)
        assert low <= state.survival_weeks <= high
        sins = clinical.sins_answers(
            level=state.index_lesion.level,
            pain=state.pain_character,
            kind=state.index_lesion.kind,
            alignment=state.alignment,
            collapse=state.index_lesion.collapse,
            posterolateral=state.index_lesion.posterolateral,
        )
        if state.index_lesion.fracture:
            assert sins["sins-collapse"] in {"over-50", "under-50"}
        seen[scoring.score("sins", "sins-total", sins) >= 7] += 1
        seen[tomita["tomita-bone"]] += 1
    # both stable and potentially unstable spines, solitary and multiple metastases occur
    assert seen[True] and seen[False] and seen["solitary"] and seen["multiple"]


def test_sins_location_follows_the_published_regions():
    names = {
        name: clinical.sins_location(clinical.vertebra_index(name))
        for name in ("C1", "C4", "C7", "T2", "T3", "T10", "T11", "L1", "L2", "L4", "L5")
    }
    assert names == {
        "C1": "junctional",
        "C4": "mobile",
        "C7": "junctional",
        "T2": "junctional",
        "T3": "semi-rigid",
        "T10": "semi-rigid",
        "T11": "junctional",
        "L1": "junctional",
        "L2": "mobile",
        "L4": "mobile",
        "L5": "junctional",
    }
    assert [clinical.ecog_from_kps(k) for k in (100, 90, 80, 70, 60, 50, 40, 30, 20, 10)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
    ]
