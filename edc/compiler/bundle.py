"""Compiled resources -> one transaction Bundle of conditional PUTs, serialized deterministically.

Definitions with a canonical URL are keyed on ``url`` + ``version``; the rest (ResearchStudy,
Group, Location, Organization) on their version-specific identifier. The fullUrls are
name-based UUIDs (the same protocol always gives byte-identical output), and every reference
between our resources points at the referenced entry's fullUrl: by the Bundle rules (R4
bundle.html#references) a ``urn:uuid`` fullUrl is the only name an entry has inside the
transaction, and the server rewrites those references to whatever ids it assigns. Servers need
not accept our ids: ``edc publish`` sends the entries without them (the compiled resources keep
them, for the compiler's own look-ups). Conditional URLs are percent-encoded, ``|`` included.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote

import orjson

from edc.compiler.naming import entry_uuid

CANONICAL_TYPES = frozenset(
    {
        "CodeSystem",
        "ValueSet",
        "Questionnaire",
        "PlanDefinition",
        "ActivityDefinition",
        "StructureDefinition",
    }
)


def conditional_url(resource: dict[str, Any]) -> str:
    """``Type?url=..&version=..`` or ``Type?identifier=system|value`` for a resource we emit."""
    resource_type = resource["resourceType"]
    if resource_type in CANONICAL_TYPES:
        return f"{resource_type}?url={_q(resource['url'])}&version={_q(resource['version'])}"
    # The version-keyed identifier is marked use=usual; resources with one identifier use it.
    identifiers = resource["identifier"]
    identifier = next((i for i in identifiers if i.get("use") == "usual"), identifiers[0])
    return f"{resource_type}?identifier={_q(identifier['system'] + '|' + identifier['value'])}"


def _q(value: str) -> str:
    # ':' and '/' are legal in a query (RFC 3986 3.4); everything else that is not unreserved
    # is escaped, '|' too (it is not allowed unescaped in a URL and some servers refuse it).
    return quote(value, safe=":/.-_~")


def conditional_key(resource: dict[str, Any]) -> str:
    return conditional_url(resource)


def transaction(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The transaction Bundle; references ``Type/id`` between ``resources`` become fullUrls.

    :raises ValueError: a resource refers to ``Type/id`` that is not one of ``resources`` (a
        compiler defect: the reference could not resolve inside the Bundle).
    """
    full_urls = {
        f"{r['resourceType']}/{r['id']}": entry_uuid(conditional_url(r)) for r in resources
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": full_urls[f"{resource['resourceType']}/{resource['id']}"],
                "resource": to_full_urls(resource, full_urls),
                "request": {"method": "PUT", "url": conditional_url(resource)},
            }
            for resource in resources
        ],
    }


def to_full_urls(resource: dict[str, Any], full_urls: dict[str, str]) -> dict[str, Any]:
    """A copy of ``resource`` whose ``reference`` values are replaced by ``full_urls[value]``."""
    copied = copy.deepcopy(resource)
    for holder in _reference_holders(copied):
        value = holder["reference"]
        if value.startswith("#"):  # a contained resource: resolves inside its container
            continue
        if value not in full_urls:
            where = f"{resource['resourceType']}/{resource.get('id')}"
            raise ValueError(f"{where} refers to {value!r}, which is not in the Bundle")
        holder["reference"] = full_urls[value]
    return copied


def rewrite_references(resource: Any, mapping: dict[str, str]) -> Any:
    """A copy of ``resource`` with each ``reference`` found in ``mapping`` replaced."""
    copied = copy.deepcopy(resource)
    for holder in _reference_holders(copied):
        holder["reference"] = mapping.get(holder["reference"], holder["reference"])
    return copied


def _reference_holders(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("reference"), str):
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


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
