"""A writer process for the concurrency tests (imported by spawned children, so no fixtures)."""

from __future__ import annotations

import decimal
import time
from typing import Any

from edc import clock as clocks
from edc.warehouse import audit, bulk, db
from edc.warehouse.tables import FormResponseRow, SubjectRow
from tests.warehouse.seed import QUESTIONNAIRE

ITEMS_PER_RESPONSE = 20
# Audit rows one transaction writes: the subject, the response and its item values.
ROWS_PER_TRANSACTION = 2 + ITEMS_PER_RESPONSE


def write(
    url: str, worker: str, transactions: int, study_id: int, site_id: int, start: Any
) -> None:
    """Make ``transactions`` audited transactions, starting when ``start`` (a Barrier) opens."""
    engine = db.make_engine(url)
    maker = db.make_sessionmaker(engine)
    start.wait(timeout=60)
    try:
        for number in range(transactions):
            with db.transaction(maker) as session:
                audit.bind(session, actor=worker, role="site_staff", clock=clocks.SystemClock())
                subject = SubjectRow(
                    study_id=study_id,
                    site_id=site_id,
                    subject_code=f"{worker}-{number:04d}",
                    status="on-study",
                )
                session.add(subject)
                session.flush()
                response = FormResponseRow(
                    subject_id=subject.id,
                    questionnaire_url=QUESTIONNAIRE,
                    questionnaire_version="1.0.0",
                    status="completed",
                )
                session.add(response)
                session.flush()
                bulk.insert_item_values(
                    session=session,
                    values=(
                        bulk.ItemValue(
                            response_id=response.id,
                            link_id=f"item-{item}",
                            value_type="decimal",
                            value_number=decimal.Decimal(item) / 4,
                            questionnaire_url=QUESTIONNAIRE,
                            questionnaire_version="1.0.0",
                        )
                        for item in range(ITEMS_PER_RESPONSE)
                    ),
                )
            # SQLite's busy handler polls: a writer that begins again at once after committing
            # would usually win the lock again. A pause lets the waiting one in.
            time.sleep(0.002)
    finally:
        engine.dispose()
