"""What every state of a run must satisfy, whatever happened: the run invariants.

``opsflow verify`` replays a run's events and then asks :func:`problems`
whether the replayed state is one the SOP allows at all:

* an active run has at least one token, a finished one none;
* no phase holds two tokens;
* a token's parallel track stack matches the phase: a phase inside a
  track of block B carries B innermost, a phase outside every track
  carries no track (a token outside its block is a leak);
* ticked criteria exist in the phase's checklist, and only active
  phases have ticks or votes;
* every vote comes from someone in the phase's electorate (holders of
  an approving role who never held a ``not by`` role in this run);
* the joined tracks of a block are tracks of that block.

Each problem is one sentence. This module reads no database.
"""

from __future__ import annotations

from .compiled import CompiledSop
from .policy import eligible
from .state import RunState

__all__ = ["problems"]


def problems(compiled: CompiledSop, state: RunState) -> list[str]:
    """Every way ``state`` breaks a run invariant (empty when it holds)."""
    found: list[str] = []
    active = state.phases
    if state.status == "active" and not active:
        found.append("the run is active but is in no phase")
    if state.status != "active" and active:
        found.append(f"the run is {state.status} but still in {', '.join(active)}")
    for pid in sorted({p for p in active if active.count(p) > 1}):
        found.append(f"phase {pid} holds {active.count(pid)} tokens")
    for token in state.tokens:
        phase = compiled.phases.get(token.phase)
        if phase is None:
            found.append(f"the run is in {token.phase}, which is not a phase of its SOP")
            continue
        innermost = str(token.tracks[-1][0]) if token.tracks else None
        if phase.track != innermost:
            where = f"track of {phase.track}" if phase.track else "no track"
            found.append(f"the token in phase {token.phase} carries track "
                         f"{innermost or 'none'}, but the phase is in {where}")
    for pid, numbers in state.ticked.items():
        if pid not in active and numbers:
            found.append(f"phase {pid} has ticks but is not active")
        size = len(compiled.phases[pid].checklist) if pid in compiled.phases else 0
        for n in numbers:
            if not 1 <= n <= size:
                found.append(f"phase {pid} has criterion {n} ticked, which it does not have")
    for pid, votes in state.votes.items():
        if not votes:
            continue
        phase = compiled.phases.get(pid)
        if pid not in active or phase is None or phase.approval is None:
            found.append(f"phase {pid} has votes but no open approval")
            continue
        voters = set(eligible(phase.approval, state))
        for person in sorted(votes):
            if person not in voters:
                found.append(f"{person} voted on phase {pid} but is not in its electorate")
    for block, tracks in state.joined.items():
        spec = compiled.parallels.get(block)
        if spec is None or any(not 0 <= i < len(spec.tracks) for i in tracks):
            found.append(f"parallel block {block} has joined tracks it does not have")
    return found
