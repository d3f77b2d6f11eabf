"""Published, watched, citable: the GitHub workflows, ``make test-latest``, CITATION.cff.

- every workflow in ``.github/workflows`` validates against GitHub's workflow schema (offline:
  ``check-jsonschema`` ships the schemas) and every job has a ``timeout-minutes``;
- CI runs ``make test``; the book is published (upload-pages-artifact, deploy-pages) only
  after the tests pass; the nightly job runs ``make test-latest`` (no pins) on a schedule and
  says which packages differ from the pins when it fails;
- ``make test-latest`` uses its own virtual environment, installed without constraints.txt,
  and the same pytest command as ``make test``;
- ``CITATION.cff`` validates against the Citation File Format 1.2.0 schema and credits the
  original lesson and the data; the *How to cite* page is in the book's Preamble;
- ``scripts/pins_diff.py`` prints exactly the differences.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
CITATION = ROOT / "CITATION.cff"
PINS_DIFF = ROOT / "scripts" / "pins_diff.py"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


SCHEMA_CHECKS = {
    "vendor.github-workflows": WORKFLOW_FILES,
    "vendor.citation-file-format": [CITATION],
}
"""check-jsonschema's built-in (vendored, so offline) schemas and the files they check."""


@pytest.fixture(scope="module")
def schema_checks() -> dict[str, tuple[int, str]]:
    """``{schema: (returncode, output)}``, the check-jsonschema runs side by side.

    Each run takes seconds, most of it importing jsonschema's format checkers (rfc3987-syntax
    builds its grammar at import): side by side, the module stays a few seconds long.
    (Timeouts: test_every_job_has_a_timeout, which also follows reusable workflows.)
    """
    exe = BIN / "check-jsonschema"
    procs = {
        schema: subprocess.Popen(
            [str(exe), "--builtin-schema", schema, *map(str, files)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for schema, files in SCHEMA_CHECKS.items()
    }
    results = {}
    for schema, proc in procs.items():
        out, _ = proc.communicate(timeout=120)
        results[schema] = (proc.returncode, out.strip())
    return results


def check_jsonschema(results: dict[str, tuple[int, str]], schema: str) -> None:
    """Fail with check-jsonschema's output unless the files matched ``schema``."""
    code, out = results[schema]
    assert code == 0, f"check-jsonschema --builtin-schema {schema} exited {code}:\n{out}"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(wf: dict[str, Any]) -> dict[str, Any]:
    """The ``on:`` section (PyYAML reads the bare key ``on`` as True)."""
    on = wf.get("on", wf.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def runs(job: dict[str, Any]) -> str:
    """Every ``run:`` script of a job, one after the other."""
    return "\n".join(s.get("run", "") for s in steps(job))


def uses(job: dict[str, Any]) -> list[str]:
    """The actions a job's steps use, without their version (``actions/checkout``)."""
    return [s["uses"].split("@")[0] for s in steps(job) if "uses" in s]


def needs(job: dict[str, Any]) -> list[str]:
    got = job.get("needs", [])
    return [got] if isinstance(got, str) else list(got)


def upstream(jobs: dict[str, Any], name: str) -> set[str]:
    """Every job that ``name`` waits for, directly or not."""
    seen: set[str] = set()
    todo = needs(jobs[name])
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo += needs(jobs[n])
    return seen


def runs_the_tests(job: dict[str, Any]) -> bool:
    """A job that runs ``make test``, itself or as the reusable CI workflow."""
    if job.get("uses") == "./.github/workflows/ci.yml":
        return any(runs_the_tests(j) for j in load("ci.yml")["jobs"].values())
    return bool(re.search(r"^\s*(sudo -E )?make test\s*$", runs(job), re.M))


def test_the_workflows_exist():
    assert {p.name for p in WORKFLOW_FILES} >= {"ci.yml", "publish.yml", "nightly.yml"}


def test_workflows_match_githubs_schema(schema_checks):
    check_jsonschema(schema_checks, "vendor.github-workflows")


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_job_has_a_timeout(path):
    for name, job in yaml.safe_load(path.read_text())["jobs"].items():
        called = job.get("uses", "")
        if called.startswith("./"):  # a reusable workflow: its own jobs carry the timeouts
            inner = yaml.safe_load((ROOT / called).read_text())["jobs"]
            missing = [n for n, j in inner.items() if "timeout-minutes" not in j]
            assert not missing, f"{path.name}: {name} calls {called}, whose {missing} lack one"
        else:
            assert isinstance(job.get("timeout-minutes"), int), f"{path.name}: {name}"


def test_ci_runs_make_test_on_pushes_and_pull_requests():
    wf = load("ci.yml")
    assert {"push", "pull_request", "workflow_call"} <= set(triggers(wf))
    (job,) = wf["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    assert uses(job)[:2] == ["actions/checkout", "actions/setup-python"]
    assert str(steps(job)[1]["with"]["python-version"]) == "3.11"
    script = runs(job)
    # apt-get as root first; make's own sysdeps step then only checks, as the runner's user
    assert script.index("sudo bash scripts/sysdeps.sh") < script.index("make test")
    assert runs_the_tests(job)


def test_publish_deploys_the_book_only_after_the_tests_pass():
    wf = load("publish.yml")
    on = triggers(wf)
    assert on["push"]["branches"] == ["main"] and "workflow_dispatch" in on
    jobs = wf["jobs"]
    (build,) = [n for n, j in jobs.items() if "actions/upload-pages-artifact" in uses(j)]
    (deploy,) = [n for n, j in jobs.items() if "actions/deploy-pages" in uses(j)]
    assert re.search(r"^\s*make book-online\s*$", runs(jobs[build]), re.M)
    (upload,) = [s for s in steps(jobs[build]) if "upload-pages-artifact" in s.get("uses", "")]
    assert upload["with"]["path"] == "_build/html"
    assert "github.repository" in jobs[build]["env"]["LAKEML_REPOSITORY_URL"]
    tests = [n for n in upstream(jobs, build) if runs_the_tests(jobs[n])]
    assert tests, f"{build} does not wait for a job that runs make test"
    assert build in upstream(jobs, deploy)
    assert jobs[deploy]["permissions"] == {"pages": "write", "id-token": "write"}
    assert jobs[deploy]["environment"]["name"] == "github-pages"
    assert "pages" not in wf.get("permissions", {})  # only the deploy job may write Pages


def test_publish_never_publishes_a_half_executed_book_and_never_falls_back_silently():
    """make book-online; on its failure the last good online book (the Actions cache), else
    the offline book with LAKEML_BOOK_BANNER; then a job that goes red."""
    jobs = load("publish.yml")["jobs"]
    build = jobs["build"]
    by_id = {s["id"]: s for s in steps(build) if "id" in s}
    online = by_id["online"]
    assert online["run"] == "make book-online" and online["continue-on-error"] is True
    assert build["outputs"]["online"] == "${{ steps.online.outcome }}"
    (save,) = [s for s in steps(build) if s.get("uses", "").startswith("actions/cache/save")]
    assert save["if"] == "steps.online.outcome == 'success'"
    assert save["with"]["path"] == "_build/html"
    assert by_id["last"]["with"]["restore-keys"] == save["with"]["key"].split("$")[0]
    (offline,) = [s for s in steps(build) if s.get("run") == "make book"]
    assert "cache-matched-key == ''" in offline["if"]
    assert "SYNTHETIC offline sample" in offline["env"]["LAKEML_BOOK_BANNER"]
    names = [s.get("id") or s.get("uses") or s.get("run") for s in steps(build)]
    assert names.index("online") < names.index("last") < names.index("make book")
    red = jobs["online-book"]
    assert red["if"] == "needs.build.outputs.online != 'success'"
    assert set(red["needs"]) == {"build", "deploy"} and "exit 1" in runs(red)


def test_make_book_online_fails_fast_and_clearly_without_its_catalog():
    """Here Planetary Computer cannot be reached; the preflight aimed at a closed port on
    loopback says so in one line, within seconds, and exits 1."""
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    env = {**os.environ, "LAKEML_ONLINE_STAC_URL": f"http://127.0.0.1:{port}/api/stac/v1"}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "online_preflight.py")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"book-online: the STAC API http://127.0.0.1:{port}/api/stac")
    assert "`make book` builds the book on the offline sample" in proc.stderr
    assert time.perf_counter() - start < 60
    recipe = make_dry_run("book-online")
    preflight = next(i for i, c in enumerate(recipe) if "online_preflight.py" in c)
    build = next(i for i, c in enumerate(recipe) if "jupyter-book build" in c)
    assert preflight < build and "env -u LAKEML_STAC_URL" in recipe[build]
    assert "lakeml sample" not in " ".join(recipe)  # no local server: Planetary Computer


def test_nightly_builds_the_book_online_and_names_the_failing_notebook():
    job = load("nightly.yml")["jobs"]["book-online"]
    assert re.search(r"^\s*make book-online\s*$", runs(job), re.M)
    (report,) = [s for s in steps(job) if s.get("if") == "failure()"]
    assert "_build/html/reports/" in report["run"] and "GITHUB_STEP_SUMMARY" in report["run"]


def test_nightly_runs_make_test_latest_without_pins():
    wf = load("nightly.yml")
    on = triggers(wf)
    assert on["schedule"][0]["cron"] and "workflow_dispatch" in on
    job = wf["jobs"]["test-latest"]
    assert re.search(r"^\s*make test-latest\s*$", runs(job), re.M)
    text = (WORKFLOWS / "nightly.yml").read_text()
    assert not re.search(r"-c constraints|--constraint|PIP_CONSTRAINT", text)
    assert "cache" not in steps(job)[1].get("with", {})  # a fresh environment
    (report,) = [s for s in steps(job) if s.get("if") == "failure()"]
    assert "scripts/pins_diff.py --python .venv-latest/bin/python" in report["run"]


def make_dry_run(target: str) -> list[str]:
    """The commands ``make -n -B target`` would run (nothing runs)."""
    make = shutil.which("make")
    assert make is not None, "make is needed: make test itself runs through it"
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    proc = subprocess.run(
        [make, "-n", "-B", target], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.splitlines()


def test_make_test_latest_uses_its_own_unpinned_environment():
    latest = make_dry_run("test-latest")
    text = "\n".join(latest)
    installs = [ln for ln in latest if "pip install" in ln]
    assert installs and all(ln.startswith(".venv-latest/bin/python -m pip") for ln in installs)
    assert "constraints" not in " ".join(installs)
    assert any('--upgrade --upgrade-strategy eager -e ".[dev]"' in ln for ln in installs)
    assert ".venv/" not in text  # nothing from the pinned environment
    assert ".venv-latest/bin/lakeml sample build" in latest
    assert "scripts/pins_diff.py --python .venv-latest/bin/python" in text
    # the same pytest command as make test, with the other environment's pytest
    (pinned,) = [ln for ln in make_dry_run("test") if ln.startswith(".venv/bin/pytest ")]
    (newest,) = [ln for ln in latest if ".venv-latest/bin/pytest " in ln]
    args = pinned.removeprefix(".venv/bin/pytest ")
    assert newest.lstrip("@").startswith(f".venv-latest/bin/pytest {args} ||")


def test_citation_cff_matches_the_schema_and_credits_the_sources(schema_checks):
    check_jsonschema(schema_checks, "vendor.citation-file-format")
    cff = yaml.safe_load(CITATION.read_text())
    assert cff["cff-version"] == "1.2.0"
    assert cff["version"] == PYPROJECT["project"]["version"]
    assert cff["license"] == PYPROJECT["project"]["license"] == "Apache-2.0"
    assert cff["authors"] == [{"name": "the lakeml contributors"}]
    refs = {r["title"]: r for r in cff["references"]}
    pythia = refs["Landsat ML Cookbook"]
    assert pythia["type"] == "software"
    assert pythia["url"] == "https://github.com/ProjectPythia/landsat-ml-cookbook"
    assert {"family-names": "Roumis", "given-names": "Demetris"} in pythia["authors"]
    data = [r for r in cff["references"] if r["type"] == "data"]
    assert data and all("Collection 2" in r["title"] for r in data)
    assert all(r["publisher"]["name"] == "U.S. Geological Survey" for r in data)


def test_how_to_cite_is_in_the_preamble_after_how_to_run():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    (preamble,) = [p for p in toc["parts"] if p["caption"] == "Preamble"]
    files = [c["file"] for c in preamble["chapters"]]
    assert files[files.index("notebooks/how-to-run") + 1] == "notebooks/how-to-cite"
    page = (ROOT / "notebooks" / "how-to-cite.md").read_text()
    for needed in ("Demetris Roumis", "U.S. Geological Survey", "10.3390/rs11040374",
                   "10.1016/j.rse.2015.11.003", "Apache", "CC BY 4.0"):  # fmt: skip
        assert needed in page, needed


PINS = """\
# Pinned versions
numpy==2.3.4
ruamel.yaml==0.19.1
Same_Name==1.0
gone==0.9
"""
FREEZE = """\
numpy==2.4.0
ruamel-yaml==0.19.1
same-name==1.0
brand.new==1.2
pip==26.0
# Editable install with no version control (lakeml==0.1.0)
-e /src/lakeml
"""


def test_pins_diff_prints_exactly_the_differences(tmp_path):
    (tmp_path / "constraints.txt").write_text(PINS)
    (tmp_path / "freeze.txt").write_text(FREEZE)
    proc = subprocess.run(
        [sys.executable, str(PINS_DIFF), "--freeze", str(tmp_path / "freeze.txt"),
         "--constraints", str(tmp_path / "constraints.txt")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "brand.new: (not pinned) -> 1.2",
        "gone: 0.9 -> (not installed)",
        "numpy: 2.3.4 -> 2.4.0",
    ]
    assert "3 package(s) differ" in proc.stderr


def test_pins_diff_self_check():
    proc = subprocess.run(
        [sys.executable, str(PINS_DIFF), "--self-check"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
