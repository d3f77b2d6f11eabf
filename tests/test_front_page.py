"""What a visitor sees first: the licences, the README's badges, the thumbnail.

- ``LICENSE`` is the Apache License 2.0, word for word with its appendix (the code's licence,
  pyproject's ``license`` and ``license-files``); ``LICENSE-CC-BY-4.0.txt`` is the legal code
  of CC BY 4.0 (the text's licence), and the README, the book's footer, its first page and its
  *How to cite* page name both;
- the README's CI and Binder badges point at the repository that ``CITATION.cff`` names
  (``repository-code``, a placeholder until there is a remote) and at workflows that exist;
- ``thumbnail.png`` is a small 800 x 450 PNG, referenced from ``_config.yml`` (Project
  Pythia's gallery) and the README, and ``scripts/make_thumbnail.py`` draws it again.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CITATION = yaml.safe_load((ROOT / "CITATION.cff").read_text())
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
README = (ROOT / "README.md").read_text()
THUMBNAIL = ROOT / "thumbnail.png"

APACHE_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
"""sha256 of apache.org's LICENSE-2.0.txt (also Debian's /usr/share/common-licenses/Apache-2.0)."""


def test_license_is_the_apache_license_word_for_word():
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == APACHE_SHA256
    assert b"APPENDIX: How to apply the Apache License to your work." in text
    assert PYPROJECT["project"]["license"] == CITATION["license"] == "Apache-2.0"
    # only the code's licence goes into the wheel (setuptools would glob LICEN[CS]E* otherwise)
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]


def test_the_texts_licence_is_cc_by_4_0_legal_code():
    text = (ROOT / "LICENSE-CC-BY-4.0.txt").read_text()
    assert "https://creativecommons.org/licenses/by/4.0/" in text
    assert "Creative Commons Attribution 4.0 International Public License" in text
    sections = re.findall(r"^Section (\d) -- ", text, re.M)
    assert sections == [str(n) for n in range(1, 9)]
    assert "Creative Commons may be contacted at creativecommons.org." in text


def test_readme_and_book_state_both_licences():
    footer = CONFIG["html"]["extra_footer"]
    pages = {
        "README.md": README,
        "_config.yml footer": footer,
        "notebooks/intro.md": (ROOT / "notebooks" / "intro.md").read_text(),
        "notebooks/how-to-cite.md": (ROOT / "notebooks" / "how-to-cite.md").read_text(),
    }
    for name, text in pages.items():
        flat = " ".join(text.split())
        assert "Apache License 2.0" in flat, name
        assert "CC BY 4.0" in flat, name
    assert "https://creativecommons.org/licenses/by/4.0/" in footer
    assert "[LICENSE](LICENSE)" in README and "(LICENSE-CC-BY-4.0.txt)" in README


def test_readme_badges_point_at_the_citations_repository():
    repo = CITATION["repository-code"]
    owner, name = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", repo).groups()
    ci = f"[![CI]({repo}/actions/workflows/ci.yml/badge.svg)]({repo}/actions/workflows/ci.yml)"
    binder = (
        "[![Binder](https://mybinder.org/badge_logo.svg)]"
        f"(https://mybinder.org/v2/gh/{owner}/{name}/main?urlpath=lab)"
    )
    head = README.split("```")[0]  # under the title, before the two commands
    assert ci in head and binder in head
    assert (ROOT / ".github" / "workflows" / "ci.yml").exists()
    # no other owner of a repository of that name anywhere in the README (a half-done move)
    owners = re.findall(rf"(?:github\.com|/v2/gh)/([\w.-]+)/{re.escape(name)}\b", README)
    assert set(owners) == {owner}
    assert (ROOT / ".binder" / "requirements.txt").exists()  # what Binder builds


def test_thumbnail_is_a_small_png_referenced_by_the_book_and_the_readme():
    assert THUMBNAIL.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert THUMBNAIL.stat().st_size < 200_000
    with Image.open(THUMBNAIL) as im:
        assert im.format == "PNG" and im.size == (800, 450)
    assert CONFIG["thumbnail"] == "thumbnail.png"
    assert "](thumbnail.png)" in README


def test_the_script_draws_the_thumbnail_again(tmp_path):
    out = tmp_path / "thumbnail.png"
    script = ROOT / "scripts" / "make_thumbnail.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if out.read_bytes() == THUMBNAIL.read_bytes():
        return  # the pinned packages draw the same bytes
    # other package versions (make test-latest) may draw a few edges differently
    with Image.open(out) as new, Image.open(THUMBNAIL) as old:
        assert new.size == old.size
        a, b = (np.asarray(im.convert("RGB"), dtype=float) / 255 for im in (new, old))
    assert np.abs(a - b).mean() < 0.02, "scripts/make_thumbnail.py no longer draws thumbnail.png"
