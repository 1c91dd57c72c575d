"""The lock and export page and API: signing needs the signer's password and role, exports
come only after lock, their files are served by name from the manifest only."""

from __future__ import annotations

from typing import Any

from tests.web.helpers import rows
from tests.web.trial import PASSWORD, STUDY, Seeded, add_users

API = "/api/v1/studies/MINI-01"


def _locks(seeded: Seeded) -> list[Any]:
    return rows(seeded, "SELECT id, state FROM lock_event ORDER BY id") + rows(
        seeded, "SELECT unit, state FROM lock_state ORDER BY unit"
    )


def test_signing_and_exporting_after_lock(seeded: Seeded, as_user) -> None:
    add_users(seeded.database.sessionmaker, seeded.clock, {"dm": (STUDY, None, "data_manager")})
    stat, dm, coord1 = as_user("stat"), as_user("dm"), as_user("coord1")
    status = stat.get(f"{API}/lock").json()
    assert (status["study_state"], status["units"], status["may_sign"]) == ("open", [], False)
    assert stat.get(f"{API}/exports").json() == []
    early = stat.send("POST", f"{API}/exports", json={})
    assert early.status_code == 422 and "is not locked" in early.json()["error"]
    exports = seeded.settings.data_dir / "exports" / "MINI-01"
    assert not exports.exists() or not any(p.name[0] != "." for p in exports.iterdir())

    signing = {"verb": "lock", "reason": "database lock", "password": PASSWORD}
    wrong = dm.send("POST", f"{API}/lock", json={**signing, "password": "guess"})
    assert wrong.status_code == 422 and "does not match: not signed" in wrong.json()["error"]
    assert stat.send("POST", f"{API}/lock", json=signing).status_code == 403
    assert dm.client.post(f"{API}/lock", json=signing).status_code == 403  # no CSRF token
    assert _locks(seeded) == []
    signed = dm.send("POST", f"{API}/lock", json=signing)
    assert signed.status_code == 200, signed.text
    assert (signed.json()["state"], signed.json()["signer"]) == ("locked", "dm")
    again = dm.send("POST", f"{API}/lock", json=signing)
    assert again.status_code == 422 and _locks(seeded)[-1] == ("study", "locked")

    status = stat.get(f"{API}/lock").json()
    assert status["study_state"] == "locked"
    assert [(u["unit"], u["signer"]) for u in status["units"]] == [("study MINI-01", "dm")]
    made = stat.send("POST", f"{API}/exports", json={})
    assert made.status_code == 201, made.text
    export = made.json()
    assert export["manifest"]["locked"] is True and export["arms"] == "blinded"
    manifest = stat.get(f"{API}/exports/{export['id']}/manifest.json")
    assert manifest.status_code == 200 and manifest.json()["study"] == "MINI-01"
    first = export["files"][0]
    assert stat.get(f"{API}/exports/{export['id']}/{first}").status_code == 200
    assert stat.get(f"{API}/exports/{export['id']}/..%2F..%2Fsecret").status_code == 404
    assert stat.get(f"{API}/exports/{export['id'] + 1}/manifest.json").status_code == 404
    assert coord1.get(f"{API}/exports").status_code == 403
    assert coord1.get(f"{API}/exports/{export['id']}/manifest.json").status_code == 403
    page = stat.get("/studies/MINI-01/lock").text
    assert "locked" in page and f"/exports/{export['id']}/manifest.json" in page
    assert 'id="sign"' not in page  # a statistician does not sign


def test_the_page_signs_with_the_password(seeded: Seeded, as_user) -> None:
    add_users(seeded.database.sessionmaker, seeded.clock, {"dm": (STUDY, None, "data_manager")})
    dm = as_user("dm")
    form = {"verb": "freeze", "reason": "interim", "password": PASSWORD, "site": "01"}
    posted = dm.send("POST", "/studies/MINI-01/lock", data=form, follow_redirects=False)
    assert posted.status_code == 303, posted.text
    page = dm.get(posted.headers["location"]).text
    assert "site 01 frozen, signed by dm" in page
    blank = dm.send("POST", "/studies/MINI-01/lock", data={**form, "password": ""})
    assert blank.status_code == 422 and "re-enter your password" in blank.text


def test_a_blinded_statistician_never_gets_an_unblinded_export(
    database, tmp_path, protocols, app_for
) -> None:
    from edc.actions import protocol
    from tests.sync.protocols import StudyFile
    from tests.web.conftest import login
    from tests.web.trial import seed

    base = protocols.get(STUDY)
    path = tmp_path / "blinded.yaml"
    path.write_text(base.path.read_text().replace("blinding: open-label", "blinding: double-blind"))
    seeded = seed(database, tmp_path, protocols, study=StudyFile(path, protocol.check(path)))
    add_users(
        seeded.database.sessionmaker,
        seeded.clock,
        {"dm": (STUDY, None, "data_manager"), "ustat": (STUDY, None, "unblinded_statistician")},
    )
    stat, dm, ustat = (login(app_for(seeded), u) for u in ("stat", "dm", "ustat"))
    signing = {"verb": "lock", "reason": "database lock", "password": PASSWORD}
    assert dm.send("POST", f"{API}/lock", json=signing).status_code == 200
    refused = stat.send("POST", f"{API}/exports", json={"unblinded": True})
    assert refused.status_code == 422 and "may not export arms unblinded" in refused.json()["error"]
    early = ustat.send("POST", f"{API}/exports", json={"unblinded": True})
    assert early.status_code == 422 and "is not unblinded" in early.json()["error"]
    unblinding = {"reason": "final analysis", "password": PASSWORD}
    refused = stat.send("POST", f"{API}/unblinding", json=unblinding)
    assert refused.status_code == 403 and "unblind the whole study" in refused.json()["error"]
    assert 'id="unblind"' in ustat.get(f"/studies/{STUDY}/lock").text
    assert 'id="unblind"' not in stat.get(f"/studies/{STUDY}/lock").text
    signed = ustat.send("POST", f"{API}/unblinding", json=unblinding)
    assert signed.status_code == 200 and signed.json()["role"] == "unblinded_statistician"
    unblinded = ustat.send("POST", f"{API}/exports", json={"unblinded": True})
    assert unblinded.status_code == 201 and unblinded.json()["arms"] == "unblinded"
    export_id = unblinded.json()["id"]
    assert stat.get(f"{API}/exports").json() == []
    assert stat.get(f"{API}/exports/{export_id}/manifest.json").status_code == 404
    blinded = stat.send("POST", f"{API}/exports", json={})
    assert blinded.status_code == 201 and blinded.json()["arms"] == "blinded"
    assert [e["arms"] for e in ustat.get(f"{API}/exports").json()] == ["unblinded", "blinded"]
    # The analysis compares arms: the unblinded statistician's only.
    blinded_run = stat.send("POST", f"{API}/analysis", json={})
    assert blinded_run.status_code == 422 and "is blinded" in blinded_run.json()["error"]
    ran = ustat.send("POST", f"{API}/analysis", json={})
    assert ran.status_code == 201, ran.text
    assert ran.json()["locked"] is True and "report.html" in ran.json()["files"]
    report = ustat.get(f"{API}/analysis/report.html")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert stat.get(f"{API}/analysis/report.html").status_code == 403
    assert ustat.get(f"{API}/analysis/..%2Fsecret").status_code == 404
