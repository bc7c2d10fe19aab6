"""A stage cell's output fingerprints off the cell's path: after the cell, of the values the cell ended with.

The worker is held back by a gate in these tests (the fingerprint function waits for it), which makes
"the cell returned before its output was hashed" and "the next cell changed the frame first" certain
instead of a race.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _support import PYTHON, python_env

from mlops_magic.tracking import background
from mlops_magic.tracking.fingerprint import fingerprint
from mlops_magic.tracking.session import get_session


def stages(ip: Any) -> list[Any]:
    session = get_session()
    return session.store.list_stages(session.active_run_id())


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Fingerprints wait for this event (at most a minute, so a broken test fails instead of hanging)."""
    opened = threading.Event()
    threads: list[str] = []
    real = background.fingerprint

    def held(value: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        opened.wait(60)
        return real(value, **kwargs)

    monkeypatch.setattr(background, "fingerprint", held)
    opened.threads = threads  # type: ignore[attr-defined]
    yield opened
    opened.set()
    get_session().outputs.flush()


def test_a_frame_is_hashed_after_the_cell_as_the_cell_left_it(ip: Any, gate: threading.Event) -> None:
    assert ip.run_cell("%%mlops stage data\nimport numpy as np, pandas as pd\n"
                       "df = pd.DataFrame({'a': np.arange(5.0), 'b': list('vwxyz')})").success
    session = get_session()
    assert session.outputs.pending >= 1  # the cell returned; its output is not hashed yet (nor, maybe, its status)
    ended_with = fingerprint(ip.user_ns["df"].copy(), name="df", role="output")
    assert ip.run_cell("df.iloc[0, 0] = 99.0\ndf.loc[1, 'b'] = 'changed'").success  # a plain cell, right after
    assert ip.user_ns["df"].iloc[0, 0] == 99.0
    gate.set()
    [stage] = stages(ip)  # a read through the session waits for the worker
    [fp] = stage.fingerprints
    assert (fp.name, fp.role, fp.digest) == ("df", "output", ended_with.digest)
    assert fp.digest != fingerprint(ip.user_ns["df"]).digest
    assert gate.threads == ["mlops-output-fingerprints"]  # type: ignore[attr-defined]


def test_a_read_through_the_session_waits_for_pending_fingerprints(ip: Any, gate: threading.Event) -> None:
    assert ip.run_cell("%%mlops stage data\nimport pandas as pd\nframe = pd.DataFrame({'x': range(100)})").success
    threading.Timer(0.2, gate.set).start()  # opens while the read below waits
    [stage] = stages(ip)
    assert [f.name for f in stage.fingerprints] == ["frame"] and stage.fingerprints[0].rows == 100


def test_values_that_may_change_are_hashed_inline(ip: Any, gate: threading.Event) -> None:
    """A writable array, and a frame with object columns (their elements may be mutable), before the cell
    returns: on the cell's own thread."""
    gate.set()
    assert ip.run_cell("%%mlops stage data\nimport numpy as np, pandas as pd\narr = np.arange(10.0)\n"
                       "objs = pd.DataFrame({'o': pd.Series([1, 'a'], dtype=object)})").success
    assert sorted(gate.threads) == ["MainThread", "MainThread"]  # type: ignore[attr-defined]
    [stage] = stages(ip)
    assert sorted(f.name for f in stage.fingerprints) == ["arr", "objs"]


def test_a_stage_cells_status_is_written_after_the_cell(ip: Any, gate: threading.Event, monkeypatch, capsys) -> None:
    """The status of a stage cell is the worker's first job after the cell (before its fingerprints); a read
    through the session sees it; one that cannot be written is one line, and the cell is not failed by it."""
    from mlops_magic.errors import StoreUnavailable
    from mlops_magic.store.facade import Store

    gate.set()
    written_on: list[str] = []
    real = Store.finish_stage

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        written_on.append(threading.current_thread().name)
        if os.environ.get("BROKEN_FINISH"):
            raise StoreUnavailable("the store at /x stayed locked by another writer: database is locked")
        real(self, *args, **kwargs)

    monkeypatch.setattr(Store, "finish_stage", spy)
    assert ip.run_cell("%%mlops stage data\nx = 1").success
    assert ip.run_cell("%%mlops stage train\nraise ValueError('bad value')").error_in_exec is not None
    assert [(s.name, s.status, s.error_type) for s in stages(ip)] == [("data", "succeeded", None),
                                                                     ("train", "failed", "ValueError")]
    assert written_on == ["mlops-output-fingerprints"] * 2
    monkeypatch.setenv("BROKEN_FINISH", "1")
    capsys.readouterr()
    assert ip.run_cell("%%mlops stage evaluate\ny = 2").success
    get_session().flush()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["mlops: stage evaluate result not recorded: the store at /x stayed locked by another writer: "
                   "database is locked"]


def test_a_run_the_runner_started_is_hashed_inline(session: Any, gate: threading.Event) -> None:
    gate.set()
    run = session.store.create_run()
    session.attached_run_id = run.id  # what MLOPS_RUN_ID does in a headless kernel
    stage = session.begin_stage("data")
    session.end_stage(stage)
    [handle] = session.log_outputs(stage, [("df", pd.DataFrame({"a": [1.0, 2.0]}))])
    assert session.outputs.pending == 0 and handle.result(0) is not None
    assert gate.threads == ["MainThread"]  # type: ignore[attr-defined]


def test_known_fingerprints_are_recorded_as_they_are(session: Any) -> None:
    stage = session.begin_stage("data")
    session.end_stage(stage)
    known = fingerprint(pd.DataFrame({"a": [1.0]}), name="df", role="output")
    [handle] = session.log_outputs(stage, [("df", pd.DataFrame({"other": [2.0]}))], known={"df": known})
    assert handle.result(0) == known
    assert [f.digest for f in session.store.list_fingerprints(stage.run_id)] == [known.digest]


def test_what_may_be_hashed_later() -> None:
    frame = pd.DataFrame({"a": np.arange(3.0), "c": pd.Categorical(["x", "y", "x"]), "s": ["p", "q", "r"]})
    copy = background.frozen(frame)
    assert copy is not frame and np.shares_memory(copy["a"].to_numpy(), frame["a"].to_numpy())
    assert background.frozen(frame["a"]) is not None
    assert background.frozen(frame.assign(o=pd.Series([{}, {}, {}], dtype=object))) is None
    assert background.frozen(np.arange(3.0)) is None  # writable
    locked = np.arange(3.0)
    locked.flags.writeable = False
    assert background.frozen(locked) is locked
    base = np.arange(6.0)
    view = base[::2]
    view.flags.writeable = False
    assert background.frozen(view) is None  # the array it views can still be written
    assert background.frozen(np.frombuffer(b"\x00" * 16)) is not None  # bytes never change
    assert background.frozen(np.array([{}], dtype=object)) is None


def test_a_forked_child_does_not_wait_for_the_parents_jobs(ip: Any, gate: threading.Event) -> None:
    assert ip.run_cell("%%mlops stage data\nimport pandas as pd\nframe = pd.DataFrame({'x': range(10)})").success
    assert get_session().outputs.pending >= 1  # the fingerprint waits at the gate (the status may be written)
    pid = os.fork()
    if pid == 0:  # the child: the worker thread did not survive the fork
        os._exit(0 if get_session().outputs.flush(timeout=5) and get_session().outputs.pending == 0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    gate.set()
    assert [f.name for f in stages(ip)[0].fingerprints] == ["frame"]


EXIT_RIGHT_AFTER = """
import sys, time
from IPython.core.interactiveshell import InteractiveShell
import mlops_magic
from mlops_magic.tracking import background
real = background.fingerprint
def slow(value, **kwargs):
    time.sleep(0.5)  # still hashing when the interpreter starts to exit
    return real(value, **kwargs)
background.fingerprint = slow
ip = InteractiveShell.instance()
mlops_magic.load_ipython_extension(ip)
assert ip.run_cell("%%mlops stage data\\nimport pandas as pd\\ndf = pd.DataFrame({'a': range(7)})").success
"""


def test_fingerprints_land_before_the_kernel_exits(tmp_path: Any) -> None:
    from mlops_magic.store import open_store

    subprocess.run([PYTHON, "-c", EXIT_RIGHT_AFTER], check=True, cwd=tmp_path,
                   env=python_env(MLOPS_STORE=str(tmp_path / "store")))
    store = open_store(str(tmp_path / "store"))
    [run] = store.list_runs()
    assert run.status == "succeeded"
    assert [(f.name, f.rows) for f in store.list_fingerprints(run.id)] == [("df", 7)]
