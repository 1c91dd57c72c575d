"""What a FHIR server says it can do (its CapabilityStatement, ``GET [base]/metadata``).

Vendor R4 APIs differ by resource, interaction and site (mapping guide §9.1), so callers gate
features on this instead of assuming them: ``caps.supports(...)`` to skip a feature,
``caps.require(...)`` to fail with a message that says what is missing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from edc.fhir import errors

# Result parameters (R4 search.html#return) are not search parameters; servers do not list them.
RESULT_PARAMETERS = frozenset(
    {
        "_count",
        "_sort",
        "_include",
        "_revinclude",
        "_summary",
        "_elements",
        "_total",
        "_contained",
        "_containedType",
        "_format",
        "_pretty",
    }
)


@dataclasses.dataclass(frozen=True)
class ResourceSupport:
    """What the server supports for one resource type.

    ``interactions`` holds the R4 codes (``read``, ``search-type``, ``create``, ...) plus
    ``conditional-create`` / ``conditional-update`` / ``conditional-delete`` when declared.
    """

    type: str
    interactions: frozenset[str]
    search_params: frozenset[str]
    operations: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """A server's declared capabilities, read once from its CapabilityStatement."""

    fhir_version: str
    software: str
    resources: Mapping[str, ResourceSupport]
    system_interactions: frozenset[str]
    system_operations: frozenset[str]

    @classmethod
    def from_statement(cls, statement: Mapping[str, object]) -> Capabilities:
        """Read a CapabilityStatement (parsed JSON); only the ``mode=server`` rest entry counts.

        :raises errors.UnsupportedFeatureError: if it is not a CapabilityStatement.
        """
        if statement.get("resourceType") != "CapabilityStatement":
            raise errors.UnsupportedFeatureError(
                "server /metadata did not return a CapabilityStatement",
                f"got resourceType {statement.get('resourceType')!r}",
            )
        rest = next(
            (r for r in _dicts(statement.get("rest")) if r.get("mode", "server") == "server"), {}
        )
        resources = {}
        for raw in _dicts(rest.get("resource")):
            support = _resource_support(raw)
            resources[support.type] = support
        software = statement.get("software")
        return cls(
            fhir_version=str(statement.get("fhirVersion") or ""),
            software=str(software.get("name", "")) if isinstance(software, dict) else "",
            resources=resources,
            system_interactions=_codes(rest.get("interaction")),
            system_operations=_operation_names(rest.get("operation")),
        )

    @property
    def is_r4(self) -> bool:
        """Whether the server speaks FHIR R4 (4.0.x), the only version we exchange."""
        return self.fhir_version.startswith("4.0")

    def missing(
        self,
        resource_type: str | None = None,
        *,
        interactions: Iterable[str] = (),
        search_params: Iterable[str] = (),
        operation: str | None = None,
    ) -> list[str]:
        """What the server lacks among the features named; [] when it has them all.

        :param resource_type: None asks about system level (``transaction``, ``$export``).
        :param interactions: R4 interaction codes, or ``conditional-create``/``-update``.
        :param search_params: names as sent, modifiers and chains allowed (``identifier:of-type``).
        :param operation: operation name with or without ``$``.
        """
        gaps: list[str] = []
        if resource_type is None:
            have_interactions, have_ops, have_params = (
                self.system_interactions,
                self.system_operations,
                frozenset[str](),
            )
            where = "at system level"
        else:
            support = self.resources.get(resource_type)
            if support is None:
                return [f"resource type {resource_type} is not supported at all"]
            have_interactions, have_ops, have_params = (
                support.interactions,
                support.operations,
                support.search_params,
            )
            where = f"on {resource_type}"
        gaps += [f"interaction {i!r} {where}" for i in interactions if i not in have_interactions]
        for name in search_params:
            base = name.split(":", 1)[0].split(".", 1)[0]
            if base not in RESULT_PARAMETERS and base != "_id" and base not in have_params:
                gaps.append(f"search parameter {base!r} {where}")
        if operation is not None and operation.lstrip("$") not in have_ops:
            gaps.append(f"operation ${operation.lstrip('$')} {where}")
        return gaps

    def supports(
        self,
        resource_type: str | None = None,
        *,
        interactions: Iterable[str] = (),
        search_params: Iterable[str] = (),
        operation: str | None = None,
    ) -> bool:
        """Whether the server declares every feature named (arguments as in :meth:`missing`)."""
        return not self.missing(
            resource_type,
            interactions=interactions,
            search_params=search_params,
            operation=operation,
        )

    def require(
        self,
        purpose: str,
        resource_type: str | None = None,
        *,
        interactions: Iterable[str] = (),
        search_params: Iterable[str] = (),
        operation: str | None = None,
    ) -> None:
        """Fail unless the server declares every feature named.

        :param purpose: what we wanted to do, for the message (e.g. ``"incremental sync"``).
        :raises errors.UnsupportedFeatureError: naming every missing feature.
        """
        gaps = self.missing(
            resource_type,
            interactions=interactions,
            search_params=search_params,
            operation=operation,
        )
        if gaps:
            raise errors.UnsupportedFeatureError(
                f"the FHIR server ({self.software or 'unknown software'}) cannot do {purpose}",
                "Its CapabilityStatement (/metadata) lacks:\n" + "\n".join(f"  {g}" for g in gaps),
            )


def _resource_support(raw: Mapping[str, object]) -> ResourceSupport:
    interactions = set(_codes(raw.get("interaction")))
    # R4 declares conditional support as flags beside the interaction list.
    if raw.get("conditionalCreate") is True:
        interactions.add("conditional-create")
    if raw.get("conditionalUpdate") is True:
        interactions.add("conditional-update")
    if raw.get("conditionalDelete") in ("single", "multiple"):
        interactions.add("conditional-delete")
    params = frozenset(str(p.get("name")) for p in _dicts(raw.get("searchParam")) if p.get("name"))
    return ResourceSupport(
        type=str(raw.get("type")),
        interactions=frozenset(interactions),
        search_params=params,
        operations=_operation_names(raw.get("operation")),
    )


def _dicts(value: object) -> list[Mapping[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _codes(value: object) -> frozenset[str]:
    return frozenset(str(i.get("code")) for i in _dicts(value) if i.get("code"))


def _operation_names(value: object) -> frozenset[str]:
    return frozenset(str(o.get("name")).lstrip("$") for o in _dicts(value) if o.get("name"))
