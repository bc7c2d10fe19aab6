"""The stage cache's tables and files on both backends: entries saved and read back, one entry per key,
restores recorded, least-recently-used eviction, clearing (SQLite, and a real PostgreSQL server)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from postgres_support import postgres_cluster, postgres_url  # noqa: F401 - fixtures

from mlops_magic.cache.entries import clear, list_entries, load_entry, save_entry, touch
from mlops_magic.store import cache as tables
from mlops_magic.store import open_store
from mlops_magic.tracking.fingerprint import fingerprint


@pytest.fixture
def store(store_url: str):
    """An empty store of each backend (``store_url`` is conftest's: SQLite, and a real PostgreSQL server)."""
    return open_store(store_url)


def save(store, key: str, value, *, run_id: str, stage_id: int):
    frame_fp = {"frame": fingerprint(value["frame"], name="frame", role="output").to_dict()} if "frame" in value else {}
    return save_entry(store, key, values=value, deleted=["old"], files=[], cwd=Path.cwd(),
                      outputs=[{"output_type": "stream", "name": "stdout", "text": "made\n"}],
                      fingerprints=frame_fp, run_id=run_id, stage_id=stage_id, stage="data",
                      notebook="nb.ipynb", seconds=3.5)


def test_an_entry_is_stored_once_read_back_equal_and_its_restores_recorded(store) -> None:
    run = store.create_run(notebook="nb.ipynb", trigger="manual")
    stage = store.start_stage(run.id, "data")
    frame = pd.DataFrame({"a": [1, 2, 3], "c": pd.Categorical(["x", "y", "x"])}, index=pd.Index([7, 8, 9], name="i"))
    key = "a" * 64
    first = save(store, key, {"frame": frame, "meta": {"rows": 3}}, run_id=run.id, stage_id=stage.id)
    assert first.saved and first.size > 0
    again = save(store, key, {"frame": frame, "meta": {"rows": 3}}, run_id=run.id, stage_id=stage.id + 1)
    assert not again.saved and again.note == "another run stored the same entry first"
    [entry] = list_entries(store)
    assert (entry["key"], entry["stage_id"], entry["hits"], entry["seconds"]) == (key, stage.id, 0, 3.5)
    restored = load_entry(store, key)
    assert restored is not None and restored.run_id == run.id and restored.deleted == ["old"]
    assert fingerprint(restored.values["frame"]).digest == fingerprint(frame).digest
    assert restored.values["meta"] == {"rows": 3} and restored.outputs[0]["text"] == "made\n"
    assert restored.fingerprints["frame"]["digest"] == fingerprint(frame).digest
    touch(store, key)
    assert list_entries(store)[0]["hits"] == 1
    later = store.start_stage(run.id, "data")
    for seconds in (0.5, 0.25):  # a stage over two restored cells: the times add up
        row = {"stage_id": later.id, "run_id": run.id, "key": key, "source_run_id": run.id,
               "source_stage_id": stage.id, "source_seconds": 3.5, "restore_seconds": seconds,
               "restored": ["frame", "meta"], "created": 1.0}
        store.db.run_in_transaction(lambda tx, row=row: tables.record_restore(tx, row))
    [restore] = tables.restores(store.db, run_ids=[run.id])
    assert (restore["stage_id"], restore["source_seconds"], restore["restore_seconds"]) == (later.id, 7.0, 0.75)
    assert tables.restores(store.db, stage_ids=[later.id]) == [restore]


def test_the_least_recently_used_entries_go_first_and_clear_removes_their_files(store, monkeypatch) -> None:
    run = store.create_run(notebook="nb.ipynb", trigger="manual")
    stage = store.start_stage(run.id, "data")
    for i, key in enumerate(("1" * 64, "2" * 64)):
        assert save(store, key, {"values": list(range(1000 * (i + 1)))}, run_id=run.id, stage_id=stage.id).saved
    touch(store, "1" * 64)  # used since: the other one is the least recently used
    sizes = {e["key"]: e["size"] for e in list_entries(store)}
    objects = {k: [r[0] for r in store.db.query("SELECT digest FROM cache_objects WHERE key = ?", (k,))]
               for k in sizes}
    monkeypatch.setenv("MLOPS_CACHE_MAX_BYTES", str(sizes["1" * 64] + 10))
    save(store, "3" * 64, {"values": [1]}, run_id=run.id, stage_id=stage.id)
    assert {e["key"] for e in list_entries(store)} <= {"1" * 64, "3" * 64}
    assert not any(store.artifacts.path_for(d).exists() for d in objects["2" * 64])
    assert clear(store, older_than=3600) == (0, 0)  # nothing unused for an hour
    left = list_entries(store)
    assert clear(store) == (len(left), sum(e["size"] for e in left)) and list_entries(store) == []
    assert not any(store.artifacts.path_for(d).exists() for d in objects["1" * 64])


@pytest.mark.parametrize("damage", ["missing", "changed"])
def test_a_broken_object_is_an_entry_error(store, damage) -> None:
    from mlops_magic.cache.entries import EntryError

    run = store.create_run(notebook="nb.ipynb", trigger="manual")
    stage = store.start_stage(run.id, "data")
    save(store, "4" * 64, {"frame": pd.DataFrame({"a": range(50)})}, run_id=run.id, stage_id=stage.id)
    digests = [r[0] for r in store.db.query("SELECT digest FROM cache_objects")]
    target = max((store.artifacts.path_for(d) for d in digests), key=lambda p: p.stat().st_size)
    if damage == "missing":
        target.unlink()
    else:
        target.write_bytes(target.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(EntryError, match="is missing" if damage == "missing" else "does not match its digest"):
        load_entry(store, "4" * 64)
