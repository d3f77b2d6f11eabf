"""Exercises: check a learner's answer against the answer key, in one line.

The student edition of the notebooks (``make student``, written to ``_build/student/``) has no
solution cells. Under each exercise it has an empty cell for the learner's code and, after it,
a check cell such as::

    exercises.check("02-2", globals(), names=["calls", "differ"], hint="...", key="eJz...")

:func:`check` prints one line:

- **not tried yet** when none of ``names`` is defined in the learner's namespace (the cell was
  not run, or the learner's code raised before it assigned them);
- otherwise it runs the answer key (the solution's source) in a *copy* of the learner's
  namespace without the learner's ``names``, so that the key sees the same inputs (``ds``,
  ``items``, ...), and compares each of ``names`` with the key's value: numbers, arrays, xarray
  and pandas objects within a tolerance (``rtol``, ``atol``), strings, booleans and ids exactly,
  dicts, lists and tuples item by item. It says **right**, or **wrong** with the first name
  that differs, how, and the hint.

The key's printouts are swallowed and ``display`` does nothing while it runs; the copy is
shallow, so a key must not change its inputs in place (none of the lessons' keys does).

**The key is not secret.** It is the solution's source, compressed with zlib and encoded in
base64 (:func:`encode_key`) only to keep it out of sight: anyone can decode it with
:func:`decode_key`. A teacher who needs the answers kept from the students (graded work)
should use nbgrader, whose answer keys stay on the teacher's side. This module is in the
spirit of nbgrader's and otter-grader's tests and jupyterquiz's instant feedback, for
practice: plain functions, no grading, no server.

Nothing here catches a learner's error to carry on: if the learner's code raised, their names
are not defined and the check says "not tried yet". If the key itself fails in the learner's
namespace (e.g. the learner reassigned an input such as ``ds``), its exception propagates with
a note that says so.
"""

from __future__ import annotations

import base64
import contextlib
import io
import math
import numbers
import zlib
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RIGHT, WRONG, NOT_TRIED, UNCHECKED = "right", "wrong", "not tried yet", "not checked"
"""The four statuses of a :class:`Verdict`."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: ``status`` (one of the four above) and its one-line ``message``."""

    exercise: str
    status: str
    message: str


def encode_key(source: str) -> str:
    """Compress and base64-encode an answer key's source (out of sight, **not** secret).

    Parameters
    ----------
    source : str
        Python source code.

    Returns
    -------
    str
        ASCII text for a check cell; :func:`decode_key` gives the source back.

    Examples
    --------
    >>> key = encode_key("answer = 6 * 7")
    >>> decode_key(key)
    'answer = 6 * 7'
    """
    return base64.b64encode(zlib.compress(source.encode("utf-8"), 9)).decode("ascii")


def decode_key(key: str) -> str:
    """Decode the source of an answer key encoded by :func:`encode_key`.

    Parameters
    ----------
    key : str
        The encoded key.

    Returns
    -------
    str
        The Python source.

    Examples
    --------
    >>> decode_key(encode_key("x = 1"))
    'x = 1'
    """
    return zlib.decompress(base64.b64decode(key)).decode("utf-8")


def _is_number(x: Any) -> bool:
    if isinstance(x, bool | np.bool_):
        return False
    if isinstance(x, numbers.Number):
        return True
    return isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf"


def _short(x: Any) -> str:
    text = repr(x).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(x: Any) -> str:
    return f"{type(x).__module__.split('.')[0]}.{type(x).__name__}".removeprefix("builtins.")


