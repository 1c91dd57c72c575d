"""Who may do what, and who is blinded: the one place these rules live (CLI, jobs and pages).

A user holds roles per study, each at one site or study-wide (``Grant``). An action names what
is done and at which site; ``authorize`` picks the grant that allows it (the most specific one,
so the audit trail names the role actually used) or refuses with what would have allowed it.

Blinding follows the protocol's masking (``randomization.blinding`` and ``blinded_roles``, the
ClinicalTrials.gov masking terms participant / investigator / outcome-assessor; when the list
is empty, the level implies it: single-blind masks the participant, double-blind also the
investigator, triple-blind also the outcome assessor). edc roles map onto those terms: site
staff are the investigator's team and collect the outcome forms (blinded when either is),
investigators are investigators, monitors and data managers work with the investigators' data
and share their masking. The trial statistician and administrators are
blinded in every blinded study (ICH E9: the trial statistician stays blind until lock); only the
unblinded statistician sees arms and allocation lists. Emergency unblinding of one subject is for
the site's investigators.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Sequence

from edc import errors


class Action(enum.StrEnum):
    """What a user does (each CLI command and page maps to one)."""

    SCREEN = "screen"
    PURGE_SCREENING = "purge screening data"
    RECORD_CONSENT = "record consent"
    ENROLL = "enroll"
    ENROLL_INELIGIBLE = "enroll an ineligible patient (--override)"
    SIGN_ELIGIBILITY = "sign eligibility off"
    OPEN_RANDOMIZATION = "open randomization"
    RANDOMIZE = "randomize"
    VERIFY_RANDOMIZATION = "verify randomization"
    READ_ALLOCATION_LIST = "read the allocation lists"
    UNBLIND = "unblind a subject (emergency)"
    UNBLIND_STUDY = "unblind the whole study after lock (signed)"
    PUSH = "deliver writes to the FHIR server"
    VIEW_VISITS = "view visits"
    MANAGE_USERS = "manage users"
    VIEW_DATA = "view trial data"
    ENTER_DATA = "enter data"
    RUN_MONITOR = "run the deviation checks"
    REVIEW_DEVIATION = "confirm or dismiss a deviation"
    MANAGE_QUERY = "open, close or reopen a data query"
    ANSWER_QUERY = "answer a data query (as the site)"
    VERIFY_SOURCE = "mark source data verified"
    LOCK = "freeze, lock or unlock data (signed)"
    EXPORT = "export datasets"


SITE = "site"
ANY = "any"
_SITE_TEAM = frozenset({"site_staff", "investigator", "principal_investigator"})
_INVESTIGATORS = frozenset({"investigator", "principal_investigator"})
_SPONSOR_VIEW = frozenset({"monitor", "data_manager", "statistician", "unblinded_statistician"})

# Action -> roles that may do it. Site roles act at their own site only.
ALLOWED: dict[Action, frozenset[str]] = {
    Action.SCREEN: _SITE_TEAM | {"data_manager"},
    Action.PURGE_SCREENING: frozenset({"principal_investigator", "data_manager", "admin"}),
    Action.RECORD_CONSENT: _SITE_TEAM,
    Action.ENROLL: _SITE_TEAM,
    Action.ENROLL_INELIGIBLE: frozenset({"principal_investigator"}),
    Action.SIGN_ELIGIBILITY: _INVESTIGATORS,
    Action.OPEN_RANDOMIZATION: frozenset({"unblinded_statistician"}),
    Action.RANDOMIZE: _SITE_TEAM,
    Action.VERIFY_RANDOMIZATION: frozenset({"unblinded_statistician", "statistician"}),
    Action.READ_ALLOCATION_LIST: frozenset({"unblinded_statistician"}),
    Action.UNBLIND: _INVESTIGATORS,
    Action.UNBLIND_STUDY: frozenset({"unblinded_statistician"}),
    Action.PUSH: _SITE_TEAM | {"data_manager", "admin"},
    Action.VIEW_VISITS: _SITE_TEAM | _SPONSOR_VIEW,
    Action.MANAGE_USERS: frozenset({"admin"}),
    Action.VIEW_DATA: _SITE_TEAM | _SPONSOR_VIEW | {"admin"},
    Action.ENTER_DATA: _SITE_TEAM,
    Action.RUN_MONITOR: frozenset({"monitor", "data_manager", "admin"}),
    Action.REVIEW_DEVIATION: frozenset({"monitor", "data_manager"}),
    Action.MANAGE_QUERY: frozenset({"monitor", "data_manager"}),
    Action.ANSWER_QUERY: _SITE_TEAM,
    Action.VERIFY_SOURCE: frozenset({"monitor"}),
    # The principal investigator signs their site's casebooks; a study-wide lock needs a
    # study-wide role (edc.actions.lock).
    Action.LOCK: frozenset({"data_manager", "principal_investigator"}),
    Action.EXPORT: frozenset({"statistician", "unblinded_statistician", "data_manager"}),
}

MASKING_TERMS = ("participant", "investigator", "outcome-assessor")
_IMPLIED_MASKING = {
    "open-label": (),
    "single-blind": ("participant",),
    "double-blind": ("participant", "investigator"),
    "triple-blind": ("participant", "investigator", "outcome-assessor"),
}
# edc role -> the masking terms it stands for.
ROLE_MASKING = {
    # Coordinators are the investigator's team and collect the outcome forms.
    "site_staff": ("investigator", "outcome-assessor"),
    "investigator": ("investigator",),
    "principal_investigator": ("investigator",),
    "monitor": ("investigator",),
    "data_manager": ("investigator",),
}
ALWAYS_BLINDED = frozenset({"statistician", "admin"})
NEVER_BLINDED = frozenset({"unblinded_statistician"})
MASKED_ARM = "(blinded)"


@dataclasses.dataclass(frozen=True)
class Grant:
    """A role held in a study, at one site (its code) or study-wide (None)."""

    role: str
    site: str | None = None

    def covers(self, site: str | None) -> bool:
        """Whether the grant reaches ``site`` (None: an action not tied to a site)."""
        return self.site is None or site is None or self.site == site

    def __str__(self) -> str:
        return f"{self.role} at site {self.site}" if self.site else f"{self.role} (study-wide)"


@dataclasses.dataclass(frozen=True)
class Blinding:
    """A study's masking: its level and the masking terms the protocol lists."""

    level: str
    masked: tuple[str, ...] = ()

    @property
    def terms(self) -> tuple[str, ...]:
        """The masked terms (the level's defaults when the protocol lists none)."""
        if self.level == "open-label":
            return ()
        return self.masked or _IMPLIED_MASKING.get(self.level, MASKING_TERMS)


