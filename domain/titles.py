"""Comparing event titles, to tell whether two events are likely the same one.

Terms:
- *normalised title*: the title in Unicode compatibility form (NFKC), case-folded, with every run of characters that
  are not letters, digits or combining marks (punctuation, symbols, whitespace) read as one space, and trimmed.
  "Boiler check – Cleo Customer" and "boiler-check: CLEO  customer" are both "boiler check cleo customer".
- *words*: the words of the normalised title.
- *the same title*: equal normalised titles that have words.
- *similar titles*: both have words, and every word of one is a word of the other, in any order. "Boiler check",
  "Cleo" and "Customer, Cleo" are each similar to "Boiler check – Cleo Customer"; "Boiler service" is not.
  A title without words ("", "–", "???") is similar to nothing: nothing in it tells two events apart.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


def _in_word(character: str) -> bool:
    # Combining marks belong to the letter before them (the vowel signs of Indic scripts, say).
    return character.isalnum() or unicodedata.category(character).startswith("M")


# A duplicate search compares each title with many others; normalising it once (not once per pair) keeps a day
# with thousands of blocks from costing seconds.
@lru_cache(maxsize=4096)
def normalised_title(title: str) -> str:
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", title).casefold())
    spaced = "".join(character if _in_word(character) else " " for character in folded)
    return " ".join(spaced.split())


def title_words(title: str) -> frozenset[str]:
    return frozenset(normalised_title(title).split())


def same_title(first: str, second: str) -> bool:
    normalised = normalised_title(first)
    return normalised != "" and normalised == normalised_title(second)


def similar_titles(first: str, second: str) -> bool:
    """Symmetric by construction: containment is checked both ways."""
    words, other = title_words(first), title_words(second)
    return bool(words) and bool(other) and (words <= other or other <= words)


def booking_event_title(service_name: str, customer_name: str, walk_in: bool) -> str:
    """The title Lockstep writes on a booking's event: "<service> – <customer>" ("Walk-in" for a walk-in)."""
    return f"{service_name} – {'Walk-in' if walk_in else customer_name}"
