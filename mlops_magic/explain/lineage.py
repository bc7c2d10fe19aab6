"""``mlops lineage REF``: a graph inferred from content, with nothing declared.

Data fingerprints link the stages that read or wrote the same bytes, across notebooks; a run links
to the model versions it registered; a version links to the monitor runs whose drift checks used
it (``model:NAME@ALIAS`` references are stored with the version they resolved to) and those to
the runs they triggered (a drift-triggered retrain's parent is the monitor run).

The graph has four layers, left to right: data → runs → versions → monitor runs (and the runs
they triggered). ``REF`` is a model reference (``churn``, ``churn@3``, ``churn@production``: for
an alias every version it has held), a run id, or a data digest (or a unique prefix of one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..display.html import esc, fmt_number
from ..entities import utc_from_ts
from ..errors import InvalidInputError, NotFoundError
from ..registry.versions import get_version, parse_ref, versions_of, versions_of_runs
from ..store import Store
from ..store import cache as cache_tables
from ..store import monitoring as monitoring_tables
from ..store import registry as registry_tables
from .render_lineage import lineage_svg

LAYERS = ("data", "run", "version", "monitor")
_HEX = re.compile(r"^[0-9a-f]{6,64}$")


@dataclass
class Node:
    id: str
    kind: str  # data | run | version | monitor
    label: str
    detail: str = ""
    focus: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "label": self.label, "detail": self.detail, "focus": self.focus,
                **({"attrs": self.attrs} if self.attrs else {})}


@dataclass
class Edge:
    source: str
    target: str
    label: str

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "label": self.label}


@dataclass
class Lineage:
    ref: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def node(self, node: Node) -> Node:
        existing = self.nodes.get(node.id)
        if existing is None:
            self.nodes[node.id] = node
            return node
        existing.focus = existing.focus or node.focus
        return existing

    def edge(self, source: str, target: str, label: str) -> None:
        if source in self.nodes and target in self.nodes and \
                not any(e.source == source and e.target == target and e.label == label for e in self.edges):
            self.edges.append(Edge(source, target, label))

    def layer(self, kind: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: ``{"ref", "layers", "nodes": [...], "edges": [{"from", "to", "label"}]}``."""
        return {"ref": self.ref, "layers": list(LAYERS), "nodes": [n.to_dict() for n in self.nodes.values()],
                "edges": [e.to_dict() for e in self.edges]}

    def text(self) -> str:
        titles = {"data": "data", "run": "runs", "version": "model versions", "monitor": "monitor runs"}
        out = [f"lineage of {self.ref}: {len(self.nodes)} nodes, {len(self.edges)} links"]
        for kind in LAYERS:
            nodes = self.layer(kind)
            if not nodes:
                continue
            out.append(f"{titles[kind]}:")
            for n in nodes:
                mark = "* " if n.focus else "  "
                out.append(f"{mark}{n.label}" + (f"  ({n.detail})" if n.detail else ""))
                for e in self.edges:
                    if e.source == n.id:
                        out.append(f"      → {e.label} → {self.nodes[e.target].label}")
        return "\n".join(out)

    def dot(self) -> str:
        def q(text: str) -> str:
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

        shapes = {"data": "cylinder", "run": "box", "version": "component", "monitor": "box"}
        lines = [f"digraph lineage {{  // {self.ref.replace(chr(10), ' ')}", "  rankdir=LR;",
                 '  node [fontname="Helvetica", fontsize=10];']
        for kind in LAYERS:
            nodes = self.layer(kind)
            if not nodes:
                continue
            lines.append(f"  subgraph cluster_{kind} {{ label={q(kind)}; style=dashed;")
            for n in nodes:
                style = ', style="bold,filled", fillcolor="#fff3c4"' if n.focus else ""
                label = n.label + (f"\n{n.detail}" if n.detail else "")
                lines.append(f"    {q(n.id)} [label={q(label)}, shape={shapes[kind]}{style}];")
            lines.append("  }")
        lines += [f"  {q(e.source)} -> {q(e.target)} [label={q(e.label)}];" for e in self.edges]
        lines.append("}")
        return "\n".join(lines)

    def svg(self) -> str:
        return lineage_svg(self)

    def html(self) -> str:
        return (f'<div class="mlops-lineage"><p><b>Lineage of {esc(self.ref)}</b>: {len(self.nodes)} nodes, '
                f"{len(self.edges)} links</p>{self.svg()}</div>")

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.text()


