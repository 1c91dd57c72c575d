"""`edc doctor`: check that edc can work here, and say what to do about what it cannot.

Each check gives ``ok``, ``warn`` (works, but something is missing or unusual) or ``fail``
(a command that needs it will fail), with what was found and what to do. Checks: the data
directory, the database (reachable, migrated to this edc's newest revision) and, for a FHIR
server, its CapabilityStatement (R4; transactions for publish and load; searches by
``_lastUpdated`` for sync; Bulk ``$export``) and its SMART configuration (and a token, when
credentials are set).
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any, Literal

from edc import config, errors
from edc.fhir.target import ServerSpec
from edc.synced_types import TYPES

if TYPE_CHECKING:
    from edc.fhir import FhirClient

Status = Literal["ok", "warn", "fail"]


@dataclasses.dataclass(frozen=True)
class Check:
    """One check: what was checked, how it went, what was found, and what to do."""

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclasses.dataclass(frozen=True)
class DoctorReport:
    checks: list[Check]

    @property
    def failed(self) -> int:
        return sum(1 for check in self.checks if check.status == "fail")


def doctor(settings: config.Settings, server: ServerSpec | None = None) -> DoctorReport:
    """Run every check (the FHIR ones only with ``server``); never raises for what it finds."""
    checks = [_data_dir(settings)]
    checks += _database(settings)
    if server is not None:
        checks += _fhir(server)
    return DoctorReport(checks)


def settings_failed(error: errors.UserError) -> DoctorReport:
    """The report when the settings themselves cannot be loaded (nothing else is checked)."""
    fix = error.details or "fix the setting named (see `edc config show`)"
    return DoctorReport([Check("settings", "fail", error.message, fix)])


def _data_dir(settings: config.Settings) -> Check:
    path = settings.data_dir
    if not path.exists():
        return Check("data directory", "warn", f"{path} does not exist yet", "edc db upgrade")
    if not os.access(path, os.W_OK | os.X_OK):
        return Check(
            "data directory", "fail", f"{path} is not writable", "fix its owner or permissions"
        )
    return Check("data directory", "ok", str(path.resolve()))


def _database(settings: config.Settings) -> list[Check]:
    from edc.warehouse import db, migrate

    where = config.mask_url(settings.database_url)
    path = db.sqlite_file(settings.database_url)
    if path is not None and not path.is_file():
        return [Check("database", "fail", f"no warehouse at {path}", "edc db upgrade")]
    engine = db.make_engine(settings.database_url)
    try:
        try:
            at = migrate.current_revision(engine)
        except errors.UserError as exc:
            return [Check("database", "fail", f"{where}: {exc.message}", exc.details)]
        head = migrate.head_revision()
        version = ".".join(map(str, engine.dialect.server_version_info or ()))
        checks = [Check("database", "ok", f"{where} ({engine.dialect.name} {version})")]
        if at == head:
            checks.append(Check("migrations", "ok", f"at the newest revision {head}"))
        elif at is None:
            checks.append(Check("migrations", "fail", "no warehouse schema", "edc db upgrade"))
        else:
            checks.append(
                Check("migrations", "fail", f"at revision {at}, not {head}", "edc db upgrade")
            )
        return checks
    finally:
        engine.dispose()


def _fhir(server: ServerSpec) -> list[Check]:
    from edc import fhir

    checks: list[Check] = []
    try:
        with server.client() as client:
            caps = client.capabilities()
            checks.append(_smart_configuration(client, server))
    except fhir.AuthError as exc:
        return [*checks, Check("SMART token", "fail", exc.message, exc.details or _SMART_FIX)]
    except errors.UserError as exc:
        return [Check("FHIR server", "fail", f"{server.url}: {exc.message}", exc.details)]
    software = caps.software or "unknown software"
    if caps.is_r4:
        found = f"{server.url}: {software}, FHIR {caps.fhir_version}"
        checks.insert(0, Check("FHIR server", "ok", found))
    else:
        checks.insert(
            0,
            Check(
                "FHIR server",
                "fail",
                f"{server.url} speaks FHIR {caps.fhir_version or '?'}, not R4 (4.0.x)",
                "point --fhir-url at the server's R4 endpoint",
            ),
        )
    checks.append(_gaps("publish and load", caps.missing(None, interactions=["transaction"])))
    searches = [
        gap
        for resource_type in TYPES
        for gap in caps.missing(
            resource_type, interactions=["search-type"], search_params=["_lastUpdated"]
        )
    ]
    checks.append(_gaps("sync (REST)", searches, status="warn"))
    export = caps.missing(None, operation="export") and caps.missing("Group", operation="export")
    checks.append(_gaps("sync (Bulk $export)", export, status="warn"))
    return checks


_SMART_FIX = "check --smart-client-id, --smart-key and --smart-kid (or EDC_FHIR_*)"


def _smart_configuration(client: FhirClient, server: ServerSpec) -> Check:
    from edc import fhir

    body: dict[str, Any] = {}
    try:
        body = client.request("GET", ".well-known/smart-configuration").body
    except (fhir.FhirRequestError, fhir.FatalNetworkError):
        pass  # no (readable) SMART configuration
    token = body.get("token_endpoint")
    if not token:
        if server.smart is None:
            return Check("SMART", "ok", "no SMART configuration; none configured here either")
        return Check(
            "SMART",
            "warn",
            "the server publishes no .well-known/smart-configuration",
            "give --smart-token-url (or EDC_FHIR_TOKEN_URL)",
        )
    methods = body.get("token_endpoint_auth_methods_supported") or []
    if "private_key_jwt" not in methods:
        return Check(
            "SMART",
            "warn",
            f"token endpoint {token} does not list private_key_jwt",
            "ask the server's administrators for SMART Backend Services",
        )
    credentials = "token obtained" if server.smart is not None else "no credentials configured"
    return Check("SMART", "ok", f"token endpoint {token}; {credentials}")


def _gaps(name: str, gaps: list[str], *, status: Status = "fail") -> Check:
    if not gaps:
        return Check(name, "ok", "supported")
    shown = "; ".join(gaps[:3]) + (f" and {len(gaps) - 3} more" if len(gaps) > 3 else "")
    return Check(name, status, f"the server lacks {shown}", "use a server that offers them")
