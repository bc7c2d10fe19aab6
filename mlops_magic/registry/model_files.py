"""Model files: skops by default so that loading never runs arbitrary code; pickle/joblib on request.

skops refuses to build any type it does not trust. The types a model needs
beyond skops' defaults (e.g. ``sklearn.tree._tree.Tree``) are computed when the
model is saved and kept in the store, *not* in the file; at load time a file
that asks for any type outside that allowlist is refused, so a swapped or
tampered file cannot widen what gets built. Pickle and joblib can run any code
when loaded: saving warns, and loading needs ``trust=True``.
"""

from __future__ import annotations

import io
import platform
import warnings
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError, MlopsError

FORMATS = ("skops", "pickle", "joblib")
UNSAFE_FORMATS = ("pickle", "joblib")


class UnsafeFormatWarning(UserWarning):
    """A model was saved in a format whose loading can execute arbitrary code."""


class TrustedTypesWarning(UserWarning):
    """A skops model holds classes of your own (or of a third-party package): loading it will build
    them, so their ``__setstate__`` / ``__init__`` code runs when the model is loaded."""


#: Packages whose types in a skops file are the estimator's own machinery, not code of the user's.
_LIBRARY_MODULES = ("sklearn", "numpy", "scipy", "skops", "builtins", "collections", "functools", "operator",
                    "datetime", "decimal", "fractions", "re")


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside mlops_magic, so Python's
    once-per-location filter counts the user's call sites, not this line."""
    import os
    import sys

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def custom_types(trusted: list[str]) -> list[str]:
    """The trusted types that come from outside the libraries skops and scikit-learn are made of."""
    return [t for t in trusted if t.split(".", 1)[0] not in _LIBRARY_MODULES]


@dataclass(frozen=True)
class SavedModel:
    data: bytes
    format: str
    flavour: str
    model_type: str
    trusted_types: list[str]
    environment: dict[str, str]


def model_type(model: Any) -> str:
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"


def check_model(model: Any, label: str = "the object") -> None:
    """Anything with a callable ``predict`` is a model; say clearly what was given otherwise."""
    if model is None or not callable(getattr(model, "predict", None)):
        kind = type(model).__name__
        raise InvalidInputError(f"{label} is a {kind}, not a model: it has no predict() method; "
                                "register a fitted estimator (e.g. a scikit-learn model)")


def flavour_of(model: Any) -> str:
    """'sklearn' for scikit-learn estimators (and pipelines); 'python' for any other object with predict."""
    if type(model).__module__.split(".")[0] == "sklearn":
        return "sklearn"
    try:
        from sklearn.base import BaseEstimator

        if isinstance(model, BaseEstimator):
            return "sklearn"
    except ImportError:  # pragma: no cover - sklearn is a dependency
        pass
    return "python"


def _environment() -> dict[str, str]:
    env = {"python": platform.python_version()}
    try:
        import sklearn

        env["scikit-learn"] = sklearn.__version__
    except ImportError:  # pragma: no cover
        pass
    return env


