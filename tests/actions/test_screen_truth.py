"""edc's screening of a generated population agrees with the generator's truth.

The generator decides each patient's eligibility from their latent state (``truth/patients``:
the criteria they fail); edc sees only the EHR records rendered from that state, synced into the
warehouse, and decides from the protocol's FHIRPath. For every criterion the EHR can answer -
those with an expression, including the investigator's criteria whose data only suggest - the
two must agree for every patient, both example studies. Each patient is screened as of their own
screening date.
"""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path

import pytest

from edc import config
from edc.actions import generate, protocol, screen, sync, users
from edc.actions.workspace import Workspace
from edc.synth import layout
from edc.trial.eligibility import criteria
from edc.warehouse import migrate, screening_log
from tests.synth.conftest import MWA, PRD

PATIENTS = 400


@pytest.mark.parametrize("path", [MWA, PRD], ids=["mwa", "prd"])
def test_edc_screening_agrees_with_the_generators_truth(path: Path, tmp_path: Path) -> None:
    settings = config.Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'warehouse.sqlite3'}"
    )
    migrate.upgrade(settings.database_url)
    out = tmp_path / "hospital"
    generate.generate(
        generate.GenerateOptions(study=path, out=out, patients=PATIENTS, seed=5),
        population_only=True,
    )
    registered = protocol.register(settings, path)
    study = registered.checked.loaded.protocol
    sync.sync(settings, sync.SyncRequest(study=study.study.id, source_dir=out))
    with Workspace.open(settings, user="dm") as workspace:
        users.add(workspace, "dm", "Data manager")
        users.grant(workspace, "dm", study.study.id, "admin")
        users.grant(workspace, "dm", study.study.id, "data_manager")
    truth = list(layout.read_lines(out / layout.TRUTH / "patients.ndjson"))
    as_of = {str(p["patient"]): dt.date.fromisoformat(str(p["screening_date"])) for p in truth}
    with Workspace.open(settings, user="dm") as workspace:
        result = screen.screen(
            workspace,
            screen.ScreenRequest(study=study.study.id, as_of_by_patient=as_of),
        )
        with workspace.transaction() as session:
            found = workspace.study(session, study.study.id)
            records = screening_log.read_screenings(
                session, study_id=found.id, site_ids=[s.id for s in found.sites]
            )
    stored = {record.patient_id: record for record in records}
    assert len(result.patients) == PATIENTS
    answerable = {c.id for c, _ in criteria(study.eligibility) if c.expression}
    disagreements = collections.Counter[str]()
    exercised = collections.Counter[str]()
    for person in truth:
        record = stored[str(person["patient"])]
        failed_here = set()
        for criterion_id, exclusion, result_code, suggested, _, _ in record.results:
            verdict = suggested if result_code == "investigator" else result_code
            if criterion_id in answerable and verdict is not None:
                if verdict == "unknown":
                    disagreements[f"{criterion_id} unknown"] += 1
                elif (verdict == "met") == exclusion:
                    failed_here.add(criterion_id)
        expected = set(person["failed"]) & answerable  # type: ignore[arg-type]
        for criterion_id in answerable:
            exercised[criterion_id] += criterion_id in expected
            if (criterion_id in failed_here) != (criterion_id in expected):
                disagreements[criterion_id] += 1
    assert disagreements == collections.Counter()
    # Every answerable criterion but the rare age one was failed by someone.
    assert {c for c, n in exercised.items() if n} >= answerable - {"IN01"}
