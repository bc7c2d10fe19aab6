"""The key of a stage execution: everything its result depends on that the kernel can see.

The key digests, in one canonical JSON document: the code (the cell body's digest); the value of every
variable the code reads that existed before it ran (parameters are such variables; so are the frames an
upstream stage made); for the notebook's own functions and classes it reads, their source and, in turn,
the globals they read; the fingerprints of declared input files (``--inputs GLOB``, and
``%mlops fingerprint PATH --role input`` lines); the versions of the packages its code imports or whose
modules, functions and classes it reads; Python's version; a headless run's requested parameters when
the code logs parameters; and the declared outputs. ``docs/cache.md`` lists what it cannot see.

Upstream stages enter by value: a frame the data stage made counts by its fingerprint, so a data stage
whose code changed but whose frame did not leaves the stages after it cached, and an edit made to that
frame between the two stages is seen. Each read variable's producer key (when a cached stage of this
kernel made it) is kept in :attr:`StageKey.upstream` to explain the key, not to make it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MlopsError
from ..tracking.fingerprint import fingerprint_path
from ..tracking.stages import code_digest
from .analysis import CodeFacts, analyse
from .codecs import canonical
from .fingerprints import Digester, Unseeable, package_version, python_version, sha

KEY_VERSION = "mlops-stage-key/1"
#: Names IPython puts in every namespace that a stage may call without reading anything of the user's.
_SHELL_NAMES = ("get_ipython", "exit", "quit")
_HISTORY = re.compile(r"^(In|Out|_+|_i+|_i?\d+|_[iod]h)$")
_EXPAND = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class StageKey:
    """A stage's key, or why it has none."""

    digest: str | None
    reason: str | None = None  # why the stage is not cacheable (one line)
    warnings: list[str] = field(default_factory=list)
    facts: CodeFacts = field(default_factory=CodeFacts)
    #: name -> digest of each variable read, before the stage ran (a stage that edits one in place stores it)
    reads: dict[str, str] = field(default_factory=dict)
    upstream: dict[str, str] = field(default_factory=dict)  # variable -> key of the cached stage that made it
    parts: dict[str, Any] = field(default_factory=dict)


def stage_key(code: str, namespace: Mapping[str, Any], *, inputs: Sequence[str] = (),
              outputs: Sequence[str] = (), requested_params: Mapping[str, Any] | None = None,
              to_python: Callable[[str], str] | None = None, cwd: str | Path | None = None,
              producers: Mapping[str, tuple[int, str]] | None = None) -> StageKey:
    """The key of running ``code`` now in ``namespace``.

    ``producers`` maps variable names to (object id, key) of the cached stages of this kernel that made
    them, for :attr:`StageKey.upstream`. Never raises for the user's code: a stage the key cannot cover
    gets ``digest=None`` and a one-line :attr:`StageKey.reason`.
    """
    facts = analyse(code, to_python)
    result = StageKey(digest=None, facts=facts, warnings=list(facts.warnings))
    if facts.uncacheable:
        result.reason = facts.uncacheable
        return result
    digester = Digester(dict(namespace))
    try:
        variables = _variables(facts.reads, namespace, digester, result)
        files = _inputs([*inputs, *(_expand(p, namespace) for p in facts.declared_inputs)], namespace, cwd)
    except Unseeable as exc:
        result.reason = str(exc)
        return result
    for module in facts.imports:
        digester.packages.setdefault(module, package_version(module))
    if facts.reads_outside and not files:
        result.warnings.append(f"it reads files or the network ({facts.reads_outside[0]}) that the key cannot "
                               "see; declare files with --inputs GLOB")
    for name, (object_id, key) in (producers or {}).items():
        if name in variables and id(namespace.get(name)) == object_id:
            result.upstream[name] = key
    result.parts = {
        "version": KEY_VERSION, "python": python_version(), "code": code_digest(code), "variables": variables,
        "inputs": files, "packages": dict(sorted(digester.packages.items())), "outputs": sorted(outputs),
        "params": dict(sorted((requested_params or {}).items())) if facts.logs_params else None,
    }
    try:
        result.digest = sha(canonical(result.parts))
    except (TypeError, ValueError) as exc:  # requested parameters that are not JSON (never from the runner)
        result.reason = f"its parameters cannot be part of a key ({exc})"
    return result


def _variables(names: list[str], namespace: Mapping[str, Any], digester: Digester,
               result: StageKey) -> dict[str, str]:
    """Digest every read name that exists, and the globals the notebook functions among them read."""
    variables: dict[str, str] = {}
    queue = list(names)
    while queue:
        name = queue.pop(0)
        if name in variables or name not in namespace or name in _SHELL_NAMES:
            continue
        if _HISTORY.match(name):
            raise Unseeable(f"it reads {name}, IPython's input/output history, which the key cannot see")
        variables[name] = digester.digest(name, namespace[name])
        result.reads[name] = variables[name]
        queue += digester.pending
        digester.pending = []
    return dict(sorted(variables.items()))


def _expand(text: str, namespace: Mapping[str, Any]) -> str:
    """``{name}`` and ``$name`` in a magic's argument, as IPython expands them (plain names only)."""
    return _EXPAND.sub(lambda m: str(namespace.get(m.group(1) or m.group(2), m.group(0))), text)


def _inputs(patterns: Sequence[str], namespace: Mapping[str, Any], cwd: str | Path | None) -> dict[str, str]:
    """Fingerprints of declared input files and globs (a variable named as input is a read, not a file)."""
    out: dict[str, str] = {}
    for pattern in patterns:
        if pattern in namespace:
            continue
        if "{" in pattern or "$" in pattern:
            raise Unseeable(f"its input {pattern!r} names an expression the key cannot expand")
        try:
            out[pattern] = fingerprint_path(pattern, base=cwd, count_rows=False).digest
        except MlopsError as exc:
            raise Unseeable(f"its input {pattern}: {exc}") from None
    return out