class PermissionDeniedError(errors.BadInputError):
    """The acting user holds no role that allows the action (exit 2, nothing written)."""


def authorize(action: Action, grants: Iterable[Grant], *, user: str, site: str | None) -> Grant:
    """The grant under which ``user`` may do ``action`` at ``site`` (None: not site-bound).

    Site grants are preferred over study-wide ones, then by the order of ``ALLOWED``.

    :raises PermissionDeniedError: naming the user, the action and the roles that may do it.
    """
    allowed = ALLOWED[action]
    usable = [g for g in grants if g.role in allowed and g.covers(site)]
    if usable:
        return sorted(usable, key=lambda g: (g.site is None, g.role))[0]
    where = f" at site {site}" if site else ""
    held = ", ".join(str(g) for g in grants) or "no role in this study"
    raise PermissionDeniedError(
        f"{user} may not {action.value}{where}",
        f"allowed: {', '.join(sorted(allowed))}; {user} holds {held}",
    )


def is_blinded(role: str, blinding: Blinding) -> bool:
    """Whether someone acting in ``role`` must not see arms in this study."""
    if not blinding.terms or role in NEVER_BLINDED or role == "system":
        return False
    if role in ALWAYS_BLINDED:
        return True
    return any(term in blinding.terms for term in ROLE_MASKING.get(role, MASKING_TERMS))


def may_see_arms(grants: Sequence[Grant], blinding: Blinding, site: str | None = None) -> bool:
    """Whether a user sees arms: only if none of their roles that reach ``site`` is blinded.

    A user with any blinded role sees no arm at all: they cannot be asked to forget.
    """
    relevant = [g for g in grants if g.covers(site)]
    return bool(relevant) and not any(is_blinded(g.role, blinding) for g in relevant)


def shown_arm(arm: str | None, *, visible: bool) -> str | None:
    """The arm as a user may see it."""
    if arm is None:
        return None
    return arm if visible else MASKED_ARM


def writes_arm_to_ehr(blinding: Blinding) -> bool:
    """Whether ResearchSubject.assignedArm may go to the hospital's EHR (open-label only:
    mapping guide 7.2 - blinded arms never reach an EHR, which site staff read)."""
    return not blinding.terms
