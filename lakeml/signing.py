"""Signing: Planetary Computer's SAS tokens, added to each asset link when a block is read.

Planetary Computer's storage (``*.blob.core.windows.net``) answers only links that carry a
SAS token, and a token lasts about 45 minutes. odc-stac's ``patch_url`` signs links when a load
is *planned*; a lazy load computed later, or a long series, then reads with an expired token.
Here the links stay unsigned in the STAC items and the dask graph, and :class:`SigningDriver`
signs each one when its block is read (and once more on a 403). Links elsewhere (the local
sample server, any other STAC API) pass through unchanged.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from odc.loader import RioDriver, RioReader
from odc.loader.types import RasterSource

from lakeml.errors import FORBIDDEN, RETRYING_403, describe_error, install_log_filter, redact

log = logging.getLogger(__name__)

_BLOB_HOST = ".blob.core.windows.net"
_REFRESH_LOCK = threading.Lock()  # one token renewal at a time, shared by parallel reads
TOKEN_RETRIES = 3
"""Tries at Planetary Computer's token service before a read fails (backoff 0, 1 s)."""

TOKEN_TIMEOUT = 10.0
"""Seconds to wait for the token service to connect, then to answer, before trying again."""

_TOKENS: dict[str, Any] = {}
"""lakeml's SAS tokens (``planetary_computer.sas.SASToken``) by token service URL."""


def sign(url: str, refresh: bool = False) -> str:
    """Sign a Planetary Computer blob URL with a SAS token; other URLs pass through unchanged.

    Any old signature is dropped first. ``planetary_computer`` caches one token per storage
    container and renews it a minute before it expires; ``refresh=True`` drops the cached token
    and asks for a new one (used when the storage answered 403 to a token it thought valid).
    lakeml calls this when each block is read (see :class:`SigningDriver`), so tokens are fresh
    and signed URLs never sit in the STAC items, a dask graph or a notebook's output.

    Parameters
    ----------
    url : str
        An asset link, signed or not.
    refresh : bool
        Ask the token service for a new token instead of the cached one.

    Returns
    -------
    str
        The link with a current SAS token if it is on ``*.blob.core.windows.net``, else
        ``url`` unchanged.

    Raises
    ------
    RuntimeError
        The token service gave no token (see :func:`sign_with_token_service`).

    Examples
    --------
    Links elsewhere than Planetary Computer's storage (here the local sample server's) pass
    through as they are, query string included:

    >>> sign("http://127.0.0.1:8000/data/x.TIF")
    'http://127.0.0.1:8000/data/x.TIF'
    >>> sign("https://example.com/data/x.TIF?v=2", refresh=True)
    'https://example.com/data/x.TIF?v=2'

    Skipped here: it needs Planetary Computer's token service, on the internet (an old
    signature is replaced; ``tests/test_faults.py`` runs it against one on loopback):

    >>> url = "https://landsateuwest.blob.core.windows.net/landsat-c2/x.TIF?se=old&sig=old"
    >>> sign(url)  # doctest: +SKIP
    'https://landsateuwest.blob.core.windows.net/landsat-c2/x.TIF?st=...&se=...&sig=...'
    """
    base = url.split("?", 1)[0]
    host = (urlsplit(base).hostname or "").lower()
    if not host.endswith(_BLOB_HOST):
        return url
    from planetary_computer.utils import parse_blob_url

    account, container = parse_blob_url(urlsplit(base))
    return sign_with_token_service(base, account, container, refresh)


