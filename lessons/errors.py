"""The course's exceptions: one base class, so ``except CourseError`` catches any of them."""

from __future__ import annotations

__all__ = ["CourseError", "InvalidRedisUrl", "RetryLimitExceeded", "SessionNotFound"]


class CourseError(Exception):
    """Base class of every exception the ``lessons`` package raises on purpose."""


class SessionNotFound(CourseError, ValueError):
    """The session does not exist (never created, deleted, expired, or a malformed ID)."""


class RetryLimitExceeded(CourseError, RuntimeError):
    """An optimistic transaction (WATCH/MULTI) conflicted with other writers at every try, for
    its whole retry budget (``lessons.backoff.Backoff``: 10 s by default)."""


class InvalidRedisUrl(CourseError, ValueError):
    """``REDIS_URL`` (or a URL given to ``lessons.backend.connect``) is malformed, or names a
    database the server does not have; the message says what is wrong, in one line."""
