"""Digests of what a stage reads: variables by value, functions by source, modules by package version.

DataFrames, Series and arrays use the project's data fingerprints (``tracking/fingerprint.py``);
JSON-able values their canonical JSON; functions and classes defined in the notebook their source and
the digests of the globals they use; objects of libraries (a fitted estimator, a ``KFold``) their class and
state, walked the same way (arrays fingerprinted, never pickled); modules, and functions or classes
imported from a package, the version of the distribution that provides them (or the bytes of a local
module's files). Whatever none of these covers raises :class:`Unseeable`, naming it in one line.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import io
import os
import platform
import sys
import types
from pathlib import Path
from typing import Any

from ..tracking.fingerprint import fingerprint
from .codecs import Unstorable, canonical, kind_of, to_tree, type_name

_MAX_NODES = 200_000
#: Libraries whose objects are fingerprinted by class and state: their state is arrays and plain values.
STATEFUL_LIBRARIES = ("sklearn", "scipy", "numpy", "xgboost", "lightgbm", "catboost", "statsmodels", "imblearn")


class Unseeable(Exception):
    """Something a stage reads that no digest can stand for; the message names it (one line)."""


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def python_version() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}"


# -- packages ---------------------------------------------------------------------------------------------
_DIST_OF: dict[str, Path | None] = {}  # top-level module -> its distribution's metadata folder


def package_version(module_name: str) -> str:
    """What decides the code behind ``module_name``: its distribution's version, Python's for the standard
    library, or the digest of a local module's source files (a ``helpers.py`` beside the notebook)."""
    top = module_name.split(".")[0]
    if top in sys.stdlib_module_names or top in ("builtins", "__future__"):
        return python_version()
    origin = _origin(top)
    dist = _DIST_OF.get(top)
    if dist is None or not dist.is_dir():
        dist = _DIST_OF[top] = _distribution_folder(top, origin) if origin else None
    if dist is not None:
        return _dist_version(dist)
    return _local_module(origin)


def _dist_version(folder: Path) -> str:
    """``name==version`` of an installed distribution: a wheel's ``NAME-VERSION.dist-info`` folder says it
    (reading METADATA parses the whole long description: ~10 ms for pandas, paid by each kernel)."""
    name, dash, version = folder.name.removesuffix(".dist-info").partition("-")
    if folder.suffix == ".dist-info" and dash and version and "-" not in version:
        return f"{name}=={version}"
    import importlib.metadata  # here, not at the top: it imports email and zipfile (~40 ms)

    meta = importlib.metadata.Distribution.at(folder)
    return f"{meta.metadata['Name']}=={meta.version}"


def _origin(top: str) -> Path | None:
    """The file a top-level module is (or would be) loaded from, found without running it."""
    import importlib.util  # here, not at the top: %load_ext imports this module and must stay light

    origin = getattr(sys.modules.get(top), "__file__", None)
    if origin is None:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            spec = None
        origin = spec.origin if spec is not None else None
    return Path(origin) if origin and os.path.isfile(origin) else None


def _distribution_folder(top: str, origin: Path) -> Path | None:
    """The ``*.dist-info`` beside a module that installed it: its ``top_level.txt`` names the module, or
    its RECORD lists the module's files. Only that folder's distributions are read (``packages_distributions``
    reads every one on ``sys.path``: 0.8 s here, paid by the first cached stage of every kernel)."""
    site = origin.parent.parent if origin.name == "__init__.py" else origin.parent
    try:
        folders = sorted(Path(e.path) for e in os.scandir(site) if e.name.endswith((".dist-info", ".egg-info")))
    except OSError:
        return None
    # the distribution named like the module (pandas-3.1.1.dist-info for pandas) first: usually it
    named = top.lower().replace("-", "_")
    folders.sort(key=lambda f: f.name.split("-", 1)[0].lower().replace(".", "_") != named)
    records = []
    for folder in folders:
        top_level = folder / "top_level.txt"
        if top_level.is_file():
            if top in top_level.read_text(errors="replace").split():
                return folder
        elif folder is folders[0] and _records(folder, top):
            return folder
        else:
            records.append(folder)
    for folder in records:
        if _records(folder, top):
            return folder
    return None


def _records(folder: Path, top: str) -> bool:
    """Whether a distribution's RECORD lists the files of module ``top``."""
    record = folder / "RECORD"
    text = "\n" + (record.read_text(errors="replace") if record.is_file() else "")
    return f"\n{top}/" in text or f"\n{top}.py," in text


def _local_module(origin: Path | None) -> str:
    if origin is None:
        return "not found"
    files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    h = hashlib.sha256()
    for file in files:
        h.update(str(file.relative_to(origin.parent)).encode())
        h.update(file.read_bytes())
    return "local " + h.hexdigest()[:32]


