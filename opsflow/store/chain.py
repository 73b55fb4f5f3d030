"""The per-run hash chain of events: how a hash is computed and checked.

Each event's ``hash`` is ``sha256(prev_hash + canonical JSON of (run_id, seq,
at as UTC ISO text, actor, action, from_phase, to_phase, payload))`` and its
``prev_hash`` is the previous event's hash (``""`` for the first event), so
editing, deleting or reordering any row breaks the chain. Canonical JSON has
sorted keys, no spaces, UTF-8 text and no NaN/Infinity.

Pure functions only: no SQL here (the store reads and writes the rows), and
no SOP semantics (whether the state matches a replay of the events is the
engine's check).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from .coltypes import iso_utc, to_utc
from .records import EventDraft, EventRecord, JsonDict

__all__ = ["canonical_json", "chain", "event_hash", "normalize_payload", "verify"]


def canonical_json(value: Any) -> str:
    """The one text of a JSON value that every hash is computed over."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def normalize_payload(payload: JsonDict) -> JsonDict:
    """``payload`` as it will read back from the database (tuples become lists...)."""
    result: JsonDict = json.loads(json.dumps(payload, allow_nan=False))
    return result


def event_hash(
    prev_hash: str,
    run_id: int,
    seq: int,
    at_iso: str,
    actor: str,
    action: str,
    from_phase: str | None,
    to_phase: str | None,
    payload: JsonDict,
) -> str:
    """The chained hash of one event."""
    body = canonical_json([run_id, seq, at_iso, actor, action, from_phase, to_phase, payload])
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _record_hash(event: EventRecord, prev_hash: str, seq: int) -> str:
    return event_hash(
        prev_hash,
        event.run_id,
        seq,
        iso_utc(event.at),
        event.actor,
        event.action,
        event.from_phase,
        event.to_phase,
        event.payload,
    )


def chain(
    run_id: int, last_seq: int, last_hash: str, drafts: Iterable[EventDraft]
) -> list[EventRecord]:
    """Number and hash ``drafts`` so that they continue a chain ending at ``last_seq``."""
    records: list[EventRecord] = []
    prev = last_hash
    for seq, draft in enumerate(drafts, start=last_seq + 1):
        at = to_utc(draft.at)
        payload = normalize_payload(draft.payload)
        digest = event_hash(
            prev,
            run_id,
            seq,
            iso_utc(at),
            draft.actor,
            draft.action,
            draft.from_phase,
            draft.to_phase,
            payload,
        )
        records.append(
            EventRecord(
                run_id=run_id,
                seq=seq,
                at=at,
                actor=draft.actor,
                action=draft.action,
                from_phase=draft.from_phase,
                to_phase=draft.to_phase,
                payload=payload,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    return records


def _moved_from(event: EventRecord, seqs: range) -> int | None:
    """The sequence number whose content this row holds, if it was moved."""
    for seq in seqs:
        if seq != event.seq and _record_hash(event, event.prev_hash, seq) == event.hash:
            return seq
    return None


def verify(run_id: int, events: Sequence[EventRecord], last_seq: int, last_hash: str) -> list[str]:
    """Every problem in a run's event log (``events`` in ``seq`` order); ``[]`` if intact.

    ``last_seq``/``last_hash`` are the chain head the run row recorded, which
    catches events deleted at the end of the log.
    """
    problems: list[str] = []
    expected_seq = 1
    prev_hash: str | None = ""  # None: the previous row is already reported, skip the link check
    seqs = range(1, max([last_seq, *(e.seq for e in events)]) + 1)
    for event in events:
        if event.seq > expected_seq:
            gap = (
                f"event {expected_seq} is"
                if event.seq == expected_seq + 1
                else f"events {expected_seq}-{event.seq - 1} are"
            )
            problems.append(f"run {run_id}: {gap} missing (deleted from the log)")
        intact = _record_hash(event, event.prev_hash, event.seq) == event.hash
        if not intact:
            moved = _moved_from(event, seqs)
            if moved is not None:
                problems.append(
                    f"run {run_id}: event {event.seq} holds the content of event {moved} "
                    "(rows reordered)"
                )
            else:
                problems.append(
                    f"run {run_id}: event {event.seq} was edited "
                    "(its hash does not match its content)"
                )
        elif prev_hash is not None and event.prev_hash != prev_hash:
            problems.append(
                f"run {run_id}: event {event.seq} does not follow the event before it "
                "(a row was deleted, replaced or reordered)"
            )
        prev_hash = event.hash if intact else None
        expected_seq = event.seq + 1
    if last_seq != expected_seq - 1:
        problems.append(
            f"run {run_id}: the run records {last_seq} events but the log ends at event "
            f"{expected_seq - 1} (events deleted or added outside opsflow)"
        )
    elif prev_hash is not None and last_hash != prev_hash:
        problems.append(
            f"run {run_id}: the last event's hash does not match the one the run recorded "
            "(the last event was replaced)"
        )
    return problems
