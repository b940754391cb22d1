"""kiosk.ui.presenters.router: which screen each view and UI-local state shows."""

from __future__ import annotations

import pytest

from kiosk.ui.presenters.router import UiLocal, overlay_after, route
from kiosk.ui.screens.registry import NAMES
from tests.unit.ui.conftest import view

STAFF = {"staff": "E01", "name": "Li", "role": "attendant"}


@pytest.mark.parametrize(
    ("fields", "overlay", "screen"),
    [
        ({"mode": "idle"}, None, "attract"),
        ({"mode": "idle"}, "lookup", "lookup"),
        ({"mode": "idle"}, "payment", "attract"),  # nothing to pay before a sale
        ({"mode": "scanning"}, None, "basket"),
        ({"mode": "scanning"}, "help", "help"),
        ({"mode": "scanning"}, "member", "member"),
        ({"mode": "scanning"}, "payment", "payment"),
        ({"mode": "scanning"}, "processing", "processing"),  # the first card charge
        ({"mode": "idle"}, "processing", "attract"),
        ({"mode": "paying"}, "processing", "processing"),
        ({"mode": "paying"}, None, "processing"),
        ({"mode": "paying"}, "payment", "payment"),
        ({"mode": "complete"}, None, "receipt"),
        ({"mode": "complete"}, "lookup", "receipt"),
        ({"mode": "out_of_service"}, "help", "out_of_service"),
        ({"mode": "scanning", "idle": "prompt"}, None, "still_there"),
        ({"mode": "scanning", "idle": "suspended"}, "lookup", "still_there"),
        ({"mode": "scanning"}, "staff_login", "staff_login"),
        ({"mode": "scanning", "attendant": STAFF}, None, "attendant"),
        ({"mode": "scanning", "attendant": STAFF}, "attendant_cash", "attendant_cash"),
        ({"mode": "scanning", "attendant": STAFF}, "lookup", "attendant"),
        ({"mode": "out_of_service", "attendant": STAFF}, None, "attendant"),
        ({"mode": "scanning", "attendant": STAFF}, "staff_login", "attendant"),
    ],
)
def test_route(fields: dict[str, object], overlay: str | None, screen: str) -> None:
    assert route(view(**fields), UiLocal(overlay=overlay)) == screen
    assert screen in NAMES


def test_a_view_without_the_idle_field_routes_as_not_idle() -> None:
    fields = view(mode="scanning")
    del fields["idle"]
    assert route(fields, UiLocal()) == "basket"


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"mode": "dancing"}, "view mode 'dancing'"), ({"idle": "asleep"}, "view idle 'asleep'")],
)
def test_a_view_the_router_does_not_know_is_an_error(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        route(view(**fields), UiLocal())


def test_a_customer_overlay_ends_with_its_mode() -> None:
    local = UiLocal(overlay="payment", last_mode="scanning")
    assert overlay_after(view(mode="paying"), local) is None
    assert overlay_after(view(mode="scanning"), local) == "payment"


def test_a_lookup_started_before_the_first_item_survives_the_sale_starting() -> None:
    local = UiLocal(overlay="lookup", last_mode="idle")
    assert overlay_after(view(mode="scanning"), local) == "lookup"


def test_staff_overlays_follow_the_login() -> None:
    login = UiLocal(overlay="staff_login", last_mode="scanning")
    assert overlay_after(view(), login) == "staff_login"
    assert overlay_after(view(attendant=STAFF), login) is None
    cash = UiLocal(overlay="attendant_cash", last_mode="scanning")
    assert cash.staff_mode
    assert overlay_after(view(attendant=STAFF), cash) == "attendant_cash"
    assert overlay_after(view(), cash) is None
