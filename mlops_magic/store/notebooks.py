"""The ``notebook_renames`` table: which notebook name became which, and when.

Runs name their notebook by path (relative to the project). When Lab renames or moves a notebook, the
runs and schedules are moved to the new name in the same transaction (see ``scheduling.renames``); this
log is what lets a kernel that was started before the rename, whose ``JPY_SESSION_NAME`` still names
the old file, find the name its notebook has now.
"""

from __future__ import annotations

from .db import Reader, Transaction

#: Follow at most this many renames in a row (a rename back and forth cannot loop forever).
MAX_HOPS = 32


def record_rename(tx: Transaction, old: str, new: str, when: float) -> None:
    tx.execute("INSERT INTO notebook_renames (old, new, renamed) VALUES (?,?,?)", (old, new, when))


def current_name(q: Reader, name: str, *, since: float) -> str:
    """What ``name`` is called now, following renames made after ``since`` (a kernel's start time).

    A rename of a folder moves every notebook under it, so ``a/x.ipynb`` follows ``a`` → ``b``. Renames
    older than ``since`` are not followed: a new notebook created under an old name is itself.
    """
    renames = q.query("SELECT old, new, renamed FROM notebook_renames WHERE renamed > ? ORDER BY renamed, id",
                      (since,))
    hops = 0
    for old, new, renamed in renames:  # in time order, so a chain a → b → c ends at c
        if float(renamed) > since and (name == old or name.startswith(old + "/")):
            name, since, hops = new + name[len(old):], float(renamed), hops + 1
            if hops >= MAX_HOPS:
                break
    return name
