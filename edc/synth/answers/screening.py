"""Screening forms, copied from the latent state the EHR was rendered from (so they agree).

Labs, lesions, ECOG, KPS, Bilsky, Frankel repeat the EHR values; Tokuhashi, Tomita and SINS
are derived from the same lesions, metastases, performance and neurology
(``edc.synth.clinical``).
"""

from __future__ import annotations

from typing import Any

from edc.synth import clinical
from edc.synth.answers.context import FormContext


def labs(ctx: FormContext) -> dict[str, Any]:
    state = ctx.state
    return {
        "lab-date": state.day(state.days_before.labs),
        "lab-platelets": state.platelets,
        "lab-inr": state.inr,
    }


def lesion(ctx: FormContext) -> dict[str, Any]:
    state = ctx.state
    index = state.index_lesion
    return {
        "lesion-levels": [clinical.vertebra(lesion.level) for lesion in state.lesions],
        "lesion-segments": len(state.lesions),
        "lesion-type": index.kind,
        "lesion-fracture": any(lesion.fracture for lesion in state.lesions),
        "lesion-posterior-wall": state.posterior_wall,
        "lesion-cord-compression": state.escc in {"2", "3"} and state.frankel != "E",
    }


def ecog(ctx: FormContext) -> dict[str, Any]:
    return {"ecog": clinical.ECOG_CODE[ctx.state.ecog]}


def kps(ctx: FormContext) -> dict[str, Any]:
    return {"kps": clinical.KPS_CODE[ctx.state.kps]}


def tokuhashi(ctx: FormContext) -> dict[str, Any]:
    return dict(ctx.state.tokuhashi())


def tomita(ctx: FormContext) -> dict[str, Any]:
    state = ctx.state
    solitary = len(state.lesions) == 1 and state.extraspinal == 0
    return clinical.tomita_answers(
        primary=state.primary, visceral=state.visceral, solitary=solitary
    )


def sins(ctx: FormContext) -> dict[str, Any]:
    state = ctx.state
    index = state.index_lesion
    return clinical.sins_answers(
        level=index.level,
        pain=state.pain_character,
        kind=index.kind,
        alignment=state.alignment,
        collapse=index.collapse,
        posterolateral=index.posterolateral,
    )


def bilsky(ctx: FormContext) -> dict[str, Any]:
    return {"bilsky-escc": ctx.state.escc}


def frankel(ctx: FormContext) -> dict[str, Any]:
    return {"frankel": ctx.state.frankel}
