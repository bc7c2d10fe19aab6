"""The layout's rules that a reader of the code relies on, checked on the code itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mlops_magic"
SQL = re.compile(r"SELECT |INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM")


def _sources() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "labextension" not in p.parts and "demo_notebooks" not in p.parts]


def test_sql_is_written_only_in_the_store() -> None:
    outside = [str(p.relative_to(PACKAGE)) for p in _sources()
               if "store" not in p.relative_to(PACKAGE).parts[:1] and SQL.search(p.read_text())]
    assert outside == []


def test_every_function_level_internal_import_says_why_it_is_lazy() -> None:
    unexplained = []
    for path in _sources():
        lines = path.read_text().split("\n")
        tree = ast.parse("\n".join(lines))
        top = {id(n) for n in tree.body}
        for n in tree.body:
            if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
                top |= {id(x) for x in ast.walk(n)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or id(node) in top:
                continue
            if node.level or (node.module or "").startswith("mlops_magic"):
                here, above = lines[node.lineno - 1], lines[node.lineno - 2] if node.lineno > 1 else ""
                if "# lazy:" not in here and "# lazy:" not in above:
                    unexplained.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert unexplained == [], "a function-level import needs a '# lazy: why' comment, or belongs at the top"


#: Every table, and the one module of ``mlops_magic/store/`` that writes it (INSERT, UPDATE, DELETE).
TABLE_OWNERS = {
    "runs": "store/runs.py",
    "params": "store/params.py",
    "tags": "store/params.py",
    "stage_runs": "store/stages.py",
    "metric_series": "store/metrics.py",
    "metric_points": "store/metrics.py",
    "artifacts": "store/artifacts.py",
    "fingerprints": "store/fingerprints.py",
    "events": "store/events.py",
    "models": "store/registry.py",
    "model_versions": "store/registry.py",
    "aliases": "store/registry.py",
    "alias_history": "store/registry.py",
    "gate_results": "store/registry.py",
    "schedules": "store/scheduling.py",
    "schedule_fires": "store/scheduling.py",
    "reference_profiles": "store/monitoring.py",
    "drift_reports": "store/monitoring.py",
    "served_inputs": "store/monitoring.py",
    "labels": "store/monitoring.py",
    "performance_references": "store/monitoring.py",
    "performance_reports": "store/monitoring.py",
    "notebook_renames": "store/notebooks.py",
    "autologged": "store/autolog.py",
    "cache_entries": "store/cache.py",
    "cache_objects": "store/cache.py",
    "cached_stages": "store/cache.py",
    "meta": "store/schema.py",
}
WRITE = re.compile(r"\b(?:INSERT\s+INTO|(?<!DO )UPDATE|DELETE\s+FROM)\b\s*(\w*)")


def _sql_strings(path: Path) -> list[tuple[str, str, str]]:
    """(text, enclosing function, module) of every string constant of a module that writes a table, f-string
    parts included; the migrations (``schema.MIGRATIONS``, append-only history) are left out."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and "MIGRATIONS" in ast.unparse(node).split("=")[0]:
            skip |= {id(n) for n in ast.walk(node)}
    found = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if id(node) in skip:
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and WRITE.search(node.value):
            found.append((node.value, function, str(path.relative_to(PACKAGE))))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "")
    return found


def test_every_table_is_written_by_its_owner_only(tmp_path: Path) -> None:
    import sqlite3

    from mlops_magic.store import clear_cache, open_store

    open_store(str(tmp_path)).close()
    clear_cache()
    with sqlite3.connect(tmp_path / ".mlops" / "mlops.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables - {"sqlite_sequence"} == set(TABLE_OWNERS), "a new table needs an owner in TABLE_OWNERS"
    strays = []
    for path in _sources():
        for text, function, module in _sql_strings(path):
            for match in WRITE.finditer(text):
                table = match.group(1)
                if not table or (table.upper() != "SET" and TABLE_OWNERS.get(table) != module):
                    strays.append(f"{module}:{function}: {text.strip()[:70]!r}")
    assert strays == [], "each table is written by its owner module only (a write whose table is a variable too)"


def test_a_run_changes_status_in_one_function() -> None:
    setters = {(module, function) for path in _sources() for text, function, module in _sql_strings(path)
               if re.search(r"UPDATE\s+runs\s+SET\s(?:(?!WHERE).)*\bstatus\s*=", text, re.DOTALL)}
    assert setters == {("store/runs.py", "transition")}


def test_store_modules_have_one_job_each() -> None:
    """No module of the store outgrows ~350 lines; the migrations are an append-only history."""
    long = [f"{p.name}: {n}" for p in (PACKAGE / "store").glob("*.py")
            if p.name != "schema.py" and (n := len(p.read_text().splitlines())) > 350]
    assert long == []


def test_statuses_are_enum_members_not_quoted_words() -> None:
    """A run or stage status is ``RunStatus.X`` / ``StageStatus.X`` everywhere but ``entities.py`` and the
    migrations, so a typo is a type error; SQL takes the member as a parameter. A word that is some other
    library's status on the same line is marked ``# not a run status``."""
    from mlops_magic.entities import RunStatus, StageStatus

    words = {s.value for s in RunStatus} | {s.value for s in StageStatus}
    in_sql = re.compile("'(" + "|".join(re.escape(w) for w in sorted(words)) + ")'")
    found = []
    for path in _sources():
        module = str(path.relative_to(PACKAGE))
        if module in ("entities.py", "store/schema.py"):
            continue
        lines = path.read_text().split("\n")
        for node in ast.walk(ast.parse("\n".join(lines))):
            quoted = isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                node.value in words or in_sql.search(node.value))
            if quoted and "# not a run status" not in lines[node.lineno - 1]:
                found.append(f"{module}:{node.lineno}: {node.value[:60]!r}")
    assert found == [], "use RunStatus / StageStatus members (SQL: as parameters)"
