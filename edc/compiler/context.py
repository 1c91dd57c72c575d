"""What every part of the compiler needs: the protocol, the library and the naming scheme."""

from __future__ import annotations

import dataclasses

from edc.compiler.naming import Naming
from edc.compiler.questionnaire import QuestionnaireSettings
from edc.library import Library
from edc.protocol.model import Protocol


@dataclasses.dataclass(frozen=True)
class CompileContext:
    protocol: Protocol
    library: Library
    naming: Naming

    @classmethod
    def create(cls, protocol: Protocol, library: Library) -> CompileContext:
        study = protocol.study
        return cls(protocol, library, Naming(study.canonical_base, study.id, study.version))

    @property
    def version(self) -> str:
        return self.protocol.study.version

    @property
    def date(self) -> str | None:
        """The date of this protocol version (its amendment), for resources' ``date``."""
        study = self.protocol.study
        if study.amendments:
            return study.amendments[-1].date.isoformat()
        return study.planned_start.isoformat() if study.planned_start else None

    def questionnaire_settings(self) -> QuestionnaireSettings:
        study = self.protocol.study
        return QuestionnaireSettings(self.naming, study.short_title, study.sponsor.name, self.date)
