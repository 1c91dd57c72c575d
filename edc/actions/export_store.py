"""Exports kept by the server for download: ``edc export`` into the warehouse's data folder
(``<data_dir>/exports/<study>/<manifest sha256>/``), the recorded manifests listed, and one
file of one export read back.

Only exports of a locked study are recorded (``export_manifest``), so only those are listed: a
statistician sees exports after lock. An unblinded export is listed and served only to a role
that may see arms.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from pathlib import Path

import orjson
from sqlalchemy import select

from edc import config, errors
from edc.actions import export
from edc.actions.workspace import Workspace
from edc.trial import permissions
from edc.trial.permissions import Action
from edc.warehouse.tables.lock import ExportManifestRow


@dataclasses.dataclass(frozen=True)
class StoredExport:
    id: int
    created_at: dt.datetime
    sha256: str
    arms: str  # blinded | unblinded
    files: list[str]
    manifest: dict[str, object]


def folder(settings: config.Settings, study: str) -> Path:
    return settings.data_dir / "exports" / study


def create(
    settings: config.Settings, workspace: Workspace, study: str, *, unblinded: bool = False
) -> StoredExport:
    """Export the locked study into the server's export folder and return it as listed.

    :raises errors.BadInputError: what ``edc export`` refuses (a study not locked, an
        unblinded export by a blinded role, a role that may not export); nothing is kept.
    """
    base = folder(settings, study)
    base.mkdir(parents=True, exist_ok=True)
    staging = base / f".new-{secrets.token_hex(8)}"
    request = export.ExportRequest(study=study, out=staging, unblinded=unblinded)
    try:
        result = export.export(settings, workspace, request)
    except BaseException:
        _remove(staging)
        raise
    final = base / result.manifest_sha256
    if final.exists():  # the same data exported again: same bytes, keep the first
        _remove(staging)
    else:
        staging.rename(final)
    found = [e for e in list_exports(workspace, study) if e.sha256 == result.manifest_sha256]
    return found[-1]


def _remove(path: Path) -> None:
    if path.exists():
        for child in path.iterdir():
            child.unlink()
        path.rmdir()


def list_exports(workspace: Workspace, study_code: str) -> list[StoredExport]:
    """The recorded exports (of the locked study) the user may download, oldest first.

    :raises errors.BadInputError: unknown study; a role that may not export.
    """
    with workspace.transaction() as session:
        study = workspace.study(session, study_code)
        actor = workspace.act(session, study, Action.EXPORT, None)
        sees_arms = permissions.may_see_arms(actor.grants, study.blinding)
        rows = session.scalars(
            select(ExportManifestRow)
            .where(ExportManifestRow.study_id == study.id)
            .order_by(ExportManifestRow.id)
        ).all()
        found = []
        for row in rows:
            manifest = orjson.loads(row.manifest_json)
            if manifest.get("arms") == "unblinded" and not sees_arms:
                continue
            names = [str(f["name"]) for f in manifest.get("files", [])]
            found.append(
                StoredExport(
                    row.id, row.created_at, row.sha256, str(manifest.get("arms")), names, manifest
                )
            )
        return found


def stored_file(
    settings: config.Settings, workspace: Workspace, study: str, export_id: int, name: str
) -> Path:
    """The path of one file of one recorded export (its manifest included).

    :raises errors.NotFoundError: no such export for this user, no such file in its manifest,
        or the file is no longer kept by the server.
    """
    found = [e for e in list_exports(workspace, study) if e.id == export_id]
    if not found:
        raise errors.NotFoundError(f"no export {export_id} of {study}")
    chosen = found[0]
    if name != export.MANIFEST and name not in chosen.files:
        raise errors.NotFoundError(f"export {export_id} has no file {name!r}")
    path = folder(settings, study) / chosen.sha256 / name
    if not path.is_file():
        raise errors.NotFoundError(
            f"export {export_id} ({name}) is not kept by this server",
            "it was made with `edc export` elsewhere; export again here to download it",
        )
    return path