# -- values -----------------------------------------------------------------------------------------------
class Digester:
    """Digests of a namespace's values; notebook functions add the globals they use to :attr:`pending`."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self.pending: list[str] = []  # globals that notebook functions read, still to digest
        self.packages: dict[str, str] = {}
        self._nodes = 0
        self._visiting: set[int] = set()

    def digest(self, name: str, value: Any) -> str:
        """The digest of variable ``name``; raises :class:`Unseeable` when nothing can stand for it."""
        self._nodes = 0
        return sha(canonical(self.tree(value, name)))

    def tree(self, value: Any, label: str) -> Any:
        """``value`` as a tree of plain values and digests (what its digest is made of)."""

        def leaf(item: Any) -> Any:
            self._nodes += 1
            if self._nodes > _MAX_NODES:
                raise Unseeable(f"it reads {label}, too large an object graph to fingerprint")
            if id(item) in self._visiting:
                raise Unseeable(f"it reads {label}, which refers to itself")
            self._visiting.add(id(item))
            try:
                return self._leaf(item, label)
            finally:
                self._visiting.discard(id(item))

        try:
            return to_tree(value, leaf)
        except RecursionError:
            raise Unseeable(f"it reads {label}, nested too deeply to fingerprint") from None
        except Unstorable as exc:  # to_tree's own limits
            raise Unseeable(f"it reads {label}: {exc}") from None

    def _leaf(self, item: Any, label: str) -> Any:
        kind = kind_of(item)
        if kind in ("frame", "series", "array"):
            try:
                return {"t": "data", "v": fingerprint(item).digest}
            except Exception as exc:
                raise Unseeable(f"it reads {label}, whose data cannot be fingerprinted "
                                f"({type(exc).__name__})") from None
        if isinstance(item, types.ModuleType):
            return {"t": "module", "v": item.__name__, "p": self._package(item.__name__)}
        if isinstance(item, (types.FunctionType, type)) and _in_notebook(item):
            return {"t": "source", "v": self._source(item, label)}
        if isinstance(item, functools.partial):
            return {"t": "partial", "v": [self.tree(p, label) for p in (item.func, item.args, item.keywords)]}
        if isinstance(item, types.MethodType):
            return {"t": "method", "v": [self.tree(item.__func__, label), self.tree(item.__self__, label)]}
        cls = type(item)
        top = cls.__module__.split(".")[0]
        if isinstance(item, (types.FunctionType, types.BuiltinFunctionType, type)) or cls.__name__ == "ufunc":
            module = getattr(item, "__module__", None) or top
            name = getattr(item, "__qualname__", None) or getattr(item, "__name__", "?")
            return {"t": "code", "v": f"{module}.{name}", "p": self._package(module)}
        if top == "numpy" and hasattr(item, "descr") and hasattr(item, "kind"):  # a dtype
            return {"t": "dtype", "v": str(item)}
        if top == "pandas" and cls.__name__ in ("Timestamp", "Timedelta", "Period"):
            return {"t": "pandas", "v": repr(item)}
        if top in STATEFUL_LIBRARIES or _in_notebook(cls) or dataclasses.is_dataclass(item):
            return self._object(item, label)
        raise Unseeable(f"it reads {label}, a {type_name(item)}, which the key cannot fingerprint")

    def _package(self, module: str) -> str:
        top = module.split(".")[0]
        if top not in self.packages:
            self.packages[top] = package_version(top)
        return self.packages[top]

    def _source(self, item: Any, label: str) -> str:
        """A notebook function or class by its source, its defaults and closure, and the globals it reads."""
        try:
            source = inspect.getsource(item)
        except (OSError, TypeError):
            if not isinstance(item, type):
                raise Unseeable(f"it reads {label}, a function whose source is not available") from None
            source = "\n".join(self._source(v, label) for k, v in sorted(vars(item).items())
                               if isinstance(v, types.FunctionType)) + f"\nclass {item.__qualname__}"
        parts = [source]
        functions = [item] if isinstance(item, types.FunctionType) else \
            [v for v in vars(item).values() if isinstance(v, types.FunctionType)]
        for fn in functions:
            self.pending += [n for n in _global_names(fn.__code__) if n in self.namespace]
            extras = [fn.__defaults__, fn.__kwdefaults__, [c.cell_contents for c in fn.__closure__ or ()
                                                          if _cell_filled(c)]]
            parts.append(canonical(self.tree(extras, label)))
        return sha("\n".join(parts))

    def _object(self, item: Any, label: str) -> Any:
        """An object of a library whose state is plain data (a fitted estimator, a ``KFold``) or of a class
        defined in the notebook: its class and its state (``vars()``, ``__getstate__``), walked as values."""
        cls = type(item)
        if isinstance(item, io.IOBase) or hasattr(cls, "__next__"):
            raise Unseeable(f"it reads {label}, a {type_name(item)} (a file or an iterator), whose state the "
                            "key cannot see")
        if cls.__name__ == "RandomState" and hasattr(item, "get_state"):
            state: Any = list(item.get_state())
        elif cls.__name__ == "Generator" and hasattr(item, "bit_generator"):
            state = item.bit_generator.state
        elif any("__getstate__" in vars(base) for base in cls.__mro__[:-1]):
            state = item.__getstate__()
        elif hasattr(item, "__dict__"):
            state = vars(item)
        else:
            raise Unseeable(f"it reads {label}, a {type_name(item)}, which the key cannot fingerprint")
        owner = {"t": "source", "v": self._source(cls, label)} if _in_notebook(cls) else \
            {"t": "code", "v": f"{cls.__module__}.{cls.__qualname__}", "p": self._package(cls.__module__)}
        return {"t": "object", "c": owner, "v": self.tree(_plain_state(state), label)}


def _plain_state(state: Any) -> Any:
    """A state dict with string keys in a stable order (``vars()`` order is insertion order)."""
    if isinstance(state, dict):
        return {str(k): v for k, v in sorted(state.items(), key=lambda kv: str(kv[0]))}
    return state


def _in_notebook(item: Any) -> bool:
    return getattr(item, "__module__", None) == "__main__"


def _cell_filled(cell: Any) -> bool:
    try:
        _ = cell.cell_contents
    except ValueError:
        return False
    return True


def _global_names(code: types.CodeType) -> list[str]:
    """Every name a function's code (and the code nested in it) looks up outside itself."""
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += _global_names(const)
    return names
