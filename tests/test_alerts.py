"""Alerts on real parts: events from real promotions, drift reports and failing scheduled notebooks, sent to a
real HTTP receiver (Slack, webhook) and a real SMTP server with STARTTLS; secrets kept out of the store."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alert_support import http_receiver, smtp_receiver
from click.testing import CliRunner

from mlops_magic.alerts import api as alerts_api
from mlops_magic.alerts import delivery, rules
from mlops_magic.cli.main import main
from mlops_magic.errors import ExecutionError, InvalidInputError, NotFoundError
from mlops_magic.store import alerts as alert_tables
from mlops_magic.store import monitoring as monitoring_tables

FIXTURES = Path(__file__).parent / "notebooks"
SLACK_SECRET = "T0SECRET/B0SECRET/slackkey123456"


def _store_text(store) -> str:
    """Every value of every table of a SQLite store, as one text (to look for a secret in)."""
    with sqlite3.connect(store.db.path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for t in tables for row in conn.execute(f"SELECT * FROM {t}"))


def _promote(session, name: str = "churn") -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from mlops_magic.registry import api as registry_api

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.normal(40, 10, 200), "tenure": rng.normal(size=200)})
    y = (X.age / 40 + X.tenure > 1).astype(int)
    session.log_metrics({"auc": 0.91})
    registry_api.register_model(LogisticRegression(max_iter=300).fit(X, y), name)
    registry_api.promote(name, "production", reason="first release")


def test_slack_and_webhook_get_what_happened_with_a_verifiable_signature(session, monkeypatch, caplog):
    store = session.store
    with http_receiver() as hook:
        monkeypatch.setenv("HOOK_URL", f"{hook.url}/deploy?token=hooktoken789")
        monkeypatch.setenv("MLOPS_WEBHOOK_SECRET", "whsec-0123456789")
        monkeypatch.setenv("MLOPS_BASE_URL", "https://lab.example.com/")
        monkeypatch.setenv("MLOPS_USER", "alice")
        slack = alerts_api.add_rule(store, "promoted", f"slack:{hook.url}/services/{SLACK_SECRET}")
        webhook = alerts_api.add_rule(store, ["promoted", "drift"], "webhook:env:HOOK_URL", model="churn")
        assert slack.shown == f"{hook.url}/***" and webhook.target == "env:HOOK_URL"
        caplog.set_level(logging.DEBUG)
        _promote(session)
        done = delivery.deliver(store)
        assert (done.sent, done.failed) == (2, 0)

        by_path = {r.path.split("?")[0]: r for r in hook.received}
        blocks = by_path[f"/services/{SLACK_SECRET}"].json
        assert blocks["text"] == "[info] churn v1 promoted to production"
        assert [b["type"] for b in blocks["blocks"]] == ["header", "section", "section", "actions"]
        section = blocks["blocks"][1]["text"]["text"]
        assert "churn@production: nothing → v1 by alice@" in section and "reason: first release" in section
        buttons = {e["text"]["text"]: e["url"] for e in blocks["blocks"][3]["elements"]}
        run_id = session.active_run_id()
        assert buttons["report"] == f"https://lab.example.com/mlops/api/v1/runs/{run_id}/report"
        assert buttons["model"] == "https://lab.example.com/mlops/api/v1/models/churn"

        sent = by_path["/deploy"]
        body = sent.json
        assert body["schema"] == "mlops-magic/alert/v1" and body["kind"] == "promoted"
        assert body["model"] == "churn" and body["run_id"] == run_id and body["event"]["payload"]["to"] == 1
        stamp = sent.headers["X-Mlops-Timestamp"]
        expected = hmac.new(b"whsec-0123456789", stamp.encode() + b"." + sent.body, hashlib.sha256).hexdigest()
        assert sent.headers["X-Mlops-Signature"] == f"sha256={expected}"
        assert sent.headers["X-Mlops-Event"] == "promoted"

        assert delivery.deliver(store).sent == 0  # each event once
    text = _store_text(store)
    for secret in (SLACK_SECRET, "hooktoken789", "whsec-0123456789"):
        assert secret not in text
        assert not any(secret in r.getMessage() for r in caplog.records)
    assert SLACK_SECRET in (Path(store.project_dir) / ".mlops" / "config.json").read_text()


def test_email_over_starttls_with_text_and_html_parts(session, monkeypatch, tmp_path):
    store = session.store
    with smtp_receiver(tmp_path, user="mlops", password="smtp-pass-4321") as smtp:
        for key, value in {"HOST": smtp.host, "PORT": str(smtp.port), "USER": "mlops", "PASSWORD": "smtp-pass-4321",
                           "FROM": "mlops@example.com", "STARTTLS": "1", "CAFILE": str(smtp.cafile)}.items():
            monkeypatch.setenv(f"MLOPS_SMTP_{key}", value)
        alerts_api.add_rule(store, "drift", "email:oncall@example.com", model="churn")
        run_id = session.recording_run_id()
        store.db.run_in_transaction(lambda tx: monitoring_tables.insert_drift_report(
            tx, {"columns": []}, drifted=True, drift_share=0.5, drifted_columns=["price", "region"], run_id=run_id,
            stage_id=None, model="churn", version=3, reference="model:churn@production"))
        assert delivery.deliver(store).sent == 1
        [message] = smtp.messages
        assert smtp.tls_sessions == [True] and smtp.logins == [("mlops", "smtp-pass-4321")]
        assert message["Subject"] == "[mlops warning] Drift in the inputs of churn v3"
        assert message["To"] == "oncall@example.com" and message["From"] == "mlops@example.com"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "drifted columns: price, region" in text and "50% of the columns drifted" in text
        assert "<li>drifted columns: price, region</li>" in html

        monkeypatch.setenv("MLOPS_SMTP_PASSWORD", "wrong-pass-9876")  # refused: recorded, redacted, retried later
        store.db.run_in_transaction(lambda tx: monitoring_tables.insert_drift_report(
            tx, {"columns": []}, drifted=True, drift_share=1.0, drifted_columns=["age"], run_id=run_id,
            stage_id=None, model="churn", version=3, reference="model:churn@production"))
        done = delivery.deliver(store)
        assert (done.sent, done.failed) == (0, 1)
    [rule] = alerts_api.list_rules(store)
    assert rule["deliveries"] == {"pending": 1, "sent": 1} and "SMTPAuthenticationError" in rule["last_error"]
    text = _store_text(store)
    assert "smtp-pass-4321" not in text and "wrong-pass-9876" not in text


def test_failures_are_retried_with_backoff_then_given_up_and_errors_are_redacted(session, monkeypatch):
    store = session.store
    with http_receiver() as hook:
        hook.fail_next = 1
        monkeypatch.setenv("HOOK_URL", f"{hook.url}/hook")
        rule = alerts_api.add_rule(store, "promoted", "webhook:$HOOK_URL")
        _promote(session)
        first = delivery.deliver(store)
        assert (first.sent, first.failed) == (0, 1)
        [row] = alert_tables.deliveries(store.db, rule.id)
        assert row["status"] == "pending" and row["attempts"] == 1 and "HTTP Error 500" in row["reason"]
        assert row["next_attempt"] >= row["created"] + delivery.BACKOFF - 1
        assert delivery.deliver(store).sent == 0  # not due yet
        monkeypatch.setattr(delivery, "BACKOFF", 0.0)
        store.db.write("UPDATE alert_deliveries SET next_attempt = 0 WHERE id = ?", (row["id"],))
        assert delivery.deliver(store).sent == 1 and len(hook.received) == 1

    secret_path = "/a path with the key SECRET-abcdef"  # urllib quotes a bad URL in its error: redacted here
    monkeypatch.setenv("HOOK_URL", f"http://127.0.0.1:9{secret_path}")
    monkeypatch.setattr(delivery, "MAX_ATTEMPTS", 2)
    store.db.run_in_transaction(lambda tx: _rollback_event(tx))
    for _ in range(2):
        delivery.deliver(store)
    failed = [r for r in alert_tables.deliveries(store.db, rule.id) if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["attempts"] == 2
    assert "SECRET-abcdef" not in failed[0]["reason"] and "***" in failed[0]["reason"]
    assert "SECRET-abcdef" not in _store_text(store)


def _rollback_event(tx) -> None:
    from mlops_magic.store import events

    events.insert(tx, "alias-moved", subject="churn", payload={"alias": "production", "from": 2, "to": 1,
                                                              "action": "rollback", "by": "bob@ci"})


@pytest.mark.slow
def test_a_failing_scheduled_notebook_sends_one_message_per_rule(tmp_path, monkeypatch):
    from mlops_magic.scheduling import add_schedule, tick
    from mlops_magic.store import clear_cache, open_store

    shutil.copy(FIXTURES / "failing.ipynb", tmp_path / "failing.ipynb")
    (tmp_path / ".mlops").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    store = open_store()
    t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    add_schedule(store, "failing.ipynb", cron="* * * * *", now=t0.timestamp())
    with http_receiver() as hook:
        monkeypatch.setenv("SLACK_URL", f"{hook.url}/slack")
        alerts_api.add_rule(store, "failed,gate-failed", "slack:env:SLACK_URL")
        alerts_api.add_rule(store, "failed", f"webhook:{hook.url}/ci", notebook="failing.ipynb")
        alerts_api.add_rule(store, "failed", f"webhook:{hook.url}/other", notebook="other.ipynb")
        for minute in (1, 2, 3):
            [claimed] = tick(store, t0 + timedelta(minutes=minute, seconds=5))
            assert claimed.result.status == "failed"
        paths = sorted(r.path for r in hook.received)
        assert paths == ["/ci", "/slack"]  # three failures, one message per rule; none for other.ipynb
        slack = next(r.json for r in hook.received if r.path == "/slack")
        assert slack["text"] == "[error] Run of failing.ipynb failed"
        assert "stage train failed at line 1: ValueError: boom in train" in slack["blocks"][1]["text"]["text"]
        listed = {r["id"]: r["deliveries"] for r in alerts_api.list_rules(store)}
        assert listed == {1: {"sent": 1, "suppressed": 2}, 2: {"sent": 1, "suppressed": 2}, 3: {}}
    clear_cache()


def test_rule_matching_severity_scope_and_dedup_keys() -> None:
    rule = rules.Rule(1, ("drift", "promoted"), "slack", "env:X", "$X", model="churn", severity="warning")
    drift = {"kind": "drift", "subject": "churn", "payload": {"model": "churn", "columns": ["b", "a"]}}
    promote = {"kind": "alias-moved", "subject": "churn", "payload": {"action": "promote"}}
    rollback = {"kind": "alias-moved", "subject": "churn", "payload": {"action": "rollback"}}
    other = {"kind": "drift", "subject": "fraud", "payload": {"model": "fraud", "columns": ["a"]}}
    assert rules.matches(rule, drift, None) and rules.matches(rule, rollback, None)
    assert not rules.matches(rule, promote, None)  # info is below the rule's floor
    assert not rules.matches(rule, other, None)
    assert rules.dedup_key(drift, None) == "drift|churn|a,b"
    assert rules.notebook_matches("churn.ipynb", "notebooks/churn.ipynb")
    assert rules.notebook_matches("nb/*.ipynb", "nb/x.ipynb")
    assert not rules.notebook_matches("churn.ipynb", "xchurn.ipynb")
    failed = {"kind": "run-failed", "payload": {"status": "failed", "error": "run 0123abcd89: cell 4 failed"}}
    again = {"kind": "run-failed", "payload": {"status": "failed", "error": "run 99aa88bb77: cell 4 failed"}}
    assert rules.dedup_key(failed, "a.ipynb") == rules.dedup_key(again, "a.ipynb")
    with pytest.raises(InvalidInputError, match="unknown alert kind 'nope'"):
        rules.parse_kinds("failed,nope")
    with pytest.raises(InvalidInputError, match="--model narrows"):
        rules.check_scope(("failed",), None, "churn")


def test_cli_add_list_test_remove(session, monkeypatch, tmp_path):
    store = session.store
    runner = CliRunner()
    with http_receiver() as hook:
        result = runner.invoke(main, ["alert", "add", "--on", "failed,promoted", "--to",
                                      f"slack:{hook.url}/services/{SLACK_SECRET}", "--severity", "warning"])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("1  on failed,promoted at warning or above → slack:") and SLACK_SECRET not in \
            result.output
        bad = runner.invoke(main, ["alert", "add", "--on", "explode", "--to", "email:a@b.example"])
        assert bad.exit_code == 2 and bad.output.count("\n") == 1 and "unknown alert kind" in bad.output
        bad = runner.invoke(main, ["alert", "add", "--on", "failed", "--to", "sms:123"])
        assert bad.exit_code == 2 and "--to takes slack:URL" in bad.output
        tested = runner.invoke(main, ["alert", "test", "1"])
        assert tested.exit_code == 0 and "sent a test failed alert to slack:" in tested.output
        assert hook.received[0].json["text"].startswith("[error] [test] Run of example.ipynb failed")
    down = runner.invoke(main, ["alert", "test", "1"])  # the receiver is gone now
    assert down.exit_code == 1 and "could not send" in down.output and SLACK_SECRET not in down.output
    listed = json.loads(runner.invoke(main, ["alert", "list", "--format", "json"]).output)
    assert listed[0]["deliveries"] == {"failed": 1, "sent": 1} and listed[0]["to"].endswith("/***")
    table = runner.invoke(main, ["alert", "list"]).output
    assert "rule 1: last error: test: URLError" in table and SLACK_SECRET not in table
    assert runner.invoke(main, ["alert", "remove", "1"]).exit_code == 0
    assert SLACK_SECRET not in (Path(store.project_dir) / ".mlops" / "config.json").read_text()
    missing = runner.invoke(main, ["alert", "remove", "1"])
    assert missing.exit_code == 1 and "no alert rule 1" in missing.output
    with pytest.raises(NotFoundError):
        alerts_api.test_rule(store, 1)
    with pytest.raises(ExecutionError):  # env target unset in this process: a clear error, recorded
        alerts_api.test_rule(store, alerts_api.add_rule(store, "failed", "webhook:env:NOT_SET_ANYWHERE").id)


def test_a_failed_gate_is_an_event_in_its_transaction_and_its_alert_names_the_clause(session) -> None:
    from mlops_magic.errors import GateFailedError
    from mlops_magic.registry import gates

    store = session.store
    with http_receiver() as hook:
        alerts_api.add_rule(store, "gate-failed", f"webhook:{hook.url}/gates")
        session.log_metrics({"auc": 0.71})
        with pytest.raises(GateFailedError):
            gates.gate("auc >= 0.8")
        gates.gate("auc >= 0.9", soft=True)
        [hard, soft] = store.list_events("gate-failed")
        assert hard["payload"]["failed"][0]["clause"] == "auc >= 0.8" and soft["payload"]["soft"] is True
        assert delivery.deliver(store).sent == 2
        titles = sorted(r.json["title"] for r in hook.received)
        assert titles == ["Gate auc >= 0.8 failed", "Soft gate auc >= 0.9 failed"]
        hard_alert = next(r.json for r in hook.received if r.json["title"].startswith("Gate"))
        assert hard_alert["severity"] == "error" and hard_alert["why"] == ["auc >= 0.8: got 0.71"]


def test_every_way_a_headless_run_ends_badly_is_one_run_failed_event(tmp_path) -> None:
    """The event is written where runs end (store/runs.py), so a run reaped as an orphan alerts too, a run
    that could not start alerts once, and an interactive kernel's run never does."""
    import subprocess
    import sys

    from mlops_magic.store import open_store

    store = open_store(str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    orphan = store.create_run(notebook="nb.ipynb", trigger="schedule", pid=gone.pid)
    mine = store.create_run(notebook="nb.ipynb", trigger="interactive", pid=gone.pid)
    never = store.create_run(notebook="nb.ipynb", trigger="schedule", status="failed", error="cannot start: x")
    ok = store.create_run(notebook="nb.ipynb", trigger="manual")
    store.finish_run(ok.id, "succeeded")
    assert store.reap_orphans() == 2
    events = store.list_events("run-failed")
    assert sorted(e["run_id"] for e in events) == sorted([orphan.id, never.id])
    reaped = next(e for e in events if e["run_id"] == orphan.id)
    assert reaped["payload"]["status"] == "killed" and reaped["subject"] == "nb.ipynb"
    assert store.get_run(mine.id).status == "killed"
