"""Bad payloads end to end: malformed, oversized, wrong-schema, invalid, tampered, misplaced and
unknown-kiosk messages published into the event stream while two kiosks sell. Each consumer
parks every one of them in dead_letters with its reason, never stops, and applies every real
sale exactly once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.central.factory import KioskChain, payload_of, topic_of
from tests.e2e.invariant import invariant_check
from tests.e2e.stack import (
    CONSUMER_FAST,
    GROUPS,
    Burst,
    Kiosk,
    RawClient,
    Stack,
    central_cli,
    deploy,
    run_cli,
    wait_until,
)

K1, K2 = "s0001-k01", "s0001-k02"
EVT = f"pos/v1/{K1}/evt/sale.completed"


def real_event(kiosk: Kiosk, seq: int) -> dict[str, Any]:
    payload = kiosk.query("SELECT payload FROM outbox WHERE seq = ?", (seq,))[0][0]
    event: dict[str, Any] = json.loads(payload)
    return event


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def bad_messages(kiosk: Kiosk) -> tuple[list[tuple[str, bytes]], dict[str, int]]:
    """The bad messages and, per reason code, how many dead-letter rows they make per group."""
    sale, other = real_event(kiosk, 1), real_event(kiosk, 2)
    stranger = KioskChain(kiosk_id="s0999-k01", store_id="s0999").sale()
    oversized = encode({"schema": "pos.sale.completed/1", "pad": "x" * (100 * 1024)})
    assert len(oversized) > CONSUMER_FAST["max_payload_bytes"]
    truncated = b'{"schema": "pos.sale.completed/1", "seq": '
    messages = [
        (EVT, truncated),
        (EVT, truncated),  # the same bytes again: one row, seen twice
        (EVT, b"\xff\xfe not UTF-8"),
        (EVT, oversized),
        (EVT, encode({**sale, "schema": "pos.sale.completed/9"})),
        (EVT, encode({"schema": "pos.coffee.brewed/1", "cups": 2})),
        (EVT, encode({**sale, "seq": "1"})),
        (EVT, encode({**sale, "boot": sale["boot"] + 1})),  # content changed after sealing
        (f"{EVT}/extra", encode(sale)),
        # K1's event on K2's topic. (Another event than the line above: central keys dead
        # letters on the payload alone, so the same bytes on two wrong topics would share
        # one row, with the first topic and the last reason.)
        (f"pos/v1/{K2}/evt/sale.completed", encode(other)),
        (topic_of(stranger), payload_of(stranger)),  # a kiosk of an unknown store
    ]
    expected = {
        "malformed": 2,
        "oversized": 1,
        "unknown_schema": 2,
        "invalid": 1,
        "hash_mismatch": 1,
        "bad_topic": 1,
        "unknown_kiosk": 2,
    }
    return messages, expected


def test_bad_payloads_are_parked_with_their_reason_and_the_sales_flow_on(
    stack: Stack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    d = deploy(stack, url)
    k1 = d.kiosks[0]
    sims = [stack.sim(kiosk) for kiosk in d.kiosks]
    for sim in sims:
        sim.sell_many(5)
    bursts = [Burst(sim, 40, first=5).start() for sim in sims]
    messages, expected = bad_messages(k1)
    raw = RawClient(d.broker.port)
    raw.publish(messages)
    for burst in bursts:
        burst.join()

    dead = {(group, code): n for group in GROUPS for code, n in expected.items()}
    report = invariant_check(d.kiosks, url, dead=dead, diagnostics=stack.diagnostics)
    assert set(report.last_seq.values()) == {45}
    assert all(proc.running for proc in stack.procs), "a consumer or agent stopped"

    # Published again: no new rows, the same rows seen once more.
    raw.publish(messages)
    sims[0].sell_many(3, first=45)
    invariant_check(d.kiosks, url, dead=dead, diagnostics=stack.diagnostics)
    raw.close()

    def listed() -> list[dict[str, Any]]:
        out = run_cli(central_cli("dead-letters", "--config", str(d.config), "--format", "json"))
        rows: list[dict[str, Any]] = json.loads(out)
        return rows

    wait_until(
        lambda: all(row["times_seen"] >= 2 for row in listed()),
        20,
        "every bad payload to be parked a second time",
    )
    rows = listed()
    assert len(rows) == sum(dead.values())
    truncated = [r for r in rows if r["reason_code"] == "malformed" and r["times_seen"] == 4]
    assert len(truncated) == len(GROUPS)  # the truncated JSON: twice, and twice again
    for row in rows:
        assert row["reason"].startswith(f"{row['reason_code']}: ")
    stranger = [r for r in rows if r["topic"].startswith("pos/v1/s0999-k01/")]
    assert {r["reason_code"] for r in stranger} == {"unknown_kiosk"}
