"""kiosk.ui.presenters.basket: rows, last item, totals and messages, in zh_CN and en."""

from __future__ import annotations

from collections.abc import Callable

from kiosk.ui.presenters.basket import RowCache, present_basket
from kiosk.ui.presenters.messages import notice_of
from kiosk.ui.presenters.text import Text
from tests.unit.ui.conftest import line, view

Make = Callable[[str], Text]


def basket_view() -> dict[str, object]:
    return view(
        lines=[
            line(1, name="Water", qty="2", gross=400, amount=400),
            line(2, name="Lager", voided=True),
            line(3, name="Banana", unit="kg", qty="0.512", unit_price=698, gross=357, amount=357),
        ],
        totals={"gross": 757, "discount": -50, "due": 707, "paid": 0, "items": "2.512"},
    )


def test_rows_list_every_line_with_quantity_and_amount(text_of: Make) -> None:
    shown = present_basket(basket_view(), text_of("en"))
    assert [row["name"] for row in shown.rows] == ["Water", "Lager", "Banana"]
    water, lager, banana = shown.rows
    assert water["detail"] == "2 × CN¥2.00" and water["amount"] == "CN¥4.00"
    assert water["qty"] == 2 and water["can_change"]
    assert lager["voided"] and not lager["can_change"]
    assert banana["detail"] == "0.512 kg × CN¥6.98/kg" and not banana["can_change"]


def test_the_last_active_line_is_shown_large(text_of: Make) -> None:
    shown = present_basket(basket_view(), text_of("zh_CN"))
    assert shown.last is not None
    assert (shown.last.name, shown.last.amount) == ("Banana", "¥3.57")
    assert shown.total == "¥7.07" and shown.total_label == "合计"
    assert shown.discount == "-¥0.50"
    assert shown.pay_label == "付款" and shown.can_pay


def test_item_count_is_plural_aware(text_of: Make) -> None:
    one = view(lines=[line(1)], totals={"items": "1", "due": 200})
    assert present_basket(one, text_of("en")).items == "1 item"
    three = view(lines=[line(1, qty="3")], totals={"items": "3", "due": 600})
    assert present_basket(three, text_of("en")).items == "3 items"
    assert present_basket(three, text_of("zh_CN")).items == "3 件商品"


def test_an_empty_basket_cannot_pay_and_says_how_to_begin(text_of: Make) -> None:
    shown = present_basket(view(), text_of("en"))
    assert shown.rows == () and shown.last is None and not shown.can_pay
    assert shown.empty == "Scan an item to begin"


def test_a_blocked_basket_cannot_pay_and_tells_why(text_of: Make) -> None:
    blocked = view(
        lines=[line(1)],
        blocked=True,
        interventions=[{"reason": "age_check", "blocking": True, "line": 1}],
    )
    shown = present_basket(blocked, text_of("en"))
    assert not shown.can_pay
    assert shown.notice == "An attendant will check your age for this item."


def test_an_unknown_code_gets_a_clear_translated_message(text_of: Make) -> None:
    msgid = notice_of({"event": "scan_rejected", "reason": "unknown_format", "message": "x"})
    assert msgid is not None
    shown = present_basket(view(lines=[line(1)]), text_of("zh_CN"), msgid)
    assert shown.notice == "无法识别此条码，请向工作人员求助。" and shown.notice_is_error
    unknown_item = notice_of({"event": "intervention_opened", "reason": "unknown_item"})
    assert unknown_item == "This item is not known. An attendant is coming to help."


def test_events_set_keep_or_clear_the_message() -> None:
    assert notice_of({"event": "error", "code": "blocked", "message": "x"}) == (
        "An attendant must check something before you can pay."
    )
    assert notice_of({"event": "error", "code": "???"}) == (
        "Something went wrong. Please call an attendant."
    )
    assert notice_of({"event": "scan_rejected", "reason": "new_reason"}) == (
        "That code cannot be used here. Please ask staff for help."
    )
    assert notice_of({"event": "item_added"}) == ""
    assert notice_of({"event": "devices_changed"}) is None
    # device news is for staff, not the customer
    assert notice_of({"event": "intervention_opened", "reason": "paper_low"}) is None


def test_the_row_cache_gives_the_same_row_for_an_unchanged_line_and_formats_changed_ones(
    text_of: Make,
) -> None:
    cache = RowCache()
    en = text_of("en")
    first = cache.rows(basket_view()["lines"], en)  # type: ignore[arg-type]
    lines = basket_view()["lines"]  # a new view: new dicts, equal to the old ones
    lines[0] = line(1, name="Water", qty="3", gross=600, amount=600)  # type: ignore[index]
    lines.append(line(4, name="Bread"))  # type: ignore[attr-defined]
    second = cache.rows(lines, en)  # type: ignore[arg-type]
    assert second[1] is first[1] and second[2] is first[2]  # unchanged: not formatted again
    assert second[0] is not first[0] and second[0]["amount"] == "CN¥6.00"
    assert [row["name"] for row in second] == ["Water", "Lager", "Banana", "Bread"]
    shorter = cache.rows(lines[1:], en)  # type: ignore[index]  # a line removed: all shift
    assert [row["name"] for row in shorter] == ["Lager", "Banana", "Bread"]


def test_the_row_cache_formats_every_row_again_in_a_new_language(text_of: Make) -> None:
    cache = RowCache()
    english = cache.rows(basket_view()["lines"], text_of("en"))  # type: ignore[arg-type]
    chinese = cache.rows(basket_view()["lines"], text_of("zh_CN"))  # type: ignore[arg-type]
    assert english[0]["amount"] == "CN¥4.00" and chinese[0]["amount"] == "¥4.00"
    assert all(a is not b for a, b in zip(english, chinese, strict=True))
