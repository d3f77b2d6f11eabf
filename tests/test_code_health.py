"""Code health, as tests so that ``make test`` (and so ``.ci/run``) reports each one.

- ``ruff format --check`` and ``ruff check`` on lakeml/, tests/, scripts/, benchmarks/ (rules in
  pyproject.toml: docstrings in the numpy convention, except in tests and benchmarks);
- mypy on the lakeml package (``[tool.mypy]`` in pyproject.toml);
- the built wheel ships ``lakeml/py.typed`` (PEP 561), so users' type checkers read lakeml's
  hints, and the code's licence (``LICENSE``, PEP 639);
- the book's API reference (``notebooks/api.md``) documents every lakeml module.

The doctests (every Examples section in lakeml/) run through ``--doctest-modules`` in
``addopts``, not here.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.wheel import build_wheel

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MAX_REPORT = 12_000  # characters of a tool's output in a failure message
RUFF_PATHS = ("lakeml", "tests", "scripts", "benchmarks", "notebooks/_ext")
MYPY_CACHE = "_build/.mypy_cache-tests"  # also make lint's


def run(tool: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run one of the virtual environment's tools in the repository root."""
    return subprocess.run(
        [str(BIN / tool), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def check(proc: subprocess.CompletedProcess[str]) -> None:
    """Fail with the command and its output (the end of it when long) unless it exited 0."""
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip()
        if len(out) > MAX_REPORT:
            out = "...\n" + out[-MAX_REPORT:]
        pytest.fail(f"{' '.join(proc.args)} exited {proc.returncode}:\n{out}", pytrace=False)


def test_ruff_format():
    check(run("ruff", "format", "--check", "--output-format", "concise", *RUFF_PATHS))


def test_ruff_check():
    check(run("ruff", "check", "--output-format", "concise", *RUFF_PATHS))


@pytest.mark.slow  # a cold mypy cache (a fresh clone) takes ~60 s: make test and make lint run it
def test_mypy():
    # packages and options: [tool.mypy] in pyproject.toml. A cache of its own: a mypy run with
    # other options (one file, --follow-imports=silent...) would invalidate a shared one, and
    # a cold run takes a minute instead of seconds.
    check(run("mypy", "--cache-dir", MYPY_CACHE))


def test_wheel_ships_py_typed(tmp_path):
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "lakeml/py.typed" in names, sorted(names)
    assert "lakeml/workflows/cli.py" in names
    # PEP 639: the code's licence (pyproject's license-files), not the text's
    licenses = [n.split("/licenses/")[1] for n in names if "/licenses/" in n]
    assert licenses == ["LICENSE"], sorted(names)
    # the real scenes of the offline sample, as package data
    # (lakeml.offline.sample.real_scenes.raw_dir)
    from lakeml.offline.sample.real_scenes import SCENES

    for scene in SCENES.values():
        source = f"lakeml/offline/sample/data/real_scenes/{scene.source}"
        assert any(n.startswith(source) for n in names)
    assert "lakeml/offline/sample/data/ATTRIBUTION.md" in names


API_PAGE = ROOT / "notebooks" / "api.md"


def lakeml_modules() -> list[str]:
    """Every public module of lakeml, e.g. ``lakeml.load``, ``lakeml.offline.server``."""
    names = []
    for path in sorted((ROOT / "lakeml").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) > 1 and not any(p.startswith("_") for p in parts):
            names.append(".".join(parts))
    return names


def test_api_page_lists_every_module():
    text = API_PAGE.read_text()
    documented = set(re.findall(r"^\.\. automodule:: (\S+)", text, re.M))
    table = set(re.findall(r"^   (lakeml\.\w+)$", text, re.M))  # the autosummary at the top
    modules = lakeml_modules()
    missing = [m for m in modules if m not in documented]
    assert not missing, f"{API_PAGE.name}: add a section with '.. automodule:: NAME' for {missing}"
    top = [m for m in modules if m.count(".") == 1 and m not in table]
    assert not top, f"{API_PAGE.name}: add {top} to the autosummary table at the top"
    gone = sorted(documented - set(modules))
    assert not gone, f"{API_PAGE.name} documents modules that do not exist: {gone}"


CORE = ["search", "load", "reshape", "cluster", "water", "references", "trend", "plots", "checks",
        "errors", "files", "cache", "signing"]  # fmt: skip


def _loaded_after(imports: list[str]) -> list[str]:
    code = (
        f"import sys, {', '.join(imports)}\n"
        "print(sorted(m for m in sys.modules if m.startswith('lakeml')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return ast.literal_eval(out.stdout)  # a printed list of module names


def test_three_layers_the_core_imports_neither_and_the_workflows_not_the_offline_kit():
    """The lesson core loads no workflow and no offline-kit module; the workflows load no
    offline-kit module (its sample's URL and truth are passed in); ``import lakeml`` alone
    loads nothing else."""
    assert _loaded_after(["lakeml"]) == ["lakeml"]
    core = _loaded_after([f"lakeml.{m}" for m in CORE])
    assert not [m for m in core if m.startswith(("lakeml.workflows", "lakeml.offline"))], core
    flows = _loaded_after([f"lakeml.workflows.{m}" for m in ("pipeline", "timeseries", "validate")])
    assert not [m for m in flows if m.startswith("lakeml.offline")], flows
    assert "lakeml.workflows.pipeline" in flows
