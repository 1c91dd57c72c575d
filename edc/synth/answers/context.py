"""What a form's answer generator knows: the subject, the visit, and the subject's trajectory."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from edc.synth.adverse_events import Occurrence
from edc.synth.latent import PatientState
from edc.synth.marginals import Marginal
from edc.synth.profile import Profile
from edc.synth.rng import Draw
from edc.synth.trajectories import Trajectory, fallback, target_marginal

# Pain after an unscheduled visit's flare: ASSUMPTION, 1-3 points above the last visit's.
FLARE = (1.0, 3.0)


@dataclasses.dataclass(frozen=True)
class StudyForms:
    """Which of the protocol's forms carry the pain, disability and opioid channels."""

    pain: str | None  # "vas.vas" / "nrs.nrs": the form.item key of the pain score
    disability: str | None  # "odi.odi-total"
    opioid: str | None  # "medd.medd-total"


@dataclasses.dataclass
class FormContext:
    form_id: str
    arm: str
    visit_key: str  # W4, UNS2, ...
    target_visit: str  # the scheduled visit whose targets apply (UNS: the one before it)
    baseline: bool  # before the index event
    unscheduled: bool
    day: dt.date
    state: PatientState
    profile: Profile
    forms: StudyForms
    trajectory: Trajectory
    draw: Draw
    events: Sequence[Occurrence]
    baseline_opioid: str | None
    bounds: Mapping[str, tuple[float | None, float | None]]  # linkId -> item min/max
    given: dict[str, Any] = dataclasses.field(default_factory=dict)
    # form.item keys whose targets an instrument's generator used (the rest are drawn by the
    # form filler, so every target in the profile is met whoever generates the item).
    consumed: set[str] = dataclasses.field(default_factory=set)
    visit_id: str = ""  # the protocol's visit (UNS for every unscheduled one)

    def marginal(
        self, key: str, low: float | None, high: float | None, default: Marginal
    ) -> tuple[Marginal, bool]:
        """The target marginal of ``form.item`` here (and whether it is per level)."""
        self.consumed.add(key)
        found = target_marginal(self.profile, key, self.arm, self.target_visit, low, high)
        return found if found is not None else (default, False)

    def channel_value(self, channel: str, key: str | None, low: float, high: float) -> float:
        """The pain or function channel's value at this visit: its target, else a default."""
        # ASSUMPTION without a target: disability around 45% before the procedure; pain and
        # disability about halved after it.
        if self.baseline:
            default = {
                "pain": self.profile.population.pain.marginal(low, high),
                "function": fallback(low, high, share=0.45),
            }[channel]
        else:
            default = {
                "pain": fallback(low, high, share=0.3),
                "function": fallback(low, high, share=0.25),
            }[channel]
        marginal = self.marginal(key, low, high, default)[0] if key else default
        value = marginal.at(self.trajectory.z(channel, self.target_visit))
        if self.unscheduled and channel == "pain":
            value += self.draw.uniform(*FLARE)
        return min(max(value, low), high)

    def pain(self) -> float:
        """VAS-like pain 0-10 at this visit."""
        return self.channel_value("pain", self.forms.pain, 0.0, 10.0)

    def disability(self) -> float:
        """ODI-like disability 0-100 at this visit."""
        return self.channel_value("function", self.forms.disability, 0.0, 100.0)

    def flagged(self, link_id: str) -> list[Occurrence]:
        """The adverse events that set ``<this form>.<link_id>`` (e.g. cement leakage)."""
        key = f"{self.form_id}.{link_id}"
        return [event for event in self.events if event.form_flag == key]
