"""Who may do what, and who is blinded, for any study's masking."""

from __future__ import annotations

import pytest

from edc.trial import permissions as p
from edc.trial.permissions import Action, Blinding, Grant

SINGLE = Blinding("single-blind", ("participant", "outcome-assessor"))  # the example study
DOUBLE = Blinding("double-blind")  # the level implies participant and investigator
OPEN = Blinding("open-label")


def test_site_roles_act_at_their_own_site_only() -> None:
    coordinator = [Grant("site_staff", "01")]
    assert p.authorize(Action.ENROLL, coordinator, user="c", site="01") == coordinator[0]
    with pytest.raises(p.PermissionDeniedError, match="c may not enroll at site 02") as denied:
        p.authorize(Action.ENROLL, coordinator, user="c", site="02")
    assert "site_staff at site 01" in denied.value.details


def test_the_most_specific_grant_is_the_one_recorded() -> None:
    grants = [Grant("data_manager"), Grant("principal_investigator", "01")]
    assert p.authorize(Action.SCREEN, grants, user="x", site="01").role == "principal_investigator"
    assert p.authorize(Action.SCREEN, grants, user="x", site="02").role == "data_manager"


@pytest.mark.parametrize(
    ("action", "allowed", "refused"),
    [
        (Action.ENROLL_INELIGIBLE, "principal_investigator", "investigator"),
        (Action.OPEN_RANDOMIZATION, "unblinded_statistician", "statistician"),
        (Action.READ_ALLOCATION_LIST, "unblinded_statistician", "admin"),
        (Action.UNBLIND, "investigator", "site_staff"),
        (Action.MANAGE_USERS, "admin", "monitor"),
    ],
)
def test_sensitive_actions_belong_to_named_roles(
    action: Action, allowed: str, refused: str
) -> None:
    site = "01" if allowed in ("investigator", "principal_investigator") else None
    assert p.authorize(action, [Grant(allowed, site)], user="u", site=site).role == allowed
    with pytest.raises(p.PermissionDeniedError):
        p.authorize(action, [Grant(refused, site)], user="u", site=site)


@pytest.mark.parametrize(
    ("role", "single", "double"),
    [
        ("site_staff", True, True),  # collects the outcome forms; the investigator's team
        ("investigator", False, True),
        ("principal_investigator", False, True),
        ("monitor", False, True),
        ("statistician", True, True),  # blinded in every blinded study
        ("admin", True, True),
        ("unblinded_statistician", False, False),
    ],
)
def test_blinding_follows_the_protocols_masking(role: str, single: bool, double: bool) -> None:
    assert p.is_blinded(role, SINGLE) is single
    assert p.is_blinded(role, DOUBLE) is double
    assert p.is_blinded(role, OPEN) is False


def test_a_user_with_any_blinded_role_sees_no_arm() -> None:
    both = [Grant("investigator", "01"), Grant("statistician")]
    assert not p.may_see_arms(both, SINGLE)
    assert p.may_see_arms([Grant("investigator", "01")], SINGLE, "01")
    assert p.shown_arm("ARM-A", visible=False) == p.MASKED_ARM
    assert p.writes_arm_to_ehr(OPEN) and not p.writes_arm_to_ehr(SINGLE)


def test_every_role_may_view_and_only_the_site_team_enters_data() -> None:
    from edc.warehouse import codes

    assert p.ALLOWED[Action.VIEW_DATA] == frozenset(codes.ROLES)
    assert p.ALLOWED[Action.ENTER_DATA] == {
        "site_staff",
        "investigator",
        "principal_investigator",
    }
