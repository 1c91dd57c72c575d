"""Canonical URLs, logical ids and identifier systems of everything the compiler emits.

Every definition we author lives under the protocol's ``canonical_base``. Logical ids carry the
protocol version, so an amended protocol creates new resources and leaves the published ones of
the previous version readable; canonical URLs stay the same across versions (``url|version``).
"""

from __future__ import annotations

import dataclasses
import re
import uuid

from edc import errors

# FHIR R4 id: [A-Za-z0-9\-\.]{1,64}
MAX_ID_LENGTH = 64
# Namespace for the deterministic urn:uuid fullUrls of bundle entries.
_UUID_NAMESPACE = uuid.UUID("7d1f2f3e-4c1b-5d8e-9a0f-6b2c3d4e5f60")


@dataclasses.dataclass(frozen=True)
class Naming:
    base: str
    study_id: str
    version: str

    @property
    def slug(self) -> str:
        return self.study_id.lower()

    def resource_id(self, *parts: str) -> str:
        """``<study>-<parts>-<version>``, e.g. ``spine-mwa-01-odi-1.0``."""
        value = "-".join([self.slug, *(part.lower() for part in parts), self.version])
        if len(value) > MAX_ID_LENGTH:
            raise errors.BadInputError(
                f"resource id {value!r} is longer than FHIR's {MAX_ID_LENGTH} characters",
                "use a shorter study id or form/visit/criterion id",
            )
        return value

    def canonical(self, resource_type: str, *parts: str) -> str:
        """Version-independent canonical URL of a definition we author for this study."""
        return f"{self.base}/{resource_type}/{'-'.join([self.slug, *(p.lower() for p in parts)])}"

    def shared_canonical(self, resource_type: str, name: str) -> str:
        """Canonical URL of a definition shared by all studies (instrument answers, CTCAE)."""
        return f"{self.base}/{resource_type}/{name}"

    def versioned(self, resource_type: str, *parts: str) -> str:
        """``canonical|version``: how definitions refer to one version of another."""
        return f"{self.canonical(resource_type, *parts)}|{self.version}"

    def identifier_system(self, kind: str) -> str:
        return f"{self.base}/sid/{kind}"

    def identifier(self, kind: str, value: str, use: str | None = None) -> dict[str, str]:
        """An Identifier in our namespace for ``kind``."""
        result = {"use": use} if use else {}
        return {**result, "system": self.identifier_system(kind), "value": value}

    def computable_name(self, *parts: str) -> str:
        """A FHIR ``name`` for a study definition, e.g. ``SpineMwa01Odi``."""
        return computable_name(self.study_id, *parts)


def computable_name(*parts: str) -> str:
    """A FHIR ``name``: starts with a letter, letters and digits only (CamelCase of parts)."""
    words = re.split(r"[^A-Za-z0-9]+", " ".join(parts))
    name = "".join(word[:1].upper() + word[1:] for word in words if word)
    return name if name[:1].isalpha() else f"N{name}"


def entry_uuid(key: str) -> str:
    """A stable urn:uuid for a bundle entry, so compiling twice gives identical output."""
    return f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, key)}"


def shared_id(*parts: str) -> str:
    """Logical id of a shared definition, e.g. ``ctcae-5.0`` or ``odi-answers-2.1a``."""
    return "-".join(part.lower() for part in parts)
