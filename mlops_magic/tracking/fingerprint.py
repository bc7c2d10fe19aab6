"""Dataset fingerprints: a fast, stable hash of a DataFrame, Series, array, file or glob.

Equal data gives equal digests across processes and machines; any change to
values, index, dtypes or column names gives another. Numeric columns are
hashed straight from their memory buffers with xxh3-128 (close to memory read
speed), normalised to little-endian; object and string
columns go through pandas' keyed ``hash_array``, which is stable across
processes. Each part is length-prefixed so no two layouts can collide by
concatenation.

Like ``pandas.util.hash_pandas_object``, float values are hashed by their bits:
NaN payloads and the sign of zero count. Canonicalising NaNs would cost a
second pass over memory and double the time on a bandwidth-bound machine.
"""

from __future__ import annotations

import glob as globlib
import os
from pathlib import Path
from typing import Any

from ..entities import Fingerprint
from ..errors import InvalidInputError, NotFoundError

_VERSION = b"mlops-fp-1"
_FILE_CHUNK = 1 << 20


def _hasher() -> Any:
    import xxhash

    h = xxhash.xxh3_128()
    h.update(_VERSION)
    return h


def _put(h: Any, data: bytes | memoryview) -> None:
    h.update(len(data).to_bytes(8, "little"))
    h.update(data)


def _put_str(h: Any, text: str) -> None:
    _put(h, text.encode("utf-8", "surrogatepass"))


def _hash_ndarray(h: Any, arr: Any) -> None:
    import numpy as np

    _put_str(h, arr.dtype.str.replace(">", "<") + str(arr.shape))
    if arr.dtype.kind in "biufcmM":
        data = arr
        if arr.dtype.byteorder == ">":
            data = arr.astype(arr.dtype.newbyteorder("<"))
        data = np.ascontiguousarray(data)
        _put(h, data.reshape(-1).view(np.uint8).data)
    else:
        import pandas as pd

        flat = arr.reshape(-1) if arr.ndim > 1 else arr
        hashed = pd.util.hash_array(np.asarray(flat, dtype=object), categorize=False)
        _put(h, np.ascontiguousarray(hashed).view(np.uint8).data)


def _hash_values(h: Any, values: Any) -> None:
    """Hash the values of a pandas column or index, whatever its backing array."""
    import numpy as np
    import pandas as pd

    dtype = values.dtype
    _put_str(h, str(dtype))
    if isinstance(dtype, pd.CategoricalDtype):
        _hash_values(h, pd.Index(dtype.categories))
        _put_str(h, str(dtype.ordered))
        _hash_ndarray(h, np.asarray(values.codes if hasattr(values, "codes") else pd.Categorical(values).codes))
        return
    if isinstance(values, pd.RangeIndex):
        _put_str(h, f"range:{values.start}:{values.stop}:{values.step}")
        return
    array = values.array if hasattr(values, "array") else values
    if hasattr(array, "_data") and hasattr(array, "_mask"):  # masked nullable (Int64, boolean, Float64)
        data = np.asarray(array._data).copy()
        data[np.asarray(array._mask)] = 0
        _hash_ndarray(h, data)
        _hash_ndarray(h, np.asarray(array._mask))
        return
    if isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
        _hash_ndarray(h, np.asarray(values))
        return
    # strings, objects, arrow-backed and other extension arrays: a keyed per-element hash
    hashed = pd.util.hash_array(np.asarray(values, dtype=object), categorize=False)
    _put(h, np.ascontiguousarray(hashed).view(np.uint8).data)


def _schema(frame: Any) -> dict[str, str]:
    return {str(col): str(dtype) for col, dtype in frame.dtypes.items()}


