"""``mlops schedule export``: hand the ticking to system cron, systemd or GitHub Actions.

The store remains the source of truth: every exported form only calls
``mlops scheduler tick``, which is idempotent, so a tick that fires twice or
overlaps another does no harm.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ..errors import InvalidInputError
from .schedules import Schedule

FORMATS = ("crontab", "systemd", "github-actions")


def export(schedules: list[Schedule], fmt: str, project_dir: Path, store_url: str | None = None) -> str:
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    return {"crontab": _crontab, "systemd": _systemd, "github-actions": _github}[fmt](
        schedules, project_dir, store_url)


def _tick_command(store_url: str | None) -> str:
    store = f" --store {shlex.quote(store_url)}" if store_url else ""
    return f"mlops{store} scheduler tick"


def _needs_every_minute(schedules: list[Schedule]) -> bool:
    """Data-change, after and drift triggers are polled: they need a frequent tick."""
    return any((s.on_change and not s.cron) or s.after or s.on_drift or s.on_performance_drop
               for s in schedules) or any(
        s.timezone not in (None, "UTC") for s in schedules)


def _crons(schedules: list[Schedule]) -> list[str]:
    return sorted({s.cron for s in schedules if s.cron})  # paused ones too: tick skips them, resume needs no re-export


def _comments(schedules: list[Schedule], prefix: str = "#") -> list[str]:
    return [f"{prefix} {s.id}: {s.notebook} — {s.triggers()}{' (paused)' if s.paused else ''}" for s in schedules]


def _crontab(schedules: list[Schedule], project_dir: Path, store_url: str | None) -> str:
    cmd = f"cd {shlex.quote(str(project_dir))} && {_tick_command(store_url)} >> .mlops/scheduler.log 2>&1"
    lines = ["# mlops-magic schedules (install with: crontab -e, or append to your crontab)", *_comments(schedules)]
    if _needs_every_minute(schedules):
        lines.append(f"* * * * * {cmd}")
    else:
        lines += [f"{cron} {cmd}" for cron in _crons(schedules)]
    return "\n".join(lines) + "\n"


def _systemd(schedules: list[Schedule], project_dir: Path, store_url: str | None) -> str:
    exe = Path(sys.executable).parent / "mlops"
    tick = _tick_command(store_url).replace("mlops", str(exe), 1)
    return "\n".join([
        "# mlops-scheduler.service — put both units in ~/.config/systemd/user/ and run:",
        "#   systemctl --user daemon-reload && systemctl --user enable --now mlops-scheduler.timer",
        *_comments(schedules),
        "[Unit]",
        "Description=mlops-magic scheduler tick",
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={project_dir}",
        f"ExecStart={tick}",
        "",
        "# --- mlops-scheduler.timer ---",
        "[Unit]",
        "Description=Run the mlops-magic scheduler every minute",
        "",
        "[Timer]",
        "OnCalendar=*-*-* *:*:00",
        "Persistent=true",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ])


def _github(schedules: list[Schedule], project_dir: Path, store_url: str | None) -> str:
    crons = ["*/5 * * * *"] if _needs_every_minute(schedules) else _crons(schedules)
    cron_lines = [f"    - cron: '{c}'" for c in crons] or ["    - cron: '0 * * * *'"]
    return "\n".join([
        "# .github/workflows/mlops-schedules.yml — GitHub runs schedules in UTC, at most every 5 minutes.",
        "# The store must persist between jobs (commit .mlops/, or point --store at a shared database).",
        *_comments(schedules),
        "name: mlops schedules",
        "on:",
        "  workflow_dispatch: {}",
        "  schedule:",
        *cron_lines,
        "jobs:",
        "  tick:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        "      - uses: actions/checkout@v4",
        "      - uses: actions/setup-python@v5",
        "        with:",
        "          python-version: '3.11'",
        "      - run: pip install mlops-magic",
        f"      - run: {_tick_command(store_url)}",
        "      - run: mlops report --index site/ --format markdown >> \"$GITHUB_STEP_SUMMARY\"",
        "        if: always()",
        "",
    ])
