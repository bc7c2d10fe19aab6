"""A stage's outputs as bytes and back, through formats whose reading never runs code.

DataFrames and Series are Arrow IPC files (Feather v2, uncompressed: pyarrow keeps dtypes, categories
and the index in its pandas metadata; column labels go beside the file so any JSON-able label survives;
chosen over parquet because a restore must be far faster than the stage, and reading a million rows
from IPC took 0.08 s where parquet took 0.55 s on the same machine), NumPy arrays are ``.npy`` read with
``allow_pickle=False``, scikit-learn estimators are skops files read back trusting only the types
recorded when they were saved, and everything else must be a tree of JSON values: ``None``, bools,
numbers, strings, bytes, lists, tuples, dicts, sets, NumPy scalars, dates, decimals and paths, which may
hold the former at any depth. Anything else raises :class:`Unstorable`, naming what it is: never pickle.

Every object is *framed* (``mlops-cache/1 CODEC\\n`` before its bytes) so its digest never equals a
run's artifact or a model file: evicting a cache object can never delete a file something else keeps.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import io
import json
import math
import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..registry.model_files import custom_types, load_skops, skops_dumps

MAGIC = b"mlops-cache/1 "
_MAX_DEPTH = 100
_PATHS = {c.__name__: c for c in (pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.PosixPath,
                                  pathlib.WindowsPath, pathlib.Path, pathlib.PurePath)}


class Unstorable(Exception):
    """A value the cache cannot keep without pickle; the message says what it is, in one line."""


def frame(codec: str, payload: bytes | memoryview) -> bytes:
    return MAGIC + codec.encode("ascii") + b"\n" + bytes(payload)


def unframe(data: Any) -> tuple[str, memoryview]:
    """(codec, payload) of a framed object (bytes, or a memory map of its file); ValueError when it is not one."""
    view = memoryview(data)
    head = bytes(view[:64])
    end = head.find(b"\n", len(MAGIC))
    if not head.startswith(MAGIC) or end < 0:
        raise ValueError("not a cache object")
    return head[len(MAGIC):end].decode("ascii"), view[end + 1:]


# -- the JSON tree ------------------------------------------------------------------------------------------
def to_tree(value: Any, leaf: Callable[[Any], Any], depth: int = 0) -> Any:
    """``value`` as tagged JSON; what JSON cannot hold goes to ``leaf`` (frames, arrays, estimators)."""
    if depth > _MAX_DEPTH:
        raise Unstorable("it is nested more than 100 levels deep")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if abs(value) < 2**53 else {"t": "int", "v": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
    if kind in (list, tuple):
        items = [to_tree(v, leaf, depth + 1) for v in value]
        return items if kind is list else {"t": "tuple", "v": items}
    if kind is dict:
        return {"t": "dict", "k": [to_tree(k, leaf, depth + 1) for k in value],
                "v": [to_tree(v, leaf, depth + 1) for v in value.values()]}
    if kind in (set, frozenset):
        items = sorted((to_tree(v, leaf, depth + 1) for v in value), key=canonical)
        return {"t": kind.__name__, "v": items}
    if kind is bytes:
        return {"t": "bytes", "v": base64.b64encode(value).decode("ascii")}
    if kind in (dt.datetime, dt.date, dt.time):
        return {"t": kind.__name__, "v": value.isoformat()}
    if kind is dt.timedelta:
        return {"t": "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if kind is decimal.Decimal:
        return {"t": "decimal", "v": str(value)}
    if kind.__name__ in _PATHS and _PATHS[kind.__name__] is kind:
        return {"t": "path", "c": kind.__name__, "v": str(value)}
    numpy_scalar = _numpy_scalar(value)
    if numpy_scalar is not None:
        return numpy_scalar
    return leaf(value)


def _numpy_scalar(value: Any) -> dict[str, Any] | None:
    if type(value).__module__ != "numpy":
        return None
    import numpy as np

    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        item = value.item()
        return {"t": "np", "d": value.dtype.str, "v": item if not isinstance(item, float) or math.isfinite(item)
                else repr(item)}
    return None


def from_tree(tree: Any, ref: Callable[[dict[str, Any]], Any]) -> Any:
    """The value :func:`to_tree` described; ``ref`` rebuilds a leaf."""
    if isinstance(tree, list):
        return [from_tree(v, ref) for v in tree]
    if not isinstance(tree, dict):
        return tree
    tag = tree["t"]
    if tag == "ref":
        return ref(tree)
    if tag == "int":
        return int(tree["v"])
    if tag == "float":
        return float(tree["v"])
    if tag == "tuple":
        return tuple(from_tree(v, ref) for v in tree["v"])
    if tag == "dict":
        return {from_tree(k, ref): from_tree(v, ref) for k, v in zip(tree["k"], tree["v"], strict=True)}
    if tag in ("set", "frozenset"):
        items = [from_tree(v, ref) for v in tree["v"]]
        return set(items) if tag == "set" else frozenset(items)
    if tag == "bytes":
        return base64.b64decode(tree["v"])
    if tag in ("datetime", "date", "time"):
        return getattr(dt, tag).fromisoformat(tree["v"])
    if tag == "timedelta":
        days, seconds, micro = tree["v"]
        return dt.timedelta(days=days, seconds=seconds, microseconds=micro)
    if tag == "decimal":
        return decimal.Decimal(tree["v"])
    if tag == "path":
        return _PATHS[tree["c"]](tree["v"])
    if tag == "np":
        import numpy as np

        return np.dtype(tree["d"]).type(float(tree["v"]) if isinstance(tree["v"], str) else tree["v"])
    raise ValueError(f"unknown cache value tag {tag!r}")


def canonical(tree: Any) -> str:
    """One spelling of a tree: what key digests and set orders are made of."""
    return json.dumps(tree, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# -- leaves -------------------------------------------------------------------------------------------------
def kind_of(value: Any) -> str | None:
    """``frame``, ``series``, ``array`` or ``estimator`` for the values stored beside the JSON, else None."""
    module = type(value).__module__.split(".")[0]
    name = type(value).__name__
    if module == "pandas" and name in ("DataFrame", "Series"):
        return "frame" if name == "DataFrame" else "series"
    if module == "numpy" and name == "ndarray":
        return "array"
    if module == "sklearn" or _is_estimator(value):
        return "estimator"
    return None


def _is_estimator(value: Any) -> bool:
    import sys

    base = getattr(sys.modules.get("sklearn.base"), "BaseEstimator", None)  # loaded only if sklearn is
    return base is not None and isinstance(value, base)


@dataclass
class Encoded:
    """One variable ready to store: its tree and the objects its leaves point at (framed bytes)."""

    tree: Any
    objects: list[bytes] = field(default_factory=list)


def encode(value: Any, label: str, known: dict[int, str] | None = None) -> Encoded:
    """``value`` as a tree and objects; raises :class:`Unstorable` naming ``label`` and what it is.
    ``known``: id of a frame or array → its fingerprint digest, when the caller computed it already."""
    out = Encoded(tree=None)

    def leaf(item: Any) -> Any:
        kind = kind_of(item)
        if kind is None:
            what = "is" if item is value else "holds"
            raise Unstorable(f"{label} {what} a {type_name(item)}, which the cache cannot store without pickle")
        codec, payload, meta = _ENCODERS[kind](item, label)
        check = _decoders()[codec]
        if kind != "estimator":  # a frame or array must come back equal, by fingerprint
            _same_data(item, check(memoryview(payload), meta, label), label, (known or {}).get(id(item)))
        out.objects.append(frame(codec, payload))
        return {"t": "ref", "i": len(out.objects) - 1, "c": codec, "m": meta}

    try:
        out.tree = to_tree(value, leaf)
    except RecursionError:
        raise Unstorable(f"{label} refers to itself") from None
    return out


def decode(tree: Any, load: Callable[[int], tuple[str, memoryview]], label: str) -> Any:
    """The value of :func:`encode`; ``load(i)`` gives the i-th object's (codec, payload)."""
    decoders = _decoders()

    def ref(node: dict[str, Any]) -> Any:
        codec, payload = load(int(node["i"]))
        if codec != node["c"]:
            raise ValueError(f"object {node['i']} of {label} is {codec}, expected {node['c']}")
        return decoders[codec](payload, node.get("m") or {}, label)

    return from_tree(tree, ref)