def _short_time(value: Any) -> str:
    return value.isoformat()[:16].replace("T", " ") if value is not None else ""


def lineage(store: Store, ref: str) -> Lineage:
    """The content-inferred lineage around a model reference, a run or a data digest."""
    ref = (ref or "").strip()
    graph = Lineage(ref)
    versions = _seed_versions(store, ref)
    run_ids: set[str] = {v["run_id"] for v in versions if v["run_id"]}
    digests: set[str] = set()
    focus_runs: set[str] = set()
    focus_data: set[str] = set()
    if not versions:
        try:
            run_id = store.resolve_run_id(ref)
        except NotFoundError:
            found = _digest_matches(store, ref.lower()) if _HEX.match(ref.lower()) else set()
            if not found:
                raise NotFoundError(f"no model, run or data digest {ref!r}; give NAME[@ALIAS|@N], a run id "
                                    "or a digest from `mlops show RUN`") from None
            focus_data = found
            digests |= found
        else:
            run_ids.add(run_id)
            focus_runs.add(run_id)
    for v in versions:
        for fp in [v["data_fingerprint"]] if v["data_fingerprint"] else []:
            digests.add(fp["digest"])
    # the inputs of the seed runs, then every run that read or wrote those bytes (across notebooks)
    seed_fps = store.fingerprints_of_runs(sorted(run_ids))
    digests |= {f["digest"] for f in seed_fps if f["role"] == "input"}
    uses = store.fingerprint_uses(sorted(digests))
    upstream_outputs = [u for u in uses if u["role"] == "output"]
    all_runs = run_ids | {u["run_id"] for u in uses if u["role"] == "input" or u["run_id"] in run_ids}
    all_runs |= {u["run_id"] for u in upstream_outputs}  # the producers of the data read here
    # versions registered by these runs, then the monitor runs that checked them
    registered = versions or [_version_dict(mv) for mv in _versions_of_runs(store, sorted(all_runs))]
    checks = _drift_checks(store, registered)
    monitor_ids = {c["run_id"] for c in checks if c["run_id"]}
    summaries = {r["id"]: r for r in store.run_summaries(sorted(all_runs | monitor_ids),
                                                         parents=sorted(monitor_ids | all_runs))}
    all_runs |= {r["id"] for r in summaries.values() if r["trigger"] == "reproduce" and r["parent_run_id"] in all_runs}
    # a drift-triggered run's parent is the monitor run that found the drift; a reproduction's, the original
    seeded = [r for r in summaries.values() if r["id"] in all_runs and r["parent_run_id"]]
    drift_parents = {r["parent_run_id"] for r in seeded if r["trigger"] == "drift"} - all_runs
    originals = {r["parent_run_id"] for r in seeded if r["trigger"] == "reproduce"}
    missing = (drift_parents | originals) - set(summaries)
    if missing:
        summaries.update({r["id"]: r for r in store.run_summaries(sorted(missing))})
    monitor_ids |= drift_parents & set(summaries)
    all_runs |= originals & set(summaries)
    triggered = [r for r in summaries.values() if r["parent_run_id"] in monitor_ids and r["id"] not in monitor_ids]

    # data nodes: one per digest, labelled by the path or name it was read as
    for u in uses + [f for f in seed_fps if f["role"] == "input"]:
        schema = u.get("schema") or {}
        label = str(schema.get("path") or u["name"] or u["digest"][:12]) if isinstance(schema, dict) else u["name"]
        rows = f"{u['rows']:,} rows" if u.get("rows") is not None else ""
        graph.node(Node(f"data:{u['digest']}", "data", f"{u['digest'][:10]} {label}", rows,
                        focus=u["digest"] in focus_data, attrs={"digest": u["digest"]}))
    for v in registered:
        fp = v["data_fingerprint"]
        if fp:
            rows = f"{fp['rows']:,} rows" if fp.get("rows") is not None else ""
            graph.node(Node(f"data:{fp['digest']}", "data", f"{fp['digest'][:10]} {fp.get('name') or 'training data'}",
                            rows, attrs={"digest": fp["digest"]}))
    for run_id in sorted(all_runs, key=lambda i: (summaries.get(i, {}).get("started") is None, str(i))):
        r = summaries.get(run_id)
        if r is None:
            continue
        graph.node(Node(f"run:{run_id}", "run", f"run {run_id[:8]} {r['notebook'] or ''}".rstrip(),
                        f"{r['trigger']}, {r['status']}, {_short_time(r['started'])}", focus=run_id in focus_runs,
                        attrs={"run_id": run_id}))
    for v in registered:
        aliases = f" [{', '.join(v['aliases'])}]" if v["aliases"] else ""
        metrics = ", ".join(f"{k}={fmt_number(val)}" for k, val in list(v["metrics"].items())[:2]
                            if isinstance(val, (int, float)))
        graph.node(Node(f"version:{v['name']}@{v['version']}", "version", f"{v['name']} v{v['version']}{aliases}",
                        metrics, focus=v.get("focus", False), attrs={"model": v["name"], "version": v["version"]}))
    for run_id in sorted(monitor_ids | {r["id"] for r in triggered}):
        r = summaries.get(run_id)
        if r is None:
            continue
        graph.node(Node(f"monitor:{run_id}", "monitor", f"run {run_id[:8]} {r['notebook'] or ''}".rstrip(),
                        f"{r['trigger']}, {r['status']}, {_short_time(r['started'])}", attrs={"run_id": run_id}))

    # serving: the versions `mlops serve` answered with (the sample of inputs it kept for monitors)
    served = _served(store, registered)
    for name, version, count, _first, last in served:
        graph.node(Node(f"monitor:served:{name}@{version}", "monitor", f"mlops serve {name} v{version}",
                        f"{count:,} sampled inputs, last {_short_time(utc_from_ts(last))}",
                        attrs={"model": name, "version": version, "sampled": count}))
    # edges (a stage that declared bytes as its input did not "write" them, though its cell made the variable;
    # a stage the stage cache restored did not compute what it holds: the run it came from did)
    declared = {(u["digest"], u["run_id"], u.get("stage")) for u in uses if u["role"] == "input"}
    restored = _restored_stages(store, all_runs)
    for u in uses + [f for f in seed_fps if f["role"] == "input"]:
        stage = f" ({u['stage']})" if u.get("stage") else ""
        if u["role"] == "input":
            graph.edge(f"data:{u['digest']}", f"run:{u['run_id']}", f"read by{stage}")
        elif u["role"] == "output" and (u["digest"], u["run_id"], u.get("stage")) not in declared:
            source = restored.get((u["run_id"], str(u.get("stage"))))
            graph.edge(f"run:{u['run_id']}", f"data:{u['digest']}",
                       f"restored{stage} from run {source[:8]}" if source else f"wrote{stage}")
    for (run_id, stage_name), source in restored.items():
        graph.edge(f"run:{source}", f"run:{run_id}", f"cached ({stage_name})")
    for v in registered:
        vid = f"version:{v['name']}@{v['version']}"
        if v["run_id"]:
            graph.edge(f"run:{v['run_id']}", vid, "registered")
        if v["data_fingerprint"]:
            graph.edge(f"data:{v['data_fingerprint']['digest']}", vid, "registered with")
    for c in checks:
        if c["run_id"]:
            verdict = f"drift {c['drift_share']:.0%}" if c["drifted"] else "no drift"
            graph.edge(f"version:{c['model']}@{c['version']}", f"monitor:{c['run_id']}", f"checked: {verdict}")
    for name, version, _count, _first, _last in served:
        graph.edge(f"version:{name}@{version}", f"monitor:served:{name}@{version}", "served")
    for r in summaries.values():
        if r["trigger"] == "reproduce" and r["parent_run_id"]:
            graph.edge(f"run:{r['parent_run_id']}", f"run:{r['id']}", "reproduced by")
    for r in triggered:
        graph.edge(f"monitor:{r['parent_run_id']}", f"monitor:{r['id']}", f"triggered ({r['trigger']})")
        graph.edge(f"monitor:{r['parent_run_id']}", f"run:{r['id']}", f"triggered ({r['trigger']})")
    # a triggered run that is also a training run is drawn once, as a run; drop its monitor twin
    for r in triggered:
        if f"run:{r['id']}" in graph.nodes and f"monitor:{r['id']}" in graph.nodes:
            del graph.nodes[f"monitor:{r['id']}"]
            graph.edges = [e for e in graph.edges if f"monitor:{r['id']}" not in (e.source, e.target)]
    if not graph.nodes:
        raise NotFoundError(f"nothing is recorded around {ref!r}")
    return graph