def dump(model: Any, fmt: str = "skops", label: str = "the model") -> SavedModel:
    """Serialise ``model`` to bytes in ``fmt``; an unsafe format warns visibly."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown model format {fmt!r}; use one of {', '.join(FORMATS)}")
    check_model(model, label)
    trusted: list[str] = []
    if fmt == "skops":
        import skops.io as sio

        try:
            data = sio.dumps(model)
        except Exception as exc:
            raise InvalidInputError(
                f"skops cannot save {label} ({type(exc).__name__}: {exc}); if you trust everyone who will "
                "load it, register it with --format joblib") from None
        trusted = sorted(sio.get_untrusted_types(data=data))
        warn_custom_types(trusted, label)
    else:
        warnings.warn(f"saving {label} as {fmt}: loading it can run arbitrary code, so loading will need "
                      "trust=True (--trust). Prefer the default format, skops.", UnsafeFormatWarning,
                      stacklevel=_user_stacklevel())
        buffer = io.BytesIO()
        try:
            if fmt == "pickle":
                import pickle

                pickle.dump(model, buffer, protocol=pickle.HIGHEST_PROTOCOL)
            else:
                import joblib

                joblib.dump(model, buffer)
        except Exception as exc:
            raise InvalidInputError(f"cannot save {label} as {fmt}: {type(exc).__name__}: {exc}") from None
        data = buffer.getvalue()
    return SavedModel(data, fmt, flavour_of(model), model_type(model), trusted, _environment())


def warn_custom_types(trusted: list[str], label: str) -> None:
    """Warn that loading will build classes from outside the libraries skops and scikit-learn are made of."""
    custom = custom_types(trusted)
    if custom:
        shown = ", ".join(custom[:8]) + (f" and {len(custom) - 8} more" if len(custom) > 8 else "")
        warnings.warn(f"{label} holds types that will be trusted when it is loaded: {shown}; their code "
                      "(e.g. __setstate__) runs at load, so register only classes you wrote or trust",
                      TrustedTypesWarning, stacklevel=_user_stacklevel())


@dataclass(frozen=True)
class StoredModel:
    """A model file already in the store (autolog saved it at the end of the stage that fitted it)."""

    digest: str
    size: int
    format: str
    flavour: str
    model_type: str
    trusted_types: list[str]
    environment: dict[str, str]


class _Kept:
    """Files saved for live model objects, by identity, valid while the object is unchanged since.

    "Unchanged" is checked by the identity of every attribute (recursively through nested estimators
    and steps): fitting again, ``set_params`` or assigning an attribute replaces an object. The values
    are held, so their addresses cannot be reused by new objects and make a changed model look the same;
    they are released when the model is freed or found changed.
    """

    def __init__(self) -> None:
        self._items: dict[int, tuple[Any, list[Any], StoredModel]] = {}

    def keep(self, model: Any, stored: StoredModel) -> None:
        import weakref

        key = id(model)
        try:
            ref = weakref.ref(model, lambda _: self._items.pop(key, None))
        except TypeError:  # not weak-referenceable: nothing to key it by safely
            return
        self._items[key] = (ref, _state(model), stored)

    def get(self, model: Any, fmt: str) -> StoredModel | None:
        entry = self._items.get(id(model))
        if entry is None:
            return None
        ref, state, stored = entry
        if ref() is not model or stored.format != fmt:
            return None
        now = _state(model)
        if len(now) != len(state) or any(a is not b for a, b in zip(now, state)):
            self._items.pop(id(model), None)  # changed since it was saved: release what we held
            return None
        return stored


def _state(obj: Any, depth: int = 0) -> list[Any]:
    """The objects a model's state is made of, in a stable order (keys, values, nested estimators')."""
    out: list[Any] = []
    for key, value in sorted(vars(obj).items()) if hasattr(obj, "__dict__") else ():
        out += [key, value]
        if depth < 6:
            nested = value if isinstance(value, (list, tuple)) else [value]
            for item in nested[:1000]:
                for part in item if isinstance(item, tuple) else (item,):
                    if hasattr(part, "get_params") and not isinstance(part, type):
                        out += _state(part, depth + 1)
    return out


_kept = _Kept()


def keep(model: Any, stored: StoredModel) -> None:
    """Remember that ``stored`` is ``model`` as it is now: registering it reuses the file."""
    _kept.keep(model, stored)


def kept(model: Any, fmt: str) -> StoredModel | None:
    """The file saved for ``model`` in ``fmt`` if ``model`` has not changed since, else None."""
    return _kept.get(model, fmt)


def load(data: bytes, fmt: str, trusted_types: list[str], *, trust: bool = False,
         label: str = "the model") -> Any:
    """Rebuild a model from bytes saved by :func:`dump`; refuses what it was not told to trust."""
    if fmt in UNSAFE_FORMATS and not trust:
        raise MlopsError(f"{label} is a {fmt} file and loading it can run arbitrary code; load it only if "
                         "you trust where it came from: load_model(..., trust=True) or --trust")
    try:
        if fmt == "skops":
            return load_skops(data, trusted_types, label)
        if fmt == "pickle":
            import pickle

            return pickle.loads(data)
        if fmt == "joblib":
            import joblib

            return joblib.load(io.BytesIO(data))
    except MlopsError:
        raise
    except Exception as exc:
        raise MlopsError(f"the model file of {label} is corrupt or unreadable ({type(exc).__name__}: "
                         f"{str(exc)[:200]}); register the model again") from None
    raise InvalidInputError(f"unknown model format {fmt!r} for {label}")


def load_skops(data: bytes, trusted_types: list[str], label: str) -> Any:
    """Build what :func:`skops_dumps` saved, trusting only ``trusted_types`` beyond skops' defaults."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        # skops itself refuses any type outside ``trusted`` (beyond its safe defaults) before building it
        return sio.loads(data, trusted=list(trusted_types) or None)
    except UntrustedTypesFoundException as exc:
        raise MlopsError(f"the model file of {label} asks for types it was not saved with ({exc}); "
                         "refusing to load it. Register the model again.") from None


def skops_dumps(obj: Any) -> tuple[bytes, list[str]]:
    """``obj`` as skops bytes, and the types beyond skops' safe defaults that loading it must trust (sorted).

    The stage cache keeps that list in the store (its manifest is checked by digest), never in the file.
    """
    import skops.io as sio

    data = sio.dumps(obj)
    return data, sorted(sio.get_untrusted_types(data=data))
