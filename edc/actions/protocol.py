"""Check a protocol file, compile it to FHIR R4 definitions, or register it in the warehouse."""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from edc import config, errors
from edc.clock import Clock, SystemClock
from edc.compiler import CompiledStudy, compile_protocol
from edc.library import load_library
from edc.protocol import LoadedProtocol, load_protocol

if TYPE_CHECKING:
    from edc.warehouse import db


@dataclasses.dataclass(frozen=True)
class ProtocolOverview:
    """What a protocol file holds, in numbers (what `edc protocol check` reports)."""

    study: str
    version: str
    sites: int
    arms: int
    criteria: int
    visits: int
    forms: int
    resources: int
    sha256: str

    def text(self) -> str:
        return (
            f"{self.study} v{self.version}: {self.sites} sites, {self.arms} arms, "
            f"{self.criteria} criteria, {self.visits} visits, {self.forms} forms, "
            f"{self.resources} FHIR resources (sha256 {self.sha256[:12]})"
        )


@dataclasses.dataclass(frozen=True)
class CheckedProtocol:
    loaded: LoadedProtocol
    compiled: CompiledStudy

    def overview(self) -> ProtocolOverview:
        protocol = self.loaded.protocol
        eligibility = protocol.eligibility
        return ProtocolOverview(
            study=protocol.study.id,
            version=protocol.study.version,
            sites=len(protocol.study.sites),
            arms=len(protocol.arms),
            criteria=len(eligibility.inclusion) + len(eligibility.exclusion),
            visits=len(protocol.schedule.visits),
            forms=len(self.compiled.questionnaires()),
            resources=len(self.compiled.resources),
            sha256=self.compiled.sha256,
        )

    def summary(self) -> str:
        return self.overview().text()


def check(path: Path, *, model_check: bool = True) -> CheckedProtocol:
    """Load, cross-check and compile ``path`` (compiling proves the output validates).

    :param model_check: see ``compile_protocol`` (`edc protocol check` passes False).

    :raises errors.ProblemsError: every problem in the file, with file:line and field path.
    """
    library = load_library()
    loaded = load_protocol(path, library)
    return CheckedProtocol(
        loaded, compile_protocol(loaded.protocol, library, model_check=model_check)
    )


@dataclasses.dataclass(frozen=True)
class Registered:
    """A protocol version in the warehouse: which, with what hash, and whether it is new."""

    checked: CheckedProtocol
    protocol_version_id: int
    created: bool


def register(settings: config.Settings, path: Path, *, clock: Clock | None = None) -> Registered:
    """Check and compile ``path``, then record it in the warehouse (idempotent).

    Records the study, its sites and the protocol version with its YAML source, compiled
    Bundle and SHA-256, in one audited transaction. Registering the same file again changes
    nothing.

    :raises errors.ProblemsError: as ``check`` (the database is not touched).
    :raises errors.BadInputError: when this version is registered with different content, or
        the warehouse is missing or not migrated.
    """
    from edc.warehouse import db, migrate  # not needed (nor paid for) by check and compile

    checked = check(path)
    engine = migrate.open_engine(settings.database_url)
    try:
        return register_checked(db.make_sessionmaker(engine), checked, clock or SystemClock())
    finally:
        engine.dispose()


def register_checked(maker: db.SessionMaker, checked: CheckedProtocol, clock: Clock) -> Registered:
    """``register`` for a protocol already checked, through sessions from ``maker``."""
    from edc.warehouse import audit, db, studies

    protocol = checked.loaded.protocol
    study = protocol.study
    to_register = studies.ProtocolToRegister(
        study_code=study.id,
        title=study.title,
        version=study.version,
        sites=tuple((site.id, site.name, site.country) for site in study.sites),
        source_yaml=checked.loaded.source_text,
        bundle_json=checked.compiled.json_bytes.decode("utf-8"),
        bundle_sha256=checked.compiled.sha256,
    )
    with db.transaction(maker) as session:
        audit.bind(session, actor="edc protocol register", role="system", clock=clock)
        row, created = studies.register_protocol(session=session, protocol=to_register, clock=clock)
        return Registered(checked, row.id, created)


def compile_to(path: Path, output: Path) -> CheckedProtocol:
    """Compile ``path`` and write the transaction Bundle to ``output``.

    Nothing is written unless the whole protocol is valid; the file appears atomically.

    :raises errors.ProblemsError: as ``check``.
    :raises errors.BadInputError: when ``output`` cannot be written.
    """
    checked = check(path)
    write_atomically(output, checked.compiled.json_bytes)
    return checked


def write_atomically(output: Path, data: bytes) -> None:
    """Write ``data`` to ``output`` so that a reader never sees a half-written file.

    A regular file (or a new one) is written to a temporary file beside it, flushed to disk and
    renamed into place; a symlink is followed, so the link stays and its target is replaced.
    Anything else that exists (``/dev/stdout``, a pipe, ``/dev/full``) is written to directly:
    replacing a device node with a regular file would be wrong, and the write error is reported.

    :raises errors.BadInputError: when the directory does not exist or is not writable, or the
        write fails (disk full, ...); a temporary file is never left behind.
    """
    try:
        target = output.resolve() if output.is_symlink() else output
        special = target.exists() and not target.is_file()
    except OSError as exc:
        raise errors.BadInputError(f"cannot write {output}: {exc.strerror or exc}") from None
    if special:
        try:
            with target.open("wb") as stream:
                stream.write(data)
        except OSError as exc:
            raise errors.BadInputError(f"cannot write {output}: {exc.strerror or exc}") from None
        return
    # Created like open() would create the file (mode 0666 less the umask), under a name no
    # other writer picks.
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise errors.BadInputError(f"cannot write {output}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise errors.BadInputError(f"cannot write {output}: {exc.strerror or exc}") from None
