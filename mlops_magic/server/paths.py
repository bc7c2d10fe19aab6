"""Path safety for the REST API: a path a client sends never leaves the server root.

Clients send Jupyter "API paths" (``folder/nb.ipynb``, ``/``-separated, relative
to the server's root dir). We resolve symlinks *before* checking containment,
because ``root/link -> /etc`` is inside the root by name but not by target.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..errors import InvalidInputError, NotFoundError


def resolve_in_root(root: str | Path, api_path: str, *, must_exist: bool = True) -> Path:
    """The real file for ``api_path`` under ``root``; refuses anything that escapes it."""
    if api_path is not None and not isinstance(api_path, str):  # JSON bodies can carry anything
        raise InvalidInputError(f"a path must be a string, not {type(api_path).__name__}")
    if not api_path or not api_path.strip("/"):
        raise InvalidInputError("a notebook path is required, e.g. ?path=folder/analysis.ipynb")
    if "\x00" in api_path or "\\" in api_path:
        raise InvalidInputError(f"invalid path {api_path[:200]!r}: use a /-separated path under the root")
    pure = PurePosixPath(api_path.lstrip("/"))
    if ".." in pure.parts:
        raise InvalidInputError(f"path {api_path[:200]!r} may not contain '..'; give it relative to the root")
    real_root = Path(root).resolve()
    target = (real_root / pure).resolve()
    if not target.is_relative_to(real_root):
        raise InvalidInputError(f"path {api_path[:200]!r} points outside the server root; it is refused")
    if must_exist and not target.is_file():
        raise NotFoundError(f"no such file under the server root: {api_path[:200]}")
    return target


def to_api_path(root: str | Path, path: str | Path) -> str | None:
    """``path`` as an API path relative to ``root``, or ``None`` when it lies outside."""
    real_root = Path(root).resolve()
    target = Path(path).resolve()
    if not target.is_relative_to(real_root):
        return None
    if target == real_root:
        return ""  # Jupyter's API path of the root itself
    return target.relative_to(real_root).as_posix()


def check_relative_glob(pattern: object) -> str:
    """An on-change glob from a client: relative, without ``..``, so it only matches files under the root."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise InvalidInputError('"on_change" must be a list of non-empty globs, e.g. ["data/*.csv"]')
    pure = PurePosixPath(pattern.strip())
    if pure.is_absolute() or "\\" in pattern or ".." in pure.parts or pattern.strip().startswith("~"):
        raise InvalidInputError(f"glob {pattern[:200]!r} must be relative to the notebook's folder, without '..'")
    return pattern
