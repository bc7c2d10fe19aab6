"""Path safety for the REST API: one rule for every path a client sends, and it never leaves the root.

Clients send Jupyter "API paths" (``folder/nb.ipynb``, ``/``-separated, relative to the server's root
dir) in query arguments (``?path=``, ``?notebook=``, ``?at=``) and in JSON fields (``path``, ``from``,
``to``, ``notebook``, ``after``, ``on_change``). Every one of them goes through :func:`api_path`
first, which answers a normalised relative path or one 400 line:

- a string, without NUL, backslashes or lone surrogates (a JSON ``"\\ud800"`` cannot name a file);
- at most :data:`MAX_NAME_BYTES` bytes (UTF-8) per name and :data:`MAX_PATH_BYTES` in all, the limits
  of Linux file systems, so a long name is refused instead of reaching the OS (``File name too long``);
- no ``..``; ``.`` and empty names are dropped (``./a//b/`` is ``a/b``), so ``"."`` and ``""`` both mean
  the root, which only ``?at=`` accepts: a notebook, a rename's ``from`` or ``to`` must name something
  under it.

Then :func:`resolve_in_root` resolves symlinks *before* checking containment, because
``root/link -> /etc`` is inside the root by name but not by target.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..errors import InvalidInputError, NotFoundError
from ..tracking.values import is_text

#: Bytes of one file or folder name (NAME_MAX of ext4, XFS, btrfs, tmpfs).
MAX_NAME_BYTES = 255
#: Bytes of a whole API path (PATH_MAX); the root's own path comes on top and is checked on resolving.
MAX_PATH_BYTES = 4096


def _shown(text: str) -> str:
    """A client's text quoted for a one-line message: short, escaped (repr escapes surrogates)."""
    return repr(text[:80] + ("…" if len(text) > 80 else ""))


def check_path_text(text: object, what: str = "a path") -> str:
    """The checks every client path or glob passes before it is parsed: type, characters, length."""
    if not isinstance(text, str):
        raise InvalidInputError(f"{what}: a path must be a string, not {type(text).__name__}")
    if "\x00" in text or "\\" in text:
        raise InvalidInputError(f"invalid path {_shown(text)}: use a /-separated path under the root")
    if not is_text(text):
        raise InvalidInputError(f"invalid path {_shown(text)}: it holds a lone surrogate, which no file name can")
    if len(text.encode("utf-8")) > MAX_PATH_BYTES:
        raise InvalidInputError(f"path {_shown(text)} is too long: at most {MAX_PATH_BYTES} bytes")
    for name in text.split("/"):
        if len(name.encode("utf-8")) > MAX_NAME_BYTES:
            raise InvalidInputError(f"path {_shown(text)} has a name longer than {MAX_NAME_BYTES} bytes")
    return text


def api_path(raw: object, *, what: str = "a path", allow_root: bool = False) -> PurePosixPath:
    """A client's API path, checked and normalised (relative, no ``.`` or empty names, no ``..``).

    The root itself (``""``, ``"."``, ``"/"``) is refused unless ``allow_root``: it is no notebook, and
    renaming it would re-point every run and schedule of the store.
    """
    if raw is None or raw == "":
        if allow_root:
            return PurePosixPath()
        raise InvalidInputError(f"{what} is required, e.g. folder/analysis.ipynb")
    text = check_path_text(raw, what)
    pure = PurePosixPath(text.lstrip("/"))  # drops "." and empty names: "./a//b/" is "a/b"
    if ".." in pure.parts:
        raise InvalidInputError(f"path {_shown(text)} may not contain '..'; give it relative to the root")
    if not pure.parts and not allow_root:
        raise InvalidInputError(f"{what} {_shown(text)} names the server root; name a notebook or folder under it")
    return PurePosixPath(*pure.parts) if pure.parts else PurePosixPath()


def resolve_in_root(root: str | Path, raw: object, *, must_exist: bool = True, allow_root: bool = False,
                    what: str = "a notebook path") -> Path:
    """The real file for API path ``raw`` under ``root``; refuses anything that escapes it or breaks
    :func:`api_path`'s rule."""
    pure = api_path(raw, what=what, allow_root=allow_root)
    real_root = Path(root).resolve()
    try:
        target = (real_root / pure).resolve()
        exists = target.is_file() if must_exist else True
    except (OSError, RuntimeError) as exc:  # too long with the root's own path, a symlink loop
        raise InvalidInputError(f"path {_shown(str(raw))} cannot be resolved: "
                                f"{getattr(exc, 'strerror', None) or exc}") from None
    if not target.is_relative_to(real_root):
        raise InvalidInputError(f"path {_shown(str(raw))} points outside the server root; it is refused")
    if not exists:
        raise NotFoundError(f"no such file under the server root: {str(raw)[:200]}")
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
    check_path_text(pattern, "a glob")
    pure = PurePosixPath(pattern.strip())
    if pure.is_absolute() or ".." in pure.parts or pattern.strip().startswith("~"):
        raise InvalidInputError(f"glob {_shown(pattern)} must be relative to the notebook's folder, without '..'")
    return pattern
