"""The package's public names: functions stay functions, subpackages stay importable, imports stay light."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
from collections.abc import Callable
from pathlib import Path

from _support import PYTHON, python_env

import mlops_magic


def test_every_public_name_resolves(store_dir) -> None:
    for name in mlops_magic.__all__:
        assert getattr(mlops_magic, name) is not None, name


def test_store_subpackage_and_get_store_do_not_shadow_each_other(store_dir) -> None:
    sub = importlib.import_module("mlops_magic.store")
    assert mlops_magic.store is sub and callable(sub.open_store)
    assert type(mlops_magic.get_store()).__name__ == "Store"


def test_importing_the_package_imports_nothing_heavy() -> None:
    code = ("import sys, mlops_magic; heavy = ['pandas', 'numpy', 'sklearn', 'papermill', 'ipywidgets', "
            "'scipy', 'matplotlib', 'IPython']; print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=python_env(), timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def _in_fresh_python(code: str) -> str:
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=python_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_dir_lists_every_public_name_before_any_is_used() -> None:
    """Issue 20: the lazy names (register_model, promote, …) were missing from dir()."""
    missing = _in_fresh_python("import mlops_magic as m; print(sorted(set(m.__all__) - set(dir(m))))")
    assert missing == "[]"


def test_tab_completion_offers_the_lazy_names() -> None:
    """A real IPython shell completing ``mlops.`` and ``mlops.regi`` (the call Jupyter's complete request
    makes). What completing imports is not checked: IPython has jedi infer the type of as many offered
    names as a time budget allows, and inferring one imports its module."""
    code = ("from IPython.core.interactiveshell import InteractiveShell\n"
            "from IPython.core.completer import provisionalcompleter\n"
            "ip = InteractiveShell.instance()\n"
            "ip.run_cell('import mlops_magic as mlops')\n"
            "with provisionalcompleter():\n"
            "    offered = {c.text for c in ip.Completer.completions('mlops.', 6)}\n"
            "    public = {n for n in ip.user_ns['mlops'].__all__ if not n.startswith('_')}\n"
            "    print(sorted(public - offered))\n"
            "    for text, name in (('mlops.regi', 'register_model'), ('mlops.prom', 'promote'),\n"
            "                       ('mlops.model_c', 'model_card'), ('mlops.drift_h', 'drift_history')):\n"
            "        print(name in {c.text for c in ip.Completer.completions(text, len(text))})\n")
    assert _in_fresh_python(code).splitlines() == ["[]", "True", "True", "True", "True"]


def test_the_package_only_re_exports() -> None:
    """Every public function is defined in a domain module: ``__init__`` holds no logic, and the lazy
    table and the type checker's imports name the same modules."""
    tree = ast.parse(Path(mlops_magic.__file__).read_text())
    defined = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert defined == ["__getattr__", "__dir__", "_jupyter_labextension_paths", "_jupyter_server_extension_points"]
    checked: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.level == 1, ast.unparse(imp)
                checked.update({a.asname or a.name: str(imp.module) for a in imp.names})
    assert checked == mlops_magic._LAZY
    for name in mlops_magic.__all__:
        value = getattr(mlops_magic, name)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert value.__module__ != "mlops_magic", name


#: The parameters each public function had before issue 20 (names, kinds, defaults): callers keep working.
#: A function may gain keyword-only parameters with defaults; it may not lose or reorder these.
def _pinned_signatures() -> dict[str, Callable[..., object]]:
    def active_run(): ...
    def alias_history(name, alias=None): ...
    def diff(run_a, run_b=None): ...
    def drift(reference, current, columns=None, tests=None, *, threshold=None, model=None, record=True,
              **options): ...
    def drift_history(model): ...
    def end_run(status="succeeded"): ...
    def fingerprint(data): ...
    def gate(expression, soft=False): ...
    def get_run(ref): ...
    def get_store(): ...
    def init(path=None, store_url=None): ...
    def lineage(ref): ...
    def list_models(): ...
    def load_model(ref, *, trust=False): ...
    def log_artifact(path, name=None): ...
    def log_fingerprint(data, name=None, role="input"): ...
    def log_labels(model, ids, labels, *, key=None, times=None): ...
    def log_metric(key, value, step=None): ...
    def log_metrics(metrics, step=None): ...
    def log_param(key, value): ...
    def log_params(params): ...
    def log_predictions(model, *, inputs=None, predictions=None, probabilities=None, ids=None, times=None): ...
    def model_card(ref): ...
    def model_versions(name): ...
    def performance(ref, *, window=None, current=None, labels=None, metric=None, threshold=None, max_drop=None,
                    min_rows=None, record=True): ...
    def profile(data): ...
    def promote(name, to="production", *, version=None, if_better=None, higher_is_better=None, reason=None): ...
    def quality(reference, current, columns=None): ...
    def register_model(model, name, *, input=None, format="skops", description=None, labels=None): ...
    def reproduce(ref, *, tolerance=1e-06, allow_changed_inputs=False): ...
    def rollback(name, alias="production", *, reason=None): ...
    def run_notebook(notebook, params=None, **options): ...
    def run_notebooks(requests, *, store=None, parallel=1, on_result=None, warn=None, executor=None): ...
    def runs(notebook=None, status=None, trigger=None, limit=None): ...
    def served_inputs(model, limit=1000, *, with_meta=False): ...
    def set_tags(tags): ...
    def show(ref=None): ...
    def stage(kind, name=None, *, notes=None): ...
    def start_run(name=None, *, notebook=None, params=None, trigger=None, tags=None): ...
    def status(ref=None, *, static=False): ...
    return {name: f for name, f in locals().items() if callable(f)}


def test_every_public_function_keeps_its_signature() -> None:
    pinned = _pinned_signatures()
    functions = {n for n in mlops_magic.__all__ if inspect.isfunction(getattr(mlops_magic, n))}
    assert functions == set(pinned)
    for name, old in pinned.items():
        was = list(inspect.signature(old).parameters.values())
        now = list(inspect.signature(getattr(mlops_magic, name)).parameters.values())
        assert [(p.name, p.kind) for p in now[:len(was)]] == [(p.name, p.kind) for p in was], name
        assert [p.default for p in now[:len(was)]] == [p.default for p in was], name
        added = now[len(was):]
        assert all(p.kind is p.KEYWORD_ONLY and p.default is not p.empty for p in added), (name, added)


#: Functions whose result is genuinely anything: a loaded model, a parameter's value in force.
ANY_BY_NATURE = {"load_model", "log_param"}


def test_public_functions_declare_their_real_return_types() -> None:
    for name in sorted(set(mlops_magic.__all__) - ANY_BY_NATURE):
        value = getattr(mlops_magic, name)
        if inspect.isfunction(value):
            returns = inspect.signature(value).return_annotation
            assert returns not in ("Any", inspect.Signature.empty), name