def _arrays(where: str, expected: Any, got: Any, rtol: float, atol: float) -> str | None:
    """How two arrays differ (shape, then values), or None."""
    exp, act = np.asarray(expected), np.asarray(got)
    if exp.shape != act.shape:
        return f"{where} has shape {act.shape}, expected {exp.shape}"
    if exp.dtype.kind in "iuf" and act.dtype.kind in "iufb":
        same = np.isclose(
            act.astype(float), exp.astype(float), rtol=rtol, atol=atol, equal_nan=True
        )
    elif exp.dtype.kind == "b" and act.dtype.kind in "iufb":
        same = act.astype(float) == exp.astype(float)
    else:
        if exp.dtype.kind != act.dtype.kind and not {exp.dtype.kind, act.dtype.kind} <= {"U", "O"}:
            return f"{where} holds {act.dtype} values, expected {exp.dtype}"
        same = (act == exp) | (
            (act != act) & (exp != exp) if exp.dtype.kind in "fcmM" else np.zeros(exp.shape, bool)
        )
    n_bad = int(np.size(same) - np.count_nonzero(same))
    if n_bad:
        return f"{where}: {n_bad} of {exp.size} values differ from the answer key's"
    return None


def difference(
    expected: Any, got: Any, where: str = "value", rtol: float = 1e-5, atol: float = 1e-8
) -> str | None:
    """How ``got`` differs from ``expected``, in a few words, or None if they match.

    Numbers and numeric arrays match within ``rtol`` and ``atol`` (NaN matches NaN); strings,
    booleans and ids (objects with a string ``id``, e.g. a STAC item) exactly; dicts by their
    keys and then item by item; lists and tuples by their length and then item by item;
    xarray objects by their dimensions, coordinates and values; pandas objects by their labels
    and values.

    Parameters
    ----------
    expected : object
        The answer key's value.
    got : object
        The learner's value.
    where : str
        The name to say in the description (e.g. ``"rows['a']"``).
    rtol, atol : float
        Relative and absolute tolerance for numbers (as :func:`numpy.isclose`).

    Returns
    -------
    str or None
        One line, or None when the values match.

    Examples
    --------
    >>> difference(0.1 + 0.2, 0.3) is None
    True
    >>> difference({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.5}, "area")
    "area['b'] is 2.5, expected 2"
    >>> difference([1, 2], [1, 2, 3], "ks")
    'ks has 3 items, expected 2'
    """
    import pandas as pd
    import xarray as xr

    if expected is None or got is None:
        return None if expected is got else f"{where} is {_short(got)}, expected {_short(expected)}"
    if _is_number(expected):
        if not (_is_number(got) or isinstance(got, np.bool_ | bool)):
            if isinstance(got, xr.DataArray | np.ndarray) and np.ndim(got) == 0:
                got = np.asarray(got).item()
            else:
                return f"{where} is a {_kind(got)}, expected a number"
        e, g = float(expected), float(got)
        if math.isnan(e) and math.isnan(g):
            return None
        if math.isclose(g, e, rel_tol=rtol, abs_tol=atol):
            return None
        return f"{where} is {g:.6g}, expected {e:.6g}"
    if isinstance(expected, str | bool | np.bool_):
        if isinstance(expected, str) != isinstance(got, str) or got != expected:
            return f"{where} is {_short(got)}, expected {_short(expected)}"
        return None
    if isinstance(getattr(expected, "id", None), str) and not isinstance(
        expected, xr.DataArray | xr.Dataset
    ):
        got_id = getattr(got, "id", None)
        if got_id != expected.id:
            return f"{where} has id {_short(got_id)}, expected {_short(expected.id)}"
        return None
    if isinstance(expected, xr.Dataset):
        if not isinstance(got, xr.Dataset):
            return f"{where} is a {_kind(got)}, expected an xarray Dataset"
        if set(got.data_vars) != set(expected.data_vars):
            got_vars, exp_vars = (
                sorted(map(str, got.data_vars)),
                sorted(map(str, expected.data_vars)),
            )
            return f"{where} has variables {got_vars}, expected {exp_vars}"
        for name in expected.data_vars:
            bad = difference(expected[name], got[name], f"{where}[{name!r}]", rtol, atol)
            if bad:
                return bad
        return None
    if isinstance(expected, xr.DataArray):
        if not isinstance(got, xr.DataArray):
            return f"{where} is a {_kind(got)}, expected an xarray DataArray"
        if dict(got.sizes) != dict(expected.sizes):
            return f"{where} has sizes {dict(got.sizes)}, expected {dict(expected.sizes)}"
        for dim in expected.dims:
            if dim in expected.coords:
                if dim not in got.coords:
                    return f"{where} has no coordinate {dim!r}"
                bad = _arrays(f"{where}'s {dim}", expected[dim].values, got[dim].values, rtol, atol)
                if bad:
                    return bad
        return _arrays(where, expected.values, got.values, rtol, atol)
    if isinstance(expected, pd.Index):
        if not isinstance(got, pd.Index) or list(got) != list(expected):
            return f"{where} is {_short(got)}, expected {_short(expected)}"
        return None
    if isinstance(expected, pd.Series | pd.DataFrame):
        if type(got) is not type(expected):
            return f"{where} is a {_kind(got)}, expected a pandas {type(expected).__name__}"
        if got.shape != expected.shape:
            return f"{where} has shape {got.shape}, expected {expected.shape}"
        if list(got.index) != list(expected.index):
            got_ix, exp_ix = _short(list(got.index)), _short(list(expected.index))
            return f"{where}'s index is {got_ix}, expected {exp_ix}"
        if isinstance(expected, pd.Series):
            return _arrays(where, expected.to_numpy(), got.to_numpy(), rtol, atol)
        if list(got.columns) != list(expected.columns):
            return f"{where}'s columns are {list(got.columns)}, expected {list(expected.columns)}"
        for column in expected.columns:
            bad = _arrays(
                f"{where}[{column!r}]",
                expected[column].to_numpy(),
                got[column].to_numpy(),
                rtol,
                atol,
            )
            if bad:
                return bad
        return None
    if isinstance(expected, np.ndarray):
        if not isinstance(got, np.ndarray | Sequence) or isinstance(got, str):
            return f"{where} is a {_kind(got)}, expected a numpy array"
        return _arrays(where, expected, got, rtol, atol)
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return f"{where} is a {_kind(got)}, expected a dict"
        if set(got) != set(expected):
            missing = [k for k in expected if k not in got]
            extra = [k for k in got if k not in expected]
            what = f"lacks {_short(missing)}" if missing else f"has extra {_short(extra)}"
            return f"{where} {what} (its keys should be {_short(list(expected))})"
        for k in expected:
            bad = difference(expected[k], got[k], f"{where}[{k!r}]", rtol, atol)
            if bad:
                return bad
        return None
    if isinstance(expected, list | tuple):
        if not isinstance(got, list | tuple | np.ndarray):
            return f"{where} is a {_kind(got)}, expected a {type(expected).__name__}"
        if len(got) != len(expected):
            return f"{where} has {len(got)} items, expected {len(expected)}"
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            bad = difference(e, g, f"{where}[{i}]", rtol, atol)
            if bad:
                return bad
        return None
    same = expected == got
    if isinstance(same, bool | np.bool_):
        return None if same else f"{where} is {_short(got)}, expected {_short(expected)}"
    return f"{where}: a {_kind(expected)} cannot be compared automatically"


