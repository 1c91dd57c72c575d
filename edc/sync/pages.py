"""The exact bytes of each resource in a search page, so REST pulls keep what the server sent.

A search page is one JSON Bundle; parsing and re-serializing its entries would change spacing,
key order or number spelling, and the raw record would no longer be what was received. This
finds each ``entry[i].resource`` object's byte span with a small scanner over the tokens that
matter (strings, braces, brackets, colons), leaving everything else to the C regex engine.
"""

from __future__ import annotations

import re

import orjson

from edc.fhir import SearchPage

_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]:]')
_ENTRY, _RESOURCE = b'"entry"', b'"resource"'


def resource_spans(raw: bytes) -> list[bytes]:
    """The bytes of every ``Bundle.entry[].resource`` object, in order."""
    stack: list[list[bytes | None]] = []  # [opening bracket, current key]
    spans: list[bytes] = []
    start = -1
    last_string: bytes | None = None
    for match in _TOKEN.finditer(raw):
        token = match.group()
        first = token[:1]
        if first == b'"':
            last_string = token
        elif first == b":":
            if stack and stack[-1][0] == b"{":
                stack[-1][1] = last_string
        elif first in (b"{", b"["):
            if (
                first == b"{"
                and len(stack) == 3
                and stack[0][1] == _ENTRY
                and stack[1][0] == b"["
                and stack[2][1] == _RESOURCE
            ):
                start = match.start()
            stack.append([first, None])
        else:
            stack.pop()
            if start >= 0 and len(stack) == 3:
                spans.append(raw[start : match.end()])
                start = -1
    return spans


def matched_resources(page: SearchPage) -> list[bytes]:
    """The exact bytes of the resources that matched the search (``search.mode`` match or
    absent); re-serialized only if the page cannot be scanned (then logged by the caller)."""
    entries = [e for e in page.entries if isinstance(e.get("resource"), dict)]
    spans = resource_spans(page.raw)
    exact = len(spans) == len(entries)
    found = []
    for index, entry in enumerate(entries):
        search = entry.get("search")
        mode = search.get("mode") if isinstance(search, dict) else None
        resource = entry["resource"]
        if mode not in (None, "match") or resource.get("resourceType") == "OperationOutcome":
            continue
        found.append(spans[index] if exact else orjson.dumps(resource))
    return found
