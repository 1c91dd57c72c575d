"""Reading deletions out of type-level history pages: whatever else the pages hold is ignored."""

from __future__ import annotations

import httpx
import orjson

from edc.fhir import SearchPage
from edc.fhir.bundles import FhirResponse
from edc.sync.deletions import deleted_in


def _page(*entries: object) -> SearchPage:
    bundle = {"resourceType": "Bundle", "type": "history", "entry": list(entries)}
    url = "http://127.0.0.1/fhir/AdverseEvent/_history"
    return SearchPage(FhirResponse("GET", url, 200, httpx.Headers(), orjson.dumps(bundle)))


def test_only_deletions_of_this_type_with_an_id_are_read() -> None:
    page = _page(
        {"request": {"method": "DELETE", "url": "AdverseEvent/a1"},
         "response": {"lastModified": "2026-03-01T09:00:00.000Z"}},
        {"request": {"method": "DELETE", "url": "http://127.0.0.1/fhir/AdverseEvent/a2"}},
        {"request": {"method": "PUT", "url": "AdverseEvent/a3"}, "resource": {"id": "a3"}},
        {"request": {"method": "DELETE", "url": "Observation/o1"}},
        {"request": {"method": "DELETE", "url": "AdverseEvent/"}},
        {"request": {"method": "DELETE", "url": 42}},
        {"request": "DELETE AdverseEvent/a4"},
        {"response": {"status": "204"}},
        "not an entry",
    )  # fmt: skip

    assert deleted_in([page], "AdverseEvent") == {"a1": "2026-03-01T09:00:00.000Z", "a2": ""}


def test_of_two_deletions_of_one_resource_the_newest_is_named() -> None:
    # R4 history is sorted newest first, across pages too.
    first = _page({"request": {"method": "DELETE", "url": "AdverseEvent/a1"},
                   "response": {"lastModified": "2026-03-02T09:00:00.000Z"}})  # fmt: skip
    second = _page({"request": {"method": "DELETE", "url": "AdverseEvent/a1"},
                    "response": {"lastModified": "2026-03-01T09:00:00.000Z"}})  # fmt: skip

    assert deleted_in([first, second], "AdverseEvent") == {"a1": "2026-03-02T09:00:00.000Z"}
