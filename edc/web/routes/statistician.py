"""The statistician's page: the lock state and its signatures (freeze, lock, unlock signed by
re-entering one's password), the exports of the locked study with their manifests to
download.

A face over ``edc.actions.lock`` and ``edc.actions.export_store``: the actions check who may
sign (``Action.LOCK``), who may export, that only a locked study is exported and that blinded
roles get no arms.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from edc import errors
from edc.actions import analysis_store, export_store, lock
from edc.trial.permissions import ALLOWED, Action
from edc.web import pages
from edc.web.deps import Authorized, Study, workspace

router = APIRouter()
LockVerb = Literal["freeze", "lock", "unlock"]


class Signing(BaseModel):
    verb: LockVerb
    reason: str = Field(min_length=1)
    password: str = Field(min_length=1)
    site: str | None = None
    subject: str | None = None


class Unblinding(BaseModel):
    reason: str = Field(min_length=1)
    password: str = Field(min_length=1)


class ExportAsk(BaseModel):
    unblinded: bool = False


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _sign(auth: Authorized, body: Signing) -> lock.LockResult:
    request = lock.LockRequest(
        auth.access.study_code,
        body.verb,
        body.reason,
        body.password,
        _blank(body.site),
        _blank(body.subject),
    )
    return lock.change(auth.context.settings, workspace(auth), request)


def _export(auth: Authorized, body: ExportAsk) -> export_store.StoredExport:
    return export_store.create(
        auth.context.settings, workspace(auth), auth.access.study_code, unblinded=body.unblinded
    )


def _may_export(auth: Authorized) -> bool:
    return bool(auth.access.roles & ALLOWED[Action.EXPORT])


# --- JSON API ---------------------------------------------------------------------------------


@router.get("/api/v1/studies/{study}/lock", tags=["lock and export"])
def lock_status_api(auth: Study) -> lock.LockStatus:
    """The study's lock state and the last signature of every signed unit (reader's sites)."""
    return lock.status(workspace(auth), auth.access.study_code)


@router.post("/api/v1/studies/{study}/lock", tags=["lock and export"])
def sign_api(auth: Study, body: Signing) -> lock.LockResult:
    """Freeze, lock or unlock the study, a site or a subject, signed by re-entering one's
    password (data manager, principal investigator)."""
    return _sign(auth, body)


@router.post("/api/v1/studies/{study}/unblinding", tags=["lock and export"])
def unblind_api(auth: Study, body: Unblinding) -> lock.UnblindResult:
    """Unblind the locked study, once, signed by re-entering one's password (the unblinded
    statistician); until then exports show arms as masked codes and the analysis is refused."""
    return lock.unblind_study(
        auth.context.settings, workspace(auth), auth.access.study_code, body.reason, body.password
    )


@router.get("/api/v1/studies/{study}/exports", tags=["lock and export"])
def exports_api(auth: Study) -> list[export_store.StoredExport]:
    """The exports of the locked study, with their manifests (roles that may export)."""
    return export_store.list_exports(workspace(auth), auth.access.study_code)


@router.post("/api/v1/studies/{study}/exports", status_code=201, tags=["lock and export"])
def export_api(auth: Study, body: ExportAsk) -> export_store.StoredExport:
    """Export the locked study (datasets, define, manifest) to download; 422 before lock."""
    return _export(auth, body)


@router.get("/api/v1/studies/{study}/exports/{export_id}/{name}", tags=["lock and export"])
def export_file_api(auth: Study, export_id: int, name: str) -> Response:
    """One file of an export, or its ``manifest.json``."""
    path = export_store.stored_file(
        auth.context.settings, workspace(auth), auth.access.study_code, export_id, name
    )
    return FileResponse(path, filename=name)


@router.post("/api/v1/studies/{study}/analysis", status_code=201, tags=["lock and export"])
def analyze_api(auth: Study) -> analysis_store.KeptAnalysis:
    """Run the protocol's analysis plan on the locked study (a role that sees arms); its
    files, ``report.html`` among them, are then served below."""
    return analysis_store.create(auth.context.settings, workspace(auth), auth.access.study_code)


@router.get("/api/v1/studies/{study}/analysis/{name}", tags=["lock and export"])
def analysis_file_api(auth: Study, name: str) -> Response:
    """One file of the newest analysis (``report.html``: the report)."""
    path = analysis_store.newest_file(
        auth.context.settings, workspace(auth), auth.access.study_code, name
    )
    return FileResponse(path, headers={"Cache-Control": "no-store"})


# --- Pages ------------------------------------------------------------------------------------


@router.get("/studies/{study}/lock", include_in_schema=False)
def lock_page(request: Request, auth: Study, done: str = "") -> Response:
    status = lock.status(workspace(auth), auth.access.study_code)
    exports: list[export_store.StoredExport] = []
    if _may_export(auth):
        exports = export_store.list_exports(workspace(auth), auth.access.study_code)
    return pages.render(
        request,
        "lock.html",
        auth=auth,
        status=status,
        exports=exports,
        may_export=_may_export(auth),
        may_unblind=bool(auth.access.roles & ALLOWED[Action.UNBLIND_STUDY]),
        done=done,
    )


def _back(auth: Authorized, done: str) -> Response:
    url = f"/studies/{auth.access.study_code}/lock?done={quote(done)}"
    return RedirectResponse(url, status_code=303)


@router.post("/studies/{study}/lock", include_in_schema=False)
def sign_page(
    auth: Study,
    verb: Annotated[LockVerb, Form()],
    reason: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    site: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
) -> Response:
    if not password:
        raise errors.BadInputError("re-enter your password to sign")
    body = Signing.model_construct(
        verb=verb, reason=reason, password=password, site=site, subject=subject
    )
    result = _sign(auth, body)
    return _back(auth, f"{result.unit} {result.state}, signed by {result.signer}")


@router.post("/studies/{study}/unblinding", include_in_schema=False)
def unblind_page(
    auth: Study,
    reason: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    if not password:
        raise errors.BadInputError("re-enter your password to sign")
    result = lock.unblind_study(
        auth.context.settings, workspace(auth), auth.access.study_code, reason, password
    )
    return _back(auth, f"study {result.study} unblinded, signed by {result.signer}")


@router.post("/studies/{study}/analysis", include_in_schema=False)
def analyze_page(auth: Study) -> Response:
    made = analysis_store.create(auth.context.settings, workspace(auth), auth.access.study_code)
    return _back(auth, f"analysis {made.run}: {made.primary}")


@router.post("/studies/{study}/exports", include_in_schema=False)
def export_page(auth: Study, unblinded: Annotated[str, Form()] = "") -> Response:
    made = _export(auth, ExportAsk(unblinded=unblinded == "yes"))
    return _back(auth, f"export {made.id} ready")