def run_key(key: str, namespace: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """Run an answer key in a copy of ``namespace`` without ``names``; return that copy.

    Its printouts are swallowed and ``display`` does nothing. The copy is shallow: the key
    must not change its inputs in place.

    Parameters
    ----------
    key : str
        The key, as :func:`encode_key` encodes it.
    namespace : mapping
        The learner's namespace (``globals()`` in a notebook).
    names : sequence of str
        The answer names, left out of the copy.

    Returns
    -------
    dict
        The namespace after the key ran.

    Examples
    --------
    >>> done = run_key(encode_key("y = 2 * x; print(y)"), {"x": 3, "y": 0}, ["y"])
    >>> done["y"]
    6
    """
    source = decode_key(key)
    scope: dict[str, Any] = {k: v for k, v in namespace.items() if k not in names}
    scope["display"] = lambda *args, **kwargs: None
    code = compile(source, "<answer key>", "exec")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, scope)
    except Exception as err:
        err.add_note(
            "lakeml.exercises: the answer key failed in a copy of your namespace; did you "
            "reassign a name it uses (run the notebook from the top and try again)?"
        )
        raise
    return scope


def verdict(
    exercise: str,
    namespace: Mapping[str, Any],
    *,
    key: str,
    names: Sequence[str],
    hint: str,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> Verdict:
    """Check an exercise (what :func:`check` prints), see the module's description.

    Parameters
    ----------
    exercise : str
        The exercise, e.g. ``"02-2"`` (page 02, Exercise 2).
    namespace : mapping
        The learner's namespace: ``globals()`` in a notebook.
    key : str
        The answer key's source, as :func:`encode_key` encodes it.
    names : sequence of str
        The names the check compares. Empty: nothing can be compared automatically, and the
        verdict says to compare with ``hint`` (status ``"not checked"``, never ``"right"``).
    hint : str
        What to look at when the answer is wrong (or what to compare with, see ``names``).
    rtol, atol : float
        Tolerance for numbers, arrays, xarray and pandas values.

    Returns
    -------
    Verdict
        ``status`` is ``"right"``, ``"wrong"``, ``"not tried yet"`` or ``"not checked"``.

    Examples
    --------
    >>> key = encode_key("area = 2.0 * side")
    >>> verdict("00-1", {"side": 3.0}, key=key, names=["area"], hint="h").status
    'not tried yet'
    >>> verdict("00-1", {"side": 3.0, "area": 6.0}, key=key, names=["area"], hint="h").status
    'right'
    """
    label = f"Exercise {exercise}"
    if not names:
        return Verdict(exercise, UNCHECKED, f"{label}: nothing to check automatically; {hint}")
    defined = [name for name in names if name in namespace]
    wanted = ", ".join(names)
    if not defined:
        return Verdict(
            exercise,
            NOT_TRIED,
            f"{label}: not tried yet (assign {wanted} in the cell above, run it, then this cell).",
        )
    missing = [name for name in names if name not in namespace]
    if missing:
        return Verdict(
            exercise,
            WRONG,
            f"{label}: wrong: {', '.join(missing)} not defined (the check looks at {wanted}). "
            f"Hint: {hint}",
        )
    expected = run_key(key, namespace, names)
    for name in names:
        bad = difference(expected[name], namespace[name], name, rtol=rtol, atol=atol)
        if bad:
            return Verdict(exercise, WRONG, f"{label}: wrong: {bad}. Hint: {hint}")
    verb = "matches" if len(names) == 1 else "match"
    return Verdict(exercise, RIGHT, f"{label}: right ({wanted} {verb} the answer key).")


def check(
    exercise: str,
    namespace: MutableMapping[str, Any],
    *,
    key: str,
    names: Sequence[str],
    hint: str,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> None:
    """Print whether an exercise is right, wrong (with the hint) or not tried yet, in one line.

    The student edition's check cells call it; the parameters are those of :func:`verdict`.

    Examples
    --------
    >>> key = encode_key("total = sum(values)")
    >>> learner = {"values": [1, 2, 3]}
    >>> check("00-1", learner, key=key, names=["total"], hint="add them up")
    Exercise 00-1: not tried yet (assign total in the cell above, run it, then this cell).
    >>> learner["total"] = 7
    >>> check("00-1", learner, key=key, names=["total"], hint="add them up")
    Exercise 00-1: wrong: total is 7, expected 6. Hint: add them up
    >>> learner["total"] = 6.0000001
    >>> check("00-1", learner, key=key, names=["total"], hint="add them up")
    Exercise 00-1: right (total matches the answer key).
    """
    print(
        verdict(exercise, namespace, key=key, names=names, hint=hint, rtol=rtol, atol=atol).message
    )
