"""Grading submitted notebooks: ``python -m lessons.classroom grade DIR``.

Layout: one folder per learner, ``DIR/<learner>/…/*.ipynb``; the folder's name is the learner's
name in the table, and the notebooks may sit at any depth below it (nbgrader's
``submitted/<learner>/<assignment>/`` works as it is). ``.ipynb_checkpoints`` is skipped; a
notebook directly in ``DIR`` belongs to nobody and is only mentioned on stderr.

Each notebook runs top to bottom in a fresh kernel (nbclient), ``--jobs`` at a time:

- on the embedded backend: ``REDIS_URL`` is removed, so no Redis outside the kernel is reached;
  ``COURSE_PROGRESS_FILE`` is a fresh temporary file of its own, from which the verdicts are read
  afterwards (``lessons.progress.load_file``); ``COURSE_LEARNER`` is the folder's name;
- without the course's own answers: cells tagged ``solution`` and
  ``quiz-answer`` (they show the right answer) are not run, or every submission
  would pass. A quiz therefore counts only when the learner's own cell calls ``check(id, letter)``:
  an answer clicked in a quiz widget is recorded in the learner's live progress (the ``progress``
  command), not in the submitted notebook, so it is not seen here;
- past errors: an exception in a cell (a syntax error too) does not stop the run, so the verdicts
  of later checks still count;
- within a time limit for the whole notebook (``--timeout``, wall clock): then the kernel's
  process group is killed (SIGKILL), and what was recorded until then still counts; so is, at the
  end of every notebook, any process it started in a session of its own (found by an
  environment variable its kernel passes on);
- without network where the system allows it: the kernel runs in a network namespace of its own
  (``unshare --net --map-root-user``, loopback only; the client talks to it over Unix sockets).
  Where that is not allowed (some containers), the HTTP(S) proxy variables point at a closed port
  instead, which stops ``requests``/``httpx``/``urllib`` but not a raw socket; stderr says which.

Not a security sandbox: a notebook still runs with your user's rights on files (its working
folder is a fresh temporary one). Grade notebooks you do not trust in a container or a VM.

A notebook that did not run to the end (not a notebook, a cell error, the time limit, a dead
kernel) gets one line saying why, below the table and in the CSV's ``notes`` column; never a
traceback. One line per notebook on stderr as each one finishes.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .classroom import learner_key
from .i18n import _
from .progress import Item, Result, course_items, load_file, read_roster, render_table, write_csv

__all__ = ["Graded", "find_submissions", "grade", "main"]

DEFAULT_TIMEOUT = 300.0  # seconds per notebook; the slowest committed one (06) takes about 40 s
ANSWER_TAGS = {"solution", "quiz-answer"}  # the course's own solution and answer cells
EXPECTED_ERROR_TAG = "raises-exception"  # cells that raise on purpose (notebook 03's NameError)
CELL_FILE = re.compile(r"\(\d+\.py, (line \d+)\)")  # IPython's name for a cell: a hash, not for people
RUN_MARKER = "COURSE_GRADING_RUN"
CLOSED_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens there


@dataclass
class Graded:
    """One submitted notebook: its learner, its verdicts, and why it stopped early (or None)."""

    learner: str
    path: Path
    results: dict[Item, Result] = field(default_factory=dict)
    problem: str | None = None
    seconds: float = 0.0


def find_submissions(root: Path) -> tuple[dict[str, list[Path]], list[Path]]:
    """``({learner: [notebooks]}, [notebooks outside any learner's folder])``, sorted by name."""
    learners: dict[str, list[Path]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        learners[folder.name] = sorted(
            p
            for p in folder.rglob("*.ipynb")
            if p.is_file() and ".ipynb_checkpoints" not in p.relative_to(folder).parts
        )
    stray = sorted(p for p in root.glob("*.ipynb") if p.is_file())
    return learners, stray


# -- isolation ---------------------------------------------------------------------------------
def _offline_prefix() -> list[str] | None:
    """The command prefix that runs a process in a network namespace of its own with only
    loopback up, if this system allows it (tried once with a small Python probe), else None."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if unshare is None or ip is None:
        return None
    prefix = [
        unshare,
        "--net",
        "--map-root-user",
        "--",
        "sh",
        "-c",
        f'{ip} link set lo up && exec "$@"',
        "kernel",
    ]
    probe = (
        "import socket\n"
        "s = socket.create_server(('127.0.0.1', 0)); socket.create_connection(s.getsockname())\n"
        "try:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
        "except OSError:\n    pass\nelse:\n    raise SystemExit(3)\n"
    )
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", probe], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return prefix if done.returncode == 0 else None


def _kernel_manager_class(prefix: list[str] | None, sockets: Path) -> type[Any]:
    """An AsyncKernelManager that starts the kernel behind ``prefix``, talking to it over Unix
    sockets in the folder ``sockets`` (they cross network namespaces); or the plain one."""
    from jupyter_client.manager import AsyncKernelManager

    if prefix is None:
        return AsyncKernelManager
    command_prefix: list[str] = prefix

    class OfflineKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(transport="ipc", ip=str(sockets / "k"), **kwargs)

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return [*command_prefix, *super().format_kernel_cmd(extra_arguments)]

    return OfflineKernelManager


def _kernel_env(learner: str, progress_file: Path, offline: bool, run: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "COURSE_PROGRESS_FILE")}
    env[RUN_MARKER] = run  # carried by the kernel and everything it starts (see _end_strays)
    env["COURSE_PROGRESS_FILE"] = str(progress_file)
    env["COURSE_LEARNER"] = learner
    package_root = str(Path(__file__).resolve().parent.parent)  # so the kernel imports this lessons/
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    if not offline:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env[name] = CLOSED_PROXY
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    return env


# -- one notebook ------------------------------------------------------------------------------
def _end_strays(run: str) -> None:
    """Kill what the notebook started in a session of its own (the kernel's process group is
    killed with it; a server started with ``start_new_session`` is not): every process of this
    user whose environment carries ``RUN_MARKER=run``."""
    import psutil

    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get(RUN_MARKER) == run:
                proc.kill()
        except (psutil.Error, OSError):  # ended meanwhile, or another user's process
            continue


def _one_line(text: str, limit: int = 100) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _read(path: Path) -> tuple[Any, str | None]:
    """The notebook without the course's answer cells (turned into raw cells, so cell numbers stay
    the submitted ones), or None and why it is not a notebook."""
    import nbformat
    from nbformat.reader import NotJSONError

    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except (NotJSONError, UnicodeDecodeError):
        return None, _("not a notebook (not JSON: cut short, or another kind of file)")
    except nbformat.ValidationError as exc:
        return None, _("not a notebook ({error})", error=_one_line(str(exc).split("\n", 1)[0], 70))
    except Exception as exc:  # anything else that stops nbformat: one line, never a traceback
        return None, _("not a notebook ({error})", error=_one_line(f"{type(exc).__name__}: {exc}", 70))
    for index, cell in enumerate(nb.cells):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type == "code" and tags & ANSWER_TAGS:
            nb.cells[index] = nbformat.v4.new_raw_cell(cell.source)
    return nb, None


def _cell_errors(nb: Any) -> str | None:
    """One line for the cells that raised (those meant to raise left out), or None."""
    errors = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or EXPECTED_ERROR_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors.append((index + 1, out.get("ename", ""), out.get("evalue", "")))
                break
    if not errors:
        return None
    cell, name, value = errors[0]
    value = CELL_FILE.sub(r"(\1)", value)
    first = _one_line(f"{name}: {value}" if value else name, 70)
    if len(errors) == 1:
        return _("cell {cell} raised {error}", cell=cell, error=first)
    return _(
        "{count} cells raised errors, first cell {cell}: {error}", count=len(errors), cell=cell, error=first
    )


async def _run(nb: Any, env: dict[str, str], cwd: Path, timeout: float, manager: type[Any]) -> str | None:
    """Run every code cell of ``nb`` (in place), errors allowed, within ``timeout`` seconds in all;
    the kernel is killed at the end. Returns why the run stopped early, or None."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    client = NotebookClient(
        nb,
        kernel_name="python3",
        allow_errors=True,
        shutdown_kernel="immediate",
        kernel_manager_class=manager,
        startup_timeout=min(60, math.ceil(timeout)),
        resources={"metadata": {"path": str(cwd)}},
    )
    deadline = time.monotonic() + timeout
    index = -1
    try:
        async with client.async_setup_kernel(env=env, cwd=str(cwd)):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CellTimeoutError("time limit")
                client.timeout = max(1, math.ceil(left))
                await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
    except CellTimeoutError:
        return _(
            "stopped at the time limit ({seconds} s), in cell {cell}",
            seconds=f"{timeout:.0f}",
            cell=index + 1,
        )
    except DeadKernelError:
        return _("the kernel died in cell {cell}", cell=index + 1)
    except RuntimeError as exc:  # the kernel did not start
        return _("the kernel did not start: {error}", error=_one_line(str(exc), 70))
    return _cell_errors(nb)


async def _grade_one(
    learner: str, path: Path, *, timeout: float, prefix: list[str] | None, gate: asyncio.Semaphore
) -> Graded:
    async with gate:
        started = time.monotonic()
        graded = Graded(learner, path)
        nb, graded.problem = _read(path)
        if nb is not None:
            with tempfile.TemporaryDirectory(prefix="grade-") as work:
                progress_file = Path(work) / "progress.json"
                cwd = Path(work) / "cwd"
                cwd.mkdir()
                run = uuid.uuid4().hex
                env = _kernel_env(learner, progress_file, offline=prefix is not None, run=run)
                manager = _kernel_manager_class(prefix, Path(work))
                try:
                    graded.problem = await _run(nb, env, cwd, timeout, manager)
                finally:
                    _end_strays(run)
                if progress_file.exists():
                    graded.results = dict(load_file(progress_file))
        graded.seconds = time.monotonic() - started
        return graded


def _merge(runs: list[Graded]) -> dict[Item, Result]:
    """One learner's verdicts over all their notebooks: for an item seen twice, the later attempt."""
    merged: dict[Item, Result] = {}
    for run in runs:
        for item, result in run.results.items():
            if item not in merged or result.last >= merged[item].last:
                merged[item] = result
    return merged


async def _grade_all(
    jobs: list[tuple[str, Path]], *, timeout: float, workers: int, offline: bool, log: Any
) -> list[Graded]:
    prefix = _offline_prefix() if offline else None
    if prefix is not None:
        print(_("Network: each kernel runs in a network namespace of its own (loopback only)."), file=log)
    else:
        print(_("Network: not isolated (no unshare here); HTTP proxies point at a closed port."), file=log)
    gate = asyncio.Semaphore(workers)
    tasks = [
        asyncio.ensure_future(_grade_one(learner, path, timeout=timeout, prefix=prefix, gate=gate))
        for learner, path in jobs
    ]
    done: list[Graded] = []
    for finished in asyncio.as_completed(tasks):
        graded = await finished
        done.append(graded)
        passed = sum(1 for r in graded.results.values() if r.passed)
        failed = len(graded.results) - passed
        print(
            _(
                "[{n}/{total}] {learner}/{name}: {seconds} s, {passed} ✓ {failed} ✗{problem}",
                n=len(done),
                total=len(jobs),
                learner=graded.learner,
                name=graded.path.name,
                seconds=f"{graded.seconds:.1f}",
                passed=passed,
                failed=failed,
                problem=f" — {graded.problem}" if graded.problem else "",
            ),
            file=log,
            flush=True,
        )
    order = {job: i for i, job in enumerate(jobs)}
    return sorted(done, key=lambda g: order[(g.learner, g.path)])


def grade(
    root: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    workers: int = 1,
    offline: bool = True,
    log: Any = sys.stderr,
) -> tuple[dict[str, dict[Item, Result]], list[Graded]]:
    """Grade every learner's notebooks under ``root``: ``({learner: verdicts}, [each notebook])``."""
    learners, stray = find_submissions(root)
    for path in stray:
        print(
            _("skipped {name}: not in a learner's folder (DIR/<learner>/*.ipynb)", name=path.name), file=log
        )
    jobs = [(learner, path) for learner, paths in learners.items() for path in paths]
    runs = asyncio.run(_grade_all(jobs, timeout=timeout, workers=workers, offline=offline, log=log))
    rows = {learner: _merge([g for g in runs if g.learner == learner]) for learner in learners}
    return rows, runs


def _problems(runs: list[Graded], root: Path) -> dict[str, list[str]]:
    """``{learner: ["path: why", …]}`` for the notebooks that did not run to the end."""
    found: dict[str, list[str]] = {}
    for run in runs:
        if run.problem:
            where = run.path.relative_to(root / run.learner).as_posix()
            found.setdefault(run.learner, []).append(f"{where}: {run.problem}")
    return found


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lessons.classroom grade",
        description=_(
            "Run each learner's submitted notebooks (DIR/<learner>/*.ipynb) in a fresh kernel "
            "on the embedded backend and print the learners × exercises table of their "
            "checks' verdicts."
        ),
    )
    parser.add_argument(
        "dir", metavar="DIR", type=Path, help=_("one folder per learner, holding their notebooks")
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=_("time limit for each whole notebook (default: {seconds})", seconds=f"{DEFAULT_TIMEOUT:.0f}"),
    )
    parser.add_argument("--csv", type=Path, metavar="FILE", help=_("also write the table as CSV"))
    parser.add_argument(
        "--roster",
        type=Path,
        metavar="FILE",
        help=_("the class list, one learner name a line: absent learners are shown too"),
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help=_("notebooks run at once (default: the number of CPUs, {n})", n=os.cpu_count() or 1),
    )
    return parser


