"""Passwords for the web application: argon2 hashes (argon2-cffi, RFC 9106 parameters).

Only the hash is stored (``user_account.password_hash``; the audit trail keeps its digest).
Setting a password ends the user's open web sessions.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from edc import errors
from edc.clock import Clock
from edc.warehouse import audit, db, logins

MIN_LENGTH = 10
_HASHER = PasswordHasher()
# Verified against when the user name is unknown, so a wrong name costs as long as a wrong
# password and response times do not tell which user names exist.
_DUMMY_HASH = _HASHER.hash("not the password of anyone")


def check_strength(username: str, password: str) -> None:
    """Refuse passwords that are too easy to guess.

    :raises errors.BadInputError: shorter than ``MIN_LENGTH`` or containing the user name.
    """
    if len(password) < MIN_LENGTH:
        raise errors.BadInputError(f"a password needs at least {MIN_LENGTH} characters")
    if username.lower() in password.lower():
        raise errors.BadInputError("a password must not contain the user name")


def hash_password(password: str) -> str:
    """The argon2id hash to store."""
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the stored hash (False when there is none)."""
    try:
        return _HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made with weaker parameters than today's (rehash at next login)."""
    return _HASHER.check_needs_rehash(stored)


def set_password(
    maker: db.SessionMaker,
    *,
    username: str,
    password: str,
    actor: str,
    role: str,
    clock: Clock,
    reason: str = "password set",
) -> None:
    """Store a new password for ``username`` and end the user's web sessions.

    :param actor: who sets it (the audit trail names them); ``role`` their role.
    :raises errors.NotFoundError: when there is no such user.
    :raises errors.BadInputError: for a weak password (``check_strength``).
    """
    check_strength(username, password)
    hashed = hash_password(password)
    with db.transaction(maker) as session:
        audit.bind(session, actor=actor, role=role, clock=clock)
        user = logins.find_user(session=session, username=username)
        if user is None:
            raise errors.NotFoundError(f"no user {username!r}", "add users with `edc user add`")
        with audit.reason(session, reason):
            user.password_hash = hashed
        logins.delete_user_web_sessions(session=session, user_id=user.id)
