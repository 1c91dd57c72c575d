"""Copies of the minimal protocol under other study ids and versions, compiled once per session.

Tests that share the FHIR server give each study its own id, so their definitions and data
never meet. Compiling takes about half a second, so each (id, version) is compiled once.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from edc.actions import protocol

MINIMAL = Path(__file__).parents[1] / "data" / "protocols" / "minimal.yaml"


@dataclasses.dataclass(frozen=True)
class StudyFile:
    path: Path
    checked: protocol.CheckedProtocol

    @property
    def study(self) -> str:
        return self.checked.loaded.protocol.study.id


class Protocols:
    """Writes and compiles variants of the minimal protocol into ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._made: dict[tuple[str, str, str], StudyFile] = {}

    def get(self, study: str = "MINI-01", version: str = "1.0", title: str = "") -> StudyFile:
        key = (study, version, title)
        if key not in self._made:
            text = MINIMAL.read_text()
            text = text.replace("  id: MINI-01\n", f"  id: {study}\n", 1)
            text = text.replace('  version: "1.0"\n', f'  version: "{version}"\n', 1)
            if title:
                text = text.replace(
                    "  title: A minimal two-arm randomized trial\n", f"  title: {title}\n", 1
                )
            path = self.directory / f"{study}-{version}-{len(self._made)}.yaml"
            path.write_text(text)
            self._made[key] = StudyFile(path, protocol.check(path))
        return self._made[key]
