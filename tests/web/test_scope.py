"""Site scoping, enforced on the server: every registered route is walked with a user of
another site and of another study, and without a login."""

from __future__ import annotations

from fastapi.routing import APIRoute

from edc.actions import queries
from edc.actions.workspace import Workspace
from edc.web.app import create_app
from tests.web.conftest import login
from tests.web.helpers import counts, rows
from tests.web.trial import PASSWORD, Seeded

# Routes that need no login, or are the login itself.
PUBLIC = {"/login", "/api/v1/session", "/api/v1/openapi.json", "/api/v1/docs"}
# Placeholders naming one record: another site's record answers 403 or 404.
RECORD_IDS = ("{code}", "{site}", "{deviation_id}", "{query_id}", "{export_id}")
# Study-wide routes that a site coordinator's role does not allow at all (signing, exports).
NOT_FOR_SITE_STAFF = {
    ("POST", "/api/v1/studies/{study}/lock"),
    ("POST", "/studies/{study}/lock"),
    ("POST", "/api/v1/studies/{study}/unblinding"),
    ("POST", "/studies/{study}/unblinding"),
    ("GET", "/api/v1/studies/{study}/exports"),
    ("POST", "/api/v1/studies/{study}/exports"),
    ("POST", "/studies/{study}/exports"),
    ("POST", "/api/v1/studies/{study}/analysis"),
    ("POST", "/studies/{study}/analysis"),
    ("GET", "/api/v1/studies/{study}/analysis/{name}"),
}


def _routes(seeded: Seeded) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves (FastAPI keeps included routers nested)."""
    app = create_app(seeded.settings, clock=seeded.clock, engine=seeded.database.engine)
    found: list[tuple[str, str]] = []

    def walk(routes: list[object]) -> None:
        for route in routes:
            nested = getattr(route, "original_router", None)
            if nested is not None:
                walk(nested.routes)
            elif isinstance(route, APIRoute) or hasattr(route, "methods"):
                methods = set(getattr(route, "methods", ()) or ()) - {"HEAD"}
                found.extend((m, str(getattr(route, "path", ""))) for m in sorted(methods))

    walk(list(app.routes))
    return found


def _values(seeded: Seeded) -> dict[str, str]:
    """Ids of site 01's records, to be requested by users who must not see them."""
    code = seeded.subject(0)
    response_id, item_id = rows(
        seeded,
        "SELECT f.id, i.id FROM form_response f JOIN subject s ON s.id = f.subject_id "
        "JOIN item_value i ON i.response_id = f.id WHERE s.subject_code = :c",
        c=code,
    )[0]
    return {
        "study": "MINI-01",
        "code": code,
        "deviation_id": str(_site_01_record(seeded, "deviation")),
        "query_id": str(_site_01_query(seeded)),
        "verb": "answer",
        "export_id": "1",
        "name": "manifest.json",
        "response_id": str(response_id),
        "table": "item_value",
        "record_id": str(item_id),
        "form_id": "pain",
        "meddra_code": "10003988",
        "site": "01",
        "patient": "w-p0",
    }


def _site_01_record(seeded: Seeded, table: str) -> int:
    found = rows(
        seeded,
        f"SELECT r.id FROM {table} r JOIN site s ON s.id = r.site_id WHERE s.code = '01' "
        "ORDER BY r.id",
    )
    assert found, f"the seeded trial has no {table} at site 01"
    return int(found[0][0])


def _site_01_query(seeded: Seeded) -> int:
    """A data query on a site 01 subject, opened by the monitor (once per warehouse)."""
    if not rows(seeded, "SELECT id FROM data_query"):
        workspace = Workspace(seeded.database.engine, seeded.clock, "monitor")
        queries.open_query(workspace, queries.OpenRequest("MINI-01", seeded.subject(0), "why?"))
    return _site_01_record(seeded, "data_query")


