"""``app_from_env``: the app ``uvicorn lessons.web:app`` serves, configured by the environment.

==================================  ==========================================================
``REDIS_URL``                       the shared Redis (else the backend's embedded server, which
                                    then lives in this process only)
``LESSONS_SESSION_STORE``           ``redis`` (default), or ``memory`` for a per-process dict
``LESSONS_SESSION_PREFIX``          key prefix (``session``)
``LESSONS_SESSION_TTL``             idle timeout in seconds (3600); must be > 0
``LESSONS_ABSOLUTE_TTL``            absolute timeout in seconds (28800 = 8 h), or ``none``
``LESSONS_HASH_IDS``                key sessions by SHA-256 of the token (``1``, default) or by
                                    the token itself (``0``)
``LESSONS_REPLICAS``                replicas that must hold a new session (``WAIT``; 0, default)
``LESSONS_REPLICA_TIMEOUT_MS``      how long ``WAIT`` waits for them (100)
``LESSONS_MAX_FAILURES_PER_ACCOUNT`` failed logins per user name, then 429 (5)
``LESSONS_MAX_FAILURES_PER_CLIENT`` failed logins per client address, then 429 (20)
``LESSONS_FAILURE_WINDOW``          seconds those failures are counted for (900)
``LESSONS_TRUSTED_PROXIES``         proxies whose ``X-Forwarded-For`` names the client: IPs and
                                    CIDR networks, comma-separated (none)
``LESSONS_SECRET_KEY``              sign cookies with this key
``LESSONS_COOKIE_NAME``             the cookie's name (``session_id``)
``LESSONS_SERVER_NAME``             sent back in ``X-Served-By``
==================================  ==========================================================

The served app's defaults are the safe ones: hashed IDs and an 8-hour absolute timeout (the
Redis store; the ``memory`` store is the lesson's per-process demo and has neither). Every
malformed value is a ``ConfigError`` whose one-line message names the variable.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from ..errors import CourseError
from ..memory_store import MemoryStore
from ..replicated import ReplicatedStore
from ..session_value import check_ttl
from ..store import SessionStore
from .client_address import TrustedProxies
from .context import AppStore
from .factory import create_app

__all__ = ["DEFAULT_ABSOLUTE_TTL", "ConfigError", "app_from_env", "env_flag", "env_seconds"]

#: The served app's absolute timeout unless ``LESSONS_ABSOLUTE_TTL`` says otherwise: 8 hours.
DEFAULT_ABSOLUTE_TTL = 8 * 3600

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class ConfigError(CourseError, ValueError):
    """An environment variable of ``app_from_env`` has a value it cannot use."""


def _whole(env: Mapping[str, str], name: str, default: int, unit: str, minimum: int = 1) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of {unit}, not {text!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, not {text!r}")
    return value


def env_seconds(env: Mapping[str, str], name: str, default: int) -> int:
    """``env[name]`` as a whole number of seconds > 0 (``default`` if unset or empty): the rule
    of ``session_value.check_ttl``, with a message that names the variable."""
    value = _whole(env, name, default, "seconds", minimum=-sys.maxsize)
    try:
        return check_ttl(name, value)
    except ValueError:
        raise ConfigError(
            f"{name} must be > 0 seconds, not {env[name].strip()!r}: a session "
            "needs a lifetime (0 does not mean 'the default')"
        ) from None


def env_flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """``env[name]`` as yes/no: ``1 true yes on`` or ``0 false no off`` (any case)."""
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), not {text!r}")


def _absolute_ttl(env: Mapping[str, str]) -> int | None:
    if env.get("LESSONS_ABSOLUTE_TTL", "").strip().lower() == "none":
        return None
    try:
        return env_seconds(env, "LESSONS_ABSOLUTE_TTL", DEFAULT_ABSOLUTE_TTL)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (or 'none' for no absolute timeout)") from None


def store_from_env(env: Mapping[str, str]) -> AppStore:
    """The session store the environment asks for."""
    ttl = env_seconds(env, "LESSONS_SESSION_TTL", 3600)
    absolute_ttl = _absolute_ttl(env)
    hash_ids = env_flag(env, "LESSONS_HASH_IDS", True)
    replicas = _whole(env, "LESSONS_REPLICAS", 0, "replicas", minimum=0)
    timeout_ms = _whole(env, "LESSONS_REPLICA_TIMEOUT_MS", 100, "milliseconds")
    kind = env.get("LESSONS_SESSION_STORE", "redis")
    if kind == "memory":
        for name in ("LESSONS_ABSOLUTE_TTL", "LESSONS_REPLICAS"):
            if env.get(name, "").strip() not in ("", "none", "0"):
                raise ConfigError(
                    f"{name} needs LESSONS_SESSION_STORE=redis: the memory store has no such setting"
                )
        return MemoryStore(default_ttl=ttl)
    if kind != "redis":
        raise ConfigError(f"LESSONS_SESSION_STORE must be 'redis' or 'memory', not {kind!r}")
    options: dict[str, Any] = {
        "redis_url": env.get("REDIS_URL") or None,
        "prefix": env.get("LESSONS_SESSION_PREFIX", "session"),
        "default_ttl": ttl,
        "absolute_ttl": absolute_ttl,
        "hash_ids": hash_ids,
    }
    if replicas:
        # notebook 06's store: WAIT after each write
        replicated: SessionStore = ReplicatedStore(**options, replicas=replicas, timeout_ms=timeout_ms)
        return replicated
    return SessionStore(**options)


def _trusted_proxies(env: Mapping[str, str]) -> TrustedProxies:
    try:
        return TrustedProxies(env.get("LESSONS_TRUSTED_PROXIES", ""))
    except ValueError as exc:
        raise ConfigError(f"LESSONS_TRUSTED_PROXIES: {str(exc).partition(': ')[2]}") from None


def app_from_env(environ: Mapping[str, str] | None = None) -> FastAPI:
    """The app configured by ``environ`` (default ``os.environ``): see the table above."""
    env = os.environ if environ is None else environ
    proxies = _trusted_proxies(env)
    return create_app(
        store_from_env(env),
        cookie_name=env.get("LESSONS_COOKIE_NAME", "session_id"),
        secret_key=env.get("LESSONS_SECRET_KEY") or None,
        server_name=env.get("LESSONS_SERVER_NAME") or None,
        trusted_proxies=[str(net) for net in proxies.networks],
        max_failures_per_account=_whole(env, "LESSONS_MAX_FAILURES_PER_ACCOUNT", 5, "failed logins"),
        max_failures_per_client=_whole(env, "LESSONS_MAX_FAILURES_PER_CLIENT", 20, "failed logins"),
        failure_window=env_seconds(env, "LESSONS_FAILURE_WINDOW", 900),
    )
