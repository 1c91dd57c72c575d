"""Check a protocol file, or compile it to FHIR R4 definitions."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from edc import errors
from edc.compiler import CompiledStudy, compile_protocol
from edc.library import load_library
from edc.protocol import LoadedProtocol, load_protocol


@dataclasses.dataclass(frozen=True)
class CheckedProtocol:
    loaded: LoadedProtocol
    compiled: CompiledStudy

    def summary(self) -> str:
        protocol = self.loaded.protocol
        eligibility = protocol.eligibility
        criteria = len(eligibility.inclusion) + len(eligibility.exclusion)
        return (
            f"{protocol.study.id} v{protocol.study.version}: {len(protocol.study.sites)} sites, "
            f"{len(protocol.arms)} arms, {criteria} criteria, "
            f"{len(protocol.schedule.visits)} visits, {len(self.compiled.questionnaires())} forms, "
            f"{len(self.compiled.resources)} FHIR resources (sha256 {self.compiled.sha256[:12]})"
        )


def check(path: Path) -> CheckedProtocol:
    """Load, cross-check and compile ``path`` (compiling proves the output validates).

    :raises errors.ProblemsError: every problem in the file, with file:line and field path.
    """
    library = load_library()
    loaded = load_protocol(path, library)
    return CheckedProtocol(loaded, compile_protocol(loaded.protocol, library))


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
    """Write to a temporary file beside ``output`` and rename it into place.

    :raises errors.BadInputError: when the directory does not exist or is not writable.
    """
    directory = output.parent if str(output.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{output.name}.")
    except OSError as exc:
        raise errors.BadInputError(f"cannot write {output}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, output)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise errors.BadInputError(f"cannot write {output}: {exc.strerror}") from None