def sign_with_token_service(url: str, account: str, container: str, refresh: bool = False) -> str:
    """Append a SAS token for ``account``/``container`` from Planetary Computer's token service.

    The service is ``planetary_computer``'s setting ``sas_url`` (environment variable
    ``PC_SDK_SAS_URL``; its ``subscription_key`` is sent if set). Tokens are kept in lakeml's
    own cache until a minute before they expire (``planetary_computer``'s margin), or dropped
    with ``refresh=True``. A request that gets no answer within :data:`TOKEN_TIMEOUT` seconds is
    retried (:data:`TOKEN_RETRIES` tries in all), then a ``RuntimeError`` names the service.
    :func:`sign` uses this for ``*.blob.core.windows.net``.

    Why not ``planetary_computer``'s public ``sas.get_token`` (1.0.0, read in its source):
    it sends its request with no timeout, so a token service that accepts the connection and
    never answers blocks the read for ever (measured: still waiting after 30 s, where this
    gives up with a message after 4 s at ``TOKEN_TIMEOUT = 1``); and it cannot be told to drop a
    token the storage refused (``refresh``) except by writing its private ``TOKEN_CACHE``,
    which lakeml no longer does. Its ``SASToken`` and ``Settings`` are used as they are.

    Parameters
    ----------
    url : str
        The blob's link; any query string (an old signature) is dropped.
    account : str
        The storage account, e.g. ``"landsateuwest"``.
    container : str
        The container, e.g. ``"landsat-c2"``.
    refresh : bool
        Ask for a new token even if the cached one is still valid.

    Returns
    -------
    str
        ``url`` without its query string, then ``?`` and the SAS token.

    Raises
    ------
    RuntimeError
        The service gave no token after :data:`TOKEN_RETRIES` tries (the message names the
        service and the cause, without any signature).

    Examples
    --------
    A request that gets no answer is retried, then fails with a message naming the service:

    >>> TOKEN_RETRIES, TOKEN_TIMEOUT
    (3, 10.0)

    Skipped here: it needs Planetary Computer's token service, on the internet
    (``tests/test_faults.py`` runs it against one on loopback):

    >>> sign_with_token_service(  # doctest: +SKIP
    ...     "https://landsateuwest.blob.core.windows.net/landsat-c2/x.TIF",
    ...     "landsateuwest", "landsat-c2")
    'https://landsateuwest.blob.core.windows.net/landsat-c2/x.TIF?st=...&se=...&sig=...'
    """
    from planetary_computer.settings import Settings

    settings = Settings.get()
    service = f"{settings.sas_url}/{account}/{container}"
    token = None if refresh else _TOKENS.get(service)
    if token is None or token.ttl() < 60:  # planetary_computer's own margin
        try:
            token = _fetch_token(service, settings.subscription_key)
        except (OSError, ValueError, TypeError) as err:
            # requests' errors are OSErrors; a body that is no token: ValueError (not JSON, or
            # not SASToken's fields: pydantic's ValidationError), TypeError (not an object)
            raise RuntimeError(
                f"Planetary Computer's token service {service} gave no token "
                f"({redact(str(err))[:200]}); try again later, or check PC_SDK_SAS_URL"
            ) from None
        _TOKENS[service] = token
    return f"{url.split('?', 1)[0]}?{token.token}"


def _fetch_token(service: str, key: str | None) -> Any:
    """One token from the service, with urllib3 retries on 5xx, 429, timeouts and drops."""
    import requests
    from planetary_computer.sas import SASToken
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=TOKEN_RETRIES - 1, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504)
    )
    with requests.Session() as session:
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        headers = {"Ocp-Apim-Subscription-Key": key} if key else None
        response = session.get(service, headers=headers, timeout=TOKEN_TIMEOUT)
        response.raise_for_status()
        return SASToken(**response.json())


def read_signed(
    src: RasterSource, ctx: Any, signer: Callable[[str, bool], str], *args: Any, **kwargs: Any
) -> Any:
    """Read one block of ``src`` through rasterio with its URL signed now; re-sign once on 403.

    A token can expire between the search and the read, or between planning a lazy load and
    computing it (Planetary Computer's last about 45 minutes). The storage then answers 403:
    if the link was signed, it is signed again (a new token, fetched once for all the blocks
    that failed together) and the read retried once. Any read error is raised as a
    ``RasterioIOError`` that names the file and the cause, never the signature, and rasterio's
    and odc-loader's log lines in the process that reads are redacted
    (:func:`lakeml.errors.install_log_filter`).

    Parameters
    ----------
    src : odc.loader.types.RasterSource
        The raster to read (its ``uri`` is the unsigned link).
    ctx : object
        odc-loader's load context.
    signer : callable
        ``signer(url, refresh)`` gives the link to read (see :func:`sign`).
    *args, **kwargs
        Passed to ``odc.loader.RioReader.read``: the ``RasterLoadParams`` and the ``GeoBox`` to
        read onto.

    Returns
    -------
    tuple
        What ``RioReader.read`` returns: the ``(y, x)`` slices of the grid that were read, and
        the pixels.

    Raises
    ------
    rasterio.errors.RasterioIOError
        The read failed (again, after a 403 and a new signature): the message names the file
        (its unsigned link) and the cause.

    Examples
    --------
    A local 2 x 3 COG, read through a signer that records what it is asked and adds a
    (made-up) signature to the link:

    >>> import tempfile
    >>> import numpy as np
    >>> from odc.geo.geobox import GeoBox
    >>> from odc.geo.xr import wrap_xr
    >>> from odc.loader.types import RasterLoadParams
    >>> grid = GeoBox.from_bbox((336000, 4286010, 336090, 4286070), "EPSG:32611", resolution=30)
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = f"{folder.name}/red.tif"
    >>> _ = wrap_xr(np.array([[1, 2, 3], [4, 5, 6]], dtype="uint16"), grid).odc.write_cog(path)
    >>> asked = []
    >>> def signer(url, refresh):
    ...     asked.append((url.rsplit("/", 1)[-1], refresh))
    ...     return url
    >>> roi, pixels = read_signed(RasterSource(path), None, signer, RasterLoadParams(), grid)
    >>> pixels.tolist(), asked
    ([[1, 2, 3], [4, 5, 6]], [('red.tif', False)])

    A failed read names the file, never the signature:

    >>> from lakeml.errors import install_log_filter
    >>> install_log_filter()  # odc-loader logs the failure too (lakeml does this at each read)
    >>> def pc_signer(url, refresh):
    ...     return url + "?se=2030-01-01&sig=SECRET"
    >>> read_signed(RasterSource(f"{folder.name}/gone.tif"), None, pc_signer,
    ...             RasterLoadParams(), grid)
    Traceback (most recent call last):
    ...
    rasterio.errors.RasterioIOError: /...gone.tif?<signature removed> ... (reading /...gone.tif)
    >>> folder.cleanup()
    """
    from rasterio.errors import RasterioError, RasterioIOError, WindowEvaluationError

    # here, where the read runs: on a dask worker process too, not only where the load was planned
    install_log_filter()
    uri = signer(src.uri, False)
    signed = uri != src.uri
    for retry in (False, True):
        token = RETRYING_403.set(signed and not retry)
        try:
            return RioReader(dataclasses.replace(src, uri=uri), ctx).read(*args, **kwargs)
        except (RasterioError, WindowEvaluationError) as err:
            what = describe_error(err)
            if signed and not retry and FORBIDDEN.search(what):
                log.info("HTTP 403 on %s: signing it again and retrying", redact(src.uri))
                with _REFRESH_LOCK:  # parallel reads that failed together renew the token once
                    again = signer(src.uri, False)
                    uri = again if again != uri else signer(src.uri, True)
                continue
            if signed and FORBIDDEN.search(what):
                what += " even with a freshly signed URL: the token service's tokens are refused"
            raise RasterioIOError(f"{what} (reading {redact(src.uri)})") from None
        finally:
            RETRYING_403.reset(token)
    raise AssertionError("unreachable")


