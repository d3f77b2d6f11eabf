"""lakeml installed from its wheel, used outside the repository: the offline sample with its
five real scenes, the change command and the validation.

Before, the real scenes were read from ``<repo>/tests/data``: an installed lakeml built a
sample without them, without a word, and ``lakeml validate`` and notebook 06 failed. The wheel
goes into a fresh virtual environment in a temporary folder (so nothing of the checkout can be
imported); the environment's dependencies are the pinned ones of this one, reached through a
``.pth`` line (its own ``.pth`` files, the checkout's editable install among them, are not
read from there), so the test downloads nothing.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from lakeml.offline.sample.real_scenes import SCENES
from lakeml.search import WALKER_LAKE_BBOX
from tests.wheel import ROOT, build_wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("installed")
    assert ROOT not in tmp.parents
    wheel = build_wheel(tmp / "build")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
         "-q", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    deps = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    (Path(purelib) / "zz_lakeml_test_deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    work = tmp / "work"
    work.mkdir()
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "LAKEML_SAMPLE_DIR": str(tmp / "sample"),
        "LAKEML_CACHE_DIR": str(tmp / "cache"),
    }
    env.pop("PYTHONPATH", None)
    return {"venv": venv, "py": py, "work": work, "env": env, "tmp": tmp}


def _run(installed, args: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(installed["venv"] / "bin" / "lakeml"), *args],
        cwd=installed["work"], env=installed["env"], capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_the_wheel_is_what_runs(installed):
    proc = subprocess.run(
        [str(installed["py"]), "-c", "import lakeml, lakeml.offline.sample.real_scenes as r; "
         "print(lakeml.__file__); print(r.raw_dir()); print(r.missing_sources())"],
        cwd=installed["work"], env=installed["env"], capture_output=True, text=True, check=True,
    )  # fmt: skip
    module, raw, missing = proc.stdout.splitlines()
    assert Path(module).is_relative_to(installed["venv"]), module
    assert Path(raw).is_relative_to(installed["venv"]), raw
    assert missing == "[]"


def test_sample_change_and_validate_from_the_wheel(installed):
    tmp = installed["tmp"]
    _run(installed, ["sample", "build"])
    manifest = json.loads((tmp / "sample" / "manifest.json").read_text())
    assert manifest["real_items"] == list(SCENES)

    bbox = [str(v) for v in WALKER_LAKE_BBOX]
    _run(
        installed,
        ["change", "--bbox", *bbox, "--before", "1988-06-01/1988-09-30", "--after",
         "2017-06-01/2017-09-30", "--sample", "--quiet", "--out", "change"],
    )  # fmt: skip
    summary = json.loads((installed["work"] / "change" / "summary.json").read_text())
    for key in ("before", "after"):
        assert summary[key]["water_iou_vs_truth"] >= 0.98
    assert summary["lost_km2"] > 50 and summary["partial"] is False

    _run(installed, ["validate", "--out", "report.json"])
    report = json.loads((installed["work"] / "report.json").read_text())
    assert sorted(report["scenes"]) == sorted(SCENES)
    for row in report["scenes"].values():  # lakeml's water against WOfS on real pixels
        assert row["lakeml"]["wofs"]["iou"] is not None
