"""Inventory: stock from sales and back-office movements, low-stock alerts through the outbox."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from central.alerts import mark_published, pending_alerts
from central.apply import Applier
from central.config import InventoryConfig
from central.inventory import record_back_office
from central.stock import Movement, milli_text, to_milli
from central.storage.schema import stock_items, stock_movements
from tests.central.conftest import inbound
from tests.central.factory import Item, KioskChain

NOW = "2026-11-27T10:00:00.000Z"


def movement(kind: str, qty: str, sku: str = "SKU0001", **extra: str) -> Movement:
    return Movement(
        movement_id=extra.pop("movement_id", f"{kind}-{sku}-{qty}"),
        store_id="s0001",
        sku=sku,
        kind=kind,
        qty_milli=to_milli(Decimal(qty)),
        unit="ea",
        business_day="2026-11-27",
        **extra,  # type: ignore[arg-type]
    )


def stock(engine: Engine, sku: str = "SKU0001") -> tuple[int, bool]:
    with engine.connect() as conn:
        row = conn.execute(
            select(stock_items.c.on_hand_milli, stock_items.c.low).where(stock_items.c.sku == sku)
        ).one()
    return row.on_hand_milli, bool(row.low)


def alerts(engine: Engine) -> list[dict[str, str]]:
    with engine.connect() as conn:
        return [json.loads(a.payload) for a in pending_alerts(conn)]


@pytest.mark.parametrize(
    ("qty", "milli", "text"),
    [("2", 2000, "2"), ("0.512", 512, "0.512"), ("1.0005", 1000, "1"), ("-1.5", -1500, "-1.5")],
)
def test_quantities_are_thousandths_of_the_unit(qty: str, milli: int, text: str) -> None:
    assert to_milli(Decimal(qty)) == milli
    assert milli_text(milli) == text


def test_receive_adjust_and_count_are_recorded_as_movements(
    engine: Engine, inventory_config: InventoryConfig
) -> None:
    receive = movement("receive", "24", supplier="ACME Foods", purchase_order="PO-7731")
    assert record_back_office(engine, receive, inventory_config, NOW).on_hand_milli == 24000
    assert (
        record_back_office(
            engine, movement("adjust", "-2", reason="damaged"), inventory_config, NOW
        ).on_hand_milli
        == 22000
    )
    counted = record_back_office(
        engine, movement("count", "20", reason="weekly count"), inventory_config, NOW
    )
    assert counted.on_hand_milli == 20000
    with engine.connect() as conn:
        rows = conn.execute(select(stock_movements).order_by(stock_movements.c.id)).all()
    assert [(r.kind, r.qty_milli, r.on_hand_after_milli) for r in rows] == [
        ("receive", 24000, 24000),
        ("adjust", -2000, 22000),
        ("count", -2000, 20000),
    ]
    assert (rows[0].supplier, rows[0].purchase_order) == ("ACME Foods", "PO-7731")
    assert rows[1].reason == "damaged"


def test_a_retried_back_office_movement_changes_nothing(
    engine: Engine, inventory_config: InventoryConfig
) -> None:
    receive = movement("receive", "10", supplier="ACME", movement_id="rcv-1")
    record_back_office(engine, receive, inventory_config, NOW)
    again = record_back_office(engine, receive, inventory_config, NOW)
    assert (again.duplicate, again.on_hand_milli) == (True, 10000)


def test_back_office_refuses_a_sale_movement(
    engine: Engine, inventory_config: InventoryConfig
) -> None:
    with pytest.raises(ValueError, match="not a back-office movement"):
        record_back_office(engine, movement("sale", "-1"), inventory_config, NOW)


def test_sales_take_stock_and_alert_once_below_the_threshold(
    inventory: Applier, inventory_config: InventoryConfig, chain: KioskChain
) -> None:
    engine = inventory.engine
    record_back_office(engine, movement("receive", "8", supplier="ACME"), inventory_config, NOW)
    one = [Item("SKU0001", "2")]
    inventory.apply([inbound(chain.sale(one))])  # 6: not below 5
    assert alerts(engine) == []
    inventory.apply([inbound(chain.sale(one)), inbound(chain.sale(one))])  # 4, then 2
    assert stock(engine) == (2000, True)
    (alert,) = alerts(engine)
    assert alert["alert"] == "low-stock" and alert["on_hand"] == "4" and alert["threshold"] == "5"
    assert (alert["store_id"], alert["sku"], alert["unit"]) == ("s0001", "SKU0001", "ea")
    with engine.connect() as conn:
        assert pending_alerts(conn)[0].topic == "pos/v1/store/s0001/alert/low-stock"


def test_low_stock_alerts_again_only_after_stock_recovered(
    inventory: Applier, inventory_config: InventoryConfig, chain: KioskChain
) -> None:
    engine = inventory.engine
    inventory.apply([inbound(chain.sale([Item("SKU0001", "1")]))])
    with engine.begin() as conn:
        mark_published(conn, [a.id for a in pending_alerts(conn)], NOW)
    inventory.apply([inbound(chain.sale([Item("SKU0001", "1")]))])
    assert alerts(engine) == []  # still low: no second alert
    record_back_office(engine, movement("receive", "12", supplier="ACME"), inventory_config, NOW)
    assert stock(engine) == (10000, False)
    inventory.apply([inbound(chain.sale([Item("SKU0001", "6")]))])
    assert [a["on_hand"] for a in alerts(engine)] == ["4"]


def test_count_below_the_threshold_alerts(
    engine: Engine, inventory_config: InventoryConfig
) -> None:
    result = record_back_office(engine, movement("count", "3"), inventory_config, NOW)
    assert [a.on_hand_milli for a in result.alerts] == [3000]
    assert [a["on_hand"] for a in alerts(engine)] == ["3"]


def test_skus_without_a_threshold_never_alert(inventory: Applier, chain: KioskChain) -> None:
    inventory.apply([inbound(chain.sale([Item("OTHER", "50")]))])
    assert stock(inventory.engine, "OTHER") == (-50000, False)
    assert alerts(inventory.engine) == []


def test_weighed_items_are_taken_by_weight(inventory: Applier, chain: KioskChain) -> None:
    inventory.apply(
        [
            inbound(
                chain.sale(
                    [Item("BANANA", "0.512", "kg", 1580), Item("BANANA", "1.25", "kg", 1580)]
                )
            )
        ]
    )
    assert stock(inventory.engine, "BANANA") == (-1762, False)
    with inventory.engine.connect() as conn:
        units = set(conn.execute(select(stock_movements.c.unit)).scalars())
    assert units == {"kg"}