def _restored_stages(store: Store, run_ids: set[str]) -> dict[tuple[str, str], str]:
    """(run, stage name) → the run it was restored from, for the stages of these runs the cache restored."""
    rows = cache_tables.restores(store.db, run_ids=sorted(run_ids))
    names = {s.id: s.name for run_id in sorted({r["run_id"] for r in rows}) for s in store.list_stages(run_id)}
    return {(r["run_id"], names[r["stage_id"]]): r["source_run_id"] for r in rows if r["stage_id"] in names}


def _digest_matches(store: Store, prefix: str) -> set[str]:
    found = store.fingerprint_digests(prefix)
    if len(found) > 1:
        raise InvalidInputError(f"data digest {prefix!r} is ambiguous; give more characters")
    return set(found)


def _version_dict(mv: Any, focus: bool = False) -> dict[str, Any]:
    return {"name": mv.name, "version": mv.version, "run_id": mv.run_id, "data_fingerprint": mv.data_fingerprint,
            "aliases": list(mv.aliases), "metrics": dict(mv.metrics), "focus": focus}


def _versions_of_runs(store: Store, run_ids: list[str]) -> list[Any]:
    return versions_of_runs(store, run_ids)


def _seed_versions(store: Store, ref: str) -> list[dict[str, Any]]:
    """The model versions a reference names: one version, every version of a model, or every version an
    alias has pointed at (its history), the current one marked as the focus."""

    if ref.startswith("model:"):
        ref = ref[len("model:"):]
    if "@" not in ref and not registry_tables.model_exists(store.db, ref):
        return []
    name, selector = parse_ref(ref)
    if isinstance(selector, str):
        current = get_version(store, ref)
        held = {to for _, to in registry_tables.alias_moves(store.db, name, selector)} | {current.version}
        return [_version_dict(mv, focus=mv.version == current.version)
                for mv in versions_of(store, name) if mv.version in held]
    if isinstance(selector, int):
        return [_version_dict(get_version(store, ref), focus=True)]
    return [_version_dict(mv, focus=True) for mv in versions_of(store, name)]


def _served(store: Store, versions: list[dict[str, Any]]) -> list[tuple[str, int, int, float, float]]:
    wanted = {(v["name"], v["version"]) for v in versions}
    return [(name, version, count, first, last) for name in sorted({v["name"] for v in versions})
            for version, count, first, last in monitoring_tables.served_summary(store.db, name)
            if (name, version) in wanted]


def _drift_checks(store: Store, versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    wanted = {(v["name"], v["version"]) for v in versions}
    for name in sorted({v["name"] for v in versions}):
        for created, run_id, version, drifted, share, cols in monitoring_tables.drift_checks_of_model(store.db, name):
            if (name, version) in wanted:
                out.append({"model": name, "version": version, "run_id": run_id, "drifted": drifted,
                            "drift_share": share, "columns": cols, "created": created})
    return out


__all__ = ["Edge", "Lineage", "Node", "lineage"]
