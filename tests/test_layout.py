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
