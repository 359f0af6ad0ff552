"""Security: the lesson's セキュリティ考慮事項 table, each row as an attack and then a defence.

| 項目 (threat)          | 対策 (answer)          | module: what notebook 04 uses                        |
|------------------------|------------------------|------------------------------------------------------|
| セッション固定          | ログイン時に ID 再生成  | ``vulnerable``: ``vulnerable_app``                   |
| セッションハイジャック    | HTTPS、HttpOnly Cookie | ``browser``: ``BrowserModel``                        |
| 不正なセッション          | 署名、暗号化           | ``vulnerable``: ``client_side_session_app``;         |
|                        |                        | ``guessing``: ``guessing_table``                     |
| セッション無限増加        | TTL 必須               | ``growth``: ``growth_experiment``                    |
| (keys that leak tokens) | hashed keys            | ``leaks``: ``command_log_client``, ``token_handle``  |

``clients`` holds the HTTP clients that play the browser and the attacker (``test_client``,
``plant_cookie``, ``replay_client``, ``logged_in_as``). The "Your turn" checks live in
``lessons.checks.security`` (a layer above: this package never imports them). Hashed session keys
are a store option: ``SessionStore(..., hash_ids=True)``.

The vulnerable apps are **deliberately wrong** and exist only to be attacked in a notebook. The
course's real code is ``lessons.store.SessionStore`` and ``lessons.web.create_app``.
"""

from __future__ import annotations

from .browser import BrowserModel, SetCookie, parse_set_cookie
from .clients import logged_in_as, plant_cookie, replay_client, test_client
from .growth import (
    GrowthRun,
    count_keys,
    find_immortal_keys,
    growth_experiment,
    plant_immortal_sessions,
    server_memory_facts,
)
from .guessing import (
    AGE_OF_UNIVERSE_YEARS,
    ID_SCHEMES,
    SECONDS_PER_YEAR,
    expected_guess_seconds,
    format_duration,
    guessing_table,
)
from .leaks import CommandLog, command_log_client, export_snapshot, token_handle
from .vulnerable import (
    VULNERABLE_APP_USERS,
    client_side_session_app,
    forge_client_side_cookie,
    vulnerable_app,
)

__all__ = [
    "AGE_OF_UNIVERSE_YEARS",
    "ID_SCHEMES",
    "SECONDS_PER_YEAR",
    "VULNERABLE_APP_USERS",
    "BrowserModel",
    "CommandLog",
    "GrowthRun",
    "SetCookie",
    "client_side_session_app",
    "command_log_client",
    "count_keys",
    "expected_guess_seconds",
    "export_snapshot",
    "find_immortal_keys",
    "forge_client_side_cookie",
    "format_duration",
    "growth_experiment",
    "guessing_table",
    "logged_in_as",
    "parse_set_cookie",
    "plant_cookie",
    "plant_immortal_sessions",
    "replay_client",
    "server_memory_facts",
    "test_client",
    "token_handle",
    "vulnerable_app",
]
