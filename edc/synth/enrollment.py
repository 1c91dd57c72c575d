"""Who enters the trial in a generated run, and which arm they get (a stand-in for ``edc enroll``).

``EnrolledSubject`` is the hand-over from enrollment to conduct: a later enrollment capability
does its own screening and randomization and passes these to ``generate_conduct``. The
``Enroller`` here is what ``edc generate`` uses meanwhile: among the truly eligible, some
decline consent; the rest are randomized with simple permuted blocks per site (block sizes and
ratio from the protocol; the real stratified randomization comes later). It must see patients
in number order: block positions are sequential.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Iterator

from edc.protocol.model import Protocol
from edc.synth import ids
from edc.synth.population import PopulationPatient
from edc.synth.profile import Conduct
from edc.synth.rng import Draw, Purpose, stream


@dataclasses.dataclass(frozen=True)
class EnrolledSubject:
    """A consented, randomized subject whose trial conduct is to be generated.

    :ivar patient_id: the Patient's logical id in the generated population.
    :ivar site_id: the protocol site id.
    :ivar subject_id: Subject ID in the study's namespace (ResearchSubject.identifier).
    :ivar arm_id: the allocated arm (protocol arm id).
    :ivar consent_date: the date informed consent was signed.
    :ivar randomization_date: the date of randomization (None: the protocol's offset from
        consent, with some jitter).
    :ivar sentinel_sae: give this subject a serious AE that is reported late, so every run
        has one (``edc generate`` sets it on its first subject).
    """

    patient_id: str
    site_id: str
    subject_id: str
    arm_id: str
    consent_date: dt.date
    randomization_date: dt.date | None = None
    sentinel_sae: bool = False


@dataclasses.dataclass(frozen=True)
class Allocation:
    """One randomization, as written to the truth/allocations.ndjson sidecar."""

    subject: EnrolledSubject
    block: int
    block_size: int
    position: int


def consent_intention(
    seed: int, conduct: Conduct, patient: PopulationPatient
) -> tuple[bool, dt.date]:
    """Whether the patient would consent if asked, and the day they would sign.

    A person's own decision, drawn from their own stream: the same whether ``edc generate``
    or an enrolling system (edc itself, in the demo) asks.
    """
    draw = stream(seed, Purpose.ENROLLMENT, patient.number)
    declines = draw.chance(conduct.decline_share)
    return not declines, patient.state.screening_date + dt.timedelta(days=draw.integer(0, 5))


class _SiteBlocks:
    """Permuted blocks for one site, from the site's own stream."""

    def __init__(self, draw: Draw, ratio: dict[str, int], sizes: tuple[int, ...]) -> None:
        self._draw = draw
        self._ratio = ratio
        self._sizes = sizes
        self._blocks = self._generate()
        self.block, self.size = 0, 0
        self.remaining: list[str] = []

    def _generate(self) -> Iterator[list[str]]:
        unit = sum(self._ratio.values())
        while True:
            size = self._draw.pick([(s, 1.0) for s in self._sizes])
            repeats = max(1, size // unit)
            arms = [arm for arm, weight in self._ratio.items() for _ in range(weight * repeats)]
            yield self._draw.shuffle(arms)

    def next(self) -> tuple[str, int, int, int]:
        if not self.remaining:
            self.remaining = next(self._blocks)
            self.block += 1
            self.size = len(self.remaining)
        arm = self.remaining.pop(0)
        return arm, self.block, self.size, self.size - len(self.remaining)


class Enroller:
    """Decides enrollment and allocation for ``edc generate``, patient by patient, in order."""

    def __init__(
        self,
        protocol: Protocol,
        conduct: Conduct,
        run: ids.RunIds,
        seed: int,
        *,
        sentinel_arms: Collection[str] | None = None,
    ) -> None:
        """:param sentinel_arms: the arms whose first subject gets the run's test SAE (None: the
        first subject of any arm; see ``Profile.test_sae``)."""
        self._sentinel_arms = None if sentinel_arms is None else frozenset(sentinel_arms)
        self._protocol = protocol
        self._conduct = conduct
        self._run = run
        self._seed = seed
        self._sites: dict[str, _SiteBlocks] = {}
        self._counts: dict[str, int] = {}
        self._first = True

    def consider(self, patient: PopulationPatient) -> Allocation | None:
        """The patient's allocation, or None (not eligible, or declined consent)."""
        if not patient.eligible:
            return None
        consents, consent = consent_intention(self._seed, self._conduct, patient)
        if not consents:
            return None
        site = patient.site.id
        blocks = self._sites.get(site)
        if blocks is None:
            index = [s.id for s in self._protocol.study.sites].index(site)
            randomization = self._protocol.randomization
            blocks = _SiteBlocks(
                stream(self._seed, Purpose.RANDOMIZATION, index),
                dict(randomization.ratio),
                randomization.block_sizes,
            )
            self._sites[site] = blocks
        arm, block, size, position = blocks.next()
        self._counts[site] = self._counts.get(site, 0) + 1
        subject = EnrolledSubject(
            patient_id=patient.patient_id,
            site_id=site,
            subject_id=self._run.subject_id(site, self._counts[site]),
            arm_id=arm,
            consent_date=consent,
            randomization_date=None,
            sentinel_sae=self._first
            and (self._sentinel_arms is None or arm in self._sentinel_arms),
        )
        self._first = self._first and not subject.sentinel_sae
        return Allocation(subject, block, size, position)
