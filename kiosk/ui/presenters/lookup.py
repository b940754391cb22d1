"""Lookup without a barcode: category tiles, PLU entry and paged name search. Plain Python.

The lookup screen (``kiosk.ui.screens.lookup``) keeps one ``LookupLocal`` (UI-only state: what
the customer typed, the search page on screen) and calls the functions here on the Kivy thread:
``press_*`` change the local state, ``*_command`` build the lane command to send, and
``apply_events`` folds the lane's answer (``search_results``, ``item_added``, ``error`` ...) into
the local state. ``lookup_model`` turns that state into display-ready text through the
translator ``t`` (customer language) and ``money`` (minor units -> locale text).

Items sold by weight need ``weight_kg`` in ``add``: this kiosk has no scale port yet, so the
customer keys the weight shown on the scale; the screen asks for it when a product's unit is
``kg`` (search results carry it) or when the lane refuses a PLU for lack of a weight.

Categories come from the lane's ``categories`` command (``categories`` event) and are browsed
with ``search`` + ``category`` when the lane offers them (``categories_supported``). A category
whose catalog rows name a picture (``category_picture``; the event gives its path) is a tile of
that picture above one label, its name in the customer language; one without a picture, or
whose picture cannot be read, is its initial and its name on a stable colour
(``Category.tile_text``). No kivy import here; unit-tested in
tests/unit/ui/test_lookup_presenter.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal

from kiosk.lane_protocol import COMMANDS
from kiosk.ui.i18n import N_

Translate = Callable[[str], str]
FormatMoney = Callable[[int], str]
Tab = Literal["categories", "plu", "search"]

PLU_MAX_DIGITS: Final = 8
WEIGHT_MAX_DIGITS: Final = 6  # grams: up to 999.999 kg typed, the lane caps at 100 kg
QUERY_MAX_CHARS: Final = 40
PAGE_SIZE: Final = 20  # the lane's search page size

# Tile colours (RGBA 0..1), dark enough for white text at a 4.5:1 contrast.
TILE_COLOURS: Final[tuple[tuple[float, float, float, float], ...]] = (
    (0.09, 0.40, 0.20, 1.0),
    (0.60, 0.15, 0.10, 1.0),
    (0.10, 0.30, 0.60, 1.0),
    (0.45, 0.20, 0.55, 1.0),
    (0.55, 0.33, 0.00, 1.0),
    (0.00, 0.40, 0.45, 1.0),
    (0.35, 0.35, 0.35, 1.0),
    (0.60, 0.10, 0.35, 1.0),
)


def keypad_press(text: str, key: str, max_len: int) -> str:
    """``text`` after a keypad key: a digit is appended (up to ``max_len``), ``back`` (or the
    shared Keypad's ``del``) drops the last character, ``clear`` empties it; any other key is
    an error naming it."""
    if key in ("back", "del"):
        return text[:-1]
    if key == "clear":
        return ""
    if len(key) == 1 and key.isdigit():
        return text + key if len(text) < max_len else text
    raise ValueError(f"unknown keypad key {key!r}: expected a digit, 'back' or 'clear'")


def digits(value: str, max_len: int) -> str:
    """The digits of what a shared ``Keypad`` holds, at most ``max_len`` of them."""
    return "".join(ch for ch in value if ch.isdigit())[:max_len]


def categories_supported(commands: Mapping[str, object] = COMMANDS) -> bool:
    """Whether the lane can list categories and browse one (``categories`` command and
    ``search.category``)."""
    search = commands.get("search")
    return "categories" in commands and isinstance(search, Mapping) and "category" in search


@dataclass(frozen=True, slots=True)
class Category:
    """A category tile: ``key`` as the catalog spells it, ``name`` in the customer language."""

    key: str
    name: str
    count: int = 0
    picture: str = ""

    @property
    def initial(self) -> str:
        return (self.name.strip() or self.key.strip() or "?")[0].upper()

    def tile_text(self, pictured: bool) -> str:
        """The tile's label: the name under a picture (``pictured``), else initial and name."""
        return self.name if pictured else f"{self.initial}\n{self.name}"

    @property
    def colour(self) -> tuple[float, float, float, float]:
        digest = hashlib.sha256(self.key.encode("utf-8")).digest()
        return TILE_COLOURS[digest[0] % len(TILE_COLOURS)]


@dataclass(frozen=True, slots=True)
class ProductTile:
    """One search result."""

    sku: str
    name: str
    price: int
    unit: str
    plu: str | None

    @property
    def by_weight(self) -> bool:
        return self.unit == "kg"


@dataclass(slots=True)
class LookupLocal:
    """What the lookup screen remembers between lane answers (UI thread only)."""

    tab: Tab = "categories"
    plu: str = ""
    query: str = ""
    category: str = ""  # the category being browsed (search by category)
    page: int = 0
    results: tuple[ProductTile, ...] = ()
    has_more: bool = False
    searched: bool = False
    categories: tuple[Category, ...] = ()
    categories_enabled: bool = False
    weight_for: dict[str, str] | None = None  # {"plu": ..} or {"sku": ..} awaiting a weight
    weight_name: str = ""
    weight: str = ""  # digits typed, in grams
    message: str = ""  # msgid
    message_args: dict[str, str] = field(default_factory=dict)
    added: bool = False  # an item was added: the screen goes back to the basket


def fresh(previous: LookupLocal | None = None, with_categories: bool = False) -> LookupLocal:
    """A fresh lookup (on entering the screen); the category list of ``previous`` is kept.
    ``with_categories``: the lane can list categories, so the lookup opens on them."""
    categories = previous.categories if previous is not None else ()
    return LookupLocal(
        tab="categories" if with_categories else "plu",
        categories=categories,
        categories_enabled=with_categories,
    )


def select_tab(local: LookupLocal, tab: str) -> None:
    if tab not in ("categories", "plu", "search"):
        raise ValueError(f"unknown lookup tab {tab!r}: expected categories, plu or search")
    if tab == "categories" and not local.categories_enabled:
        raise ValueError("this lane cannot list categories")
    local.tab = tab  # type: ignore[assignment]
    local.message = ""
    local.weight_for = None


def press_plu(local: LookupLocal, key: str) -> None:
    local.plu = keypad_press(local.plu, key, PLU_MAX_DIGITS)
    local.message = ""


def press_weight(local: LookupLocal, key: str) -> None:
    local.weight = keypad_press(local.weight, key, WEIGHT_MAX_DIGITS)
    local.message = ""


def type_query(local: LookupLocal, key: str) -> None:
    """The search keyboard: a letter, digit or ``space`` is typed, ``back``/``clear`` edit."""
    if key in ("back", "clear"):
        local.query = local.query[:-1] if key == "back" else ""
    elif key == "space":
        if local.query and not local.query.endswith(" ") and len(local.query) < QUERY_MAX_CHARS:
            local.query += " "
    elif len(key) == 1 and key.isprintable() and not key.isspace():
        if len(local.query) < QUERY_MAX_CHARS:
            local.query += key
    else:
        raise ValueError(f"unknown keyboard key {key!r}")
    local.message = ""


def _weight_kg(grams: str) -> Decimal:
    return (Decimal(int(grams or "0")) / 1000).quantize(Decimal("0.001"))


def plu_command(local: LookupLocal) -> dict[str, Any] | None:
    """``add`` for the PLU typed, or None (and a message) when nothing was typed."""
    if not local.plu:
        _say(local, N_("Type the item's PLU number first."))
        return None
    return {"cmd": "add", "plu": local.plu}


def choose_product(local: LookupLocal, product: ProductTile) -> dict[str, Any] | None:
    """Touching a result: ``add`` for an item sold each; an item sold by weight asks for its
    weight first (None)."""
    if product.by_weight:
        local.weight_for = {"sku": product.sku}
        local.weight_name = product.name
        local.weight = ""
        return None
    return {"cmd": "add", "sku": product.sku}


def weight_command(local: LookupLocal) -> dict[str, Any] | None:
    """``add`` with the weight typed, or None with a message when it is missing or too big."""
    if local.weight_for is None:
        return None
    kg = _weight_kg(local.weight)
    if kg <= 0:
        _say(local, N_("Type the weight shown on the scale."))
        return None
    if kg > 100:
        _say(local, N_("Weights up to 100 kg only."))
        return None
    return {"cmd": "add", **local.weight_for, "weight_kg": str(kg)}


def cancel_weight(local: LookupLocal) -> None:
    local.weight_for = None
    local.weight = ""
    local.message = ""


def search_command(local: LookupLocal, page: int = 0) -> dict[str, Any] | None:
    """``search`` for the query typed (or the category browsed), one page."""
    if page < 0:
        raise ValueError(f"page must be 0 or more, got {page}")
    query = local.query.strip()
    if local.tab == "categories" and local.category:
        return {"cmd": "search", "query": "", "category": local.category, "page": page}
    if not query:
        _say(local, N_("Type part of the item's name first."))
        return None
    return {"cmd": "search", "query": query, "page": page}


def categories_command() -> dict[str, Any]:
    return {"cmd": "categories"}


def open_category(local: LookupLocal, key: str) -> dict[str, Any] | None:
    local.category = key
    local.results = ()
    local.page = 0
    return search_command(local)


def close_category(local: LookupLocal) -> None:
    local.category = ""
    local.results = ()
    local.searched = False


def _say(local: LookupLocal, msgid: str, **args: str) -> None:
    local.message = msgid
    local.message_args = args


# Lane error codes -> what the customer reads on the lookup screen.
ERROR_MESSAGES: Final[dict[str, str]] = {
    "not_found": N_("No item has that number. Check it and try again."),
    "wrong_state": N_("Items cannot be added now."),
    "blocked": N_("Please wait for the attendant."),
    "storage": N_("This kiosk cannot take items now. Please call an attendant."),
    "invalid_command": N_("That did not work. Please check and try again."),
}


def apply_events(local: LookupLocal, events: Iterable[Mapping[str, Any]]) -> None:
    """Fold the lane's answer into the local state."""
    for event in events:
        kind = event.get("event")
        if kind == "search_results":
            if int(event.get("page", 0)) == 0 or event.get("category", "") != local.category:
                local.results = ()
            local.page = int(event.get("page", 0))
            local.results = tuple(_product(p) for p in event.get("products", ()))
            local.has_more = bool(event.get("has_more", False))
            local.searched = True
            if not local.results:
                _say(local, N_("Nothing found. Try another word."))
        elif kind == "categories":
            local.categories = tuple(_category(c) for c in event.get("categories", ()))
        elif kind == "item_added":
            local.added = True
            local.plu = ""
            local.weight_for = None
            local.weight = ""
            _say(local, N_("Added: {name}"), name=str(event.get("name", "")))
        elif kind == "scan_rejected" and event.get("reason") == "needs_weight":
            _say(local, N_("Type the weight shown on the scale."))
        elif kind == "intervention_opened":
            local.added = True  # not_for_sale, age_check...: the basket screen explains it
        elif kind == "error":
            _apply_error(local, event)


def _apply_error(local: LookupLocal, event: Mapping[str, Any]) -> None:
    code = str(event.get("code", ""))
    if code == "invalid_command" and event.get("needs") == "weight_kg":
        # The PLU is an item sold by weight (the lane says what it needs): ask for the weight,
        # then add it again.
        local.weight_for = {"plu": local.plu}
        local.weight_name = ""
        local.weight = ""
        _say(local, N_("Type the weight shown on the scale."))
        return
    if code == "not_found" and local.plu:
        _say(local, N_("No item has the PLU {plu}."), plu=local.plu)
        return
    _say(local, ERROR_MESSAGES.get(code, N_("That did not work. Please call an attendant.")))


def _product(raw: Mapping[str, Any]) -> ProductTile:
    plu = raw.get("plu")
    return ProductTile(
        sku=str(raw["sku"]),
        name=str(raw.get("name", raw["sku"])),
        price=int(raw.get("price", 0)),
        unit=str(raw.get("unit", "ea")),
        plu=None if plu is None else str(plu),
    )


def _category(raw: Mapping[str, Any]) -> Category:
    key = str(raw["category"])
    name = str(raw.get("name") or key.rsplit("/", maxsplit=1)[-1])
    return Category(key, name, int(raw.get("count", 0)), str(raw.get("picture") or ""))


@dataclass(frozen=True, slots=True)
class ResultRow:
    """A search result as shown: name, price text (per kg for weighed items), PLU text."""

    product: ProductTile
    name: str
    price: str
    detail: str


@dataclass(frozen=True, slots=True)
class LookupModel:
    tab: Tab
    show_categories: bool
    plu_text: str
    query_text: str
    weight_prompt: str  # empty unless a weight is being typed
    weight_text: str
    rows: tuple[ResultRow, ...]
    page_text: str
    can_prev: bool
    can_next: bool
    message: str
    category_title: str


def lookup_model(local: LookupLocal, t: Translate, money: FormatMoney) -> LookupModel:
    """Display-ready text for the lookup screen."""
    _ = t
    rows = []
    for p in local.results:
        price = money(p.price)
        if p.by_weight:
            price = _("{price} / kg").format(price=price)
        detail = _("PLU {plu}").format(plu=p.plu) if p.plu else ""
        rows.append(ResultRow(p, p.name, price, detail))
    weight_prompt = ""
    if local.weight_for is not None:
        name = local.weight_name or _("PLU {plu}").format(plu=local.weight_for.get("plu", ""))
        weight_prompt = _("Weight of {name} in kg").format(name=name)
    page_text = _("Page {page}").format(page=local.page + 1) if local.searched else ""
    message = _(local.message).format(**local.message_args) if local.message else ""
    title = ""
    if local.category:
        title = next((c.name for c in local.categories if c.key == local.category), "")
    return LookupModel(
        tab=local.tab,
        show_categories=local.categories_enabled,
        plu_text=local.plu,
        query_text=local.query,
        weight_prompt=weight_prompt,
        weight_text=f"{_weight_kg(local.weight):.3f} kg",
        rows=tuple(rows),
        page_text=page_text,
        can_prev=local.searched and local.page > 0,
        can_next=local.searched and local.has_more,
        message=message,
        category_title=title,
    )
