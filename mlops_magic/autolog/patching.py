"""Wrapping a library's functions for exactly as long as a stage runs, without breaking anyone else's wrapper.

A patch replaces ``owner.__dict__[name]`` (a class's own method, a module's function) with a wrapper
around *what was there*, so a wrapper another library installed before us (MLflow's autolog) stays in
the chain and still runs. Removing a patch puts back what was there, but only when our wrapper is still
the one installed: if someone wrapped on top of us meanwhile, removing ours would drop theirs, so ours
is switched off instead and calls straight through from then on.

A wrapper records only when a stage is open *on the thread that opened it* and no recorded call is
already running (:func:`recording`): the same wrapper called by another thread, by the library itself
inside a recorded ``fit``, or after the stage, just calls through. Nothing here imports the libraries it
patches.
"""

from __future__ import annotations

import functools
import importlib.abc
import sys
import threading
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

#: ``owner.__dict__`` had no entry of that name (the attribute was inherited).
_MISSING: Any = object()


class Switch:
    """On while the stage that installed a wrapper runs; a wrapper left in someone else's chain is off."""

    __slots__ = ("on",)

    def __init__(self) -> None:
        self.on = True


class Scope:
    """The stage being recorded: which thread, whether a recorded call is already running on it, and the
    recorder the handlers write to (wrappers outlive a stage, so they find it here, not in a closure)."""

    __slots__ = ("depth", "rec", "thread")

    def __init__(self, rec: Any = None) -> None:
        self.thread = threading.get_ident()
        self.depth = 0
        self.rec = rec


#: The scope of the stage being recorded now (one stage at a time per process records).
_current: Scope | None = None


def open_scope(rec: Any = None) -> Scope:
    global _current
    _current = Scope(rec)
    return _current


def close_scope(scope: Scope) -> None:
    global _current
    if _current is scope:
        _current = None


def scope_open() -> bool:
    """Whether a stage is being recorded now (a stage inside a stage leaves it to the outer one)."""
    return _current is not None


def recording(switch: Switch) -> Scope | None:
    """The scope to record into, if this call is to be recorded; else None (call through)."""
    scope = _current
    if scope is None or not switch.on or scope.depth or scope.thread != threading.get_ident():
        return None
    return scope