def _body(path: str) -> dict[str, object]:
    if path.endswith("/review"):
        review = {"status": "confirmed", "reason": "x"}
        return {"json": review} if path.startswith("/api/") else {"data": review}
    if path.endswith("/lock"):
        signing = {"verb": "freeze", "reason": "x", "password": PASSWORD}
        return {"json": signing} if path.startswith("/api/") else {"data": signing}
    if path.endswith("/unblinding"):
        unblinding = {"reason": "x", "password": PASSWORD}
        return {"json": unblinding} if path.startswith("/api/") else {"data": unblinding}
    if path.endswith("/queries"):
        message = {"message": "x"}
        return {"json": message} if path.startswith("/api/") else {"data": message}
    if path.endswith("/{verb}"):
        return (
            {"json": {"message": "x"}} if path.startswith("/api/") else {"data": {"message": "x"}}
        )
    if path.endswith("/sdv"):
        return (
            {"json": {"form": "pain"}} if path.startswith("/api/") else {"data": {"form": "pain"}}
        )
    if path.endswith("/exports") or path.endswith("/analysis"):
        return {"json": {}} if path.startswith("/api/") else {"data": {}}
    consent = {"signed": "2026-03-20", "form_version": "1", "obtained_by": "x"}
    enrollment = {"investigator": "coord1"}
    if path.endswith("/consent"):
        return {"json": consent} if path.startswith("/api/") else {"data": consent}
    if path.endswith("/enrollment"):
        return {"json": enrollment} if path.startswith("/api/") else {"data": enrollment}
    if path.endswith("/forms/new"):
        return {"params": {"form": "pain", "visit": "W1"}}
    if not path.startswith("/api/"):  # pages post HTML forms
        if path.endswith("/visits"):
            return {"data": {"visit_id": "UNS", "date": "2026-03-20"}}
        if path.endswith("/adverse-events"):
            return {
                "data": {
                    "term": "Back pain",
                    "grade": "1",
                    "serious": "no",
                    "onset": "2026-03-20T10:00",
                    "relatedness": "C53256",
                    "outcome": "C49494",
                }
            }
        return {}
    if path.endswith("/visits"):
        return {"json": {"visit_id": "UNS", "date": "2026-03-20"}}
    if path.endswith("/adverse-events"):
        return {
            "json": {
                "term": "Back pain",
                "grade": 1,
                "serious": False,
                "onset": "2026-03-20T10:00:00+08:00",
                "relatedness": "C53256",
                "outcome": "C49494",
            }
        }
    if path.endswith("/forms"):
        return {
            "json": {
                "form_id": "pain",
                "visit_id": "W1",
                "resource_id": "edc-" + "1" * 32,
                "response": {
                    "resourceType": "QuestionnaireResponse",
                    "item": [{"linkId": "nrs", "answer": [{"valueInteger": 3}]}],
                },
            }
        }
    if "/forms/" in path and path.startswith("/api/"):
        return {"json": {"reason": "x", "response": {"resourceType": "QuestionnaireResponse"}}}
    return {}


def test_a_user_of_another_site_gets_nothing_of_site_01(seeded: Seeded, app_for) -> None:
    api = login(app_for(seeded), "coord2")
    values = _values(seeded)
    site_01 = seeded.site_subjects("01")
    before = counts(seeded)
    walked = 0
    for method, path in _routes(seeded):
        if path in PUBLIC or "{study}" not in path:
            continue
        url = path.format(**values)
        answer = api.send(method, url, **_body(path))
        walked += 1
        if any(placeholder in path for placeholder in RECORD_IDS):
            assert answer.status_code in (403, 404), (method, url, answer.status_code)
        elif (method, path) in NOT_FOR_SITE_STAFF:
            assert answer.status_code == 403, (method, url, answer.status_code)
        else:
            assert answer.status_code == 200, (method, url, answer.text)
            leaked = [code for code in site_01 if code in answer.text]
            assert leaked == [], (method, url, leaked)
    assert walked >= 20
    assert counts(seeded) == before


