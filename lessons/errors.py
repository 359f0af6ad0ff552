"""The course's exceptions: one base class, so ``except CourseError`` catches any of them."""

from __future__ import annotations

__all__ = ["CourseError", "RetryLimitExceeded", "SessionNotFound"]


class CourseError(Exception):
    """Base class of every exception the ``lessons`` package raises on purpose."""


class SessionNotFound(CourseError, ValueError):
    """The session does not exist (never created, deleted, expired, or a malformed ID)."""


class RetryLimitExceeded(CourseError, RuntimeError):
    """An optimistic transaction (WATCH/MULTI) kept conflicting with other writers."""
