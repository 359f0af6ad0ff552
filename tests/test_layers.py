"""The package's layers, read from the imports of every module (ast, nothing is imported).

    core     the session code: keys, values, the store, the admin, the web app
    support  what the notebooks use around it: namespaces, texts, plots, quizzes, counters
    exhibits notebook experiments, demos and attacks built on the core
    checks   the "Your turn" checks
    tooling  maintainer tooling (``coursetools``), never imported by ``lessons``

A module may import its own layer and the layers below it, never one above: the web app does not
know the checks, the store does not know notebook 00's exhibits. Every module's layer is declared
in ``LAYERS`` below (the longest matching prefix wins); a new module without one fails the test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("lessons", "coursetools")

ORDER = ("core", "support", "exhibits", "checks", "tooling")

#: The layer of every module, by module or package prefix: the one place it is declared.
LAYERS: dict[str, str] = {
    "lessons": "core",  # the package itself (its __init__ imports nothing)
    "lessons.errors": "core",
    "lessons.keys": "core",
    "lessons.backend": "core",
    "lessons.backoff": "core",
    "lessons.scripts": "core",
    "lessons.session_value": "core",
    "lessons.session_records": "core",
    "lessons.store": "core",
    "lessons.admin": "core",
    "lessons.replicated": "core",
    "lessons.memory_store": "core",
    "lessons.web": "core",
    # the texts every layer prints through (`_()`, `pad`); it imports nothing of ours
    "lessons.i18n": "core",
    "lessons.classroom": "support",
    "lessons.notebook": "support",
    "lessons.plots": "support",
    "lessons.quiz": "support",
    "lessons.predict": "support",
    "lessons.roundtrips": "support",
    "lessons.interleave": "support",
    "lessons.percentile": "support",
    "lessons.processes": "support",
    # class progress: what each check and quiz records, the instructor's table, heat map and grading
    "lessons.progress": "support",
    "lessons.grading": "support",
    "lessons.class_heatmap": "support",
    "lessons.class_simulation": "support",
    "lessons.stores": "exhibits",
    "lessons.security": "exhibits",
    "lessons.bench": "exhibits",
    "lessons.store_experiments": "exhibits",
    "lessons.event_loop": "exhibits",
    "lessons.scan_model": "exhibits",
    "lessons.reference": "exhibits",
    "lessons.web_farm": "exhibits",
    "lessons.rediscluster": "exhibits",
    "lessons.checks": "checks",
    "coursetools": "tooling",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "vendor" not in path.parts:
                found[module_name(path)] = path
    return found


MODULES = modules()


def layer_of(module: str) -> str | None:
    """The declared layer of ``module`` (longest matching prefix), None if undeclared."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS:
            return LAYERS[prefix]
    return None


def imports_of(module: str, path: Path) -> set[str]:
    """Every module of ours that ``module`` imports: at the top, inside functions, under
    TYPE_CHECKING, relative or absolute, and ``importlib.import_module("literal")``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # `from . import web`: the module, if it is one
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def test_every_module_has_a_declared_layer() -> None:
    assert [m for m in MODULES if layer_of(m) is None] == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_points_up(module: str) -> None:
    here = ORDER.index(layer_of(module) or "tooling")
    upward = sorted(
        f"{target} ({layer_of(target)})"
        for target in imports_of(module, MODULES[module])
        if ORDER.index(layer_of(target) or "tooling") > here
    )
    assert upward == [], f"{module} ({ORDER[here]}) imports a higher layer"


def test_the_reader_sees_imports_of_every_kind() -> None:
    """The reader itself: relative, lazy, TYPE_CHECKING and importlib imports are all found."""
    assert "lessons.checks" in imports_of("lessons.checks.web", MODULES["lessons.checks.web"])
    assert "lessons.memory_store" in imports_of("lessons.web.config", MODULES["lessons.web.config"])
    assert "lessons.web" in imports_of("lessons.rediscluster.demo", MODULES["lessons.rediscluster.demo"])