def test_a_user_of_another_study_gets_404_everywhere_in_this_one(seeded: Seeded, app_for) -> None:
    api = login(app_for(seeded), "outsider")
    values = _values(seeded)
    for method, path in _routes(seeded):
        if "{study}" in path:
            answer = api.send(method, path.format(**values), **_body(path))
            assert answer.status_code == 404, (method, path, answer.status_code)
    assert [s["code"] for s in api.get("/api/v1/studies").json()] == ["MINI-02"]


def test_without_a_login_every_route_but_the_login_is_refused(seeded: Seeded, app_for) -> None:
    client = app_for(seeded)
    values = _values(seeded)
    for method, path in _routes(seeded):
        if path in PUBLIC:
            continue
        answer = client.request(
            method, path.format(**values), follow_redirects=False, **_body(path)
        )  # type: ignore[arg-type]
        if method == "GET" and not path.startswith("/api/"):
            assert answer.status_code == 303, (method, path)
            assert answer.headers["location"].startswith("/login?next=")
        else:
            assert answer.status_code == 401, (method, path, answer.status_code)


def test_site_users_see_only_their_site_and_the_monitor_sees_all(seeded: Seeded, as_user) -> None:
    coord1 = as_user("coord1")
    listed = [s["code"] for s in coord1.get("/api/v1/studies/MINI-01/subjects").json()]
    assert listed == seeded.site_subjects("01")
    dashboard = coord1.get("/api/v1/studies/MINI-01/dashboard").json()
    assert [s["code"] for s in dashboard["sites"]] == ["01"]
    assert dashboard["enrolled"] == len(seeded.site_subjects("01"))
    monitor = as_user("monitor")
    everyone = [s["code"] for s in monitor.get("/api/v1/studies/MINI-01/subjects").json()]
    assert sorted(everyone) == sorted(seeded.subject(n) for n in range(seeded.subjects))
    assert monitor.get("/api/v1/studies/MINI-01/dashboard").json()["enrolled"] == seeded.subjects


def test_the_openapi_document_lists_the_api(seeded: Seeded, app_for) -> None:
    document = app_for(seeded).get("/api/v1/openapi.json").json()
    paths = document["paths"]
    assert "/api/v1/studies/{study}/subjects/{code}/forms" in paths
    assert "/api/v1/studies/{study}/dashboard" in paths
    assert not any(not p.startswith("/api/v1/") for p in paths)  # pages are not API


def test_a_blinded_study_shows_no_arm(database, tmp_path, protocols, app_for) -> None:
    """Until the permission module names unblinded roles, no one sees an arm in a blinded
    study: not in the list, not on the subject page, not in the allocation's history."""
    from edc.actions import protocol
    from tests.sync.protocols import StudyFile
    from tests.web.trial import seed

    base = protocols.get("MINI-01")
    text = base.path.read_text().replace("blinding: open-label", "blinding: double-blind")
    path = tmp_path / "blinded.yaml"
    path.write_text(text)
    seeded = seed(database, tmp_path, protocols, study=StudyFile(path, protocol.check(path)))
    api = login(app_for(seeded), "monitor")
    listed = api.get("/api/v1/studies/MINI-01/subjects").json()
    assert {s["arm"] for s in listed} == {"blinded"}
    code = seeded.subject(0)
    casebook = api.get(f"/api/v1/studies/MINI-01/subjects/{code}").json()
    assert casebook["arm"] == "blinded" and casebook["subject"]["arm"] == "blinded"
    page = api.get(f"/studies/MINI-01/subjects/{code}").text
    assert "ARM-A" not in page and "ARM-B" not in page
    (allocation,) = rows(
        seeded,
        "SELECT a.id FROM allocation a JOIN subject s ON "
        "s.id = a.subject_id WHERE s.subject_code = :c",
        c=code,
    )
    hidden = api.get(f"/api/v1/studies/MINI-01/subjects/{code}/history/allocation/{allocation[0]}")
    assert hidden.status_code == 404
