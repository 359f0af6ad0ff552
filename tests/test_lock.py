"""requirements.txt is an exact lock of requirements.in: every package pinned with ``==``, every
range of requirements.in present and satisfied by its pin, on every Python the course supports.

(Whether the lock is exactly what uv compiles from requirements.in needs the package index:
``tools/upgrade-lock --check``, which CI runs.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.txt"
RANGES = ROOT / "requirements.in"
# Environments a learner may install on: the Pythons the lock is compiled for, three systems.
PYTHONS = ["3.10.13", "3.11.7", "3.12.1", "3.13.0", "3.14.0"]
SYSTEMS = [("linux", "Linux", "posix"), ("darwin", "Darwin", "posix"), ("win32", "Windows", "nt")]


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a pip requirements file: no comments, no blank lines."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line:
            lines.append(line)
    return lines


def environments() -> list[dict[str, str]]:
    envs: list[dict[str, str]] = []
    for python in PYTHONS:
        for sys_platform, system, os_name in SYSTEMS:
            env = {name: str(value) for name, value in default_environment().items()}
            env.update(
                python_full_version=python,
                python_version=".".join(python.split(".")[:2]),
                sys_platform=sys_platform,
                platform_system=system,
                os_name=os_name,
                implementation_name="cpython",
                platform_python_implementation="CPython",
            )
            envs.append(env)
    return envs


def parse(path: Path) -> list[Requirement]:
    return [Requirement(line) for line in requirement_lines(path) if line != "-e ."]


def applies(req: Requirement, env: dict[str, str]) -> bool:
    return req.marker is None or req.marker.evaluate(env)


def pinned_version(req: Requirement) -> str:
    (spec,) = req.specifier
    return spec.version


def test_every_line_of_the_lock_is_an_exact_pin() -> None:
    lines = requirement_lines(LOCK)
    assert "-e ." in lines  # the course's helper package, installed editable
    loose = []
    for line in lines:
        if line == "-e .":
            continue
        if line.startswith("-"):
            loose.append(line)  # -r, -c, --index-url…: not a pin
            continue
        specs = list(Requirement(line).specifier)
        if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
            loose.append(line)
    assert not loose, f"requirements.txt lines not pinned with ==: {loose}"
    assert len(lines) > 50  # transitive dependencies are locked too, not only the direct ones


def test_the_lock_says_how_to_remake_it() -> None:
    assert "tools/upgrade-lock" in LOCK.read_text(encoding="utf-8")
    assert os.access(ROOT / "tools" / "upgrade-lock", os.X_OK)


@pytest.mark.parametrize("env", environments(), ids=lambda e: f"py{e['python_version']}-{e['sys_platform']}")
def test_every_range_of_requirements_in_has_one_pin_that_satisfies_it(env: dict[str, str]) -> None:
    """On each Python and system: every name of requirements.in that applies there is pinned by
    exactly one line of the lock that applies there, and that version is inside the range."""
    pins: dict[str, list[str]] = {}
    for req in parse(LOCK):
        if applies(req, env):
            pins.setdefault(canonicalize_name(req.name), []).append(pinned_version(req))
    problems = []
    wanted = [req for req in parse(RANGES) if applies(req, env)]
    assert {canonicalize_name(r.name) for r in wanted} >= {"redis", "fakeredis", "jupyterlab"}
    for req in wanted:
        name = canonicalize_name(req.name)
        found = pins.get(name, [])
        if len(found) != 1:
            problems.append(f"{name}: {len(found)} pins apply ({found})")
        elif not req.specifier.contains(found[0], prereleases=True):
            problems.append(f"{name}=={found[0]} is outside {req.specifier}")
    assert not problems, "\n".join(problems)


def test_every_name_in_requirements_in_is_locked() -> None:
    locked = {canonicalize_name(req.name) for req in parse(LOCK)}
    missing = sorted({canonicalize_name(r.name) for r in parse(RANGES)} - locked)
    assert not missing, f"in requirements.in but not in requirements.txt: {missing}"
