"""``app_from_env``: the app ``uvicorn lessons.web:app`` serves, configured by the environment.

==============================  ==============================================================
``REDIS_URL``                   the shared Redis (else the backend's embedded server, which
                                then lives in this process only)
``LESSONS_SESSION_STORE``       ``redis`` (default), or ``memory`` for a per-process dict
``LESSONS_SESSION_PREFIX``      key prefix (``session``)
``LESSONS_SESSION_TTL``         idle timeout in seconds (3600); must be > 0
``LESSONS_SECRET_KEY``          sign cookies with this key
``LESSONS_COOKIE_NAME``         the cookie's name (``session_id``)
``LESSONS_SERVER_NAME``         sent back in ``X-Served-By``
``LESSONS_PARENT_PID``          stop when that process is gone (``lessons.web.serve``)
==============================  ==============================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from fastapi import FastAPI

from ..errors import CourseError
from ..store import SessionStore
from ..stores.memory import MemoryStore as InMemorySessionStore
from .context import Store
from .factory import create_app

__all__ = ["ConfigError", "app_from_env", "env_seconds"]


class ConfigError(CourseError, ValueError):
    """An environment variable of ``app_from_env`` has a value it cannot use."""


def env_seconds(env: Mapping[str, str], name: str, default: int) -> int:
    """``env[name]`` as a whole number of seconds > 0 (``default`` if unset or empty)."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of seconds, not {text!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be > 0 seconds, not {text!r}: a session needs a "
                          "lifetime (0 does not mean 'the default')")
    return value


def store_from_env(env: Mapping[str, str]) -> Store:
    """The session store the environment asks for."""
    ttl = env_seconds(env, "LESSONS_SESSION_TTL", 3600)
    kind = env.get("LESSONS_SESSION_STORE", "redis")
    if kind == "memory":
        return InMemorySessionStore(default_ttl=ttl)
    if kind == "redis":
        return SessionStore(redis_url=env.get("REDIS_URL") or None,
                            prefix=env.get("LESSONS_SESSION_PREFIX", "session"), default_ttl=ttl)
    raise ConfigError(f"LESSONS_SESSION_STORE must be 'redis' or 'memory', not {kind!r}")


def app_from_env(environ: Mapping[str, str] | None = None) -> FastAPI:
    """The app configured by ``environ`` (default ``os.environ``): see the table above."""
    env = os.environ if environ is None else environ
    return create_app(store_from_env(env),
                      cookie_name=env.get("LESSONS_COOKIE_NAME", "session_id"),
                      secret_key=env.get("LESSONS_SECRET_KEY") or None,
                      server_name=env.get("LESSONS_SERVER_NAME") or None)