def call_through(scope: Scope, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with recording suspended (a fit inside a recorded fit, a score we compute ourselves)."""
    scope.depth += 1
    try:
        return fn(*args, **kwargs)
    finally:
        scope.depth -= 1


Handler = Callable[[Scope, Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any]


@dataclass
class _Patch:
    owner: Any
    name: str
    original: Any
    wrapper: Any
    switch: Switch
    handler: Handler


def make_wrapper(inner: Callable[..., Any], handler: Handler, switch: Switch) -> Callable[..., Any]:
    """A function that calls ``handler(scope, inner, args, kwargs)`` when recording, else ``inner``."""

    @functools.wraps(inner)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        scope = recording(switch)
        if scope is None:
            return inner(*args, **kwargs)
        return handler(scope, inner, args, kwargs)

    wrapper.__mlops_autolog__ = switch  # type: ignore[attr-defined]
    return wrapper


#: Wrappers made in earlier stages, reused while the attribute they wrap is unchanged: making one
#: (``functools.wraps``) costs ~30 µs, and a stage re-installs a few hundred.
_made: dict[tuple[int, str], tuple[Any, Any, Any, Switch, Handler]] = {}


def _wrapper_for(owner: Any, name: str, original: Any, handler: Handler) -> tuple[Any, Switch]:
    key = (id(owner), name)
    made = _made.get(key)
    if made is not None and made[0] is owner and made[1] is original and made[4] is handler:
        made[3].on = True
        return made[2], made[3]
    switch = Switch()
    wrapper = make_wrapper(original, handler, switch)
    _made[key] = (owner, original, wrapper, switch, handler)
    return wrapper, switch


@dataclass
class Patches:
    """The patches of one stage; :meth:`restore` removes each of ours and leaves everyone else's."""

    applied: list[_Patch] = field(default_factory=list)
    _keys: set[tuple[int, str]] = field(default_factory=set)

    def wrap(self, owner: Any, name: str, handler: Handler) -> Callable[..., Any] | None:
        """Wrap ``owner``'s own ``name`` (a plain function); returns the wrapper, or None if not wrappable."""
        key = (id(owner), name)
        if key in self._keys:
            return None
        original = vars(owner).get(name, _MISSING)
        if not isinstance(original, types.FunctionType):
            return None  # inherited, a descriptor (available_if, property), a builtin: left alone
        wrapper, switch = _wrapper_for(owner, name, original, handler)
        setattr(owner, name, wrapper)
        self.applied.append(_Patch(owner, name, original, wrapper, switch, handler))
        self._keys.add(key)
        return wrapper

    def wrap_all(self, owners: Iterable[Any], names: Iterable[str], handler: Handler) -> int:
        names = tuple(names)
        return sum(self.wrap(owner, name, handler) is not None for owner in owners for name in names)

    def rebind(self, namespace: dict[str, Any]) -> list[tuple[str, Any, Any]]:
        """Point the names of ``namespace`` bound to a function we wrapped in a module at a wrapper.

        ``from sklearn.metrics import accuracy_score`` in a setup cell binds the function itself, which
        patching the module does not reach. A name bound to a function further down the chain (imported
        before another library wrapped it) gets a wrapper of its own, so what it calls stays the same.
        Returns ``(name, original, wrapper)`` for :meth:`unbind`.
        """
        chain: dict[int, tuple[Any, _Patch]] = {}
        for patch in self.applied:
            if isinstance(patch.owner, types.ModuleType):
                fn: Any = patch.original
                while fn is not None and id(fn) not in chain:
                    chain[id(fn)] = (fn, patch)
                    fn = getattr(fn, "__wrapped__", None)
        rebound = []
        for name, value in list(namespace.items()):
            hit = chain.get(id(value))
            if hit is None or hit[0] is not value or name.startswith("__"):
                continue
            patch = hit[1]
            wrapper = patch.wrapper if value is patch.original else make_wrapper(value, patch.handler, patch.switch)
            namespace[name] = wrapper
            rebound.append((name, value, wrapper))
        return rebound

    @staticmethod
    def unbind(namespace: dict[str, Any], rebound: list[tuple[str, Any, Any]]) -> None:
        """Put back the names :meth:`rebind` changed, unless the user rebound them since."""
        for name, original, wrapper in rebound:
            if namespace.get(name) is wrapper:
                namespace[name] = original

    def restore(self) -> int:
        """Remove our wrappers, newest first; returns how many had to be switched off instead."""
        buried = 0
        for patch in reversed(self.applied):
            patch.switch.on = False
            if vars(patch.owner).get(patch.name, _MISSING) is patch.wrapper:
                setattr(patch.owner, patch.name, patch.original)
            else:  # someone wrapped on top of us: removing ours would drop theirs; ours now calls through
                buried += 1
                _made.pop((id(patch.owner), patch.name), None)
        self.applied.clear()
        self._keys.clear()
        return buried


class ImportWatcher(importlib.abc.MetaPathFinder):
    """Calls ``on_loaded(top_level_name)`` after a watched library's module finishes loading.

    Installed first in ``sys.meta_path`` while a stage runs, so ``from sklearn.ensemble import X`` inside
    the stage gets ``X.fit`` patched before the cell calls it. Only the outermost watched import is
    followed (its loader wrapped for the duration of that one import, then put back on the module), so
    a package importing fifty submodules costs one callback.
    """

    def __init__(self, names: Iterable[str], on_loaded: Callable[[str], None]) -> None:
        self.names = frozenset(names)
        self.on_loaded = on_loaded
        self._busy = threading.local()

    def install(self) -> None:
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def remove(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        top = fullname.partition(".")[0]
        if top not in self.names or getattr(self._busy, "on", False):
            return None
        self._busy.on = True  # the import below (and every nested one) goes to the other finders
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self._busy.on = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _FollowedLoader(spec.loader, self, top)
        return spec


class _FollowedLoader(importlib.abc.Loader):
    """The real loader, followed for one import: nested imports run while ``_busy`` keeps us out."""

    def __init__(self, inner: Any, watcher: ImportWatcher, top: str) -> None:
        self.inner = inner
        self.watcher = watcher
        self.top = top

    def create_module(self, spec: Any) -> Any:
        return self.inner.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        busy = self.watcher._busy
        busy.on = True
        try:
            self.inner.exec_module(module)
        finally:
            busy.on = False
            spec = getattr(module, "__spec__", None)
            if spec is not None and spec.loader is self:
                spec.loader = self.inner
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = self.inner
        self.watcher.on_loaded(self.top)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self.inner, name)
