"""The seam autolog and the stage cache hang on: observers called around every stage, on a real shell."""

from __future__ import annotations

from typing import Any

from IPython.utils.capture import capture_output

from mlops_magic.tracking.session import get_session
from mlops_magic.tracking.stage_hooks import KernelExit, StageContext


class Recorder:
    """An observer that writes down what it saw (and, on request, fails)."""

    def __init__(self, name: str = "recorder", *, fail_on: str | None = None) -> None:
        self.name = name
        self.fail_on = fail_on
        self.seen: list[tuple[Any, ...]] = []

    def stage_started(self, ctx: StageContext) -> None:
        self.seen.append(("started", ctx.stage.name, ctx.code, ctx.namespace is not None))
        ctx.state[self.name] = "mine"
        if self.fail_on == "start":
            raise RuntimeError("cannot start\nsecond line")

    def stage_finished(self, ctx: StageContext, error: BaseException | None) -> None:
        assert ctx.state[self.name] == "mine"
        status = get_session().store.get_stage(ctx.stage.id).status
        self.seen.append(("finished", ctx.stage.name, type(error).__name__ if error else None, status))
        if self.fail_on == "finish":
            raise ValueError("cannot finish")


def test_an_observer_sees_each_stage_cell_with_its_code_and_namespace(ip) -> None:
    rec = Recorder()
    get_session().add_observer(rec)
    ip.run_cell("%%mlops stage data\nx = 1")
    ip.run_cell("y = 2")  # not a stage: not seen
    ip.run_cell("%%mlops stage train\nraise ValueError('bad')")
    assert rec.seen == [
        ("started", "data", "x = 1", True), ("finished", "data", None, "running"),
        ("started", "train", "raise ValueError('bad')", True), ("finished", "train", "ValueError", "running"),
    ]
    [data, train] = get_session().store.list_stages(get_session().active_run_id())
    assert (data.status, train.status) == ("succeeded", "failed")


def test_observers_finish_in_reverse_order_and_a_failing_one_is_one_line_and_harmless(ip) -> None:
    order: list[str] = []

    class Named(Recorder):
        def stage_started(self, ctx: StageContext) -> None:
            order.append(f"start {self.name}")
            super().stage_started(ctx)

        def stage_finished(self, ctx: StageContext, error: BaseException | None) -> None:
            order.append(f"finish {self.name}")
            super().stage_finished(ctx, error)

    session = get_session()
    session.add_observer(Named("a"))
    session.add_observer(Named("b", fail_on="finish"))
    session.add_observer(Recorder("c", fail_on="start"))
    with capture_output() as captured:
        result = ip.run_cell("%%mlops stage train\nz = 3")
    assert result.success and ip.user_ns["z"] == 3
    assert order == ["start a", "start b", "finish b", "finish a"]  # c failed to start: it is not finished
    lines = [line for line in captured.stdout.splitlines() if line.startswith("mlops:")]
    assert lines == ["mlops: c: not applied to stage train: RuntimeError: cannot start",
                     "mlops: b: failed at the end of stage train: ValueError: cannot finish"]
    [stage] = session.store.list_stages(session.active_run_id())
    assert stage.status == "succeeded"


def test_keyboard_interrupt_and_the_python_api_reach_observers(ip) -> None:
    import mlops_magic as mlops

    rec = Recorder()
    get_session().add_observer(rec)
    ip.run_cell("%%mlops stage train\nraise KeyboardInterrupt")
    with mlops.stage("evaluate"):
        pass
    assert [s for s in rec.seen if s[0] == "finished"] == [
        ("finished", "train", "KeyboardInterrupt", "running"), ("finished", "evaluate", None, "running")]


def test_a_kernel_exiting_mid_stage_finishes_its_observers(session) -> None:
    rec = Recorder()
    session.add_observer(rec)
    session.begin_stage("train")
    session.close_implicit_run()  # what atexit does when the kernel dies mid-cell
    assert rec.seen[-1][:3] == ("finished", "train", KernelExit.__name__)


def test_replacing_and_removing_an_observer_by_name(session) -> None:
    first, second = Recorder("x"), Recorder("x")
    session.add_observer(first)
    session.add_observer(second)
    assert session.observers.names() == ["x"]
    with session.stage("data"):
        pass
    assert not first.seen and len(second.seen) == 2
    session.remove_observer("x")
    with session.stage("data"):
        pass
    assert len(second.seen) == 2
