"""Analyses kept by the server for reading in the browser: ``edc analyze`` run on the locked
study into ``<data_dir>/analyses/<study>/<n>/`` (a new folder each time, never overwritten),
and the files of the newest one read back by name.

Who may run one, and when, is ``edc analyze``'s rule (a role that may see arms, a locked
study); reading a kept analysis checks the same role again, so a blinded reader never gets one.
"""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path

from edc import config, errors
from edc.actions import analyze
from edc.actions.workspace import Workspace
from edc.trial import permissions
from edc.trial.permissions import Action


def folder(settings: config.Settings, study: str) -> Path:
    return settings.data_dir / "analyses" / study


@dataclasses.dataclass(frozen=True)
class KeptAnalysis:
    run: int
    locked: bool
    primary: str
    files: list[str]


def create(settings: config.Settings, workspace: Workspace, study: str) -> KeptAnalysis:
    """Run the study's analysis plan on the locked data into a new kept folder.

    :raises errors.BadInputError: what ``edc analyze`` refuses (a blinded role, a study not
        locked); nothing is kept.
    """
    base = folder(settings, study)
    base.mkdir(parents=True, exist_ok=True)
    staging = base / f".new-{secrets.token_hex(8)}"
    try:
        result = analyze.analyze(
            settings, workspace, analyze.AnalyzeRequest(study=study, out=staging)
        )
    except BaseException:
        if staging.exists():
            for child in staging.iterdir():
                child.unlink()
            staging.rmdir()
        raise
    run = (_runs(base)[-1] if _runs(base) else 0) + 1
    staging.rename(base / str(run))
    names = [f.name for f in result.files]
    if analyze.REPORT not in names:
        names.append(analyze.REPORT)
    return KeptAnalysis(run, result.locked, result.primary, names)


def _runs(base: Path) -> list[int]:
    return sorted(int(p.name) for p in base.iterdir() if p.name.isdigit()) if base.exists() else []


def newest_file(settings: config.Settings, workspace: Workspace, study: str, name: str) -> Path:
    """One file of the newest kept analysis (``report.html`` for the report).

    :raises errors.BadInputError: a role that may not see arms or export.
    :raises errors.NotFoundError: no kept analysis, or no such file in it.
    """
    with workspace.transaction() as session:
        found = workspace.study(session, study)
        actor = workspace.act(session, found, Action.EXPORT, None)
        if not permissions.may_see_arms(actor.grants, found.blinding):
            raise errors.NotPermittedError(
                f"{workspace.username} may not read the analysis by arm of {study}: "
                f"{actor.grant} is blinded"
            )
    runs = _runs(folder(settings, study))
    if not runs:
        raise errors.NotFoundError(f"{study} has no analysis on this server yet")
    newest = folder(settings, study) / str(runs[-1])
    kept = {p.name for p in newest.iterdir() if p.is_file()}
    if name not in kept:
        raise errors.NotFoundError(f"the analysis of {study} has no file {name!r}")
    return newest / name
