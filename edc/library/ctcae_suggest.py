"""What to suggest when a protocol names a CTCAE term that CTCAE does not have.

Spelling similarity alone suggests nonsense for medical words: "Radiculopathy" is closest in
letters to "Retinopathy", an eye disorder, because both end in "-opathy". Medical words carry
their meaning in the root ("radicul-": nerve root) and their kind in the suffix ("-opathy",
"-itis"). So, in order:

1. a synonym: everyday clinical words for events CTCAE names otherwise (``synonyms-v5.0.yaml``
   beside the terminology: "pulmonary embolism" is coded "Thromboembolic event");
2. terms sharing a word root once medical suffixes are taken off ("radicul-" finds
   "Radiculitis", in Nervous system disorders);
3. spelling similarity, only when it is close (a typo such as "Radiculits").

When something is found, the message also offers that system organ class's "Other, specify"
term, the CTCAE way to record an event it has no term for.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from edc.library.ctcae import OTHER_SPECIFY_SUFFIX, CtcaeTerm, CtcaeTerminology

# Longest first, so "opathy" is taken before "pathy" and "y".
_SUFFIXES = sorted(
    (
        "opathy", "pathy", "itis", "osis", "algia", "emia", "aemia", "ectomy", "otomy", "oma",
        "ic", "al", "ous", "ia", "ies", "es", "s", "y",
    ),
    key=len,
    reverse=True,
)  # fmt: skip
_MIN_ROOT = 4
_WORD = re.compile(r"[a-z]+")
# Words that say little about which event is meant.
_STOP_WORDS = frozenset({"and", "or", "of", "the", "with", "other", "specify", "disorder"})


def _roots(text: str) -> set[str]:
    roots = set()
    for word in _WORD.findall(text.lower()):
        if word in _STOP_WORDS or len(word) < 3:
            continue
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_ROOT:
                word = word[: -len(suffix)]
                break
        roots.add(word)
    return roots


def _roots_match(left: str, right: str) -> bool:
    if left == right:
        return True
    shorter, longer = sorted((left, right), key=len)
    return len(shorter) >= 5 and longer.startswith(shorter)


def suggest(
    name: str, ctcae: CtcaeTerminology, synonyms: Mapping[str, str], limit: int = 3
) -> list[CtcaeTerm]:
    """Up to ``limit`` terms the author probably meant by ``name``, best first."""
    wanted = name.strip().lower()
    synonym = synonyms.get(wanted)
    if synonym is not None and (term := ctcae.find_term(synonym)) is not None:
        return [term]
    by_lower = {term.term.lower(): term for term in ctcae.terms}
    if wanted in by_lower:  # only the case differs
        return [by_lower[wanted]]
    roots = _roots(name)
    candidates = [(term, _roots(term.term)) for term in ctcae.terms if not term.needs_specify]
    # A root shared with many terms ("pain": 30-odd) says less than a rare one ("radicul").
    weight = {
        root: 1 / max(1, sum(any(_roots_match(root, t) for t in tr) for _, tr in candidates))
        for root in roots
    }
    scored: list[tuple[float, float, str, CtcaeTerm]] = []
    for term, term_roots in candidates:
        shared = sum(weight[r] for r in roots if any(_roots_match(r, t) for t in term_roots))
        if shared:
            coverage = shared / max(len(roots), len(term_roots))
            spelling = difflib.SequenceMatcher(None, wanted, term.term.lower()).ratio()
            scored.append((-coverage, -spelling, term.term, term))
    if scored:
        return [term for *_, term in sorted(scored)[:limit]]
    close = difflib.get_close_matches(wanted, list(by_lower), n=limit, cutoff=0.85)
    return [by_lower[match] for match in close]


def unknown_term_message(name: str, ctcae: CtcaeTerminology, synonyms: Mapping[str, str]) -> str:
    """``'<name>' is not a CTCAE <v> term; did you mean ...`` with what to write instead."""
    message = f"{name!r} is not a CTCAE {ctcae.version} term"
    found = suggest(name, ctcae, synonyms)
    if not found:
        return message + " (the names are NCI's, e.g. 'Back pain'; see the CTCAE term list)"
    listed = " or ".join(f"{term.term!r} ({term.soc})" for term in found)
    message += f"; did you mean {listed}?"
    other = ctcae.find_term(found[0].soc + OTHER_SPECIFY_SUFFIX)
    if other is not None and found[0].term != other.term:
        message += f" If none fits, use {other.term!r} with specify: {name}"
    return message
