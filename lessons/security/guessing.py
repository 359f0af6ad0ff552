"""What signing adds: the expected time for an attacker to guess a live session ID.

The OWASP Session Management Cheat Sheet's formula, a table of ID schemes, and durations a person
can read. Pure arithmetic: no Redis command runs here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "AGE_OF_UNIVERSE_YEARS",
    "ID_SCHEMES",
    "SECONDS_PER_YEAR",
    "expected_guess_seconds",
    "format_duration",
    "guessing_table",
]

#: (name, bits of randomness) for the ID schemes compared in the notebook.
ID_SCHEMES: list[tuple[str, int]] = [
    ("secrets.token_urlsafe(32) (this course)", 256),
    ("UUID4 (uuid.uuid4())", 122),
    ("OWASP minimum entropy", 64),
]

SECONDS_PER_YEAR = 365.25 * 24 * 3600
AGE_OF_UNIVERSE_YEARS = 13.8e9


def expected_guess_seconds(bits: int, guesses_per_second: float, live_sessions: int) -> float:
    """Expected seconds until a random guess hits *some* live session.

    OWASP Session Management Cheat Sheet: ``(2**B + 1) / (2 * A * S)`` with B bits of entropy,
    A guesses per second and S live sessions (each guess hits with probability S / 2**B).
    """
    if bits <= 0 or guesses_per_second <= 0 or live_sessions <= 0:
        raise ValueError("bits, guesses_per_second and live_sessions must all be > 0")
    return float((2**bits + 1) / (2 * guesses_per_second * live_sessions))


def format_duration(seconds: float) -> str:
    """A duration a person can read: seconds, minutes, hours, days or years (3 significant digits)."""
    for unit, size in (("years", SECONDS_PER_YEAR), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            value = seconds / size
            return f"{value:.3g} {unit}" if value < 1e6 else f"{value:.2e} {unit}"
    return f"{seconds:.3g} seconds"


def guessing_table(
    guesses_per_second: float, live_sessions: int, schemes: Iterable[tuple[str, int]] = ID_SCHEMES
) -> list[dict[str, Any]]:
    """One row per ID scheme: bits, expected time to a first hit, and that in ages of the universe."""
    rows = []
    for name, bits in schemes:
        seconds = expected_guess_seconds(bits, guesses_per_second, live_sessions)
        rows.append(
            {
                "scheme": name,
                "bits": bits,
                "seconds": seconds,
                "time": format_duration(seconds),
                "universe_ages": seconds / SECONDS_PER_YEAR / AGE_OF_UNIVERSE_YEARS,
            }
        )
    return rows
