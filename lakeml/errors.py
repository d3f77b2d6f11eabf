"""Errors: one line per failure for people, and no signed URL in any message or log.

Planetary Computer links carry a SAS signature (``?st=...&se=...&sig=...``) when read. A
signature pasted into a notebook's output or a CI log is a credential leaked: everything lakeml
prints about a failure goes through :func:`redact`. :func:`describe_error` turns an error and
its causes into one line (GDAL names the file only in a cause), and
:func:`install_log_filter` redacts rasterio's and odc-loader's own log lines.
"""

from __future__ import annotations

import contextvars
import logging
import re

_SIGNED_QUERY = re.compile(
    r"(?i)(?:\?|%3F)"  # a query string (maybe URL-encoded) ...
    r"(?=(?:[^\s'\"<>]*?(?:&|%26))?(?:sig|se|skoid)(?:=|%3D))"  # ... that holds a signature
    r"[^\s'\"<>)]*"
)

FORBIDDEN = re.compile(r"HTTP response code: 403\b|AuthenticationFailed")
"""How GDAL and Azure say 403 (a refused or expired token)."""

RETRYING_403 = contextvars.ContextVar("lakeml_retrying_403", default=False)
"""True while a read that lakeml will sign again and retry on 403 is running: the log filter
then drops GDAL's error line for that 403 (:func:`lakeml.signing.read_signed`)."""


def redact(text: str) -> str:
    """Remove SAS signatures (``?st=...&se=...&sig=...``) from ``text``.

    A query string that holds ``sig``, ``se`` or ``skoid`` (also URL-encoded, as in GDAL's
    ``/vsicurl?url=...``) is replaced; other query strings are kept.

    Parameters
    ----------
    text : str
        A message, a log line or a traceback.

    Returns
    -------
    str
        ``text`` with each signature replaced by ``?<signature removed>``.

    Examples
    --------
    >>> redact("HEAD https://a.blob.core.windows.net/c/x.TIF?st=1&se=2&sig=abc failed")
    'HEAD https://a.blob.core.windows.net/c/x.TIF?<signature removed> failed'
    >>> redact("https://h/api/stac/v1/search?limit=10&st=x")
    'https://h/api/stac/v1/search?limit=10&st=x'
    """
    return _SIGNED_QUERY.sub("?<signature removed>", text)


def describe_error(err: BaseException, limit: int = 5) -> str:
    """One line for an error and the errors that caused it, without SAS signatures.

    GDAL often names the file only in a cause, so the chain is kept; a cause hidden with
    ``raise ... from None`` is left out.

    Parameters
    ----------
    err : BaseException
        The error.
    limit : int
        At most this many errors of the chain.

    Returns
    -------
    str
        The messages joined by ``" <- "`` (the error first, then its causes), redacted; the
        error's type name if no message says anything.

    Examples
    --------
    >>> try:
    ...     try:
    ...         raise OSError("'/vsicurl/http://h/x.TIF?st=1&se=2&sig=abc' not recognized")
    ...     except OSError as inner:
    ...         raise RuntimeError("Read failed") from inner
    ... except RuntimeError as err:
    ...     print(describe_error(err))
    Read failed <- '/vsicurl/http://h/x.TIF?<signature removed>' not recognized
    """
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen and len(parts) < limit:
        seen.add(id(current))
        text = str(current).strip()
        if text and text not in parts:
            parts.append(text)
        hidden = current.__suppress_context__  # raise ... from None
        current = current.__cause__ or (None if hidden else current.__context__)
    return redact(" <- ".join(parts)) or type(err).__name__


def redact_record(record: logging.LogRecord) -> bool:
    """Redact a log record (a logging filter); drop the alarm for a 403 lakeml retries.

    Parameters
    ----------
    record : logging.LogRecord
        The record; its message is redacted in place.

    Returns
    -------
    bool
        False to drop the record (GDAL's error for a 403 that is being retried), else True.

    Examples
    --------
    >>> record = logging.LogRecord("rasterio", logging.ERROR, "", 0, "GET %s", ("h/x?sig=1",),
    ...                            None)
    >>> redact_record(record), record.getMessage()
    (True, 'GET h/x?<signature removed>')
    """
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record: let logging report it as usual
        return True
    clean = redact(message)
    if RETRYING_403.get() and record.levelno >= logging.ERROR and FORBIDDEN.search(clean):
        return False
    if clean != message:
        record.msg, record.args = clean, ()
    return True


def install_log_filter() -> None:
    """Put :func:`redact_record` on every rasterio and odc-loader logger; idempotent.

    A logger's filters do not see its children's records, so each logger gets it. lakeml calls
    this in each block read (:func:`lakeml.signing.read_signed`), in whichever process reads (a
    dask worker process included): nothing is installed at import.

    Examples
    --------
    >>> install_log_filter()
    >>> redact_record in logging.getLogger("rasterio._err").filters
    True
    """
    import rasterio  # noqa: F401 - its loggers exist once it is imported

    names = [n for n in logging.root.manager.loggerDict if n.startswith(("rasterio", "odc."))]
    for name in {*names, "odc.loader._rio", "rasterio._err", "rasterio._base", "rasterio._env"}:
        logger = logging.getLogger(name)
        if redact_record not in logger.filters:
            logger.addFilter(redact_record)


__all__ = [
    "FORBIDDEN",
    "RETRYING_403",
    "describe_error",
    "install_log_filter",
    "redact",
    "redact_record",
]
