"""What a deviation detector returns (``Finding``) and needs from the protocol (``Rules``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session


@dataclasses.dataclass(frozen=True)
class Finding:
    """One deviation as a detector sees it now."""

    kind: str
    subject_id: int
    site_id: int
    subject_code: str
    key: str  # what makes it one finding within the kind and subject (a visit id, a form ...)
    description: str
    evidence: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        return f"{self.kind}:{self.subject_code}:{self.key}"


@dataclasses.dataclass(frozen=True)
class Rules:
    """What the detectors need from the protocol, and the day they run on.

    :ivar visit_forms: visit id -> the Questionnaire URLs of the forms it lists.
    :ivar form_ids: Questionnaire URL -> the protocol's form id (for messages).
    :ivar form_arms: Questionnaire URL -> the only arms it is due in (arm-specific forms).
    """

    today: dt.date
    serious_report_hours: int
    outcome_days: int
    severity: Mapping[str, str]
    visit_forms: Mapping[str, tuple[str, ...]]
    form_ids: Mapping[str, str]
    form_arms: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class RunResult:
    found: int
    opened: int
    updated: int
    resolved: int
    reopened: int


Detector = Callable[[Session, int, Rules], Iterable[Finding]]
