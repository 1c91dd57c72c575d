"""Pulling a study's data from FHIR sources into the warehouse (what ``edc sync`` runs).

Sources: ``directory`` (NDJSON files in the Bulk layout), ``rest`` (incremental searches) and
``bulk`` (``$export``). Every batch goes through ``ingest.Ingestor``: parse (``incoming``), store
raw once per version (``store``), check and normalize by type (``subjects``, ``forms`` with
``qindex``/``qcheck``/``answers``, ``safety``), record problems, save the cursor (``cursors``),
in one transaction. ``scope`` reads what the study's registered protocol versions define.
"""

from edc.sync.ingest import Ingestor, TypeCounts
from edc.sync.qcheck import check_response
from edc.sync.qindex import QuestionnaireIndex, build_index
from edc.sync.scope import StudyScope, load_scope
from edc.synced_types import TYPES

__all__ = [
    "TYPES",
    "Ingestor",
    "QuestionnaireIndex",
    "StudyScope",
    "TypeCounts",
    "build_index",
    "check_response",
    "load_scope",
]
