"""JUnit XML for any CI system (GitLab's merge-request widget, Jenkins, test reporters on GitHub).

One ``testsuite`` per notebook that ran, holding one ``testcase`` for the run itself, one per
tolerance and one per quality gate. A failed run or gate, or a broken tolerance, is a ``failure``; a
tolerance that could not be checked (no baseline, inputs differ) is ``skipped`` with the reason.
ElementTree escapes markup; characters XML 1.0 cannot hold at all (most control characters, which a
kernel's error output may contain) are replaced first, so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from .outcome import SUCCEEDED
from .tolerances import NOT_CHECKED

if TYPE_CHECKING:
    from .outcome import CiResult, NotebookOutcome

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MESSAGE = 1000  # characters of a message attribute


def xml_text(text: object) -> str:
    """Text XML 1.0 can hold: control characters and lone surrogates become U+FFFD."""
    return _NOT_XML.sub("\ufffd", "" if text is None else str(text))


def render_junit(result: CiResult) -> str:
    root = ET.Element("testsuites", name="mlops ci")
    totals = {"tests": 0, "failures": 0, "skipped": 0}  # not a run status: JUnit's counters
    for n in result.ran:
        suite = _suite(n)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(n: NotebookOutcome) -> ET.Element:
    name = xml_text(n.change.path)
    suite = ET.Element("testsuite", name=name)
    classname = "mlops.ci." + name
    run = _case(suite, classname, "run", n.duration)
    run.set("file", name)
    if n.status != SUCCEEDED:
        text = n.failure.line() if n.failure else str(n.status)
        _mark(run, "failure", text, n.failure.traceback if n.failure else "")
    else:
        out = ET.SubElement(run, "system-out")
        out.text = xml_text(f"run {n.run_id}; " + "; ".join(n.change.reasons()) + f"; {n.verdict()}"
                            + (f"; {n.diff.headline}" if n.diff else ""))
    for t in n.tolerances:
        case = _case(suite, classname, f"tolerance: {t.expression}")
        if t.broken:
            _mark(case, "failure", t.line())
        elif t.verdict == NOT_CHECKED:
            _mark(case, "skipped", t.reason)  # not a run status: JUnit's element
    for g in n.gates:
        case = _case(suite, classname, f"gate: {g.expression}")
        if not g.passed:
            _mark(case, "failure", ("soft gate failed: " if g.soft else "gate failed: ") + g.describe_failure())
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))  # not a run status
    suite.set("errors", "0")
    suite.set("time", f"{n.duration:.3f}")
    return suite


def _case(suite: ET.Element, classname: str, name: str, seconds: float = 0.0) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=xml_text(name), time=f"{seconds:.3f}")


def _mark(case: ET.Element, kind: str, message: str, body: str = "") -> None:
    element = ET.SubElement(case, kind, message=xml_text(message)[:MESSAGE])
    if kind == "failure":
        element.set("type", "mlops-ci")
    if body or kind == "failure":
        element.text = xml_text(body or message)
