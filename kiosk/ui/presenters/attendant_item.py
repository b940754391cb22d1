"""The attendant's item screen: key in an unknown item, void a line, override a price, or enter
the terminal's reference of a payment whose outcome is unknown. Plain Python, no Kivy.

Called on the Kivy UI thread by ``kiosk.ui.screens.attendant_item``; unit-tested without Kivy
(tests/unit/ui/test_attendant_item_presenter.py). The screen works on one ``ItemTarget``: an
open intervention (``unknown_item``, ``payment_unknown``) or a basket line. ``ItemForm`` holds
what the attendant typed (PLU or SKU digits, a search query, a new unit price on the amount
keypad, a reason) and builds the lane command: ``clear`` with ``sku``/``plu`` (or ``ref``),
``search``, ``void_line`` or ``price_override``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from kiosk.ui.presenters.attendant_entry import N_, AmountEntry, EntryError, Translate

logger = logging.getLogger(__name__)

MAX_CODE: Final = 20
MAX_QUERY: Final = 40
MAX_REF: Final = 40

# Price override reasons offered as buttons: (what is recorded and printed, msgid shown).
OVERRIDE_REASONS: Final[tuple[tuple[str, str], ...]] = (
    ("shelf price differs", N_("Shelf price differs")),
    ("damaged item", N_("Damaged item")),
    ("manager approval", N_("Manager approval")),
)

KIND_UNKNOWN: Final = "unknown_item"
KIND_PAYMENT: Final = "payment_unknown"
KIND_LINE: Final = "line"


@dataclass(frozen=True, slots=True)
class ItemTarget:
    """What the item screen works on: an intervention (by id) or a basket line (by number)."""

    kind: str
    intervention: str = ""
    line: int | None = None

    @staticmethod
    def for_intervention(item: Mapping[str, Any]) -> ItemTarget:
        reason = str(item.get("reason", ""))
        if reason not in (KIND_UNKNOWN, KIND_PAYMENT):
            raise ValueError(f"the item screen cannot clear a {reason!r} intervention")
        return ItemTarget(reason, intervention=str(item.get("intervention", "")))

    @staticmethod
    def for_line(line: int) -> ItemTarget:
        return ItemTarget(KIND_LINE, line=line)


@dataclass(frozen=True, slots=True)
class SearchHit:
    sku: str
    name: str
    price: str
    plu: str
    command: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ItemModel:
    """What the item screen shows."""

    kind: str
    title: str
    subtitle: str
    code: str
    query: str
    price: str
    ref: str
    reason: str
    reasons: tuple[tuple[str, str], ...]
    hits: tuple[SearchHit, ...]
    has_more: bool
    page: int
    gone: bool  # the intervention was cleared or the line is no longer there
    message: str = ""


@dataclass
class ItemForm:
    """What the attendant typed on the item screen."""

    target: ItemTarget
    currency: str
    code: str = ""
    query: str = ""
    ref: str = ""
    reason: str = ""
    page: int = 0
    price: AmountEntry = field(init=False)
    hits: list[Mapping[str, Any]] = field(default_factory=list)
    has_more: bool = False
    message: str = ""

    def __post_init__(self) -> None:
        self.price = AmountEntry(self.currency)

    # ------------------------------------------------------------------ typing
    def press_code(self, key: str) -> None:
        self.code = _keyed(self.code, key, MAX_CODE, digits_only=True)

    def type_query(self, text: str) -> None:
        self.query = text.strip()[:MAX_QUERY]
        self.page = 0

    def type_ref(self, text: str) -> None:
        self.ref = text.strip()[:MAX_REF]

    def choose_reason(self, reason: str) -> None:
        self.reason = reason.strip()

    # ------------------------------------------------------------------ commands
    def _need_intervention(self) -> str:
        if self.target.kind not in (KIND_UNKNOWN, KIND_PAYMENT):
            raise EntryError(N_("This is not an intervention"))
        return self.target.intervention

    def clear_by_code(self, by: str = "plu") -> dict[str, Any]:
        """``clear`` the unknown item with the product keyed in (``by`` = ``plu`` or ``sku``)."""
        if self.target.kind != KIND_UNKNOWN:
            raise EntryError(N_("This is not an unknown item"))
        if by not in ("plu", "sku"):
            raise EntryError(N_("Key in a PLU or an SKU"))
        if not self.code:
            raise EntryError(N_("Key in the PLU or SKU first"))
        return {
            "cmd": "clear",
            "intervention": self.target.intervention,
            "resolution": "approve",
            by: self.code,
        }

    def clear_with_sku(self, sku: str) -> dict[str, Any]:
        """``clear`` the unknown item with a product picked from the search results."""
        if self.target.kind != KIND_UNKNOWN:
            raise EntryError(N_("This is not an unknown item"))
        return {
            "cmd": "clear",
            "intervention": self.target.intervention,
            "resolution": "approve",
            "sku": sku,
        }

    def search_command(self, page: int | None = None) -> dict[str, Any]:
        if not self.query:
            raise EntryError(N_("Type part of the product's name first"))
        if page is not None:
            self.page = max(0, page)
        return {"cmd": "search", "query": self.query, "page": self.page}

    def payment_command(self) -> dict[str, Any]:
        """``clear`` a payment_unknown as paid, with the terminal's reference."""
        intervention = self._need_intervention()
        if self.target.kind != KIND_PAYMENT:
            raise EntryError(N_("This is not a payment"))
        if not self.ref:
            raise EntryError(N_("Type the reference from the terminal's journal first"))
        return {
            "cmd": "clear",
            "intervention": intervention,
            "resolution": "approve",
            "ref": self.ref,
        }

    def void_command(self) -> dict[str, Any]:
        if self.target.kind != KIND_LINE or self.target.line is None:
            raise EntryError(N_("Choose a line first"))
        return {"cmd": "void_line", "line": self.target.line}

    def override_command(self) -> dict[str, Any]:
        if self.target.kind != KIND_LINE or self.target.line is None:
            raise EntryError(N_("Choose a line first"))
        if self.price.empty:
            raise EntryError(N_("Type the new unit price first"))
        if not self.reason:
            raise EntryError(N_("Choose a reason for the new price"))
        return {
            "cmd": "price_override",
            "line": self.target.line,
            "unit_price": self.price.minor,
            "reason": self.reason,
        }

    # ------------------------------------------------------------------ answers
    def on_lane(self, events: Sequence[Mapping[str, Any]]) -> None:
        for event in events:
            if event.get("event") == "search_results":
                self.hits = list(event.get("products") or ())
                self.has_more = bool(event.get("has_more"))
                self.page = int(event.get("page", 0))

    def model(self, view: Mapping[str, Any], t: Translate, money: Any) -> ItemModel:
        target = self.target
        gone = False
        title = subtitle = ""
        if target.kind == KIND_LINE:
            line = _line(view, target.line)
            gone = line is None or bool(line.get("voided"))
            title = t(N_("Line {n}")).format(n=target.line)
            if line is not None:
                subtitle = t(N_("{name}: {qty} × {price}")).format(
                    name=line.get("name", ""),
                    qty=line.get("qty", ""),
                    price=money(int(line.get("unit_price", 0))),
                )
        else:
            item = _intervention(view, target.intervention)
            gone = item is None
            if target.kind == KIND_UNKNOWN:
                title = t(N_("Unknown item"))
                code = (item or {}).get("detail", {}).get("code", "")
                subtitle = t(N_("Scanned code {code}: key in its PLU or SKU, or search")).format(
                    code=code
                )
            else:
                title = t(N_("Payment outcome unknown"))
                detail = (item or {}).get("detail", {})
                subtitle = t(
                    N_("{method} {amount}: if the terminal's journal shows it paid, type its ref")
                ).format(
                    method=detail.get("method", ""), amount=money(int(detail.get("amount", 0)))
                )
        hits = tuple(
            SearchHit(
                sku=str(p.get("sku", "")),
                name=str(p.get("name", "")),
                price=money(int(p.get("price", 0))),
                plu=str(p.get("plu") or ""),
                command=self.clear_with_sku(str(p.get("sku", "")))
                if target.kind == KIND_UNKNOWN
                else {},
            )
            for p in self.hits
        )
        return ItemModel(
            kind=target.kind,
            title=title,
            subtitle=subtitle,
            code=self.code,
            query=self.query,
            price=money(self.price.minor) if not self.price.empty else "",
            ref=self.ref,
            reason=self.reason,
            reasons=tuple((value, t(msgid)) for value, msgid in OVERRIDE_REASONS),
            hits=hits,
            has_more=self.has_more,
            page=self.page,
            gone=gone,
            message=self.message,
        )


def _keyed(text: str, key: str, max_len: int, digits_only: bool) -> str:
    if key == "clear":
        return ""
    if key == "back":
        return text[:-1]
    if len(key) == 1 and (key.isdigit() if digits_only else key.isalnum()) and key.isascii():
        return (text + key)[:max_len]
    raise EntryError(N_("Unknown key {key}"), key=key)


def _line(view: Mapping[str, Any], number: int | None) -> Mapping[str, Any] | None:
    for line in view.get("lines") or ():
        if line.get("line") == number:
            return line  # type: ignore[no-any-return]
    return None


def _intervention(view: Mapping[str, Any], intervention: str) -> Mapping[str, Any] | None:
    for item in view.get("interventions") or ():
        if item.get("intervention") == intervention:
            return item  # type: ignore[no-any-return]
    return None
