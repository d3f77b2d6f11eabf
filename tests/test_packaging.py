"""The project's own promises: the README's quickstart, environment.yml in step with the
package's dependencies, pins for everything make installs."""

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


def test_environment_yml_has_every_dependency():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip |= {_name(d) for d in dep["pip"]}
        else:
            conda.add(_name(dep))
    extras = PYPROJECT["project"]["optional-dependencies"]
    wanted = {_name(d) for d in PYPROJECT["project"]["dependencies"]}
    # every extra: dev names test and book as lakeml[test,book], which is not a package
    for group in ("server", "test", "book", "dev"):
        wanted |= {_name(d) for d in extras[group]}
    wanted -= {"lakeml"}
    missing = {w for w in wanted if w not in conda | pip}
    assert not missing, f"environment.yml lacks {sorted(missing)}"
    assert {"jupyterlab", "dask-labextension", "postgresql", "postgis"} <= conda


def test_constraints_pin_every_dependency():
    pins = {
        _name(line)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    extras = PYPROJECT["project"]["optional-dependencies"]
    wanted = {_name(d) for d in PYPROJECT["project"]["dependencies"]}
    for group in ("server", "test", "book", "dev"):
        wanted |= {_name(d) for d in extras[group]}
    wanted -= {"lakeml"}
    normal = {p.replace("_", "-") for p in pins}
    missing = {w for w in wanted if w.replace("_", "-") not in normal}
    assert not missing, f"constraints.txt does not pin {sorted(missing)}"
