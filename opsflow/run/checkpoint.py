"""Signed checkpoints: an anchor for the tail of every run's event log.

The hash chain (:mod:`opsflow.store.chain`) proves that no event inside a
run's log was edited, inserted or reordered, but somebody with write access
to the database can cut the newest events and move the run's head back, or
rewrite a whole run with the chain recomputed. A checkpoint is a statement
"run R had S events, the last with hash H, at time T", signed with an
Ed25519 key kept outside the database (a file named by ``--key`` or
``OPSFLOW_CHECKPOINT_KEY``). Checkpoints are appended, one JSON line each, to
a file that is also kept outside the database (``--file`` or
``OPSFLOW_CHECKPOINTS``): whoever can rewrite the database can delete rows
of it, so the anchor must not live there.

:func:`problems` checks a run's stored events against its latest valid
checkpoint: the checkpointed event must still be there with the same hash,
so cutting events, moving the head back or rewriting the run before the
last checkpoint is found. A line whose signature does not hold is itself a
problem. What happens after the last checkpoint is only as safe as the
database (``docs/security.md``).

Signatures use PyCA ``cryptography`` (Ed25519, RFC 8032). This module reads
no database: the engine and the CLI give it the heads and events.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..errors import OpsflowError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from ..store import EventRecord

__all__ = ["Checkpoint", "CheckpointError", "append", "new_key", "problems", "read",
           "signer", "verifier"]


class CheckpointError(OpsflowError):
    """A key or checkpoint file that cannot be used."""


class Checkpoint(NamedTuple):
    """One signed statement about a run's head."""

    run_id: int
    seq: int
    hash: str
    at: dt.datetime
    key: str  # the fingerprint of the public key that signed it


def _message(run_id: int, seq: int, last_hash: str, at: str) -> bytes:
    return json.dumps({"run": run_id, "seq": seq, "hash": last_hash, "at": at},
                      sort_keys=True, separators=(",", ":")).encode("ascii")


def _fingerprint(public: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def new_key(path: Path) -> str:
    """Write a new Ed25519 private key to ``path`` (mode 0600, never overwritten) and its
    public key to ``path.pub``; the public key's fingerprint."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    pub_path = path.with_name(path.name + ".pub")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CheckpointError(f"{path} exists; a key is never overwritten (choose another "
                              "file, or keep using that key)") from None
    except OSError as exc:
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
    try:
        pub_path.write_bytes(public)
    except OSError as exc:
        raise CheckpointError(f"cannot write {pub_path}: {exc.strerror or exc}") from None
    return _fingerprint(key.public_key())


def _pem(path: Path) -> bytes:
    try:
        return path.read_bytes()[:64 * 1024]
    except OSError as exc:
        raise CheckpointError(f"cannot read the checkpoint key {path}: "
                              f"{exc.strerror or exc}; make one with "
                              "`opsflow checkpoint --new-key FILE`") from None


def signer(path: Path) -> Ed25519PrivateKey:
    """The private key in ``path`` (a PEM file made by :func:`new_key`)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(_pem(path), password=None)
    except (ValueError, TypeError):
        raise CheckpointError(f"{path} is not an unencrypted Ed25519 private key in PEM; "
                              "make one with `opsflow checkpoint --new-key FILE`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path} is not an Ed25519 key; make one with "
                              "`opsflow checkpoint --new-key FILE`")
    return key


def verifier(path: Path) -> Ed25519PublicKey:
    """The public key in ``path``: a public key PEM, or the private key it belongs to."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = _pem(path)
    if b"PRIVATE KEY" in data:
        return signer(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise CheckpointError(f"{path} is not an Ed25519 public key in PEM (the .pub file "
                              "`opsflow checkpoint --new-key` wrote)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{path} is not an Ed25519 key")
    return key


def append(file: Path, key: Ed25519PrivateKey, heads: Iterable[tuple[int, int, str]],
           now: dt.datetime) -> int:
    """Sign each ``(run id, last seq, last hash)`` at ``now`` and append the lines to
    ``file`` (created if needed, written with one ``write`` and synced); how many."""
    at = now.astimezone(dt.UTC).isoformat()
    fingerprint = _fingerprint(key.public_key())
    lines = []
    for run_id, seq, last_hash in heads:
        signature = key.sign(_message(run_id, seq, last_hash, at))
        lines.append(json.dumps({"run": run_id, "seq": seq, "hash": last_hash, "at": at,
                                 "key": fingerprint,
                                 "sig": base64.b64encode(signature).decode("ascii")},
                                sort_keys=True) + "\n")
    if not lines:
        return 0
    try:
        fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise CheckpointError(f"cannot write the checkpoint file {file}: "
                              f"{exc.strerror or exc}") from None
    with os.fdopen(fd, "a", encoding="ascii") as handle:
        handle.write("".join(lines))
        handle.flush()
        os.fsync(handle.fileno())
    return len(lines)


def read(file: Path, public: Ed25519PublicKey) -> tuple[dict[int, Checkpoint], list[str]]:
    """The latest validly signed checkpoint of each run in ``file``, and the problems
    found (a line that is damaged or whose signature does not hold)."""
    from cryptography.exceptions import InvalidSignature

    try:
        text = file.read_text("ascii")
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint file {file}; make checkpoints with "
                              "`opsflow checkpoint`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read the checkpoint file {file}: {exc}") from None
    latest: dict[int, Checkpoint] = {}
    found: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            run_id, seq, last_hash, at = (int(data["run"]), int(data["seq"]),
                                          str(data["hash"]), str(data["at"]))
            signature = base64.b64decode(data["sig"], validate=True)
            when = dt.datetime.fromisoformat(at)
        except (ValueError, KeyError, TypeError):
            found.append(f"checkpoint line {number} of {file} is damaged")
            continue
        try:
            public.verify(signature, _message(run_id, seq, last_hash, at))
        except InvalidSignature:
            found.append(f"checkpoint line {number} of {file} (run {run_id}) is not signed by "
                         "this key: it was forged or made with another key")
            continue
        previous = latest.get(run_id)
        if previous is None or (seq, when) >= (previous.seq, previous.at):
            latest[run_id] = Checkpoint(run_id, seq, last_hash, when, _fingerprint(public))
    return latest, found


def problems(checkpoint: Checkpoint | None, events: Sequence[EventRecord]) -> list[str]:
    """How a run's stored events disagree with its latest checkpoint (none: nothing to
    say)."""
    if checkpoint is None or checkpoint.seq == 0:
        return []
    when = f"{checkpoint.at:%Y-%m-%d %H:%M} UTC"
    event = next((e for e in events if e.seq == checkpoint.seq), None)
    if event is None:
        return [f"the run had {checkpoint.seq} events when it was checkpointed on {when} but "
                f"has {len(events)} now: events were deleted and the head moved back"]
    if event.hash != checkpoint.hash:
        return [f"event {checkpoint.seq} is not the one checkpointed on {when}: the run's log "
                "was rewritten"]
    return []
