"""Who did what (issue 23): a run records who started it, an alias move and a schedule change who made it,
and every face filters runs by it. The store parts run on SQLite and on a real PostgreSQL server
(conftest's ``store_url``); the faces on a real IPython shell and the real ``mlops`` command."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from dask_support import notebook

from mlops_magic.cli.main import main
from mlops_magic.registry import aliases, versions
from mlops_magic.scheduling.schedules import add_schedule, get_schedule, remove_schedule, set_paused
from mlops_magic.store import clear_cache, open_store
from mlops_magic.store import schema as schema_mod
from mlops_magic.store.processes import current_user


def _as(monkeypatch: pytest.MonkeyPatch, user: str) -> None:
    monkeypatch.setenv("MLOPS_USER", user)


def _model():  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])


def test_who_is_mlops_user_then_jupyterhub_user_then_the_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_USER", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    assert current_user() == getpass.getuser()
    monkeypatch.setenv("JUPYTERHUB_USER", "hub-user")  # a hub's single-user server and its kernels
    assert current_user() == "hub-user"
    monkeypatch.setenv("MLOPS_USER", "  alice ")
    assert current_user() == "alice"
    monkeypatch.setenv("MLOPS_USER", " ")  # blank: the next in the chain
    assert current_user() == "hub-user"


def test_runs_record_who_started_them_and_filter_by_it(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(store_url)
    started = {}
    for user, nb in (("alice", "a.ipynb"), ("bob", "a.ipynb"), ("carol", "b.ipynb")):
        _as(monkeypatch, user)
        started[user] = store.create_run(notebook=nb).id
    _as(monkeypatch, "dave")  # who reads does not matter: the run keeps who started it
    assert store.get_run(started["alice"]).user == "alice"
    assert [r.id for r in store.list_runs(user="alice")] == [started["alice"]]
    assert {r.id for r in store.list_runs(user="alice, bob")} == {started["alice"], started["bob"]}
    assert [r.id for r in store.list_runs(user="bob,carol", notebook="b.ipynb")] == [started["carol"]]
    assert store.count_runs(user="bob,carol") == 2 and store.count_runs(user="dave") == 0
    assert store.list_runs(user="") == store.list_runs()  # no user given: no filter
    rows, _, _ = store.run_table(user="carol")
    assert [(r[0], r[-1]) for r in rows] == [(started["carol"], "carol")]


def test_alias_moves_and_schedule_changes_record_who_made_them(store_url: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(store_url)
    model = _model()
    _as(monkeypatch, "alice")
    versions.register(store, model, "churn")
    versions.register(store, model, "churn")
    aliases.promote(store, "churn", "production", version=1, reason="first release")
    _as(monkeypatch, "bob")
    aliases.promote(store, "churn", "production", version=2)
    aliases.rollback(store, "churn", "production")
    history = aliases.history(store, "churn", "production")
    assert [(c.action, c.user) for c in reversed(history)] == [("promote", "alice"), ("promote", "bob"),
                                                               ("rollback", "bob")]
    moved = [e["payload"] for e in store.list_events("alias-moved", subject="churn")]
    assert [p["user"] for p in moved] == ["alice", "bob", "bob"]

    nb = notebook(tmp_path / "nightly.ipynb", ["x = 1"])
    _as(monkeypatch, "alice")
    s = add_schedule(store, str(nb), cron="0 2 * * *")
    assert (s.user, s.changed_by) == ("alice", "alice")
    _as(monkeypatch, "bob")
    set_paused(store, s.id, True)
    assert (get_schedule(store, s.id).user, get_schedule(store, s.id).changed_by) == ("alice", "bob")
    _as(monkeypatch, "carol")
    set_paused(store, s.id, False)
    remove_schedule(store, s.id)
    changes = [e["payload"] for e in store.list_events("schedule-changed", subject=s.id)]
    assert [(p["action"], p["user"]) for p in changes] == [("added", "alice"), ("paused", "bob"),
                                                           ("resumed", "carol"), ("removed", "carol")]


def test_a_store_from_before_who_upgrades_with_no_user_on_old_rows(store_url: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The who migration is the last: a store one migration older opens, its runs have no user."""
    old = schema_mod.MIGRATIONS[:-1]
    with monkeypatch.context() as m:
        m.setattr(schema_mod, "MIGRATIONS", old)
        m.setattr(schema_mod, "SCHEMA_VERSION", len(old))
        store = open_store(store_url)
        store.db.write("INSERT INTO runs (id, notebook, trigger, status, started, host, pid, run_params) "
                       "VALUES (?,?,?,?,?,?,?,?)", ("0123456789abcdef", "old.ipynb", "manual", "succeeded", 1.0,
                                                    "h", 1, "{}"))
        clear_cache()
    _as(monkeypatch, "alice")
    upgraded = open_store(store_url)
    assert upgraded.get_run("0123456789abcdef").user is None
    new = upgraded.create_run(notebook="old.ipynb")
    assert [r.id for r in upgraded.list_runs(user="alice")] == [new.id]


# -- the faces -----------------------------------------------------------------------------------------
def test_mlops_runs_user_and_the_history_and_schedule_tables_say_who(store_dir: Path, store,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()

    def cli(*args: str) -> str:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    _as(monkeypatch, "alice")
    mine = store.create_run(notebook="nb.ipynb")
    versions.register(store, _model(), "churn")
    aliases.promote(store, "churn", "production")
    add_schedule(store, str(notebook(store_dir / "nightly.ipynb", ["x = 1"])), cron="0 2 * * *")
    _as(monkeypatch, "bob")
    theirs = store.create_run(notebook="nb.ipynb")
    assert [r["id"] for r in json.loads(cli("runs", "--user", "alice", "--format", "json"))] == [mine.id]
    assert {r["user"] for r in json.loads(cli("runs", "--format", "json"))} == {"alice", "bob"}
    table = cli("runs", "--user", "bob")
    assert "USER" in table.splitlines()[0] and theirs.id[:8] in table and mine.id[:8] not in table
    assert cli("runs", "--user", "nobody") == "no runs yet\n"
    assert "alice" in cli("runs", "--user", "alice", "--format", "csv").splitlines()[1]
    history = cli("models", "history", "churn").splitlines()
    assert "USER" in history[0] and "alice" in history[1]
    schedules = cli("schedule", "list").splitlines()
    assert "CHANGED BY" in schedules[0] and schedules[1].rstrip().endswith("alice")


def test_the_runs_magic_and_widget_filter_by_user(ip, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_magic.tracking.session import get_session

    store = get_session().store
    _as(monkeypatch, "alice")
    mine = store.create_run(notebook="nb.ipynb")
    store.finish_run(mine.id, "succeeded")
    _as(monkeypatch, "bob")
    theirs = store.create_run(notebook="nb.ipynb")
    store.finish_run(theirs.id, "succeeded")
    frame = ip.run_line_magic("mlops", "runs --user alice")
    assert list(frame["id"]) == [mine.id] and list(frame["user"]) == ["alice"]
    assert set(ip.run_line_magic("mlops", "runs")["user"]) == {"alice", "bob"}
    panel = ip.run_line_magic("mlops", "runs --user bob --widget")
    assert [r["id"] for r in panel.records] == [theirs.id]
