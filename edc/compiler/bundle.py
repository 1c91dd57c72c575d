"""Compiled resources -> one transaction Bundle of conditional PUTs, serialized deterministically.

Definitions with a canonical URL are keyed on ``url`` + ``version``; the rest (ResearchStudy,
Group, Location, Organization) on their version-specific identifier. Every resource carries
our own logical id (with the protocol version in it), so references are plain ``Type/id`` and
the fullUrls are name-based UUIDs: the same protocol always gives byte-identical output.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import orjson

from edc.compiler.naming import entry_uuid

CANONICAL_TYPES = frozenset(
    {"CodeSystem", "ValueSet", "Questionnaire", "PlanDefinition", "ActivityDefinition"}
)


def conditional_url(resource: dict[str, Any]) -> str:
    """``Type?url=..&version=..`` or ``Type?identifier=system|value`` for a resource we emit."""
    resource_type = resource["resourceType"]
    if resource_type in CANONICAL_TYPES:
        return f"{resource_type}?url={_q(resource['url'])}&version={_q(resource['version'])}"
    # The version-keyed identifier is marked use=usual; resources with one identifier use it.
    identifiers = resource["identifier"]
    identifier = next((i for i in identifiers if i.get("use") == "usual"), identifiers[0])
    return f"{resource_type}?identifier={_q(identifier['system'])}|{_q(identifier['value'])}"


def _q(value: str) -> str:
    # Keep URL punctuation readable; escape what would break the query (&, #, spaces, ...).
    return quote(value, safe=":/.-_~")


def conditional_key(resource: dict[str, Any]) -> str:
    return conditional_url(resource)


def transaction(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": entry_uuid(conditional_url(resource)),
                "resource": resource,
                "request": {"method": "PUT", "url": conditional_url(resource)},
            }
            for resource in resources
        ],
    }


def dumps(bundle: dict[str, Any]) -> bytes:
    """Stable JSON: keys in the order we built them, two-space indent, UTF-8, final newline.

    The bytes are those of ``json.dumps(bundle, indent=2, ensure_ascii=False)``: that is the
    definition (pinned hashes depend on it). With an indent the standard library encodes in pure
    Python (half a second for an example study, most of `edc protocol check`), so orjson writes
    it when both agree on the compact form (they differ only in how some floats are spelled,
    ``1e+16`` against ``1e16``, and orjson refuses integers beyond 64 bits); otherwise the
    standard library writes it.
    """
    try:
        fast_compact = orjson.dumps(bundle)
    except orjson.JSONEncodeError:
        fast_compact = b""
    standard_compact = json.dumps(bundle, ensure_ascii=False, separators=(",", ":"))
    if fast_compact == standard_compact.encode("utf-8"):
        return orjson.dumps(bundle, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    return (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
