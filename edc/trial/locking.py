"""The lock state machine and the electronic signature of a lock event (pure rules).

A unit (the study, a site, one subject) moves open -> frozen -> locked, and back to unlocked
with a reason; freeze and lock both stop every write to the unit's subjects (the database's
lock triggers enforce it). Each change is signed (21 CFR 11.50): who, under which role, with
what meaning, when, bound to the audit chain's head at that moment by a SHA-256 over all of it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import orjson

from edc import errors

VERBS = {"freeze": "frozen", "lock": "locked", "unlock": "unlocked"}
CLOSED = frozenset({"frozen", "locked"})
MEANINGS = {
    "freeze": "data reviewed; frozen for final review, no further changes",
    "lock": "data reviewed and approved as final",
    "unlock": "lock withdrawn so that data can be corrected",
}
# What the unblinded statistician signs when the study's arms are revealed (after lock).
UNBLIND_MEANING = "study unblinded: arms revealed for the final analysis of the locked data"
# Where a verb may start from.
_FROM = {
    "freeze": frozenset({"open", "unlocked"}),
    "lock": frozenset({"open", "unlocked", "frozen"}),
    "unlock": CLOSED,
}


def next_state(verb: str, current: str, unit: str, covering: dict[str, str]) -> str:
    """The state ``unit`` goes to when ``verb`` is applied to it.

    :param current: the unit's own state ("open" when it never had one).
    :param covering: the states of the units that contain it (its site, the study).
    :raises errors.BadInputError: an unknown verb, or a change the state does not allow.
    """
    if verb not in VERBS:
        raise errors.BadInputError(f"unknown lock action {verb!r}", f"one of {', '.join(VERBS)}")
    closed_by = sorted(name for name, state in covering.items() if state in CLOSED)
    if closed_by:
        name = closed_by[0]
        raise errors.BadInputError(f"{unit} is {covering[name]} with {name}: {verb} {name} instead")
    if current not in _FROM[verb]:
        allowed = " or ".join(sorted(_FROM[verb]))
        raise errors.BadInputError(f"cannot {verb} {unit}: it is {current}, not {allowed}")
    return VERBS[verb]


@dataclasses.dataclass(frozen=True)
class Signature:
    """What a signer signs; ``sha256`` binds it all (and the audit chain head) together."""

    study: str
    unit: str
    state: str
    reason: str
    signer: str
    role: str
    meaning: str
    at: dt.datetime
    audit_rows: int
    audit_head_hash: str

    def text(self) -> bytes:
        """The canonical bytes signed (sorted keys, UTC time)."""
        fields = dataclasses.asdict(self)
        fields["at"] = self.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text()).hexdigest()
