"""What a stage's code reads, imports, calls and defines, found with ``ast`` (nothing is executed).

The key of a stage is made of what its code can see; this module says what that is, from the code
alone: the names it reads before binding them (the variables whose values count), the modules it
imports (whose versions count), the calls that read what no key can see (unseeded randomness, the
clock, files it did not declare), and the calls that make a stage uncacheable because restoring it
could not repeat them (``eval``, a shell command, ``%mlops gate``, another cell magic).

It also says which top-level statements a restore re-runs instead of storing their result: imports,
and ``def``/``class`` statements whose decorators, defaults and bases are plain names (no calls), so a
cached cell still binds its modules and functions, which no safe format could hold.
"""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from .replay import TIMING_MAGICS, replayed_names, timed_body
from .scopes import ScopedReads, binds, dotted, targets

#: ``%mlops`` subcommands whose effect a restore repeats (their records are copied from the source stage).
RECORDING_SUBCOMMANDS = ("params", "metric", "artifact", "fingerprint")
#: Line or cell magics that only time or configure display: their code is analysed like the cell's.
HARMLESS_MAGICS = ("matplotlib", "config")
#: Builtins that read names the code does not spell out: the key cannot see what they read.
_OPAQUE_BUILTINS = ("eval", "exec", "globals", "locals", "vars", "__import__")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RANDOM_SEEDS = {"random.seed", "numpy.random.seed", "numpy.random.default_rng", "numpy.random.RandomState",
                 "numpy.random.Generator", "numpy.random.SeedSequence", "random.Random"}
_CLOCK = {"time.time", "time.time_ns", "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.date.today",
          "datetime.datetime.today", "pandas.Timestamp.now", "pandas.Timestamp.today"}
_READ_MODULE_CALLS = {("json", "load"), ("pickle", "load"), ("joblib", "load"), ("numpy", "load"),
                      ("numpy", "loadtxt"), ("numpy", "genfromtxt"), ("numpy", "fromfile"), ("glob", "glob"),
                      ("glob", "iglob"), ("os", "listdir"), ("os", "scandir"), ("os", "walk"), ("yaml", "safe_load")}
_READ_ATTRS = {"read_text", "read_bytes", "iterdir", "rglob"}
_NETWORK_MODULES = ("requests", "httpx", "urllib", "boto3", "s3fs", "gcsfs", "fsspec", "sqlalchemy")


@dataclass
class CodeFacts:
    """What :func:`analyse` found in a stage's code."""

    #: Names read before the code binds them, in first-read order (the variables that count in the key).
    reads: list[str] = field(default_factory=list)
    #: Top-level modules the code imports.
    imports: list[str] = field(default_factory=list)
    #: Dotted names of the calls the code makes, with local import aliases resolved (``numpy.random.rand``).
    calls: list[str] = field(default_factory=list)
    #: Names bound only by statements a restore re-runs (imports, plain ``def``/``class``).
    replayed: set[str] = field(default_factory=set)
    #: Why the stage cannot be cached (one line), if something makes it so.
    uncacheable: str | None = None
    #: Things the key cannot see, one line each (unseeded randomness, the clock, undeclared reads).
    warnings: list[str] = field(default_factory=list)
    #: The code logs parameters (``%mlops params``): a headless run's requested values count.
    logs_params: bool = False
    #: Paths or globs the code declares as inputs with ``%mlops fingerprint PATH --role input``.
    declared_inputs: list[str] = field(default_factory=list)
    #: The code reads files or the network in a way the analysis recognises (``pd.read_csv``, ``open``).
    reads_outside: list[str] = field(default_factory=list)
    #: The code has no statement (a problem stage's notes): there is nothing to cache.
    empty: bool = False


def analyse(source: str, to_python: Callable[[str], str] | None = None) -> CodeFacts:
    """Facts about ``source`` (Python; ``to_python`` turns notebook syntax, magics and ``!cmd``, into it)."""
    facts = CodeFacts()
    code = to_python(source) if to_python else source
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        facts.uncacheable = f"its code does not parse ({exc.msg}, line {exc.lineno})"
        return facts
    facts.empty = not tree.body
    _Walker(facts, to_python).module(tree)
    inner = timed_body(tree)
    if inner is not None:  # `%%time` on the cell's second line: its body is the code
        try:
            facts.replayed = replayed_names(ast.parse(to_python(inner) if to_python else inner))
        except SyntaxError:
            pass
    else:
        facts.replayed = replayed_names(tree)
    _warn(facts)
    return facts


