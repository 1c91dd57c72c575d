"""The monitoring pages and API: deviations, the query inbox, SDV; each scoped to the reader's
sites and refused (with nothing changed) when the role, the state or the CSRF token is wrong."""

from __future__ import annotations

from typing import Any

from tests.web.helpers import counts, rows
from tests.web.trial import Seeded

API = "/api/v1/studies/MINI-01"


def _state(seeded: Seeded) -> dict[str, Any]:
    found: dict[str, Any] = dict(counts(seeded))
    for table in ("data_query", "data_query_message", "sdv_mark"):
        found[table] = rows(seeded, f"SELECT count(*) FROM {table}")[0][0]
    found["queries"] = rows(seeded, "SELECT id, status FROM data_query ORDER BY id")
    found["deviations"] = rows(seeded, "SELECT id, status FROM deviation ORDER BY id")
    return found


def _site_01_deviation(seeded: Seeded) -> int:
    found = rows(
        seeded,
        "SELECT d.id FROM deviation d JOIN site s ON s.id = d.site_id "
        "WHERE s.code = '01' AND d.status = 'open' ORDER BY d.id",
    )
    assert found, "the seeded trial shows no open deviation at site 01"
    return int(found[0][0])


def test_a_query_goes_from_monitor_to_site_and_back(seeded: Seeded, as_user) -> None:
    monitor, coord1, coord2 = as_user("monitor"), as_user("coord1"), as_user("coord2")
    code = seeded.subject(0)
    opened = monitor.send(
        "POST", f"{API}/subjects/{code}/queries", json={"message": "ODI date?", "form": "odi"}
    )
    assert opened.status_code == 201, opened.text
    query = opened.json()
    assert (query["status"], query["site"], query["form"]) == ("open", "01", "odi")
    url = f"{API}/queries/{query['id']}"
    assert [q["id"] for q in coord1.get(f"{API}/queries").json()["queries"]] == [query["id"]]
    assert coord2.get(f"{API}/queries").json()["queries"] == []
    answered = coord1.send("POST", f"{url}/answer", json={"message": "source checked"})
    assert answered.json()["status"] == "answered", answered.text
    closed = monitor.send("POST", f"{url}/close", json={})
    assert closed.json()["status"] == "closed"
    who = rows(
        seeded,
        "SELECT author, role FROM data_query_message WHERE data_query_id = :q ORDER BY id",
        q=query["id"],
    )
    assert who == [("monitor", "monitor"), ("coord1", "site_staff"), ("monitor", "monitor")]


def test_wrong_moves_get_the_right_error_and_change_nothing(seeded: Seeded, as_user) -> None:
    monitor, coord1, coord2 = as_user("monitor"), as_user("coord1"), as_user("coord2")
    code = seeded.subject(0)
    query = monitor.send("POST", f"{API}/subjects/{code}/queries", json={"message": "why?"}).json()
    url = f"{API}/queries/{query['id']}"
    before = _state(seeded)
    as_site = monitor.send("POST", f"{url}/answer", json={"message": "as the site"})
    assert as_site.status_code == 403 and "answer" in as_site.json()["error"]
    no_csrf = monitor.client.post(f"{url}/close", json={})
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.json()["error"]
    other_site = coord2.send("POST", f"{url}/answer", json={"message": "not mine"})
    assert other_site.status_code == 404 and f"no data query {query['id']}" in other_site.text
    site_closes = coord1.send("POST", f"{url}/close", json={})
    assert site_closes.status_code == 403
    blank = coord1.send("POST", f"{url}/answer", json={"message": " "})
    assert blank.status_code == 422 and "message" in blank.json()["error"]
    unknown = monitor.send("POST", f"{API}/queries/99999/close", json={})
    assert unknown.status_code == 404
    bad_verb = monitor.send("POST", f"{url}/delete", json={})
    assert bad_verb.status_code == 422
    assert _state(seeded) == before
    assert monitor.send("POST", f"{url}/close", json={}).status_code == 200
    closed = _state(seeded)
    twice = monitor.send("POST", f"{url}/close", json={})
    assert twice.status_code == 409
    assert (
        twice.json()["error"]
        == f"query {query['id']} is closed: it cannot be closed (only when open or answered)"
    )
    assert _state(seeded) == closed


def test_opening_a_query_on_another_sites_subject_is_404(seeded: Seeded, as_user) -> None:
    coord2 = as_user("coord2")
    before = _state(seeded)
    answer = coord2.send(
        "POST", f"{API}/subjects/{seeded.subject(0)}/queries", json={"message": "x"}
    )
    assert answer.status_code == 404
    page = coord2.send(
        "POST", f"/studies/MINI-01/subjects/{seeded.subject(0)}/queries", data={"message": "x"}
    )
    assert page.status_code == 404
    assert _state(seeded) == before


