"""The project's own promises: the README's quickstart, environment.yml and Binder's
requirements in step with the package's runtime dependencies (Binder's pinned as CI's),
pins for everything make installs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower()


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make book", "make test"]
    assert text.index("make book") < 400


def _groups(*names: str) -> set[str]:
    """Package names of pyproject.toml's ``dependencies`` (``"runtime"``) and of extras."""
    project = PYPROJECT["project"]
    found = set()
    for group in names:
        extra = group != "runtime"
        reqs = project["optional-dependencies"][group] if extra else project["dependencies"]
        found |= {_name(d) for d in reqs}
    # dev names test, book and lab as lakeml[test,book,lab], which is not a package
    return found - {"lakeml"}


# Binder's set and environment.yml: lakeml's runtime dependencies and its lab extra (JupyterLab)
RUNTIME = ("runtime", "lab")
# never in them: test, lint and book tools, the local sample server (Binder reads Planetary
# Computer). Not derived from the other extras: the runtime needs some of their packages too
# (distributed needs psutil).
NOT_RUNTIME = {
    *("pytest", "pytest-xdist", "nbmake", "playwright", "ruff", "mypy", "check-jsonschema"),
    *("jupyter-book", "nbstripout", "pre-commit"),
    *("postgresql", "postgis", "psycopg", "pypgstac", "stac-fastapi-pgstac", "uvicorn"),
}


def test_environment_yml_is_the_runtime_set():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip |= {_name(d) for d in dep["pip"]}
        else:
            conda.add(_name(dep))
    missing = _groups(*RUNTIME) - (conda | pip)
    assert not missing, f"environment.yml lacks {sorted(missing)}"
    assert not (conda | pip) & NOT_RUNTIME, f"not runtime: {sorted((conda | pip) & NOT_RUNTIME)}"
    # beyond the runtime set: the interpreter, pip, conda-forge's datacube and psycopg2 (wofs
    # needs them; pip would compile psycopg2) and lakeml itself (-e .)
    extra = (conda | pip) - _groups(*RUNTIME)
    assert extra == {"python", "pip", "psycopg2", "datacube", "-e"}, sorted(extra)
    assert "python=3.11" in env["dependencies"]


def test_binder_requirements_are_the_pinned_runtime_set():
    """``.binder/``: CI's Python, lakeml[lab], every pin as constraints.txt has it.

    The script follows the requirements of the packages installed where it runs: the file is
    compared with its output in the pinned environment (``make test``'s .venv); under ``make
    test-latest`` (newer packages, other requirements) only the pins are compared.
    """
    from importlib import metadata

    from scripts.binder_requirements import normalise, pins, render

    text = (ROOT / ".binder" / "requirements.txt").read_text()
    binder = pins(text)
    constraints = pins((ROOT / "constraints.txt").read_text())

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:  # not needed by the newest releases
            return None

    if all(version(name) == v for name, v in binder.values()):
        assert text == render(), "run .venv/bin/python scripts/binder_requirements.py"
    differ = {n: v for n, (_, v) in binder.items() if constraints.get(n, (n, None))[1] != v}
    assert not differ, f"pinned otherwise than constraints.txt: {differ}"
    assert ".[lab]" in text.splitlines()  # lakeml itself: repo2docker installs it from here
    assert {normalise(n) for n in _groups(*RUNTIME)} <= set(binder)
    assert not set(binder) & {normalise(n) for n in NOT_RUNTIME}
    # CI's Python: ci.yml's setup-python, pyproject's requires-python, Binder's runtime.txt
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    versions = {
        str(step["with"]["python-version"])
        for job in ci["jobs"].values()
        for step in job["steps"]
        if "python-version" in step.get("with", {})
    }
    runtime = (ROOT / ".binder" / "runtime.txt").read_text().strip()
    assert versions == {"3.11"} and runtime == "python-3.11"
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    # no other repo2docker configuration at the root: with .binder/ it would be ignored
    assert not (ROOT / "start").exists() and not (ROOT / "binder").exists()


def test_constraints_pin_every_dependency():
    pins = {
        _name(line)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    wanted = _groups("runtime", *PYPROJECT["project"]["optional-dependencies"])
    normal = {p.replace("_", "-") for p in pins}
    missing = {w for w in wanted if w.replace("_", "-") not in normal}
    assert not missing, f"constraints.txt does not pin {sorted(missing)}"
