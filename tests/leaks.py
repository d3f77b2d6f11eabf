"""What a leaked credential looks like, for the tests that scan outputs, logs and pages."""

from __future__ import annotations

import re

SIGNED_URL = re.compile(r"[?&](sig|se|st|skoid|sktid|sv)=", re.I)
"""A query parameter of an Azure SAS token (Planetary Computer's signed links)."""

SIGNED_OR_TOKEN = re.compile(rf"{SIGNED_URL.pattern}|token", re.I)
"""The same, or the word "token" (for our own outputs; Bokeh's JavaScript in the book says it)."""
