"""Headless Chromium for the browser tests (the book's pages, JupyterLab): one set of flags.

Debian's chromium, never ``playwright install`` (it downloads). Playwright starts each browser
with a fresh temporary profile; these flags keep it from calling home.
"""

from __future__ import annotations

import shutil
import socket

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
