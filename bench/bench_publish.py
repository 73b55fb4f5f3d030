"""Benchmark: publishing a library of generated SOPs as a static site.

Generates N SOPs (default 200) of P phases each (default 20; with roles,
fields, approvals, conditions, a parallel block and milestones) in a temp
folder, then measures with ``opsflow.render.publish``:

1. a full publish without diagrams' SVG (goal: < 10 s for 200 SOPs),
   and the time per SOP;
2. a full publish with Graphviz SVG, and the Graphviz time alone;
3. a re-publish after changing one SOP (goal: < 1 s), with and without SVG;
4. a re-publish with nothing changed.

Wall times depend on how busy the machine is; the CPU times printed next to
them (this process plus its worker processes and ``dot``) do not.

Run: ``python bench/bench_publish.py [--sops 200] [--phases 20]``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from opsflow.render import PublishReport, publish
from opsflow.render.diagram import dot_available

ROLES = ["lead", "analyst", "reviewer", "finance", "ops"]


def sop_text(n: int, phases: int) -> str:
    """One realistic-looking SOP with ``phases`` phases (two of them in parallel tracks)."""
    lines = [f'sop gen-{n:04} "Generated procedure {n}"', "  version 1", "  owner lead",
             f"  > Procedure {n}: generated for the publish benchmark.", ""]
    lines += [f'role {r} "{r.title()} role"' for r in ROLES]
    lines += ['field amount "Amount in EUR" number',
              'field risk "Risk" one of low, medium, high', ""]
    split = phases // 2
    for i in range(1, phases + 1):
        pid = f"p{i:02}"
        nxt = f"p{i + 1:02}"
        owner, acc = ROLES[i % len(ROLES)], ROLES[(i + 1) % len(ROLES)]
        lines += [f'phase {pid} "Step {i} of procedure {n}"',
                  f"  > Do the work of step {i}; **check** the inputs first.",
                  f"  owner {owner}", f"  accountable {acc}",
                  f"  consulted {ROLES[(i + 2) % len(ROLES)]}",
                  f"  informed {ROLES[(i + 3) % len(ROLES)]}", f"  due {1 + i % 4} business days",
                  "  done when", f"    - Inputs for step {i} are complete",
                  f"    - Output of step {i} is filed", f"    - Step {i} is logged | with a pipe"]
        if i == split - 1:
            lines += [f"  handoff to par{n}"]
        elif i in (split, split + 1):
            lines += ["  handoff to join"]
        elif i == phases - 1:
            lines += ["  end"]
        elif i == phases:
            lines += ['  milestone "Closed" owner lead due 30 days', "  end"]
        elif i % 5 == 0:
            lines += ["  approval by reviewer, finance", "    quorum 2", "    not by analyst",
                      f"  on approve go to {f'p{phases:02}'} if amount > 10000 and risk is high",
                      f"  on approve go to {nxt}", f"  on reject go to p{i - 1:02}"]
        else:
            lines += [f"  handoff to {nxt}"]
        lines.append("")
    lines += [f'parallel par{n} "Parallel checks"', f"  track p{split:02}",
              f"  track p{split + 1:02}", f"  then go to p{split + 2:02}", ""]
    return "\n".join(lines)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (worker processes,
    ``dot``): a figure that does not depend on how busy the machine is."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sops", type=int, default=200)
    parser.add_argument("--phases", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "sops"

        def measured(site: Path, svg: bool) -> tuple[PublishReport, float, float]:
            """Publish; return the report, the wall time and the CPU time."""
            start, cpu = time.perf_counter(), cpu_seconds()
            report = publish([src], site, svg=svg)
            return report, time.perf_counter() - start, cpu_seconds() - cpu

        def timed(label: str, site: Path, svg: bool, goal: str = "") -> PublishReport:
            report, wall, _ = measured(site, svg)
            print(f"{label:<52} {wall:8.3f} s  {goal}".rstrip())
            return report

        src.mkdir()
        for n in range(args.sops):
            (src / f"gen-{n:04}.sop").write_text(sop_text(n, args.phases), "utf-8")
        print(f"{args.sops} SOPs of {args.phases} phases each in {src}")

        plain, drawn = Path(tmp) / "site-plain", Path(tmp) / "site-svg"
        report, full, cpu = measured(plain, False)
        print(f"{'full publish, no SVG':<52} {full:8.3f} s  ({full / args.sops * 1000:.1f} ms "
              f"per SOP, {len(report.written)} files; CPU {cpu:.2f} s = "
              f"{cpu / args.sops * 1000:.1f} ms per SOP)  goal < 10 s")

        if dot_available():
            report, total, cpu = measured(drawn, True)
            print(f"{'full publish with Graphviz SVG':<52} {total:8.3f} s  (Graphviz: "
                  f"{total - full:.3f} s more wall time; {report.graphviz_seconds:.3f} s waiting "
                  f"for `dot` summed over workers; CPU {cpu:.2f} s)")
        else:
            print("Graphviz `dot` not installed: SVG publish skipped")

        name = f"gen-{args.sops // 2:04}.sop"
        one = src / name
        one.write_text(one.read_text("utf-8").replace("version 1", "version 2"), "utf-8")
        report = timed("re-publish, one SOP changed, no SVG", plain, False, "goal < 1 s")
        assert report.rendered == [name], report.rendered
        if dot_available():
            timed("re-publish, one SOP changed, with SVG", drawn, True)
        report = timed("re-publish, nothing changed", plain, False)
        assert report.written == []

if __name__ == "__main__":
    main()
