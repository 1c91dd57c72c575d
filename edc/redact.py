"""Hiding secrets in text that users and logs see: one function, used wherever text leaves edc.

Database and server URLs may carry a password (``postgresql://alice:secret@db/edc``), and a
libpq connection string may say ``password=secret``; error messages quote both. Every
``errors.UserError`` passes its message and details through :func:`mask_secrets`.
"""

from __future__ import annotations

import re

MASK = "***"

# scheme://user:password@ -> scheme://user:***@ (RFC 3986 userinfo: no "/", "@" or space).
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^@/\s]*(?=@)")
# password=secret or password='se cret' in libpq keyword/value connection strings.
_KEYWORD_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s'\"]+)")


def mask_secrets(text: str) -> str:
    """``text`` with every URL password and ``password=`` value replaced by ``***``."""
    if "@" not in text and "password" not in text:
        return text
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
