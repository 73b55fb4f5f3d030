"""Benchmark: parse+check throughput of ``.sop`` files against PyYAML on the same content.

Generates procedures of 100, 1,000 and 10,000 phases (each phase with an
owner, RACI lines, a due time, a checklist of two or three items, routes
with and without conditions, an approval in every fifth phase, a
description in every fourth), times ``opsflow.check_text`` (parse, include
merge and every check) and ``yaml.load`` of an equivalent YAML document
with the pure-Python ``SafeLoader`` and the libyaml ``CSafeLoader``.
Prints medians of a few repeats, lines per second, the ratios
opsflow/CSafeLoader and opsflow/SafeLoader, and the growth ratio
t(10,000)/t(1,000).

Goals (issue 2, item 12): opsflow/CSafeLoader <= 1.0 at 10,000 phases, and
t(10,000) <= 11 x t(1,000). This script measures and reports; it asserts
nothing. ``--profile`` adds a cProfile of the largest size.

Run: ``python bench/bench_parse.py [--sizes 100,1000,10000] [--profile]``
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import yaml  # type: ignore[import-untyped]

import opsflow

ROLES = {
    "requester": "Requester",
    "analyst": "Operations analyst",
    "lead": "Team lead",
    "finance": "Finance controller",
    "legal": "Legal counsel",
    "security": "Security officer",
    "support": "Customer support lead",
    "auditor": "Internal auditor",
}
OWNERS = ("analyst", "lead", "finance", "security")
CHECKLIST = (
    "Ticket is updated with the current status",
    "Evidence is attached to the run",
    "Next owner is told in the team channel",
)
DUES = ("2 business days", "4 hours", "30 minutes", "3 days", "1 week")


def procedure(phases: int) -> dict[str, Any]:
    """The content of a generated procedure, as plain data (shared by both formats)."""
    items: list[dict[str, Any]] = []
    for i in range(phases):
        owner = OWNERS[i % len(OWNERS)]
        others = [r for r in ROLES if r != owner]
        phase: dict[str, Any] = {
            "id": f"step-{i}",
            "title": f"Step {i}",
            "owner": owner,
            "accountable": others[i % 3],
            "consulted": [others[3 + i % 2]],
            "informed": [others[5], others[6]],
            "due": DUES[i % len(DUES)],
            "done_when": list(CHECKLIST[: 2 + i % 2]),
        }
        if i % 4 == 0:
            phase["description"] = f"Step {i} of the procedure: check the **inputs** first."
        last = i == phases - 1
        nxt = "finish" if last else f"step-{i + 1}"
        if i % 5 == 4:
            phase["approval"] = {"by": ["lead", "finance"], "quorum": 2, "not_by": ["requester"]}
            phase["routes"] = [
                {"on": "approve", "to": "escalate", "if": "risk is high and budget > 10000"},
                {"on": "approve", "to": nxt},
                {"on": "reject", "to": f"step-{i - 1}"},
            ]
        else:
            phase["routes"] = [
                {"on": "handoff", "to": "escalate", "if": "risk is one of high, critical"},
                {"on": "handoff", "to": nxt},
            ]
        items.append(phase)
    return {
        "sop": {
            "id": "generated",
            "title": f"Generated procedure with {phases} phases",
            "version": 1,
            "owner": "lead",
            "summary": "A generated procedure used to measure parsing speed.",
        },
        "roles": [{"id": k, "title": v} for k, v in ROLES.items()],
        "fields": [
            {"id": "budget", "title": "Budget in EUR", "type": "number"},
            {"id": "risk", "title": "Risk", "type": "one of low, medium, high, critical"},
        ],
        "phases": items,
        "extra_phases": [
            {
                "id": "escalate",
                "title": "Escalation",
                "owner": "lead",
                "routes": [{"on": "handoff", "to": "finish"}],
            },
            {"id": "finish", "title": "Finished", "owner": "lead", "end": True},
        ],
    }


def to_sop(data: dict[str, Any]) -> str:
    """Write the procedure in the ``.sop`` language."""
    head = data["sop"]
    out = [
        f'sop {head["id"]} "{head["title"]}"',
        f"  version {head['version']}",
        f"  owner {head['owner']}",
        f"  > {head['summary']}",
        "",
    ]
    out += [f'role {r["id"]} "{r["title"]}"' for r in data["roles"]]
    out += [f'field {f["id"]} "{f["title"]}" {f["type"]}' for f in data["fields"]]
    for phase in data["phases"] + data["extra_phases"]:
        out += ["", f'phase {phase["id"]} "{phase["title"]}"']
        if "description" in phase:
            out.append(f"  > {phase['description']}")
        out.append(f"  owner {phase['owner']}")
        if "accountable" in phase:
            out.append(f"  accountable {phase['accountable']}")
            out.append(f"  consulted {', '.join(phase['consulted'])}")
            out.append(f"  informed {', '.join(phase['informed'])}")
            out.append(f"  due {phase['due']}")
            out.append("  done when")
            out += [f"    - {c}" for c in phase["done_when"]]
        if "approval" in phase:
            approval = phase["approval"]
            out.append(f"  approval by {', '.join(approval['by'])}")
            out.append(f"    quorum {approval['quorum']}")
            out.append(f"    not by {', '.join(approval['not_by'])}")
        for route in phase.get("routes", ()):
            cond = f" if {route['if']}" if "if" in route else ""
            if route["on"] == "handoff":
                out.append(f"  handoff to {route['to']}{cond}")
            else:
                out.append(f"  on {route['on']} go to {route['to']}{cond}")
        if phase.get("end"):
            out.append("  end")
    return "\n".join(out) + "\n"


def to_yaml(data: dict[str, Any]) -> str:
    """Write the same procedure as a YAML document (block style)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump(
        data, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True
    )
    return text


