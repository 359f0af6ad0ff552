"""Serving ``lessons.web:app`` with uvicorn: one app per process, and two safety checks.

- **Several workers need a shared store.** ``uvicorn lessons.web:app --workers 2`` (or
  ``WEB_CONCURRENCY=2``) without ``REDIS_URL`` would give each worker its own embedded Redis (or,
  with ``LESSONS_SESSION_STORE=memory``, its own dict): a session created by one worker is unknown
  to the other, and logins "fail at random". A worker that finds itself in that situation prints
  one line saying why and exits with uvicorn's startup-failure code, which stops uvicorn.
- **A bad setting stops the server with one line** naming the variable (``ConfigError``), not
  a traceback.
- **uvicorn's proxy headers.** Unless started with ``--no-proxy-headers`` (or
  ``--forwarded-allow-ips ''``), uvicorn replaces the client address with one taken from
  ``X-Forwarded-For`` whenever the peer is in its ``--forwarded-allow-ips`` (default
  ``127.0.0.1,::1``), before the app runs: then any client on the same host can pose as any
  address to the login throttle. The app cannot undo that, so it says so at startup in one
  warning line (``uvicorn_rewrites_client``); ``LESSONS_TRUSTED_PROXIES`` is the app's own,
  safe setting for real proxies (``lessons.web.client_address``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from fastapi import FastAPI

from ..errors import CourseError
from .config import app_from_env

__all__ = [
    "SharedStoreRequired",
    "check_shared_store",
    "served_app",
    "uvicorn_rewrites_client",
    "uvicorn_workers",
]

#: uvicorn's exit code for "failed before serving": its supervisor then stops instead of
#: restarting the worker forever.
STARTUP_FAILURE = 3


class SharedStoreRequired(CourseError, RuntimeError):
    """Several server processes were asked to share sessions that live in one process."""


def _workers_option(argv: Sequence[str]) -> int | None:
    """N from ``--workers N`` / ``--workers=N`` in a command line, else None."""
    for i, arg in enumerate(argv):
        if arg == "--workers" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--workers="):
            value = arg.partition("=")[2]
        else:
            continue
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _parent_command_line() -> list[str]:
    """The parent process's arguments (Linux ``/proc``; empty where that does not exist)."""
    try:
        raw = Path(f"/proc/{os.getppid()}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def uvicorn_workers(
    environ: Mapping[str, str] | None = None, parent_argv: Sequence[str] | None = None
) -> int:
    """How many uvicorn worker processes serve this app: 1 unless this process is a
    multiprocessing child (how uvicorn starts workers) of a command line with ``--workers N``,
    or with ``WEB_CONCURRENCY=N`` and no ``--workers``."""
    env = os.environ if environ is None else environ
    if parent_argv is None:
        if multiprocessing.parent_process() is None:
            return 1  # not a worker process: uvicorn runs the app in its main process
        parent_argv = _parent_command_line()
    if "--reload" in parent_argv:
        return 1  # the reloader runs one worker
    workers = _workers_option(parent_argv)
    if workers is None:
        try:
            workers = int(env.get("WEB_CONCURRENCY", "1"))
        except ValueError:
            workers = 1
    return max(workers, 1)


def check_shared_store(environ: Mapping[str, str] | None = None, workers: int | None = None) -> None:
    """``SharedStoreRequired`` (a one-line reason) if several workers would each keep their own
    sessions: no ``REDIS_URL``, or ``LESSONS_SESSION_STORE=memory``."""
    env = os.environ if environ is None else environ
    workers = uvicorn_workers(env) if workers is None else workers
    if workers <= 1:
        return
    if env.get("LESSONS_SESSION_STORE", "redis") == "memory":
        raise SharedStoreRequired(
            f"lessons.web: refusing to run {workers} workers with LESSONS_SESSION_STORE=memory: "
            "each worker would keep its own sessions, so logins would fail at random; use "
            "--workers 1 or a shared Redis (REDIS_URL)"
        )
    if not env.get("REDIS_URL"):
        raise SharedStoreRequired(
            f"lessons.web: refusing to run {workers} workers without REDIS_URL: each worker would "
            "start its own embedded Redis, so logins would fail at random; set REDIS_URL to a "
            "shared Redis or use --workers 1"
        )


def uvicorn_rewrites_client() -> str | None:
    """The addresses whose ``X-Forwarded-For`` uvicorn will put in ``scope["client"]``, if this
    app is being loaded by a uvicorn with proxy headers on; else None.

    uvicorn builds the app inside ``Config.load`` (the command line, ``uvicorn.run`` and each
    worker alike) and wraps it in ``ProxyHeadersMiddleware`` right after, when
    ``config.proxy_headers`` is true; this looks for that ``Config`` up the call stack.
    """
    frame = sys._getframe(1)
    while frame is not None:
        config = frame.f_locals.get("self")
        if type(config).__name__ == "Config" and type(config).__module__ == "uvicorn.config":
            if not getattr(config, "proxy_headers", False):
                return None
            allowed = getattr(config, "forwarded_allow_ips", "")
            hosts = allowed.split(",") if isinstance(allowed, str) else list(allowed)
            return ",".join(host.strip() for host in hosts if host.strip()) or None
        frame = frame.f_back  # type: ignore[assignment]
    return None


def served_app(environ: Mapping[str, str] | None = None) -> FastAPI:
    """The app of ``uvicorn lessons.web:app``: checks, then ``app_from_env``.

    Several workers without a shared store, or a malformed setting: prints the reason (one line,
    on stderr) and exits with code 3, which makes uvicorn stop rather than restart the worker.
    uvicorn rewriting the client address (proxy headers on): one warning line, then serves.
    """
    env = os.environ if environ is None else environ
    try:
        check_shared_store(env)
        app = app_from_env(env)
    except CourseError as exc:  # SharedStoreRequired, ConfigError, a malformed REDIS_URL
        print(
            f"lessons.web: {exc}" if not str(exc).startswith("lessons.web") else exc,
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(STARTUP_FAILURE) from None
    rewriters = uvicorn_rewrites_client()
    if rewriters:
        logging.getLogger("uvicorn.error").warning(
            "lessons.web: uvicorn replaces the client address with X-Forwarded-For from %s, so "
            "a client there can pose as any address to the login throttle; start uvicorn with "
            "--no-proxy-headers (real proxies go in LESSONS_TRUSTED_PROXIES)",
            rewriters,
        )
    return app
