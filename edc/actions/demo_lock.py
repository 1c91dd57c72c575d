"""The demo's last steps: the data manager locks the study (signed), the statistician exports,
the unblinded statistician unblinds the locked study (signed) and runs the analysis plan.

The signer's password is made here (random, set like any password); ``edc demo`` prints new
web logins afterwards anyway. Run again, the demo finds the study locked and its export made:
it shows them instead of making them again (the same lock exports the same bytes).
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
from pathlib import Path

import orjson

from edc import config
from edc.actions import analyze, demo_users, passwords
from edc.actions import export as export_action
from edc.actions import lock as lock_action
from edc.actions.workspace import Workspace
from edc.warehouse import locks

SIGNER = "demo-data-manager"
EXPORTER = "demo-statistician"
ANALYST = "demo-unblinded-statistician"
REASON = "demo: every visit collected, queries closed"
UNBLIND_REASON = "demo: final analysis of the locked data"


@dataclasses.dataclass(frozen=True)
class DemoLock:
    """The study's signed lock and its export (files with their SHA-256)."""

    lock: str
    signature_sha256: str
    export_dir: Path
    files: tuple[export_action.ExportedFile, ...]
    primary: str
    report: Path

    def lines(self) -> list[str]:
        lines = [self.lock, f"exported to {self.export_dir}:"]
        lines += [f"  {f.name:<16} {f.rows:>6,} rows  sha256 {f.sha256}" for f in self.files]
        lines += [f"analysed: {self.primary}", f"report: {self.report}"]
        return lines


def lock_and_export(settings: config.Settings, study_code: str, base: Path) -> DemoLock:
    """Lock ``study_code`` as the demo's data manager (unless locked), then export it."""
    with Workspace.open(settings, user=SIGNER) as workspace:
        with workspace.transaction() as session:
            study = workspace.study(session, study_code)
            unit = locks.states(session=session, study_id=study.id).get(locks.STUDY_UNIT)
            event_id = unit.lock_event_id if unit is not None and unit.state == "locked" else None
        if event_id is None:
            password = secrets.token_urlsafe(18)
            passwords.set_password(
                workspace.maker, username=SIGNER, password=password, actor=demo_users.ACTOR,
                role="system", clock=workspace.clock, reason="demo signing password",
            )  # fmt: skip
            request = lock_action.LockRequest(study_code, "lock", REASON, password)
            signed = lock_action.change(settings, workspace, request)
            event_id = signed.lock_event_id
        with workspace.transaction() as session:
            event = next(
                e for e in locks.events(session=session, study_id=study.id) if e.id == event_id
            )
            line = (
                f"locked: study {study_code}, signed by {event.actor} ({event.signer_role}): "
                f"{event.meaning}; signature {event.signature_sha256}"
            )
            signature = event.signature_sha256
    out = base / f"export-lock-{event_id}"
    manifest = out / export_action.MANIFEST
    if manifest.exists():
        files = tuple(
            export_action.ExportedFile(**entry)
            for entry in orjson.loads(manifest.read_bytes())["files"]
        )
    else:
        with Workspace.open(settings, user=EXPORTER) as workspace:
            asked = export_action.ExportRequest(study_code, out, xpt=True)
            files = export_action.export(settings, workspace, asked).files
    analysed = base / f"analysis-lock-{event_id}"
    with Workspace.open(settings, user=ANALYST) as workspace:
        with workspace.transaction() as session:
            unblinded = export_action.arms_open(session, workspace.study(session, study_code))
        if not unblinded:
            password = secrets.token_urlsafe(18)
            passwords.set_password(
                workspace.maker, username=ANALYST, password=password, actor=demo_users.ACTOR,
                role="system", clock=workspace.clock, reason="demo signing password",
            )  # fmt: skip
            lock_action.unblind_study(settings, workspace, study_code, UNBLIND_REASON, password)
        if analysed.exists():  # an earlier demo run analysed this lock: analyse it again
            shutil.rmtree(analysed)
        result = analyze.analyze(settings, workspace, analyze.AnalyzeRequest(study_code, analysed))
    return DemoLock(line, signature, out, files, result.primary, result.report)
