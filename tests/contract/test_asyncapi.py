"""docs/asyncapi.yaml against the code that builds the topics and against real messages.

The document must be AsyncAPI 3.0 whose references all resolve, whose operations use their
channel's messages, and whose channels are exactly the topics ``kiosk/protocol/mqtt.py`` builds
(every ``*_topic`` function there has a channel, every channel a function). Its payload schemas
(JSON Schema draft 7, the AsyncAPI schema format) must accept what the code really sends:

- sale events made through the real lane and store (``make_kiosk``: card, cash with rounding
  and change, a member, a weighed item without GTIN, an age check, staff discounts and a price
  override), read back from the outbox; central's own validation must accept the same bytes;
- a ``pos.shift.closed/1`` built by central's test factory as docs/central.md defines it,
  which central's parser accepts too;
- the control payloads of ``kiosk.protocol.mqtt`` and the low-stock alert of ``central.alerts``;
- everything captured on a private Mosquitto while a real ``kiosk sync`` process relays a real
  kiosk.db and the real inventory and finance consumers apply, ack and alert: events, acks,
  births, the Will (SIGKILL), the clean-stop offline (SIGTERM), telemetry, commands and their
  answers, central states, the low-stock alert.
"""

from __future__ import annotations

import inspect
import json
import re
import signal
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT7

from central.alerts import low_stock_payload
from central.clock import utc_now_text
from central.config import KioskRegistry
from central.events import Event
from central.stock import LowStock
from central.validation import validate
from kiosk.app import open_store
from kiosk.protocol import mqtt
from kiosk.store.loyalty import credit
from tests.central.factory import KioskChain, payload_of, topic_of
from tests.central.mqtt_kit import InProcessConsumer
from tests.central.mqtt_kit import write_config as write_central_config
from tests.infra.mosquitto import Broker
from tests.integration.lane_kit import (
    BANANA_WEIGHT_LABEL,
    BEER,
    MEMBER_GOLD,
    MILK,
    TODAY,
    WATER,
    LaneKit,
    make_kiosk,
    only,
)
from tests.integration.sync_kit import AgentProcess, Watcher, wait_until, write_config

ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = ROOT / "docs" / "asyncapi.yaml"
URI = "urn:kiosk:asyncapi"
KIOSK = "s0001-k01"
REGISTRY = KioskRegistry(stores=frozenset({"s0001"}))
# Values the topic builders are called with, by parameter name; each is a valid id.
SENTINELS = {
    "kiosk_id": "s9999-k99",
    "group": "grp9",
    "store_id": "s9999",
    "kind": "kind9",
    "event_type": "thing.done",
}


# ----------------------------------------------------------------------------- the document
@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))
    return data


