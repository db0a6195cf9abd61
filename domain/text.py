"""Which characters typed text may hold.

A *forbidden character* is a control character other than tab and newline (NUL among them, which PostgreSQL cannot
store in text at all, while SQLite would keep it silently), or half of a UTF-16 surrogate pair, which has no UTF-8
form. Everything else, emoji and every script included, is text.
"""

from __future__ import annotations

import re

# Unicode's control characters (category Cc) are exactly U+0000-U+001F and U+007F-U+009F; surrogates are U+D800-U+DFFF.
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def forbidden_character(text: str) -> str | None:
    """The first forbidden character of `text`, or None when it has none."""
    found = _FORBIDDEN.search(text)
    return None if found is None else found.group()


def printable(text: str) -> str:
    """`text` with each forbidden character replaced by U+FFFD: for text that comes from a provider (an imported
    event's title), which is stored as it reads rather than refused."""
    return _FORBIDDEN.sub("\ufffd", text)


def describe(character: str) -> str:
    """A forbidden character named so a person can find it: U+0000."""
    return f"U+{ord(character):04X}"
