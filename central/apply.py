"""Apply a batch of MQTT messages exactly once: validate, dedupe, apply, record, in ONE transaction.

Called by the consumer thread (``central.runtime``); the runtime PUBACKs the messages only after
``Applier.apply`` returned, i.e. after COMMIT. For each message of the batch, in order:

1. ``central.validation`` refuses it (parked in ``dead_letters`` with the reason), or
2. its ``event_id`` is already in ``processed_events`` for this group: a duplicate, nothing
   changes (a same id with other content is parked as a ``conflict``), or
3. its ``(kiosk, seq)`` is taken by another event: parked as a ``conflict``, or
4. it is applied: a ``processed_events`` row plus the handler's effect (stock, ledger).

Then each kiosk's contiguous seq advances (``central.chain``) and the handler may act on it
(finance reconciles closed shifts). If the batch transaction fails on a database *conflict* (a
race with another instance), the messages are applied one per transaction; a message that
fails alone is parked as ``apply_error``. Transient errors (database down, locked, deadlock)
propagate as ``DatabaseUnavailable``: nothing was committed, nothing is acked, the runtime
retries the batch later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from central.chain import Progress, advance, check_links, lock_chain
from central.clock import utc_now_text
from central.config import KioskRegistry
from central.deadletters import park
from central.events import APPLY_ERROR, CONFLICT, Envelope, Event, Rejection
from central.storage import bulk_insert, is_transient
from central.storage.schema import discrepancies, processed_events
from central.validation import validate

logger = logging.getLogger(__name__)

APPLIED: Final = "applied"
DUPLICATE: Final = "duplicate"
PARKED: Final = "parked"
_CHUNK: Final = 500


class DatabaseUnavailable(RuntimeError):
    """The database could not take the batch right now (nothing committed): retry later."""


@dataclass(frozen=True, slots=True)
class Inbound:
    """One received MQTT message, independent of paho (``generation``: which connection)."""

    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 1
    generation: int = 0


class Handler(Protocol):
    """What one consumer group does with the events (``central.inventory``, ``central.finance``)."""

    @property
    def group(self) -> str: ...

    @property
    def checks_chain(self) -> bool: ...

    def apply(self, conn: Connection, events: Sequence[Event], now: str) -> None: ...

    def after_advance(self, conn: Connection, progress: Progress, now: str) -> None: ...


@dataclass
class BatchResult:
    outcomes: list[str] = field(default_factory=list)  # one per message, in order
    progress: dict[str, Progress] = field(default_factory=dict)
    beyond: dict[str, list[str]] = field(default_factory=dict)  # kiosk -> ids past the gap

    def merge(self, other: BatchResult) -> None:
        self.outcomes.extend(other.outcomes)
        self.progress.update(other.progress)
        for kiosk, ids in other.beyond.items():
            self.beyond.setdefault(kiosk, []).extend(ids)

    def count(self, outcome: str) -> int:
        return self.outcomes.count(outcome)


def record_discrepancy(
    conn: Connection, group: str, kind: str, env: Envelope, detail: str, now: str
) -> None:
    logger.warning("%s discrepancy, kiosk %s seq %s: %s", kind, env.kiosk_id, env.seq, detail)
    conn.execute(
        discrepancies.insert(),
        {
            "consumer_group": group,
            "kind": kind,
            "kiosk_id": env.kiosk_id,
            "store_id": env.store_id,
            "seq": env.seq,
            "event_id": env.event_id,
            "business_day": env.business_day,
            "detail": detail,
            "detected_at": now,
        },
    )


class Applier:
    def __init__(
        self,
        engine: Engine,
        handler: Handler,
        kiosks: KioskRegistry,
        max_payload_bytes: int,
        instance: str,
        now: Callable[[], str] = utc_now_text,
    ) -> None:
        self.engine = engine
        self.handler = handler
        self.group = handler.group
        self.kiosks = kiosks
        self.max_payload_bytes = max_payload_bytes
        self.instance = instance
        self.now = now

    def apply(self, messages: Sequence[Inbound]) -> BatchResult:
        checked = [self._check(m) for m in messages]
        try:
            return self._transaction(messages, checked)
        except SQLAlchemyError as exc:
            if is_transient(exc):
                raise DatabaseUnavailable(str(exc)) from exc
            logger.warning("batch of %d failed (%s): applying one by one", len(messages), exc)
        except Exception:
            logger.exception("batch of %d failed: applying one by one", len(messages))
        result = BatchResult()
        for message, check in zip(messages, checked, strict=True):
            result.merge(self._alone(message, check))
        return result

    def _check(self, message: Inbound) -> Event | Rejection:
        try:
            return validate(message.topic, message.payload, self.kiosks, self.max_payload_bytes)
        except Exception as exc:  # a bug in validation must not stop the queue either
            logger.exception("validating a message on %s failed", message.topic)
            return Rejection(APPLY_ERROR, f"the consumer failed to validate it: {exc!r}"[:2000])

    def _transaction(
        self, messages: Sequence[Inbound], checked: Sequence[Event | Rejection]
    ) -> BatchResult:
        with self.engine.begin() as conn:
            return self._apply_in(conn, messages, checked)

    def _alone(self, message: Inbound, check: Event | Rejection) -> BatchResult:
        try:
            return self._transaction([message], [check])
        except SQLAlchemyError as exc:
            if is_transient(exc):
                raise DatabaseUnavailable(str(exc)) from exc
            problem = f"the database refused it: {exc}"
        except Exception as exc:
            logger.exception("applying a message on %s failed", message.topic)
            problem = f"the consumer failed on it: {type(exc).__name__}: {exc}"
        env = check.envelope if isinstance(check, Event) else None
        rejection = Rejection(
            APPLY_ERROR,
            problem[:2000],
            env.kiosk_id if env else None,
            env.event_id if env else None,
            env.seq if env else None,
        )
        try:
            with self.engine.begin() as conn:
                self._park(conn, message, rejection)
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(f"cannot park a message: {exc}") from exc
        return BatchResult(outcomes=[PARKED])

    def _park(self, conn: Connection, message: Inbound, rejection: Rejection) -> None:
        park(
            conn,
            self.group,
            message.topic,
            message.payload,
            rejection,
            self.now(),
            self.max_payload_bytes,
        )

    def _apply_in(
        self, conn: Connection, messages: Sequence[Inbound], checked: Sequence[Event | Rejection]
    ) -> BatchResult:
        now = self.now()
        events = [c for c in checked if isinstance(c, Event)]
        kiosks = sorted({e.envelope.kiosk_id for e in events})
        chain = lock_chain(conn, self.group, kiosks, now)
        known = self._known_ids(conn, [e.envelope.event_id for e in events])
        taken = self._taken_seqs(conn, events)
        result = BatchResult()
        fresh: list[Event] = []
        touched: dict[str, list[tuple[int, str]]] = {}
        for message, check in zip(messages, checked, strict=True):
            if isinstance(check, Rejection):
                self._park(conn, message, check)
                result.outcomes.append(PARKED)
                continue
            env = check.envelope
            prior = known.get(env.event_id)
            holder = taken.get((env.kiosk_id, env.seq))
            problem = None
            if prior is not None and prior != (env.kiosk_id, env.seq, env.hash):
                problem = (
                    f"event {env.event_id} was applied as kiosk {prior[0]} seq {prior[1]} "
                    f"hash {prior[2][:16]}...; this copy differs"
                )
            elif prior is None and holder is not None:
                problem = f"seq {env.seq} of kiosk {env.kiosk_id} was applied as event {holder}"
            if problem:
                record_discrepancy(conn, self.group, CONFLICT, env, problem, now)
                self._park(
                    conn, message, Rejection(CONFLICT, problem, env.kiosk_id, env.event_id, env.seq)
                )
                result.outcomes.append(PARKED)
                continue
            touched.setdefault(env.kiosk_id, []).append((env.seq, env.event_id))
            if prior is not None:
                result.outcomes.append(DUPLICATE)
                continue
            known[env.event_id] = (env.kiosk_id, env.seq, env.hash)
            taken[(env.kiosk_id, env.seq)] = env.event_id
            fresh.append(check)
            result.outcomes.append(APPLIED)
        if fresh:
            rows = [self._processed_row(e.envelope, now) for e in fresh]
            bulk_insert(conn, processed_events, rows)
            self.handler.apply(conn, fresh, now)
            if self.handler.checks_chain:
                for brk in check_links(conn, self.group, [e.envelope for e in fresh]):
                    record_discrepancy(conn, self.group, "chain", brk.envelope, brk.detail, now)
        for kiosk_id, seen in sorted(touched.items()):
            progress = advance(conn, self.group, kiosk_id, chain[kiosk_id], now)
            result.progress[kiosk_id] = progress
            result.beyond[kiosk_id] = [eid for seq, eid in seen if seq > progress.contiguous_seq]
            self.handler.after_advance(conn, progress, now)
        return result

    def _processed_row(self, env: Envelope, now: str) -> dict[str, object]:
        return {
            "consumer_group": self.group,
            "event_id": env.event_id,
            "kiosk_id": env.kiosk_id,
            "store_id": env.store_id,
            "seq": env.seq,
            "schema": env.schema,
            "business_day": env.business_day,
            "hash": env.hash,
            "prev_hash": env.prev_hash,
            "applied_at": now,
            "applied_by": self.instance,
        }

    def _known_ids(self, conn: Connection, ids: Sequence[str]) -> dict[str, tuple[str, int, str]]:
        out: dict[str, tuple[str, int, str]] = {}
        unique = sorted(set(ids))
        p = processed_events.c
        for i in range(0, len(unique), _CHUNK):
            rows = conn.execute(
                select(p.event_id, p.kiosk_id, p.seq, p.hash).where(
                    p.consumer_group == self.group, p.event_id.in_(unique[i : i + _CHUNK])
                )
            )
            for event_id, kiosk_id, seq, digest in rows:
                out[event_id] = (kiosk_id, seq, digest)
        return out

    def _taken_seqs(self, conn: Connection, events: Sequence[Event]) -> dict[tuple[str, int], str]:
        by_kiosk: dict[str, set[int]] = {}
        for e in events:
            by_kiosk.setdefault(e.envelope.kiosk_id, set()).add(e.envelope.seq)
        out: dict[tuple[str, int], str] = {}
        p = processed_events.c
        for kiosk_id, seqs in sorted(by_kiosk.items()):
            ordered = sorted(seqs)
            for i in range(0, len(ordered), _CHUNK):
                rows = conn.execute(
                    select(p.seq, p.event_id).where(
                        p.consumer_group == self.group,
                        p.kiosk_id == kiosk_id,
                        p.seq.in_(ordered[i : i + _CHUNK]),
                    )
                )
                for seq, event_id in rows:
                    out[(kiosk_id, seq)] = event_id
        return out
