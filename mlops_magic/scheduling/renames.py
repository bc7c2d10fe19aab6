"""A notebook renamed or moved: its runs, its schedules and its kernel follow it.

Lab renames a notebook with one click ("Rename and Save"); without this, the renamed notebook showed
"No runs yet", its schedules pointed at a missing file and the kernel went on recording under the old
name. This lives in ``scheduling`` because it is the lowest layer that knows both runs and schedules.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..store import Store, events, notebooks
from ..store import scheduling as schedule_table
from ..store.db import Transaction
from ..store.runs import rename_notebook_runs
from ..tracking.queries import notebook_key


def rename_notebook(store: Store, old: Path, new: Path) -> dict[str, Any]:
    """Move everything recorded for ``old`` (a notebook or a folder of them) to ``new``, atomically.

    Returns how many runs and schedules moved. A name nothing was recorded under moves nothing, but the
    rename is still logged, so a kernel started on ``old`` before now records its next run as ``new``.
    """
    old_key, new_key = notebook_key(store, old), notebook_key(store, new)
    for side, key in (("old", old_key), ("new", new_key)):
        if key in ("", "."):  # every run and schedule is "inside" the project folder: it cannot move
            raise InvalidInputError(f"the {side} name is the project folder itself ({store.project_dir}); "
                                    "name a notebook or a folder inside it")
    if old_key == new_key:
        return {"runs": 0, "schedules": 0}

    def write(tx: Transaction) -> dict[str, Any]:
        runs = rename_notebook_runs(tx, old_key, new_key)
        moved = 0
        for row in schedule_table.schedule_rows(tx):
            base, name = Path(row["base_dir"]), str(row["notebook"])
            target = Path(base / name).absolute()
            if target != old and not target.is_relative_to(old):
                continue
            place = new / target.relative_to(old) if target != old else new
            if place.is_relative_to(base):
                schedule_table.set_schedule_notebook(tx, row["id"], str(base), place.relative_to(base).as_posix())
            else:
                schedule_table.set_schedule_notebook(tx, row["id"], str(place.parent), place.name)
            moved += 1
        notebooks.record_rename(tx, old_key, new_key, time.time())
        events.insert(tx, "notebook-renamed", subject=new_key,
                      payload={"from": old_key, "to": new_key, "runs": runs, "schedules": moved})
        return {"runs": runs, "schedules": moved}

    result: dict[str, Any] = store.db.run_in_transaction(write)
    return result
