"""The MQTT topic tree and control payloads (kiosk.protocol.mqtt)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.protocol import mqtt
from kiosk.protocol.mqtt import ProtocolError


def test_topics_follow_the_contract() -> None:
    assert mqtt.event_topic("s0142-k03", "sale.completed") == "pos/v1/s0142-k03/evt/sale.completed"
    assert mqtt.ack_topic("s0142-k03", "finance") == "pos/v1/s0142-k03/ack/finance"
    assert mqtt.state_topic("s0142-k03") == "pos/v1/s0142-k03/state"
    assert mqtt.telemetry_topic("s0142-k03") == "pos/v1/s0142-k03/telemetry"
    assert mqtt.command_request_topic("s0142-k03") == "pos/v1/s0142-k03/cmd/req"
    assert mqtt.command_response_topic("s0142-k03") == "pos/v1/s0142-k03/cmd/res"
    assert mqtt.config_desired_topic("s0142-k03") == "pos/v1/s0142-k03/cfg/desired"
    assert mqtt.config_reported_topic("s0142-k03") == "pos/v1/s0142-k03/cfg/reported"
    assert mqtt.central_state_topic("inventory") == "pos/v1/central/state/inventory"
    assert mqtt.shared_events_subscription("finance") == "$share/finance/pos/v1/+/evt/#"
    assert mqtt.alerts_topic("s0142", "low-stock") == "pos/v1/store/s0142/alert/low-stock"


@pytest.mark.parametrize(
    ("kiosk", "message"),
    [
        ("S0142", "kiosk id 'S0142' must be"),
        ("a/b", "kiosk id 'a/b' must be"),
        ("+", "kiosk id '+' must be"),
        ("", "kiosk id '' must be"),
    ],
)
def test_a_kiosk_id_that_would_break_the_topic_tree_is_refused(kiosk: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(message)):
        mqtt.event_topic(kiosk, "sale.completed")


def test_event_and_ack_topics_parse_back() -> None:
    parsed = mqtt.parse_event_topic("pos/v1/s0142-k03/evt/sale.completed")
    assert (parsed.kiosk_id, parsed.event_type) == ("s0142-k03", "sale.completed")
    assert mqtt.parse_ack_topic("pos/v1/s0142-k03/ack/inventory") == ("s0142-k03", "inventory")
    for bad in ("pos/v1/s0142-k03/state", "pos/v2/k/evt/sale.completed", "pos/v1/k/evt/Sale"):
        with pytest.raises(ProtocolError):
            mqtt.parse_event_topic(bad)
    with pytest.raises(ProtocolError, match="not an ack topic"):
        mqtt.parse_ack_topic("pos/v1/k1/evt/sale.completed")


def test_acks_round_trip_and_bad_acks_are_named() -> None:
    assert mqtt.parse_ack(mqtt.ack_payload(up_to_seq=41)) == mqtt.Ack(41, ())
    assert mqtt.parse_ack(mqtt.ack_payload(event_ids=("e1", "e2"))) == mqtt.Ack(None, ("e1", "e2"))
    cases = [
        ([], "an ack must be a JSON object"),
        ({}, "needs up_to_seq or event_ids"),
        ({"up_to_seq": "4"}, "ack.up_to_seq must be int"),
        ({"up_to_seq": True}, "ack.up_to_seq must be int"),
        ({"up_to_seq": -1}, "outside 0..2"),
        ({"event_ids": [1]}, "non-empty strings"),
        ({"event_ids": ["x"] * 1001}, "at most 1000"),
        ({"up_to_seq": 3, "extra": 1}, "unknown field 'extra'"),
    ]
    for payload, message in cases:
        with pytest.raises(ProtocolError, match=message):
            mqtt.parse_ack(payload)
    with pytest.raises(ProtocolError):
        mqtt.ack_payload()


def test_state_payloads() -> None:
    birth = mqtt.birth_payload(7, "0.1.0", 3, "c-12", 99, 4, 12.34567)
    assert birth == {
        "online": True,
        "boot": 7,
        "fw": "0.1.0",
        "config_version": 3,
        "catalog_version": "c-12",
        "last_seq": 99,
        "outbox_pending": 4,
        "oldest_pending_s": 12.346,
    }
    assert mqtt.will_payload(7) == {"online": False, "boot": 7}
    assert mqtt.central_state_payload(True, "2026-11-27T09:00:00Z")["online"] is True
    assert mqtt.command_response("c1", "ok", {"pong": 1}) == {
        "cmd_id": "c1",
        "status": "ok",
        "result": {"pong": 1},
    }
    with pytest.raises(ProtocolError, match="not ok, rejected or failed"):
        mqtt.command_response("c1", "done")


def test_resend_request_ranges() -> None:
    assert mqtt.resend_request(5) == {"from_seq": 5}
    assert mqtt.resend_request(5, 9) == {"from_seq": 5, "to_seq": 9}
    for args in ((0, None), (9, 5)):
        with pytest.raises(ProtocolError, match="not valid"):
            mqtt.resend_request(*args)


@given(st.text(max_size=80))
def test_parse_event_topic_never_raises_anything_but_protocol_error(topic: str) -> None:
    try:
        mqtt.parse_event_topic(topic)
    except ProtocolError:
        return
