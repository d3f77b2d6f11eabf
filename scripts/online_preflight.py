"""Before ``make book-online``: can the notebooks' default catalog, Planetary Computer, be reached?

The online book executes every notebook against Planetary Computer (their default, no local
server). Where it cannot be reached (no network, an outage), this fails in seconds with one
line that says so and what to do, instead of seven notebooks failing one by one half an hour
later. ``LAKEML_ONLINE_STAC_URL`` points it elsewhere (the tests aim it at a closed port).

Exit codes: 0 reachable (the collection ``landsat-c2-l2`` answers), 1 not.
"""

from __future__ import annotations

import os
import sys

from pystac_client.exceptions import APIError

from lakeml.errors import describe_error
from lakeml.search import COLLECTION, open_catalog, stac_url

PLANETARY_COMPUTER = stac_url("https://planetarycomputer.microsoft.com/api/stac/v1")


def main() -> int:
    url = os.environ.get("LAKEML_ONLINE_STAC_URL") or PLANETARY_COMPUTER
    try:
        open_catalog(url, timeout=20, retries=2).get_collection(COLLECTION)
    except (RuntimeError, OSError, APIError) as err:  # lakeml's retries gave up, or no answer
        print(
            f"book-online: the STAC API {url} cannot be reached ({describe_error(err)[:300]}); "
            "the online book needs it. `make book` builds the book on the offline sample.",
            file=sys.stderr,
        )
        return 1
    print(f"book-online: {url} answers; executing the notebooks against it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