def type_name(value: Any) -> str:
    cls = type(value)
    return cls.__qualname__ if cls.__module__ in ("builtins", "__main__") else f"{cls.__module__}.{cls.__qualname__}"


def _same_data(original: Any, restored: Any, label: str, digest: str | None) -> None:
    from ..tracking.fingerprint import fingerprint  # lazy: pulls numpy

    try:
        same = (digest or fingerprint(original).digest) == fingerprint(restored).digest
    except Exception as exc:  # a layout the fingerprint does not know (a MultiIndex): cannot be checked
        raise Unstorable(f"{label} cannot be checked after a round trip ({type(exc).__name__}: {exc})") from None
    if not same:
        raise Unstorable(f"{label} does not survive a round trip through Arrow/npy unchanged "
                         "(an object column of mixed types, or labels JSON cannot hold)")


# -- Arrow, npy, skops --------------------------------------------------------------------------------------
def _arrow(df: Any, label: str) -> tuple[str, bytes, dict[str, Any]]:
    """Columns are written as c0, c1, … and their labels kept beside the file: Arrow wants strings."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.feather as feather

    columns = df.columns
    if isinstance(columns, pd.MultiIndex):
        raise Unstorable(f"{label} has MultiIndex columns, which the cache does not store")
    meta: dict[str, Any] = {"name": _label_tree(columns.name, label), "dtype": str(columns.dtype)}
    if isinstance(columns, pd.RangeIndex):
        meta["range"] = [columns.start, columns.stop, columns.step]
    else:
        meta["labels"] = [_label_tree(c, label) for c in columns]
    renamed = df.set_axis([f"c{i}" for i in range(len(columns))], axis=1)
    try:
        table = pa.Table.from_pandas(renamed)
        sink = pa.BufferOutputStream()
        feather.write_feather(table, sink, compression="uncompressed")
    except Exception as exc:
        raise Unstorable(f"{label} cannot be written as an Arrow table ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:160]})") from None
    return "arrow", sink.getvalue().to_pybytes(), meta


def _label_tree(label_value: Any, label: str) -> Any:
    def leaf(item: Any) -> Any:
        raise Unstorable(f"{label} has a column label of type {type_name(item)}")

    return to_tree(label_value, leaf)


def _read_arrow(payload: memoryview, meta: dict[str, Any], label: str) -> Any:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.feather as feather

    # consolidated blocks, as pandas builds them (split_blocks, read in place from the memory map, measured
    # no faster over five fresh processes and far slower in one: not worth read-only columns)
    df = feather.read_table(pa.BufferReader(pa.py_buffer(payload))).to_pandas()
    name = from_tree(meta.get("name"), _no_ref)
    if "range" in meta:
        df.columns = pd.RangeIndex(*meta["range"], name=name)
    else:
        df.columns = pd.Index([from_tree(t, _no_ref) for t in meta["labels"]], dtype=meta["dtype"], name=name)
    return df


def _series(s: Any, label: str) -> tuple[str, bytes, dict[str, Any]]:
    _, payload, meta = _arrow(s.to_frame(name="value"), label)
    return "arrow-series", payload, {**meta, "series_name": _label_tree(s.name, label)}


def _read_series(payload: memoryview, meta: dict[str, Any], label: str) -> Any:
    series = _read_arrow(payload, meta, label).iloc[:, 0]
    series.name = from_tree(meta.get("series_name"), _no_ref)
    return series


def _npy(array: Any, label: str) -> tuple[str, bytes, dict[str, Any]]:
    import numpy as np

    buffer = io.BytesIO()
    try:
        np.save(buffer, array, allow_pickle=False)
    except ValueError:
        raise Unstorable(f"{label} is an array of Python objects, which .npy cannot hold without pickle") from None
    return "npy", buffer.getvalue(), {}


def _read_npy(payload: memoryview, meta: dict[str, Any], label: str) -> Any:
    import numpy as np

    return np.load(io.BytesIO(payload), allow_pickle=False)


def _skops(estimator: Any, label: str) -> tuple[str, bytes, dict[str, Any]]:
    try:
        data, trusted = skops_dumps(estimator)
    except Exception as exc:
        raise Unstorable(f"skops cannot save {label} ({type(exc).__name__}: {str(exc)[:160]})") from None
    custom = custom_types(trusted)
    if custom:
        raise Unstorable(f"{label} holds classes of its own ({', '.join(custom[:3])}), whose code would run "
                         "when it is restored")
    return "skops", data, {"trusted": trusted}


def _read_skops(payload: memoryview, meta: dict[str, Any], label: str) -> Any:
    trusted = [str(t) for t in meta.get("trusted") or []]
    if custom_types(trusted):  # the manifest is checked by digest, but refuse a widened list all the same
        raise ValueError(f"{label} asks to trust classes outside scikit-learn")
    return load_skops(bytes(payload), trusted, label)


def _no_ref(node: dict[str, Any]) -> Any:
    raise ValueError("a column label cannot refer to an object")


_ENCODERS: dict[str, Callable[[Any, str], tuple[str, bytes, dict[str, Any]]]] = {
    "frame": _arrow, "series": _series, "array": _npy, "estimator": _skops}


def _decoders() -> dict[str, Callable[[memoryview, dict[str, Any], str], Any]]:
    return {"arrow": _read_arrow, "arrow-series": _read_series, "npy": _read_npy, "skops": _read_skops}