def fingerprint(data: Any, *, name: str | None = None, role: str | None = None) -> Fingerprint:
    """Fingerprint a DataFrame, Series, numpy array, file path or glob pattern."""
    module = type(data).__module__.split(".")[0]
    if isinstance(data, (str, os.PathLike)):
        return fingerprint_path(data, name=name, role=role)
    if module == "pandas":
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            return _frame(data, name, role)
        if isinstance(data, pd.Series):
            return _series(data, name, role)
    if module == "numpy":
        import numpy as np

        if isinstance(data, np.ndarray):
            h = _hasher()
            _put_str(h, "ndarray")
            _hash_ndarray(h, data)
            return Fingerprint(digest=h.hexdigest(), kind="array", rows=int(data.shape[0]) if data.ndim else 1,
                               schema={"dtype": str(data.dtype), "shape": str(list(data.shape))},
                               size=int(data.nbytes), name=name, role=role)
    raise InvalidInputError(
        f"cannot fingerprint a {type(data).__name__}; give a DataFrame, Series, numpy array, file path or glob")


def _frame(df: Any, name: str | None, role: str | None) -> Fingerprint:
    h = _hasher()
    _put_str(h, "dataframe")
    _put_str(h, str(df.shape))
    _hash_values(h, df.columns)
    _hash_values(h, df.index)
    for i in range(df.shape[1]):
        _hash_values(h, df.iloc[:, i])
    return Fingerprint(digest=h.hexdigest(), kind="dataframe", rows=int(df.shape[0]), schema=_schema(df),
                       size=None, name=name, role=role)


def _series(s: Any, name: str | None, role: str | None) -> Fingerprint:
    h = _hasher()
    _put_str(h, "series")
    _put_str(h, repr(s.name))
    _hash_values(h, s.index)
    _hash_values(h, s)
    return Fingerprint(digest=h.hexdigest(), kind="series", rows=len(s), schema={str(s.name): str(s.dtype)},
                       name=name, role=role)


def fingerprint_path(path: str | os.PathLike[str], *, name: str | None = None, role: str | None = None,
                     base: str | os.PathLike[str] | None = None, count_rows: bool = True) -> Fingerprint:
    """A file's bytes, or every file a glob matches (names relative to ``base`` and contents).

    ``schema["path"]`` keeps the path or glob as given, so the input can be fingerprinted again later
    (``mlops reproduce`` checks recorded inputs before re-running); it is not part of the digest, and
    neither is the row count, which ``count_rows=False`` skips (the stage cache's key needs only the
    digest, and counting newlines costs as much as hashing).
    """
    text = os.fspath(path)
    base_dir = Path(base or os.getcwd())
    pattern = text if os.path.isabs(text) else str(base_dir / text)
    if any(c in text for c in "*?["):
        files = sorted(p for p in globlib.glob(pattern, recursive=True) if os.path.isfile(p))
        if not files:
            raise NotFoundError(f"the glob {text!r} matches no file (looked in {base_dir})")
        h = _hasher()
        _put_str(h, "files")
        total, rows = 0, 0
        for file in files:
            digest, size, lines = _file_digest(file, count_rows)
            _put_str(h, os.path.relpath(file, base_dir))
            _put_str(h, digest)
            total += size
            rows += lines
        return Fingerprint(digest=h.hexdigest(), kind="files", rows=rows if count_rows else None, size=total,
                           schema={"files": str(len(files)), "path": text}, name=name or text,
                           role=role)
    if not os.path.isfile(pattern):
        raise NotFoundError(f"no such file to fingerprint: {text}")
    digest, size, lines = _file_digest(pattern, count_rows)
    return Fingerprint(digest=digest, kind="file", rows=lines if count_rows else None, size=size,
                       schema={"path": text}, name=name or text, role=role)


def _file_digest(path: str, count_rows: bool = True) -> tuple[str, int, int]:
    """(digest, bytes, newline count) of one file, streamed."""
    h = _hasher()
    _put_str(h, "file")
    size = lines = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_FILE_CHUNK):
            h.update(chunk)
            size += len(chunk)
            if count_rows:
                lines += chunk.count(b"\n")
    h.update(size.to_bytes(8, "little"))
    return h.hexdigest(), size, lines


def is_fingerprintable(obj: Any) -> bool:
    """DataFrames, Series and arrays: the values a stage's produced data is made of."""
    mod = type(obj).__module__.split(".")[0]
    if mod == "pandas":
        return type(obj).__name__ in ("DataFrame", "Series")
    return mod == "numpy" and type(obj).__name__ == "ndarray"
