"""One shared Redis, a whole class: every key a learner's notebooks write lives under
``course:{learner}:…``.

``COURSE_LEARNER`` names the learner (sanitised to ``[a-z0-9_.-]``, at most 40 characters). When
it is not set: on a real Redis (``REDIS_URL``) the OS user name and host, so two people on one
Redis never share a namespace by accident; on the embedded server, which nobody else can reach,
``local``.

    ns = namespace("01")              # "course:alice:01"
    store = SessionStore(prefix=f"{ns}:store")
    reset("01")                       # deletes this learner's keys of notebook 01, nobody else's

The instructor cleans a whole class afterwards with ``python -m lessons.classroom clean``, which
deletes every ``course:*`` key in the database ``REDIS_URL`` names (give each class its own
database number, e.g. ``redis://host:6379/3``), and nothing else.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import sys
from typing import Any

from . import backend

__all__ = ["COURSE_ROOT", "clean_class", "learner", "namespace", "reset"]

#: Every key the course writes on a shared Redis starts with this.
COURSE_ROOT = "course:"

_UNSAFE = re.compile(r"[^a-z0-9_.-]+")


def _sanitise(name: str) -> str:
    cleaned = _UNSAFE.sub("-", name.strip().lower()).strip("-.")
    return cleaned[:40] or "learner"


def learner() -> str:
    """This learner's name in key names: ``COURSE_LEARNER``, else user-host (real Redis) or
    ``local`` (embedded server)."""
    given = os.environ.get("COURSE_LEARNER", "").strip()
    if given:
        return _sanitise(given)
    if backend.is_embedded():
        return "local"
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        user = "user"
    return _sanitise(f"{user}-{socket.gethostname().split('.')[0]}")


def namespace(*parts: str) -> str:
    """``course:{learner}`` followed by ``parts`` joined with ``:``, e.g. ``course:alice:01``."""
    return ":".join([f"{COURSE_ROOT}{learner()}", *parts])


def reset(*parts: str, client: Any = None) -> int:
    """Delete this learner's keys under ``namespace(*parts)`` (all of them if no parts); returns
    how many. Other learners' keys, and keys outside ``course:``, are never touched."""
    client = client if client is not None else backend.connect()
    return backend.delete_prefix(client, namespace(*parts) + ":")


def clean_class(client: Any = None) -> int:
    """Delete every learner's course keys (``course:*``) in this database; returns how many."""
    client = client if client is not None else backend.connect()
    return backend.delete_prefix(client, COURSE_ROOT)


def main(argv: list[str]) -> int:
    if argv != ["clean"]:
        print("usage: python -m lessons.classroom clean   (deletes every course:* key in the "
              "database REDIS_URL names)", file=sys.stderr)
        return 2
    if backend.is_embedded():
        print("REDIS_URL is not set: nothing to clean (the embedded server lives only inside "
              "each notebook kernel).")
        return 0
    print(f"Deleted {clean_class()} course keys ({backend.describe()}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
