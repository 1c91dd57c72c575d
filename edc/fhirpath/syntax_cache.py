"""Expressions already known to be free of syntax problems, remembered across runs.

The name checks (``names``: unknown ``%variables``, elements a type lacks) are remembered the
same way, through ``remembered_clean``.

Parsing FHIRPath with fhirpathpy's ANTLR grammar costs about 10 ms an expression in pure
Python; a protocol check parses every score and criterion expression of the protocol and the
instrument library (30-odd), which was a third of `edc protocol check`. A data manager edits one
thing at a time, so almost every expression was seen by the previous run.

Only "no problems" is remembered (a problem is always worked out, so its message is current),
keyed by the SHA-256 of the expression text in a file whose name carries the fhirpathpy version
and a hash of the checker's own source: a new engine or new checking rules start a new file.
The file lives in ``$EDC_CACHE_DIR`` (default ``$XDG_CACHE_HOME/edc``, else ``~/.cache/edc``);
``EDC_CACHE_DIR=`` (empty) turns it off. A cache that cannot be read or written is ignored:
it only ever saves time.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TypeVar

CACHE_ENV = "EDC_CACHE_DIR"
T = TypeVar("T")


def cache_dir() -> Path | None:
    """Where edc keeps caches of pure results, or None when caching is turned off."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "edc"


# The modules whose rules decide what "no problems" means.
_CHECKERS = ("__init__.py", "names.py", "tree.py")


@functools.cache
def _checker_key() -> str:
    checker = b"".join(Path(__file__).with_name(name).read_bytes() for name in _CHECKERS)
    engine = metadata.version("fhirpathpy")
    return f"{engine}-{hashlib.sha256(checker).hexdigest()[:16]}"


def _file() -> Path | None:
    directory = cache_dir()
    return directory / f"fhirpath-syntax-ok-{_checker_key()}.txt" if directory else None


def _digest(expression: str) -> str:
    return hashlib.sha256(expression.encode("utf-8")).hexdigest()


class KnownGood:
    """The set of expression digests checked clean, read once and appended to."""

    def __init__(self, path: Path | None) -> None:
        self._file = path
        self._digests: set[str] | None = None

    def _loaded(self) -> set[str]:
        if self._digests is None:
            self._digests = set()
            if self._file is not None:
                try:
                    lines = self._file.read_text("ascii").split()
                except (OSError, UnicodeDecodeError):
                    lines = []
                # A torn line from a concurrent writer is simply not a 64-digit digest.
                self._digests = {line for line in lines if len(line) == 64}
        return self._digests

    def __contains__(self, expression: object) -> bool:
        return isinstance(expression, str) and _digest(expression) in self._loaded()

    def add(self, expression: str) -> None:
        digest = _digest(expression)
        known = self._loaded()
        if digest in known:
            return
        known.add(digest)
        if self._file is None:
            return
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            # One short append per line: concurrent runs interleave whole lines.
            with self._file.open("a", encoding="ascii") as stream:
                stream.write(digest + "\n")
        except OSError:
            pass


_VIEWS: dict[Path | None, KnownGood] = {}


def known_good() -> KnownGood:
    """This process's view of the cache file the environment names now."""
    path = _file()
    if path not in _VIEWS:
        _VIEWS[path] = KnownGood(path)
    return _VIEWS[path]


def remembered_clean(kind: str, text: str, compute: Callable[[], list[T]]) -> list[T]:
    """``compute()``, the problems of ``text`` under a check named by ``kind`` (which says
    everything else the result depends on, e.g. the variables in scope), skipped when an
    earlier run found none."""
    key = f"{kind}\x00{text}"
    if key in known_good():
        return []
    problems = compute()
    if not problems:
        known_good().add(key)
    return problems
