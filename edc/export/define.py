"""The data dictionary of an export: define.json (the concepts of define-XML 2.1) and an HTML view.

Datasets with their variables (label, length, origin), codelists from the answer options of the
forms (as compiled from the protocol and the instrument library), and the methods of derived
scores (their FHIRPath expressions). Written from the same inputs as the files, in a fixed
order, so it reproduces with them.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from edc.export.tables import Dataset
from edc.library import Library
from edc.protocol import Protocol
from edc.protocol.forms import form_content, walk_items

TRIAL_DESIGN = frozenset({"ta", "te", "tv", "ti", "ts"})
# Where the values of a tabulation dataset come from.
ORIGINS = {
    "dm": "Assigned",
    "ds": "Assigned",
    "sv": "CRF",
    "qs": "CRF",
    "ae": "CRF",
    "ie": "Derived (eligibility decision on EHR data)",
    "lb": "EHR",
    "cm": "EHR (MME derived, CDC 2022 factors)",
    "pr": "EHR and CRF (PRCAT)",
}


def dictionary(
    protocol: Protocol,
    library: Library,
    datasets: Sequence[Dataset],
    labels: Mapping[str, str],
    dataset_labels: Mapping[str, str],
) -> dict[str, Any]:
    return {
        "standard": "define-XML 2.1 concepts, as JSON",
        "study": protocol.study.id,
        "protocol_version": protocol.study.version,
        "datasets": [_dataset(d, labels, dataset_labels) for d in datasets],
        "codelists": _codelists(protocol, library),
        "methods": _methods(protocol, library),
    }


def _dataset(
    dataset: Dataset, labels: Mapping[str, str], dataset_labels: Mapping[str, str]
) -> dict[str, Any]:
    if dataset.name in TRIAL_DESIGN:
        kind, origin = "trial design", "Protocol"
    elif dataset.name.startswith("ad"):
        kind, origin = "analysis (ADaM-like)", "Derived"
    else:
        kind, origin = "tabulation (SDTM-like)", ORIGINS.get(dataset.name, "CRF")
    return {
        "name": dataset.name.upper(),
        "label": dataset_labels.get(dataset.name, dataset.name),
        "class": kind,
        "records": len(dataset.rows),
        "variables": [
            {
                "name": column,
                "label": labels.get(column, column),
                "type": "text",
                "length": max((len(row[i].encode()) for row in dataset.rows), default=1) or 1,
                "origin": "Assigned" if column in ("STUDYID", "DOMAIN") else origin,
            }
            for i, column in enumerate(dataset.columns)
        ],
    }


def _codelists(protocol: Protocol, library: Library) -> list[dict[str, Any]]:
    lists = []
    for form in protocol.forms:
        content = form_content(form, library)
        for item in walk_items(content.items):
            if item.options:
                lists.append(
                    {
                        "id": f"{form.id}.{item.id}",
                        "name": item.text,
                        "terms": [{"code": o.code, "decode": o.display} for o in item.options],
                    }
                )
    return lists


def _methods(protocol: Protocol, library: Library) -> list[dict[str, Any]]:
    return [
        {"id": f"{form.id}.{score.id}", "name": score.text, "fhirpath": score.expression}
        for form in protocol.forms
        for score in form_content(form, library).scores
    ]


def to_json(data: Mapping[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def to_html(data: Mapping[str, Any]) -> bytes:
    """A plain page of the dictionary (no scripts, no styles that fetch anything)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Data dictionary: {e(data['study'])}</title></head><body>",
        f"<h1>{e(data['study'])}, protocol version {e(data['protocol_version'])}</h1>",
    ]
    for dataset in data["datasets"]:
        parts.append(
            f"<h2>{e(dataset['name'])}: {e(dataset['label'])}</h2>"
            f"<p>{e(dataset['class'])}, {dataset['records']} records</p>"
            "<table><tr><th>Variable</th><th>Label</th><th>Length</th><th>Origin</th></tr>"
        )
        for v in dataset["variables"]:
            parts.append(
                f"<tr><td>{e(v['name'])}</td><td>{e(v['label'])}</td>"
                f"<td>{v['length']}</td><td>{e(v['origin'])}</td></tr>"
            )
        parts.append("</table>")
    parts.append("<h2>Codelists</h2>")
    for codelist in data["codelists"]:
        terms = ", ".join(f"{e(t['code'])} = {e(t['decode'])}" for t in codelist["terms"])
        parts.append(f"<p><b>{e(codelist['id'])}</b> ({e(codelist['name'])}): {terms}</p>")
    parts.append("<h2>Methods (derived scores)</h2><ul>")
    for method in data["methods"]:
        parts.append(
            f"<li><b>{e(method['id'])}</b> {e(method['name'])}: "
            f"<code>{e(method['fhirpath'])}</code></li>"
        )
    parts.append("</ul></body></html>\n")
    return "\n".join(parts).encode()
