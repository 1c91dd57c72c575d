"""The warehouse tables, one module per area; importing this package registers them all.

Every table is audited (``edc.warehouse.audit``) unless its options say ``not_audited()``.
"""

from edc.warehouse.tables.audit import AuditEventRow
from edc.warehouse.tables.crf import FormResponseRow, ItemValueRow, PlannedVisitRow, VisitRow
from edc.warehouse.tables.fhir import (
    DataProblemRow,
    PublishedDefinitionRow,
    RawResourceRow,
    SyncCursorRow,
)
from edc.warehouse.tables.jobs import JobLeaseRow, JobRunRow, ScheduledJobRow
from edc.warehouse.tables.lock import ExportManifestRow, LockEventRow, LockStateRow
from edc.warehouse.tables.monitoring import (
    DataQueryMessageRow,
    DataQueryRow,
    DeviationRow,
    SdvMarkRow,
)
from edc.warehouse.tables.outbox import OutboxMessageRow
from edc.warehouse.tables.randomization import (
    RandomizationDrawRow,
    RandomizationSchemeRow,
    RandomizationSlotRow,
    UnblindingRow,
)
from edc.warehouse.tables.safety import AdverseEventRow
from edc.warehouse.tables.screening import (
    ScreeningRecordRow,
    ScreeningResourceRow,
    ScreeningResultRow,
    ScreeningTallyRow,
)
from edc.warehouse.tables.study import ProtocolVersionRow, SiteRow, StudyRow
from edc.warehouse.tables.subjects import AllocationRow, ConsentRow, PatientLinkRow, SubjectRow
from edc.warehouse.tables.users import RoleAssignmentRow, UserRow
from edc.warehouse.tables.web import WebSessionRow

__all__ = [
    "AdverseEventRow",
    "AllocationRow",
    "AuditEventRow",
    "ConsentRow",
    "DataProblemRow",
    "DataQueryMessageRow",
    "DataQueryRow",
    "DeviationRow",
    "ExportManifestRow",
    "FormResponseRow",
    "ItemValueRow",
    "JobLeaseRow",
    "JobRunRow",
    "LockEventRow",
    "LockStateRow",
    "OutboxMessageRow",
    "PatientLinkRow",
    "PlannedVisitRow",
    "ProtocolVersionRow",
    "PublishedDefinitionRow",
    "RandomizationDrawRow",
    "RandomizationSchemeRow",
    "RandomizationSlotRow",
    "RawResourceRow",
    "RoleAssignmentRow",
    "ScheduledJobRow",
    "ScreeningRecordRow",
    "ScreeningResourceRow",
    "ScreeningResultRow",
    "ScreeningTallyRow",
    "SdvMarkRow",
    "SiteRow",
    "StudyRow",
    "SubjectRow",
    "SyncCursorRow",
    "UnblindingRow",
    "UserRow",
    "VisitRow",
    "WebSessionRow",
]
