"""One shared Redis, a whole class: every key a learner's notebooks write lives under
``course:{learner}:…``.

``COURSE_LEARNER`` names the learner, in any script: ``alice``, ``たろう``, ``José``, ``🐱``.
Every distinct name gets its own namespace (``learner_key``):

- a name that is already a plain key word (lowercase ASCII letters and digits, then also ``-``
  and ``_``, at most 32 characters) is used as it is: ``alice`` -> ``course:alice:…``;
- any other name becomes a readable ASCII slug plus 8 hex digits of the SHA-256 of the name:
  ``たろう`` -> ``course:tarou-…:``, ``Alice`` -> ``course:alice-…:``, ``🐱`` -> ``course:cat-face-…:``.
  Plain names never end in ``-`` and 8 hex digits, hashed ones always do, so a plain name cannot
  equal a hashed one; two hashed names share a namespace only if 32 bits of SHA-256 agree.

The name is hashed after Unicode NFC normalisation (and with surrounding spaces removed): NFC
only merges spellings that are the same text by definition, such as ``が`` typed as one code
point or as ``か`` plus a combining mark (macOS and some input methods send the second), so one
learner typing their name on two machines keeps one namespace. NFKC is not used: it would merge
names that look different (``ｱﾘｽ`` and ``アリス``, ``Ａｌｉｃｅ`` and ``Alice``). No key ever holds a
glob character (``*?[]\\``) or a ``:`` from a name, so no name can widen a SCAN pattern.

When ``COURSE_LEARNER`` is not set: on a real Redis (``REDIS_URL``) the OS user name and host, so
two people on one Redis never share a namespace by accident; on the embedded server, which nobody
else can reach, ``local``.

    ns = namespace("01")                # "course:alice:01"
    store = SessionStore(prefix=f"{ns}:store")
    reset("01")                         # deletes this learner's keys of notebook 01, nobody else's

Editions: the English notebooks use the bare notebook id; another edition of the same notebook
puts its language first, ``namespace("01", edition="ja")`` (the same as ``namespace("ja-01")``)
-> ``course:alice:ja-01``, so one learner running both editions of a notebook never touches one
edition's keys from the other, and ``reset("01")`` leaves ``ja-01`` alone.

The instructor cleans a whole class afterwards with ``python -m lessons.classroom clean``, which
deletes every ``course:*`` key in the database ``REDIS_URL`` names (give each class its own
database number, e.g. ``redis://host:6379/3``), and nothing else. During the class,
``python -m lessons.classroom progress [--watch [SECONDS]] [--csv FILE]`` shows every learner's
checks and quizzes (``lessons.progress``: it reads only ``course:*:progress`` hashes), and
``python -m lessons.classroom grade DIR`` grades submitted notebooks (``lessons.grading``). A
malformed ``REDIS_URL`` (``/13x``, a bad port or scheme, a database the server does not have) is
refused in one line.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import os
import re
import socket
import sys
import time
import unicodedata

import redis

from . import backend
from .errors import CourseError, InvalidRedisUrl
from .i18n import _

__all__ = ["COURSE_ROOT", "clean_class", "learner", "learner_key", "namespace", "reset"]

#: Every key the course writes on a shared Redis starts with this.
COURSE_ROOT = "course:"

_PLAIN = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_HASHED_TAIL = re.compile(r"-[0-9a-f]{8}$")
_SLUG_LENGTH = 20  # slug + "-" + 8 hex stays well under the 43 characters of a session token
_BAD_PART = re.compile(r"[*?\[\]\\:\s]")
_EDITION = re.compile(r"[a-z]{2,3}")

_KANA = (
    "あいうえお かきくけこ さしすせそ たちつてと なにぬねの はひふへほ まみむめも やゆよ "
    "らりるれろ わを ん がぎぐげご ざじずぜぞ だぢづでど ばびぶべぼ ぱぴぷぺぽ ぁぃぅぇぉ ゃゅょ ゔ"
)
_ROMAJI = (
    "a i u e o ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no ha hi fu he "
    "ho ma mi mu me mo ya yu yo ra ri ru re ro wa wo n ga gi gu ge go za ji zu ze zo da ji "
    "zu de do ba bi bu be bo pa pi pu pe po a i u e o ya yu yo vu"
)
_ROMA = dict(zip("".join(_KANA.split()), _ROMAJI.split(), strict=True))


def _romaji(text: str) -> str:
    """Kana (hiragana and katakana) in Hepburn-like romaji; everything else unchanged."""
    out: list[str] = []
    double = False  # after a small っ: double the next consonant
    for ch in text:
        if "\u30a1" <= ch <= "\u30f6":  # katakana -> hiragana
            ch = chr(ord(ch) - 0x60)
        if ch in "ゃゅょ" and out and len(out[-1]) > 1 and out[-1].endswith("i"):
            stem = out.pop()[:-1]  # き + ゃ -> kya, し + ゃ -> sha
            out.append(stem + ("" if stem.endswith(("sh", "ch", "j")) else "y") + "auo"["ゃゅょ".index(ch)])
            continue
        if ch == "っ":
            double = True
            continue
        if ch == "ー" and out:  # long vowel mark: repeat the vowel
            out.append(out[-1][-1])
            continue
        roman = _ROMA.get(ch, ch)
        if double and roman in _ROMA.values() and roman[0] not in "aiueon":
            roman = ("t" if roman.startswith("ch") else roman[0]) + roman
        double = False
        out.append(roman)
    return "".join(out)


def _slug(name: str) -> str:
    """A readable ASCII word for a name: romaji for kana, accents dropped, an emoji's Unicode
    name; ``[a-z0-9]`` runs joined by ``-``, at most 20 characters; ``learner`` if nothing is left
    (a name in kanji, say)."""
    out = []
    for ch in _romaji(unicodedata.normalize("NFKC", name)):
        base = unicodedata.normalize("NFKD", ch)[:1]  # é -> e
        if base.isascii() and base.isalnum():
            out.append(base.lower())
        elif unicodedata.category(ch) == "So":  # an emoji or other symbol: its name
            out.append(f"-{unicodedata.name(ch, '').lower()}-")
        else:
            out.append("-")
    slug = re.sub(r"[^a-z0-9]+", "-", "".join(out)).strip("-")
    return slug[:_SLUG_LENGTH].rstrip("-") or "learner"


def learner_key(name: str) -> str:
    """The key segment for the learner called ``name`` (see the module docstring): ``name`` if it
    is a plain key word, else ``{slug}-{8 hex of SHA-256(NFC(name))}``. Distinct names (after NFC
    and stripping surrounding spaces) give distinct segments; none holds ``:`` or a glob
    character."""
    name = unicodedata.normalize("NFC", name.strip())
    if _PLAIN.fullmatch(name) and not _HASHED_TAIL.search(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{_slug(name)}-{digest}"


def learner() -> str:
    """This learner's segment in key names: ``learner_key($COURSE_LEARNER)``, else of user-host
    (real Redis), else ``local`` (embedded server)."""
    given = os.environ.get("COURSE_LEARNER", "").strip()
    if given:
        return learner_key(given)
    if backend.is_embedded():
        return "local"
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        user = "user"
    return learner_key(f"{user}-{socket.gethostname().split('.')[0]}")


def namespace(*parts: str, edition: str | None = None) -> str:
    """``course:{learner}`` followed by ``parts`` joined with ``:``, e.g. ``course:alice:01``.

    Each part is one key segment: no ``:``, whitespace or glob character. ``edition`` (``"ja"``)
    prefixes the first part, the notebook id: ``namespace("01", edition="ja")`` is
    ``course:alice:ja-01``; ``None`` or ``"en"`` is the English edition (``course:alice:01``).
    """
    names = list(parts)
    for part in names:
        if not part or _BAD_PART.search(part):
            raise ValueError(
                f"a namespace part must be one non-empty key segment without ':', "
                f"spaces or glob characters, not {part!r}"
            )
    if edition not in (None, "en"):
        if not isinstance(edition, str) or not _EDITION.fullmatch(edition):
            raise ValueError(f"an edition is a language code such as 'ja', not {edition!r}")
        if not names:
            raise ValueError("an edition belongs to a notebook: namespace('01', edition='ja')")
        names[0] = f"{edition}-{names[0]}"
    return ":".join([f"{COURSE_ROOT}{learner()}", *names])


def reset(*parts: str, client: backend.Client | None = None, edition: str | None = None) -> int:
    """Delete this learner's keys under ``namespace(*parts, edition=edition)`` (all of this
    learner's keys if no parts); returns how many. Other learners' keys, the other edition's,
    and keys outside ``course:`` are never touched. SCAN MATCH ``{namespace}:*`` (one round trip
    per 1 000 keys scanned) plus one UNLINK per 500 keys found."""
    client = client if client is not None else backend.connect()
    return backend.delete_prefix(client, namespace(*parts, edition=edition) + ":")


def clean_class(client: backend.Client | None = None) -> int:
    """Delete every learner's course keys (``course:*``) in this database; returns how many."""
    client = client if client is not None else backend.connect()
    return backend.delete_prefix(client, COURSE_ROOT)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lessons.classroom",
        description=_(
            "One Redis for a class: the instructor's commands. They use the database "
            "REDIS_URL names and only keys under course:."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("clean", help=_("delete every course:* key in the database REDIS_URL names"))
    progress = commands.add_parser(
        "progress",
        help=_("every learner's checks and quizzes: ✓, ✗ with attempts, · not tried"),
        description=_(
            "Print a learners × exercises table of the class database: stuck learners "
            "first, then the exercises most learners fail. Reads only "
            "course:*:progress."
        ),
    )
    progress.add_argument(
        "--watch",
        nargs="?",
        type=float,
        const=5.0,
        default=None,
        metavar="SECONDS",
        help=_("refresh every SECONDS (default 5) until Ctrl-C"),
    )
    progress.add_argument("--csv", metavar="FILE", help=_("also write the table to FILE for a spreadsheet"))
    progress.add_argument(
        "--roster",
        metavar="FILE",
        help=_("the class list, one learner name a line: absent learners are shown too"),
    )
    commands.add_parser(
        "grade", add_help=False, help=_("grade submitted notebooks: python -m lessons.classroom grade --help")
    )
    return parser


def main(argv: list[str]) -> int:
    """``python -m lessons.classroom clean | progress | grade``: 0 when done, 2 for a wrong
    command line or a malformed ``REDIS_URL``, 1 when Redis does not answer (one line on stderr
    either way), 130 when Ctrl-C ends ``progress --watch``. ``grade`` is ``lessons.grading.main``'s."""
    if argv[:1] == ["grade"]:
        from . import grading  # only the grader needs nbclient

        return grading.main(argv[1:])
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a wrong command line (2): argparse has said why
        return exc.code if isinstance(exc.code, int) else 2
    if args.command == "progress":
        return _progress(args.watch, args.csv, args.roster)
    return _clean()


def _clean() -> int:
    if backend.is_embedded():
        print(
            "REDIS_URL is not set: nothing to clean (the embedded server lives only inside "
            "each notebook kernel)."
        )
        return 0
    try:
        where = backend.describe()  # refuses a malformed REDIS_URL before anything is deleted
        deleted = clean_class()
    except InvalidRedisUrl as exc:
        print(f"lessons.classroom: {exc}", file=sys.stderr)
        return 2
    except CourseError as exc:
        print(f"lessons.classroom: {exc}", file=sys.stderr)
        return 1
    print(f"Deleted {deleted} course keys ({where}).")
    return 0


def _progress(watch: float | None, csv_file: str | None, roster_file: str | None) -> int:
    """The ``progress`` command: the class table once, or every ``watch`` seconds until Ctrl-C
    (then 130, quietly). Without ``REDIS_URL``: this machine's learner (the embedded backend's
    progress file). ``roster_file``: every learner named there is in the table, all · and listed
    as not started when they have recorded nothing."""
    from . import progress

    if watch is not None and watch <= 0:
        print(_("lessons.classroom: --watch needs a number of seconds above 0"), file=sys.stderr)
        return 2
    client = None
    try:
        roster = [learner_key(name) for name in progress.read_roster(roster_file)] if roster_file else []
        if not backend.is_embedded():
            client = backend.connect()  # refuses a malformed REDIS_URL
            where = backend.describe(client)  # says which Redis
        while True:
            if client is None:
                where = _("REDIS_URL is not set: this machine's learner only")
                rows = {learner(): progress.results()}
            else:
                rows = progress.class_results(client)
            for name in roster:
                rows.setdefault(name, {})
            table = progress.render_table(rows, progress.course_items())
            heading = where
            if watch is not None:
                print("\x1b[H\x1b[2J", end="")  # clear the terminal, cursor home
                heading += _(
                    " (every {seconds} s, {time}; Ctrl-C stops)",
                    seconds=f"{watch:g}",
                    time=time.strftime("%H:%M:%S"),
                )
            print(f"{heading}\n{table}", flush=True)
            if csv_file:
                progress.write_csv(csv_file, rows, progress.course_items())
            if watch is None:
                return 0
            time.sleep(watch)
    except KeyboardInterrupt:
        return 130  # 128 + SIGINT, as a shell reports Ctrl-C
    except InvalidRedisUrl as exc:
        print(f"lessons.classroom: {exc}", file=sys.stderr)
        return 2
    except (CourseError, redis.RedisError) as exc:
        print(f"lessons.classroom: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a roster that is not text
        print(f"lessons.classroom: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the roster cannot be read, or the CSV file cannot be written
        print(
            _("lessons.classroom: cannot use {file}: {error}", file=exc.filename, error=exc.strerror),
            file=sys.stderr,
        )
        return 1
    finally:
        if client is not None:
            client.close()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
