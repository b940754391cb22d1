"""Per-kiosk sequence state of one consumer group, inside the apply transaction (consumer thread).

* ``lock_chain`` creates and locks the ``kiosk_chain`` rows of the kiosks in a batch (in kiosk
  order, so two instances never deadlock on them).
* ``advance`` moves a kiosk's contiguous seq over every applied event that now follows it and
  says where the first gap is.
* ``check_links`` compares each newly applied event with its neighbours (``prev_hash`` of seq n
  must be the hash of seq n-1) and returns the breaks, which finance records as discrepancies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, select, update

from central.events import Envelope
from central.storage import insert_ignoring_duplicates
from central.storage.schema import kiosk_chain, processed_events
from kiosk.protocol.canonical import GENESIS_HASH

_CHUNK: Final = 500
_WALK: Final = 500


@dataclass(slots=True)
class ChainState:
    contiguous_seq: int
    contiguous_hash: str


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a kiosk stands after a batch: every seq up to ``contiguous_seq`` is applied;
    ``next_applied`` is the lowest applied seq above the first gap (None: no gap)."""

    kiosk_id: str
    contiguous_seq: int
    next_applied: int | None

    @property
    def missing(self) -> tuple[int, int] | None:
        """The first missing range (from, to), or None."""
        if self.next_applied is None:
            return None
        return self.contiguous_seq + 1, self.next_applied - 1


def lock_chain(
    conn: Connection, group: str, kiosks: Sequence[str], now: str
) -> dict[str, ChainState]:
    if not kiosks:
        return {}
    insert_ignoring_duplicates(
        conn,
        kiosk_chain,
        [
            {
                "consumer_group": group,
                "kiosk_id": k,
                "contiguous_seq": 0,
                "contiguous_hash": GENESIS_HASH,
                "updated_at": now,
            }
            for k in sorted(kiosks)
        ],
        ("consumer_group", "kiosk_id"),
    )
    out: dict[str, ChainState] = {}
    ordered = sorted(kiosks)
    for i in range(0, len(ordered), _CHUNK):
        query = (
            select(
                kiosk_chain.c.kiosk_id, kiosk_chain.c.contiguous_seq, kiosk_chain.c.contiguous_hash
            )
            .where(
                kiosk_chain.c.consumer_group == group,
                kiosk_chain.c.kiosk_id.in_(ordered[i : i + _CHUNK]),
            )
            .order_by(kiosk_chain.c.kiosk_id)
            .with_for_update()
        )
        for row in conn.execute(query):
            out[row.kiosk_id] = ChainState(row.contiguous_seq, row.contiguous_hash)
    return out


def advance(conn: Connection, group: str, kiosk_id: str, state: ChainState, now: str) -> Progress:
    """Move ``state`` (and its row) past every applied seq that follows it without a gap."""
    start = state.contiguous_seq
    next_applied: int | None = None
    while next_applied is None:
        rows = conn.execute(
            select(processed_events.c.seq, processed_events.c.hash)
            .where(
                processed_events.c.consumer_group == group,
                processed_events.c.kiosk_id == kiosk_id,
                processed_events.c.seq > state.contiguous_seq,
            )
            .order_by(processed_events.c.seq)
            .limit(_WALK)
        ).all()
        for seq, digest in rows:
            if seq != state.contiguous_seq + 1:
                next_applied = seq
                break
            state.contiguous_seq, state.contiguous_hash = seq, digest
        if len(rows) < _WALK:
            break
    if state.contiguous_seq != start:
        conn.execute(
            update(kiosk_chain)
            .where(kiosk_chain.c.consumer_group == group, kiosk_chain.c.kiosk_id == kiosk_id)
            .values(
                contiguous_seq=state.contiguous_seq,
                contiguous_hash=state.contiguous_hash,
                updated_at=now,
            )
        )
    return Progress(kiosk_id, state.contiguous_seq, next_applied)


def kiosk_progress(conn: Connection, group: str, kiosk_id: str) -> Progress:
    """Where ``kiosk_id`` stands now for ``group`` (read only)."""
    contiguous = conn.execute(
        select(kiosk_chain.c.contiguous_seq).where(
            kiosk_chain.c.consumer_group == group, kiosk_chain.c.kiosk_id == kiosk_id
        )
    ).scalar()
    contiguous = contiguous or 0
    above = conn.execute(
        select(processed_events.c.seq)
        .where(
            processed_events.c.consumer_group == group,
            processed_events.c.kiosk_id == kiosk_id,
            processed_events.c.seq > contiguous,
        )
        .order_by(processed_events.c.seq)
        .limit(1)
    ).scalar()
    return Progress(kiosk_id, contiguous, above)


def read_progress(conn: Connection, group: str) -> list[Progress]:
    """Every kiosk of ``group`` and where it stands (for the gap timers at start-up)."""
    kiosks = conn.execute(
        select(kiosk_chain.c.kiosk_id)
        .where(kiosk_chain.c.consumer_group == group)
        .order_by(kiosk_chain.c.kiosk_id)
    ).scalars()
    return [kiosk_progress(conn, group, k) for k in list(kiosks)]


@dataclass(frozen=True, slots=True)
class Break:
    envelope: Envelope
    detail: str


def check_links(conn: Connection, group: str, fresh: Iterable[Envelope]) -> list[Break]:
    """Hash-chain breaks between the ``fresh`` events and their applied neighbours."""
    by_kiosk: dict[str, dict[int, Envelope]] = {}
    for env in fresh:
        by_kiosk.setdefault(env.kiosk_id, {})[env.seq] = env
    breaks = []
    for kiosk_id, mine in sorted(by_kiosk.items()):
        wanted = sorted({s for seq in mine for s in (seq - 1, seq + 1) if s > 0} - mine.keys())
        known: dict[int, tuple[str, str]] = {s: (e.hash, e.prev_hash) for s, e in mine.items()}
        for i in range(0, len(wanted), _CHUNK):
            for seq, digest, prev in conn.execute(
                select(
                    processed_events.c.seq, processed_events.c.hash, processed_events.c.prev_hash
                ).where(
                    processed_events.c.consumer_group == group,
                    processed_events.c.kiosk_id == kiosk_id,
                    processed_events.c.seq.in_(wanted[i : i + _CHUNK]),
                )
            ):
                known[seq] = (digest, prev)
        for seq, env in sorted(mine.items()):
            if seq == 1 and env.prev_hash != GENESIS_HASH:
                breaks.append(Break(env, "seq 1: prev_hash is not the genesis hash"))
            before = known.get(seq - 1)
            if before is not None and before[0] != env.prev_hash:
                breaks.append(
                    Break(
                        env,
                        f"seq {seq}: prev_hash {env.prev_hash[:16]}... is not the hash of "
                        f"seq {seq - 1} ({before[0][:16]}...)",
                    )
                )
            after = known.get(seq + 1)
            if after is not None and seq + 1 not in mine and after[1] != env.hash:
                breaks.append(
                    Break(
                        env,
                        f"seq {seq + 1}: prev_hash {after[1][:16]}... is not the hash of "
                        f"seq {seq} ({env.hash[:16]}...)",
                    )
                )
    return breaks