# -- reads in statement order ----------------------------------------------------------------------------
class _Walker:
    def __init__(self, facts: CodeFacts, to_python: Callable[[str], str] | None) -> None:
        self.facts = facts
        self.to_python = to_python
        self.aliases: dict[str, str] = {}  # local name -> module path it was imported as
        self.seeded = False
        self.unseeded: list[str] = []

    def module(self, tree: ast.Module) -> None:
        self.block(tree.body, set())
        if self.unseeded and not self.seeded:
            self.facts.warnings.append(
                f"it calls {self.unseeded[0]} without a seed: a restore repeats the first run's draws")

    def read(self, name: str, bound: set[str]) -> None:
        if name not in bound and not (name.startswith("__") and name.endswith("__")) and name not in self.facts.reads:
            self.facts.reads.append(name)

    def block(self, body: list[ast.stmt], bound: set[str]) -> None:
        """Statements in order: a name counts as read unless a statement before it surely bound it."""
        for stmt in body:
            self.statement(stmt, bound)

    def statement(self, stmt: ast.stmt, bound: set[str]) -> None:
        if isinstance(stmt, (ast.If, ast.While)):
            self.expression(stmt.test, bound)
            self.block(stmt.body, set(bound))
            self.block(stmt.orelse, set(bound))
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            self.expression(stmt.iter, bound)
            inner = set(bound) | targets(stmt.target)
            self.block(stmt.body, inner)
            self.block(stmt.orelse, set(bound))
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                self.expression(item.context_expr, bound)
                if item.optional_vars is not None:
                    bound |= targets(item.optional_vars)
            self.block(stmt.body, bound)  # a with body runs: what it binds stays bound
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            self.block(stmt.body, set(bound))  # type: ignore[attr-defined]
            for handler in stmt.handlers:  # type: ignore[attr-defined]
                if handler.type is not None:
                    self.expression(handler.type, bound)
                self.block(handler.body, set(bound) | ({handler.name} if handler.name else set()))
            self.block(stmt.orelse, set(bound))  # type: ignore[attr-defined]
            self.block(stmt.finalbody, set(bound))  # type: ignore[attr-defined]
        else:
            if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                self.read(stmt.target.id, bound)  # x += 1 reads x
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                self.imports(stmt)
            self.expression(stmt, bound)
            bound |= binds(stmt)

    def imports(self, stmt: ast.Import | ast.ImportFrom) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                self._module(alias.name)
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    self.aliases.setdefault(alias.name.split(".")[0], alias.name.split(".")[0])
        elif stmt.module and not stmt.level:
            self._module(stmt.module)
            for alias in stmt.names:
                self.aliases[alias.asname or alias.name] = f"{stmt.module}.{alias.name}"

    def _module(self, dotted: str) -> None:
        top = dotted.split(".")[0]
        if top not in self.facts.imports:
            self.facts.imports.append(top)

    def expression(self, node: ast.AST, bound: set[str]) -> None:
        """Every read in ``node`` (names local to its functions, lambdas and comprehensions excluded)."""
        scopes = ScopedReads()
        scopes.visit(node)
        for name in scopes.reads:
            self.read(name, bound)
        for call in scopes.calls:
            self.call(call, bound)

    def call(self, node: ast.Call, bound: set[str]) -> None:
        name = dotted(node.func)
        if name is None:
            return
        head, _, rest = name.partition(".")
        resolved = self.aliases.get(head, head) + (f".{rest}" if rest else "")
        if resolved not in self.facts.calls:
            self.facts.calls.append(resolved)
        if resolved in _RANDOM_SEEDS:
            if node.args or node.keywords:
                self.seeded = True
            else:  # default_rng(), RandomState(): a generator seeded from the OS
                self.unseeded.append(resolved)
        elif resolved.startswith(("random.", "numpy.random.")):
            self.unseeded.append(resolved)
        if _reads_outside(resolved) and not _writes_only(node) and resolved not in self.facts.reads_outside:
            self.facts.reads_outside.append(resolved)
        if name in _OPAQUE_BUILTINS and head not in bound:
            self.refuse(f"it calls {name}(), which reads names the key cannot see")
        if head == "get_ipython":
            self.ipython_call(rest, node, bound)  # a bare get_ipython() is refused there too

    def ipython_call(self, method: str, node: ast.Call, bound: set[str]) -> None:
        args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
        if method == "run_line_magic" and len(args) >= 2 and args[0] is not None and args[1] is not None:
            self.magic(args[0], args[1], bound)
        elif method == "run_cell_magic" and len(args) >= 3 and args[0] in TIMING_MAGICS and args[2] is not None:
            self.magic_args(args[1] or "", bound)
            inner = analyse(args[2], self.to_python)
            if inner.uncacheable:
                self.refuse(inner.uncacheable)
            for name in inner.reads:
                self.read(name, bound)
            self.facts.imports += [m for m in inner.imports if m not in self.facts.imports]
            self.facts.calls += [c for c in inner.calls if c not in self.facts.calls]
            self.facts.warnings += [w for w in inner.warnings if w not in self.facts.warnings]
            self.facts.declared_inputs += inner.declared_inputs
            self.facts.logs_params |= inner.logs_params
        elif method in ("system", "getoutput"):
            self.refuse("it runs a shell command (!…), whose effects and reads the key cannot see")
        elif method in ("run_line_magic", "run_cell_magic") and args and args[0]:
            kind = "%" if method == "run_line_magic" else "%%"
            self.refuse(f"it runs the magic {kind}{args[0]}, which the cache cannot see into")
        elif method not in ("run_line_magic", "run_cell_magic"):
            self.refuse(f"it uses get_ipython(){'.' + method if method else ''}, which the cache cannot see into")

    def magic(self, name: str, line: str, bound: set[str]) -> None:
        if name == "mlops":
            words = line.split()
            sub = words[0] if words else ""
            if sub not in RECORDING_SUBCOMMANDS:
                self.refuse(f"it runs %mlops {sub}, which acts on the store; a restore would not do it again")
                return
            self.facts.logs_params |= sub == "params"
            if sub == "fingerprint" and _declares_input(words[1:]):
                self.facts.declared_inputs.append(words[1])
            self.mlops_args(sub, line, bound)
        elif name not in TIMING_MAGICS + HARMLESS_MAGICS:
            self.refuse(f"it runs the magic %{name}, which the cache cannot see into")
        else:
            self.magic_args(line, bound)

    def mlops_args(self, sub: str, line: str, bound: set[str]) -> None:
        """``%mlops params NAME=VALUE`` binds NAME and reads VALUE; ``metric NAME=VALUE`` reads VALUE only."""
        try:
            words = shlex.split(line)[1:]
        except ValueError:
            words = line.split()[1:]
        for word in words:
            name, eq, value = word.partition("=")
            if eq and sub in ("params", "metric") and _IDENTIFIER.fullmatch(name):
                self.magic_args(value, bound)
                if sub == "params":
                    bound.add(name)
            elif not word.startswith("-"):
                self.magic_args(word, bound)

    def magic_args(self, line: str, bound: set[str]) -> None:
        """A magic's arguments may name any variable (``{var}``, ``$var``, ``NAME=var``): each identifier counts."""
        for name in _IDENTIFIER.findall(line):
            self.read(name, bound)

    def refuse(self, reason: str) -> None:
        if self.facts.uncacheable is None:
            self.facts.uncacheable = reason


def _declares_input(words: list[str]) -> bool:
    """``%mlops fingerprint TARGET --role input``: TARGET is something the stage reads."""
    return bool(words) and ("--role=input" in words or any(
        w == "--role" and i + 1 < len(words) and words[i + 1] == "input" for i, w in enumerate(words)))


# -- warnings ---------------------------------------------------------------------------------------------
def _warn(facts: CodeFacts) -> None:
    calls = facts.calls
    clock = [c for c in calls if c in _CLOCK]
    if clock:
        facts.warnings.append(f"it reads the clock ({clock[0]}): a restore keeps the first run's time")


def _writes_only(node: ast.Call) -> bool:
    """``open(path, "w")``: a file opened to write, not to read."""
    mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and "r" not in mode.value \
        and "+" not in mode.value and any(c in mode.value for c in "wax")


def _reads_outside(call: str) -> bool:
    parts = call.split(".")
    if call in ("open", "urlopen", "urllib.request.urlopen", "io.open", "builtins.open"):
        return True
    if parts[0] in _NETWORK_MODULES:
        return True
    if parts[-1].startswith("read_") or parts[-1] in _READ_ATTRS:
        return True
    return len(parts) >= 2 and (parts[0], parts[-1]) in _READ_MODULE_CALLS