class SigningDriver(RioDriver):
    """odc-stac's rasterio reader, with each block's URL signed when it is read.

    odc-stac's ``patch_url`` signs URLs when the load is planned; a lazy load computed later
    would then carry a token that may have expired. This driver keeps the unsigned URL in the
    dask graph and signs it in the task (:func:`read_signed`). It pickles, so it works on a
    ``distributed`` cluster. :func:`lakeml.load.load_scene` loads through one.

    Parameters
    ----------
    signer : callable
        ``signer(url, refresh)`` gives the link to read (default :func:`sign`).

    Examples
    --------
    >>> import pickle
    >>> driver = SigningDriver()
    >>> driver.signer is sign
    True
    >>> pickle.loads(pickle.dumps(driver)).signer is sign  # as it travels to a dask worker
    True
    """

    def __init__(self, signer: Callable[[str, bool], str] = sign) -> None:
        super().__init__()
        self.signer = signer

    def open(self, src: RasterSource, ctx: Any) -> Any:
        """Return a reader of ``src`` that signs its link at each read (odc-loader's driver API).

        Parameters
        ----------
        src : odc.loader.types.RasterSource
            The raster to read.
        ctx : object
            odc-loader's load context.

        Returns
        -------
        object
            A reader whose ``read(cfg, geobox)`` calls :func:`read_signed`.

        Examples
        --------
        Nothing is signed until a block is read:

        >>> import tempfile
        >>> import numpy as np
        >>> from odc.geo.geobox import GeoBox
        >>> from odc.geo.xr import wrap_xr
        >>> from odc.loader.types import RasterLoadParams
        >>> grid = GeoBox.from_bbox(
        ...     (336000, 4286010, 336090, 4286070), "EPSG:32611", resolution=30)
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = f"{folder.name}/red.tif"
        >>> _ = wrap_xr(np.array([[1, 2, 3], [4, 5, 6]], "uint16"), grid).odc.write_cog(path)
        >>> asked = []
        >>> def signer(url, refresh):
        ...     asked.append(url)
        ...     return url
        >>> reader = SigningDriver(signer).open(RasterSource(path), None)
        >>> len(asked)
        0
        >>> _, pixels = reader.read(RasterLoadParams(), grid)
        >>> len(asked), pixels.tolist()
        (1, [[1, 2, 3], [4, 5, 6]])
        >>> folder.cleanup()
        """
        return _SignedReader(src, ctx, self.signer)


@dataclasses.dataclass
class _SignedReader:
    src: RasterSource
    ctx: Any
    signer: Callable[[str, bool], str]

    def read(self, *args: Any, **kwargs: Any) -> Any:
        return read_signed(self.src, self.ctx, self.signer, *args, **kwargs)


__all__ = [
    "TOKEN_RETRIES",
    "TOKEN_TIMEOUT",
    "SigningDriver",
    "read_signed",
    "sign",
    "sign_with_token_service",
]