def main(argv: Sequence[str]) -> int:
    """``grade DIR``: 0 when every notebook was tried (the table says how each went), 2 for a
    wrong command line or a DIR that is not a folder."""
    args = _parser().parse_args(list(argv))
    root: Path = args.dir
    if not root.is_dir():
        print(_("lessons.classroom grade: {dir} is not a folder", dir=root), file=sys.stderr)
        return 2
    if args.timeout <= 0 or args.jobs < 1:
        print(_("lessons.classroom grade: --timeout and --jobs must be positive"), file=sys.stderr)
        return 2
    try:
        roster = read_roster(args.roster) if args.roster is not None else []
    except (OSError, ValueError) as exc:
        print(
            _(
                "lessons.classroom grade: cannot read the roster {file}: {error}",
                file=args.roster,
                error=getattr(exc, "strerror", None) or exc,
            ),
            file=sys.stderr,
        )
        return 2
    rows, runs = grade(root, timeout=args.timeout, workers=args.jobs)
    submitted = {learner_key(name) for name in rows}
    for name in roster:  # no folder: in the table as all ·, and listed as not started
        if learner_key(name) not in submitted:
            rows[name] = {}
    if not rows:
        print(_("No learner folders in {dir} (expected DIR/<learner>/*.ipynb).", dir=root))
        return 0
    items = course_items()
    print(render_table(rows, items))
    problems = _problems(runs, root)
    if problems:
        print()
        print(_("Notebooks that did not run to the end:"))
        for learner, lines in problems.items():
            for line in lines:
                print(f"  {learner}  {line}")
    if args.csv is not None:
        write_csv(args.csv, rows, items, notes={name: "; ".join(found) for name, found in problems.items()})
        print(_("Wrote {path}", path=args.csv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