def deref(doc: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref`` pointers (``#/a/b``) until a node without one."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local references are used, got {ref}"
        node = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def schema_validator(doc: dict[str, Any], name: str) -> Draft7Validator:
    """A validator for ``#/components/schemas/{name}`` (its inner references resolved)."""
    registry: Registry[Any] = Registry().with_resource(URI, DRAFT7.create_resource(doc))
    return Draft7Validator(
        {"$ref": f"{URI}#/components/schemas/{name}"},
        registry=registry,
        format_checker=FormatChecker(),
    )


def address_pattern(address: str) -> re.Pattern[str]:
    """``pos/v1/{kioskId}/state`` -> a regex matching concrete topics."""
    return re.compile(re.sub(r"\\\{[A-Za-z]+\\\}", "[^/]+", re.escape(address)) + "$")


def channel_of(doc: dict[str, Any], topic: str) -> str:
    found = [
        name
        for name, channel in doc["channels"].items()
        if address_pattern(channel["address"]).match(topic)
    ]
    assert len(found) == 1, f"{topic} matches channels {found}"
    return str(found[0])


def problems(doc: dict[str, Any], topic: str, payload: bytes | dict[str, Any]) -> list[str]:
    """Why ``payload`` on ``topic`` fits none of its channel's messages ([] when one fits)."""
    data = json.loads(payload) if isinstance(payload, bytes) else payload
    channel = doc["channels"][channel_of(doc, topic)]
    found = []
    for name, ref in channel["messages"].items():
        schema_ref = deref(doc, ref)["payload"]["$ref"]
        validator = schema_validator(doc, schema_ref.rsplit("/", 1)[1])
        errors = [f"{name}: {e.json_path}: {e.message}" for e in validator.iter_errors(data)]
        if not errors:
            return []
        found += errors
    return found


def assert_fits(doc: dict[str, Any], topic: str, payload: bytes | dict[str, Any]) -> None:
    found = problems(doc, topic, payload)
    assert not found, f"{topic}: {payload!r}\n" + "\n".join(found[:10])


def walk(node: Any, path: str = "#") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}/{i}")


def test_document_is_asyncapi_3_with_every_reference_resolving(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"] == "3.0.0"
    assert doc["defaultContentType"] == "application/json"
    refs = [
        (path, node["$ref"])
        for path, node in walk(doc)
        if isinstance(node, dict) and "$ref" in node
    ]
    assert len(refs) > 50
    for path, _ref in refs:
        assert deref(doc, {"$ref": _ref}) is not None, path


def test_every_payload_schema_is_valid_json_schema(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for name, schema in schemas.items():
        Draft7Validator.check_schema(schema)
        schema_validator(doc, name)  # builds: its references resolve
    for name, message in doc["components"]["messages"].items():
        payload = message["payload"]["$ref"]
        assert payload.startswith("#/components/schemas/") and deref(doc, message["payload"]), name


def test_operations_use_their_own_channel_messages_and_a_known_side(doc: dict[str, Any]) -> None:
    sides = set()
    for name, operation in doc["operations"].items():
        assert operation["action"] in ("send", "receive"), name
        channel_ref = operation["channel"]["$ref"]
        channel = channel_ref.rsplit("/", 1)[1]
        assert channel in doc["channels"], name
        for message in operation["messages"]:
            assert message["$ref"].startswith(f"{channel_ref}/messages/"), name
            deref(doc, message)
        (tag,) = [t["name"] for t in operation["tags"]]
        assert name.startswith(tag), f"{name} is written from the {tag} side"
        sides.add(tag)
    assert sides == {"kiosk", "central", "fleet"}


def test_channel_parameters_match_their_address(doc: dict[str, Any]) -> None:
    for name, channel in doc["channels"].items():
        in_address = set(re.findall(r"\{([A-Za-z]+)\}", channel["address"]))
        assert in_address == set(channel.get("parameters", {})), name


def topic_builders() -> dict[str, Callable[..., str]]:
    return {
        name: fn
        for name, fn in inspect.getmembers(mqtt, inspect.isfunction)
        if name.endswith("_topic")
        and not name.startswith("parse_")
        and fn.__module__ == mqtt.__name__
    }


def test_every_topic_of_the_protocol_module_has_a_channel_and_every_channel_a_builder(
    doc: dict[str, Any],
) -> None:
    def shape(topic: str) -> str:
        for value in sorted(SENTINELS.values(), key=len, reverse=True):
            topic = topic.replace(value, "+")
        return topic

    built = {}
    for name, fn in topic_builders().items():
        params = inspect.signature(fn).parameters
        missing = set(params) - set(SENTINELS)
        assert not missing, f"{name} takes {missing}: add a sentinel for it to this test"
        built[shape(fn(**{p: SENTINELS[p] for p in params}))] = name
    documented = {
        re.sub(r"\{[A-Za-z]+\}", "+", channel["address"]): name
        for name, channel in doc["channels"].items()
    }
    assert len(built) == len(topic_builders()) >= 10
    assert set(built) == set(documented), (
        f"builders without a channel: {sorted(set(built) - set(documented))}; "
        f"channels without a builder: {sorted(set(documented) - set(built))}"
    )
    # A topic a builder makes goes to exactly the channel with that address.
    for shaped, name in built.items():
        fn = topic_builders()[name]
        params = inspect.signature(fn).parameters
        topic = fn(**{p: SENTINELS[p] for p in params})
        assert channel_of(doc, topic) == documented[shaped]


# ------------------------------------------------------------------- events from real code
def sell_varied(kit: LaneKit) -> None:
    """Three sales through the lane that use every optional part of the sale event."""
    kit.cmd("start", language="en")
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=MILK)
    kit.cmd("scan", code=MEMBER_GOLD)
    assert "sale_completed" in [e["event"] for e in kit.cmd("pay", method="card")]
    kit.cmd("scan", code=WATER)
    kit.cmd("scan", code=BANANA_WEIGHT_LABEL)  # kg, no GTIN
    kit.cmd("pay", method="cash")
    kit.login()
    assert "sale_completed" in [e["event"] for e in kit.cmd("cash", tendered=2000)]
    kit.logout()
    kit.cmd("scan", code=BEER)  # age check
    kit.cmd("add", sku="100001", qty="2")
    kit.cmd("scan", code=MILK)
    kit.login()
    kit.cmd("clear", intervention="age_check", resolution="approve")
    kit.cmd("price_override", line=2, unit_price=150, reason="shelf label 1.50")
    kit.cmd("discount_line", line=3, percent="10", reason="near best-before")
    kit.logout()
    assert "sale_completed" in [e["event"] for e in kit.cmd("pay", method="card")]


def test_sale_events_from_the_real_lane_and_store_fit_the_schema(
    doc: dict[str, Any], tmp_path: Path
) -> None:
    kit = make_kiosk(tmp_path, cash={"rounding_increment": 10})
    try:
        sell_varied(kit)
        rows = kit.rows("SELECT topic, payload FROM outbox ORDER BY seq")
    finally:
        kit.close()

    assert len(rows) == 3
    events = [json.loads(payload) for _topic, payload in rows]
    for topic, payload in rows:
        assert_fits(doc, topic, payload.encode("utf-8"))
        assert isinstance(validate(topic, payload.encode(), REGISTRY, 262144), Event)
    card, cash, attended = events
    assert card["member"]["id"] == "C0001"
    assert {line.get("gtin") is None for line in cash["lines"]} == {False, True}
    assert cash["totals"]["rounding"] != 0 and cash["tenders"][0]["change"] > 0
    assert {d["kind"] for line in attended["lines"] for d in line["discounts"]} == {
        "price_override",
        "discount",
    }
    assert {a["kind"] for a in attended["attendant_actions"]} >= {"age_check", "discount"}


def test_refunds_and_a_shift_close_from_the_real_lane_fit_the_schema(
    doc: dict[str, Any], tmp_path: Path
) -> None:
    kit = make_kiosk(tmp_path, cash={"rounding_increment": 10})
    try:
        db = open_store(kit.config)
        try:
            credit(db, "C0001", "points", 5000, TODAY, "opening balance")
            credit(db, "C0001", "stored_value", 3000, TODAY, "top-up T-1")
        finally:
            db.conn.close()
        kit.login()
        kit.cmd("shift_open", float=10000)
        kit.logout()
        kit.cmd("scan", code=WATER)
        kit.cmd("scan", code=MILK)
        kit.cmd("scan", code=MEMBER_GOLD)
        kit.cmd("redeem", type="points", amount=300)
        kit.cmd("redeem", type="stored_value", amount=500)
        member_sale = only(kit.cmd("pay", method="card"), "sale_completed")
        kit.cmd("new_sale")
        kit.cmd("scan", code=WATER)
        kit.cmd("pay", method="cash")
        kit.login()
        cash_sale = only(kit.cmd("cash", tendered=500), "sale_completed")
        kit.cmd("new_sale")
        for receipt_no, line in ((member_sale["receipt_no"], 2), (cash_sale["receipt_no"], 1)):
            kit.cmd("return_start", receipt_no=receipt_no)
            kit.cmd("return_line", line=line)
            assert "refund_completed" in [e["event"] for e in kit.cmd("return_confirm")]
        assert "shift_closed" in [e["event"] for e in kit.cmd("shift_close", counted=10000)]
        rows = kit.rows("SELECT topic, payload FROM outbox ORDER BY seq")
    finally:
        kit.close()

    schemas = [json.loads(payload)["schema"] for _topic, payload in rows]
    assert schemas == [
        "pos.sale.completed/1",
        "pos.sale.completed/1",
        "pos.sale.refunded/1",
        "pos.sale.refunded/1",
        "pos.shift.closed/1",
    ]
    for topic, payload in rows:
        assert_fits(doc, topic, payload.encode("utf-8"))
        assert isinstance(validate(topic, payload.encode(), REGISTRY, 262144), Event)
    member_refund = json.loads(rows[2][1])
    assert {t["type"] for t in member_refund["tenders"]} == {"card", "points", "stored_value"}
    assert member_refund["member"]["points_refunded"] > 0
    refund_topic = rows[2][0]
    bad = [
        {**member_refund, "tenders": [{"type": "wallet", "amount": 1}]},
        {**member_refund, "member": {"id": "C0001", "points_refunded": -1}},
        {k: v for k, v in member_refund.items() if k != "original"},
    ]
    for payload in bad:
        assert problems(doc, refund_topic, payload), payload


def test_the_schema_refuses_what_the_contract_forbids(doc: dict[str, Any]) -> None:
    event = KioskChain(kiosk_id=KIOSK).sale()
    topic = topic_of(event)
    assert_fits(doc, topic, event)
    bad = [
        {**event, "totals": {**event["totals"], "due": 12.9}},  # money as a float
        {**event, "seq": 0},
        {**event, "extra": 1},
        {k: v for k, v in event.items() if k != "hash"},
        {**event, "lines": [{**event["lines"][0], "qty": "1.500"}]},  # trailing zeros
        {**event, "tenders": [{"type": "card", "amount": 1, "tendered": 1, "change": 0}]},
    ]
    for payload in bad:
        assert problems(doc, topic, payload), payload
    ack = mqtt.ack_topic(KIOSK, "finance")
    for payload in ({}, {"up_to_seq": -1}, {"event_ids": []}, {"up_to_seq": 1, "x": 1}):
        assert problems(doc, ack, payload), payload


def test_a_shift_close_as_central_defines_it_fits_the_schema(doc: dict[str, Any]) -> None:
    chain = KioskChain(kiosk_id=KIOSK)
    chain.sales(2)
    chain.sale(cash=True)
    shift = chain.shift_closed()

    assert_fits(doc, topic_of(shift), payload_of(shift))
    assert isinstance(validate(topic_of(shift), payload_of(shift), REGISTRY, 262144), Event)


def test_control_payloads_of_the_protocol_module_fit_the_schema(doc: dict[str, Any]) -> None:
    ack = mqtt.ack_topic(KIOSK, "inventory")
    for payload in (
        mqtt.ack_payload(12),
        mqtt.ack_payload(0),
        mqtt.ack_payload(None, ("0192f0e0-0000-7000-8000-000000000001",)),
        mqtt.ack_payload(3, tuple(f"id-{i}" for i in range(mqtt.MAX_ACK_IDS))),
    ):
        assert_fits(doc, ack, payload)
    state = mqtt.state_topic(KIOSK)
    assert_fits(doc, state, mqtt.birth_payload(912, "0.4.0", 0, "", 184467, 3, 1.5))
    assert_fits(doc, state, mqtt.will_payload(912))
    central = mqtt.central_state_topic("finance")
    assert_fits(doc, central, mqtt.central_state_payload(True, utc_now_text()))
    request = mqtt.command_request_topic(KIOSK)
    assert_fits(doc, request, mqtt.command_request("c-1", "ping"))
    assert_fits(doc, request, mqtt.command_request("c-2", "resend", mqtt.resend_request(5, 9)))
    response = mqtt.command_response_topic(KIOSK)
    assert_fits(doc, response, mqtt.command_response("c-3", "rejected", {"error": "no"}))
    assert_fits(doc, response, mqtt.command_response("c-4", "failed", {"error": "disk"}))
    alert = low_stock_payload(LowStock("s0001", "100234", "ea", 4000, 5000, "mv-1"), utc_now_text())
    assert_fits(doc, mqtt.alerts_topic("s0001", "low-stock"), alert)


# ------------------------------------------------------- a real sync run and real consumers
def test_everything_a_real_sync_run_and_the_consumers_publish_fits_the_document(
    doc: dict[str, Any], tmp_path: Path, broker: Callable[..., Broker]
) -> None:
    mosquitto = broker()
    kit = make_kiosk(tmp_path, cash={"rounding_increment": 10})
    sell_varied(kit)
    central = write_central_config(
        tmp_path / "central", mosquitto.port, extra='"100001" = "5"\n"100006" = "3"'
    )
    watcher = Watcher(mosquitto.port, "pos/v1/#").start()
    config = write_config(
        tmp_path, kit.db_path, mosquitto.port, telemetry_s=0.3, required_groups=["inventory"]
    )
    agent = AgentProcess(config, tmp_path / "sync.log")
    try:
        with (
            InProcessConsumer(central, "inventory", "contract-inventory"),
            InProcessConsumer(central, "finance", "contract-finance"),
        ):
            agent.start()

            def seen(suffix: str, n: int = 1) -> bool:
                with watcher.lock:
                    return sum(t.endswith(suffix) for t, *_ in watcher.messages) >= n

            wait_until(lambda: seen("/evt/sale.completed", 3), 20, "the three sales")
            wait_until(lambda: seen("/ack/inventory") and seen("/ack/finance"), 20, "acks")
            wait_until(lambda: seen("/alert/low-stock"), 20, "a low-stock alert")
            wait_until(lambda: seen("/telemetry", 2), 20, "telemetry")
            request = mqtt.command_request_topic(KIOSK)
            watcher.publish(request, mqtt.command_request("ping-1", "ping"))
            watcher.publish(request, mqtt.command_request("resend-1", "resend", {"from_seq": 2}))
            watcher.publish(request, mqtt.command_request("drawer-1", "open_drawer"))
            watcher.publish(request, {"cmd_id": "bad-1", "cmd": "resend", "args": {"x": 1}})
            wait_until(lambda: seen("/cmd/res", 4), 20, "four command answers")
            agent.kill()  # SIGKILL: the broker publishes the Will
            wait_until(lambda: seen("/state", 2), 20, "the Will")
            agent.start()
            wait_until(lambda: seen("/state", 3), 20, "a second birth")
            assert agent.signal(signal.SIGTERM) == 0  # clean stop: offline published by itself
            wait_until(lambda: seen("/state", 4), 20, "the clean-stop offline")
    finally:
        agent.kill()
        watcher.stop()
        kit.close()

    with watcher.lock:
        captured = list(watcher.messages)
    channels: dict[str, int] = {}
    for topic, payload, _retain, props in captured:
        if json.loads(payload).get("cmd_id") == "bad-1" and topic.endswith("/cmd/req"):
            assert problems(doc, topic, payload)  # sent malformed on purpose, to be rejected
        else:
            assert_fits(doc, topic, payload)
        name = channel_of(doc, topic)
        channels[name] = channels.get(name, 0) + 1
        if name == "event":
            user = dict(getattr(props, "UserProperty", None) or [])
            headers = schema_validator(doc, "eventUserProperties")
            assert not list(headers.iter_errors(user)), user
            assert getattr(props, "ContentType", None) == "application/json"
    assert set(channels) == {
        "event",
        "ack",
        "state",
        "telemetry",
        "commandRequest",
        "commandResponse",
        "centralState",
        "storeAlert",
    }
    states = [json.loads(p)["online"] for t, p, *_ in captured if t == mqtt.state_topic(KIOSK)]
    assert states[-4:] == [True, False, True, False]
    answers = [json.loads(p) for t, p, *_ in captured if t.endswith("/cmd/res")]
    assert sorted(a["status"] for a in answers) == ["ok", "ok", "rejected", "rejected"]


def test_decimal_pattern_matches_how_quantities_are_written(doc: dict[str, Any]) -> None:
    from central.stock import milli_text
    from kiosk.protocol.sale_event import qty_text

    decimal = schema_validator(doc, "decimal")
    for text in [qty_text(Decimal(q)) for q in ("1", "2.000", "0.512", "1.250", "10")] + [
        milli_text(m) for m in (0, 512, 2000, -1500, 123456789)
    ]:
        assert decimal.is_valid(text), text
    for text in ("1.50", "01", "1e3", "", "1.", ".5"):
        assert not decimal.is_valid(text), text
