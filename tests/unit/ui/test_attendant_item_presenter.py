"""The attendant's item screen (kiosk.ui.presenters.attendant_item) without Kivy."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.lane_protocol import parse_command
from kiosk.ui.presenters.attendant_entry import EntryError
from kiosk.ui.presenters.attendant_item import ItemForm, ItemTarget


def t(msgid: str) -> str:
    return msgid


def money(minor: int) -> str:
    return f"¥{minor // 100}.{minor % 100:02d}"


UNKNOWN = {
    "intervention": "iv-1",
    "reason": "unknown_item",
    "line": None,
    "opened_at": "2026-11-27T09:28:00Z",
    "blocking": True,
    "detail": {"code": "01234567890128"},
}
PAYMENT = {
    "intervention": "iv-2",
    "reason": "payment_unknown",
    "line": None,
    "opened_at": "2026-11-27T09:28:00Z",
    "blocking": True,
    "detail": {"intent": "x", "method": "card", "amount": 200, "sale_id": "s"},
}
LINE = {"line": 2, "name": "Coastline Lager 500ml", "qty": "1", "unit_price": 550, "voided": False}


def view(**kw: Any) -> dict[str, Any]:
    return {"interventions": [UNKNOWN, PAYMENT], "lines": [LINE], **kw}


def test_target_for_an_intervention_or_a_line() -> None:
    assert ItemTarget.for_intervention(UNKNOWN) == ItemTarget("unknown_item", "iv-1")
    assert ItemTarget.for_line(2) == ItemTarget("line", line=2)
    with pytest.raises(ValueError, match="age_check"):
        ItemTarget.for_intervention({"reason": "age_check", "intervention": "x"})


def test_unknown_item_keyed_in_by_plu_or_sku() -> None:
    form = ItemForm(ItemTarget.for_intervention(UNKNOWN), "CNY")
    with pytest.raises(EntryError, match="PLU or SKU first"):
        form.clear_by_code()
    for key in "10001":
        form.press_code(key)
    command = form.clear_by_code("plu")
    assert command == {
        "cmd": "clear",
        "intervention": "iv-1",
        "resolution": "approve",
        "plu": "10001",
    }
    parse_command(command)
    assert form.clear_by_code("sku")["sku"] == "10001"
    with pytest.raises(EntryError):
        form.clear_by_code("name")
    with pytest.raises(EntryError, match="Unknown key"):
        form.press_code("A")


def test_search_then_pick_a_result() -> None:
    form = ItemForm(ItemTarget.for_intervention(UNKNOWN), "CNY")
    with pytest.raises(EntryError, match="name first"):
        form.search_command()
    form.type_query("  cola ")
    assert form.search_command() == {"cmd": "search", "query": "cola", "page": 0}
    form.on_lane(
        [
            {
                "event": "search_results",
                "query": "cola",
                "page": 0,
                "has_more": True,
                "products": [
                    {"sku": "100003", "name": "Cola 330ml", "price": 300, "unit": "ea", "plu": None}
                ],
            }
        ]
    )
    model = form.model(view(), t, money)
    (hit,) = model.hits
    assert (hit.name, hit.price) == ("Cola 330ml", "¥3.00")
    assert hit.command == {
        "cmd": "clear",
        "intervention": "iv-1",
        "resolution": "approve",
        "sku": "100003",
    }
    assert model.has_more
    assert form.search_command(1)["page"] == 1
    assert form.search_command(-3)["page"] == 0


def test_unknown_item_model_and_gone_once_cleared() -> None:
    form = ItemForm(ItemTarget.for_intervention(UNKNOWN), "CNY")
    model = form.model(view(), t, money)
    assert model.title == "Unknown item"
    assert "01234567890128" in model.subtitle
    assert not model.gone
    assert form.model(view(interventions=[]), t, money).gone


def test_payment_unknown_needs_the_reference() -> None:
    form = ItemForm(ItemTarget.for_intervention(PAYMENT), "CNY")
    with pytest.raises(EntryError, match="reference"):
        form.payment_command()
    form.type_ref(" T-000042 ")
    command = form.payment_command()
    assert command == {
        "cmd": "clear",
        "intervention": "iv-2",
        "resolution": "approve",
        "ref": "T-000042",
    }
    parse_command(command)
    assert "¥2.00" in form.model(view(), t, money).subtitle
    with pytest.raises(EntryError):
        form.clear_by_code()


def test_price_override_needs_a_price_and_a_reason() -> None:
    form = ItemForm(ItemTarget.for_line(2), "CNY")
    with pytest.raises(EntryError, match="unit price"):
        form.override_command()
    for key in "450":
        form.price.press(key)
    with pytest.raises(EntryError, match="reason"):
        form.override_command()
    model = form.model(view(), t, money)
    form.choose_reason(model.reasons[1][0])
    command = form.override_command()
    assert command == {
        "cmd": "price_override",
        "line": 2,
        "unit_price": 450,
        "reason": "damaged item",
    }
    parse_command(command)
    assert model.title == "Line 2"
    assert model.subtitle == "Coastline Lager 500ml: 1 × ¥5.50"


def test_void_a_line_and_gone_once_voided() -> None:
    form = ItemForm(ItemTarget.for_line(2), "CNY")
    assert form.void_command() == {"cmd": "void_line", "line": 2}
    voided = view(lines=[{**LINE, "voided": True}])
    assert form.model(voided, t, money).gone
    assert form.model(view(lines=[]), t, money).gone


def test_line_commands_refused_for_an_intervention_and_vice_versa() -> None:
    form = ItemForm(ItemTarget.for_intervention(UNKNOWN), "CNY")
    with pytest.raises(EntryError, match="line"):
        form.void_command()
    with pytest.raises(EntryError, match="line"):
        form.override_command()
    line_form = ItemForm(ItemTarget.for_line(2), "CNY")
    with pytest.raises(EntryError, match="unknown item"):
        line_form.clear_with_sku("1")
    with pytest.raises(EntryError, match="intervention"):
        line_form.payment_command()