def test_deviations_are_reviewed_with_a_reason_at_the_readers_sites(
    seeded: Seeded, as_user
) -> None:
    monitor, coord1, coord2 = as_user("monitor"), as_user("coord1"), as_user("coord2")
    deviation = _site_01_deviation(seeded)
    listed = monitor.get(f"{API}/deviations").json()["deviations"]
    shown = next(d for d in listed if d["id"] == deviation)
    assert shown["site"] == "01" and shown["evidence"]
    assert all(d["site"] == "02" for d in coord2.get(f"{API}/deviations").json()["deviations"])
    url = f"{API}/deviations/{deviation}/review"
    before = _state(seeded)
    assert coord2.send("POST", url, json={"status": "confirmed", "reason": "x"}).status_code == 404
    assert coord1.send("POST", url, json={"status": "confirmed", "reason": "x"}).status_code == 403
    blank = monitor.send("POST", url, json={"status": "confirmed", "reason": ""})
    assert blank.status_code == 422 and "reason" in blank.text
    assert monitor.client.post(url, json={"status": "confirmed", "reason": "x"}).status_code == 403
    assert _state(seeded) == before
    done = monitor.send("POST", url, json={"status": "dismissed", "reason": "visit moved by PI"})
    assert done.status_code == 200 and done.json()["status"] == "dismissed"
    again = monitor.send("POST", url, json={"status": "dismissed", "reason": "again"})
    assert again.status_code == 409 and "dismissed already" in again.json()["error"]
    (audited,) = rows(
        seeded,
        "SELECT actor, reason FROM audit_event WHERE table_name = 'deviation' "
        "AND record_id = :d AND field = 'status' ORDER BY seq DESC LIMIT 1",
        d=str(deviation),
    )
    assert audited == ("monitor", "visit moved by PI")


def test_sdv_marks_count_in_the_coverage_of_the_site(seeded: Seeded, as_user) -> None:
    monitor, coord1 = as_user("monitor"), as_user("coord1")
    code = seeded.subject(0)
    before = {s["site"]: s for s in monitor.get(f"{API}/sdv").json()["sites"]}
    assert (
        coord1.send("POST", f"{API}/subjects/{code}/sdv", json={"form": "odi"}).status_code == 403
    )
    marked = monitor.send("POST", f"{API}/subjects/{code}/sdv", json={"form": "odi"})
    assert marked.status_code == 201, marked.text
    assert marked.json()["verified_by"] == "monitor"
    after = {s["site"]: s for s in monitor.get(f"{API}/sdv").json()["sites"]}
    assert after["01"]["items_verified"] > before["01"]["items_verified"]
    assert after["02"] == before["02"]
    assert [s["site"] for s in coord1.get(f"{API}/sdv").json()["sites"]] == ["01"]
    twice = monitor.send("POST", f"{API}/subjects/{code}/sdv", json={"form": "odi"})
    assert twice.status_code == 422 and "verified already" in twice.json()["error"]


def test_the_monitoring_page_offers_each_role_its_moves(seeded: Seeded, as_user) -> None:
    monitor, coord1, coord2 = as_user("monitor"), as_user("coord1"), as_user("coord2")
    code = seeded.subject(0)
    posted = monitor.send(
        "POST",
        f"/studies/MINI-01/subjects/{code}/queries",
        data={"message": "please check", "form": "", "visit": "", "item": ""},
        follow_redirects=False,
    )
    assert posted.status_code == 303 and "monitor?done=" in posted.headers["location"]
    page = monitor.get("/studies/MINI-01/monitor").text
    assert "please check" in page and "/close" in page and "/answer" not in page
    site_page = coord1.get("/studies/MINI-01/monitor").text
    assert "please check" in site_page and "/answer" in site_page and "/close" not in site_page
    assert code not in coord2.get("/studies/MINI-01/monitor").text
    assert 'id="deviation-' not in monitor.get("/studies/MINI-01/monitor?status=confirmed").text
    bogus = monitor.get("/studies/MINI-01/monitor?status=bogus")
    assert bogus.status_code == 422 and "is not one of open, confirmed" in bogus.text


def test_the_site_report_covers_the_readers_sites_only(seeded: Seeded, as_user) -> None:
    monitor, coord2 = as_user("monitor"), as_user("coord2")
    assert [s["site"] for s in monitor.get(f"{API}/monitor/report").json()["sites"]] == ["01", "02"]
    assert [s["site"] for s in coord2.get(f"{API}/monitor/report").json()["sites"]] == ["02"]
    assert coord2.get(f"{API}/monitor/report?site=01").status_code == 403
    page = monitor.get("/studies/MINI-01/monitor/report")
    assert page.status_code == 200 and "<svg" in page.text


def test_a_query_on_a_deviation_names_it_and_stays_with_its_subject(
    seeded: Seeded, as_user
) -> None:
    monitor = as_user("monitor")
    deviation = _site_01_deviation(seeded)
    ((code,),) = rows(
        seeded,
        "SELECT s.subject_code FROM deviation d JOIN subject s ON s.id = d.subject_id "
        "WHERE d.id = :d",
        d=deviation,
    )
    other = next(s for s in seeded.site_subjects("01") if s != code)
    before = _state(seeded)
    wrong = monitor.send(
        "POST", f"{API}/subjects/{other}/queries", json={"message": "?", "deviation": deviation}
    )
    assert wrong.status_code == 422 and f"deviation {deviation} concerns subject" in wrong.text
    assert _state(seeded) == before
    opened = monitor.send(
        "POST", f"{API}/subjects/{code}/queries", json={"message": "late?", "deviation": deviation}
    )
    assert opened.status_code == 201, opened.text
    assert (opened.json()["deviation"], opened.json()["subject"]) == (deviation, code)
    page = monitor.get("/studies/MINI-01/monitor").text
    assert f'href="#deviation-{deviation}"' in page and "Ask the site" in page
