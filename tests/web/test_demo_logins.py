"""The demo's web logins: one per role, working, scoped, new passwords on every run."""

from __future__ import annotations

from edc.actions import demo_users
from tests.web.conftest import login
from tests.web.trial import STUDY, Seeded


def test_demo_logins_work_per_role_and_change_on_every_run(sqlite_seeded: Seeded, app_for) -> None:
    seeded = sqlite_seeded
    first = {d.username: d for d in demo_users.demo_logins(seeded.settings, STUDY)}
    assert {(d.role, d.site) for d in first.values()} == {
        ("site_staff", "01"),
        ("investigator", "01"),
        ("site_staff", "02"),
        ("monitor", None),
        ("data_manager", None),
        ("statistician", None),
    }
    coordinator = first["demo-coordinator-01"]
    api = login(app_for(seeded), coordinator.username, coordinator.password)
    sites = {s["site_code"] for s in api.get(f"/api/v1/studies/{STUDY}/subjects").json()}
    assert sites == {"01"}
    again = {d.username: d for d in demo_users.demo_logins(seeded.settings, STUDY)}
    assert again.keys() == first.keys()
    client = app_for(seeded)
    old = client.post(
        "/api/v1/session", json={"username": coordinator.username, "password": coordinator.password}
    )
    assert old.status_code == 401
    login(client, "demo-monitor", again["demo-monitor"].password)