def median_times(funcs: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median time of each function; repeats are interleaved so that load hits all alike."""
    times: list[list[float]] = [[] for _ in funcs]
    for _ in range(repeats):
        for func, spent in zip(funcs, times, strict=True):
            start = time.perf_counter()
            func()
            spent.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def run_opsflow(text: str) -> None:
    diagnostics = opsflow.check_text(text, "generated.sop")
    errors = [d for d in diagnostics if d.is_error or d.severity == "warning"]
    if errors:
        raise SystemExit(f"the generated procedure is not clean: {errors[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="phase counts, comma-separated")
    parser.add_argument("--repeats", type=int, default=0, help="repeats per size (0: by size)")
    parser.add_argument("--profile", action="store_true", help="cProfile the largest size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    run_opsflow(to_sop(procedure(5)))  # build the parser once, outside the timings
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(
        f"{'phases':>7} {'sop lines':>10} {'opsflow s':>10} {'lines/s':>10} "
        f"{'CSafe s':>9} {'Safe s':>9} {'/CSafe':>7} {'/Safe':>7}"
    )
    results: dict[int, tuple[float, float, float]] = {}
    for size in sizes:
        data = procedure(size)
        sop_text, yaml_text = to_sop(data), to_yaml(data)
        assert yaml.load(yaml_text, Loader=yaml.CSafeLoader) == data
        repeats = args.repeats or (7 if size <= 1000 else 3)
        t_ops, t_c, t_py = median_times(
            [
                partial(run_opsflow, sop_text),
                partial(yaml.load, yaml_text, Loader=yaml.CSafeLoader),
                partial(yaml.load, yaml_text, Loader=yaml.SafeLoader),
            ],
            repeats,
        )
        results[size] = (t_ops, t_c, t_py)
        lines = sop_text.count("\n")
        print(
            f"{size:>7} {lines:>10} {t_ops:>10.4f} {lines / t_ops:>10.0f} "
            f"{t_c:>9.4f} {t_py:>9.4f} {t_ops / t_c:>7.2f} {t_ops / t_py:>7.2f}"
            f"   (yaml lines {yaml_text.count(chr(10))})"
        )

    if 1000 in results and 10000 in results:
        growth = results[10000][0] / results[1000][0]
        growth_c = results[10000][1] / results[1000][1]
        ratio = results[10000][0] / results[10000][1]
        print(
            f"growth t(10000)/t(1000): opsflow {growth:.2f} (goal <= 11), "
            f"CSafeLoader {growth_c:.2f}"
        )
        print(
            f"goal opsflow/CSafeLoader <= 1.0 at 10000 phases: {ratio:.2f} -> "
            f"{'met' if ratio <= 1.0 else 'missed'}; growth goal "
            f"{'met' if growth <= 11 else 'missed'}"
        )

    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.profile:
        text = to_sop(procedure(max(sizes)))
        profile = cProfile.Profile()
        profile.runcall(run_opsflow, text)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(20)
        print(out.getvalue())


if __name__ == "__main__":
    main()
