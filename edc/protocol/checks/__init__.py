"""Cross-reference checks over a structurally valid protocol; every problem located."""

from __future__ import annotations

from edc import errors
from edc.library import Library
from edc.located_yaml import Reporter, YamlDocument
from edc.protocol.checks import arms, edit_checks, forms, safety, schedule, study
from edc.protocol.model import Protocol


def check_protocol(
    protocol: Protocol, document: YamlDocument, library: Library
) -> list[errors.Problem]:
    """Every cross-reference problem in ``protocol`` (empty list when it is consistent)."""
    report = Reporter(document)
    study.check(protocol, library, report)
    schedule.check(protocol, report)
    arms.check(protocol, report)
    forms.check(protocol, library, report)
    safety.check(protocol, library, report)
    edit_checks.check(protocol, library, report)
    return report.problems
