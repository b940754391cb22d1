"""Catalog model: what a product is, as the lane sees it. Pure core.

Products live in kiosk.db (see ``kiosk.store.catalog``); the lane looks them up one at a time
through the ``Catalog`` port in ``kiosk.ports``, so nothing here depends on catalog size.
Categories (``Category``) are listed from a small table the catalog import builds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Unit = Literal["ea", "kg"]


@dataclass(frozen=True, slots=True)
class Product:
    """One sellable product.

    ``price`` is in minor units per unit: per item for ``ea``, per kilogram for ``kg``.
    ``age_limit`` 0 means no age check; ``quantity_limit`` 0 means no limit per sale.
    ``names`` maps a language code (``zh_CN``, ``en``) to the product's name in it.
    """

    sku: str
    names: Mapping[str, str]
    price: int
    tax_code: str
    unit: Unit = "ea"
    gtins: tuple[str, ...] = ()
    plu: str | None = None
    category: str = ""
    age_limit: int = 0
    not_for_sale: bool = False
    quantity_limit: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)

    def name(self, language: str) -> str:
        """The name in ``language``, falling back to English, then to any name, then the sku."""
        for lang in (language, "en"):
            if self.names.get(lang):
                return self.names[lang]
        for value in self.names.values():
            if value:
                return value
        return self.sku


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a name search (or of a category's products, ``category`` set):
    ``products`` in rank order and whether more pages follow."""

    query: str
    page: int
    page_size: int
    products: tuple[Product, ...]
    has_more: bool
    category: str = ""


@dataclass(frozen=True, slots=True)
class Category:
    """A category of the catalog as the lookup screen lists it.

    ``category`` is the id as the catalog spells it (``饮料/Drinks``); ``names`` maps a language
    to its name (the catalog's ``category_name_<lang>`` columns, maybe none); ``count`` is the
    number of its products for sale; ``picture`` is the path of its picture file, or None when
    it has none (or the file is missing).
    """

    category: str
    names: Mapping[str, str]
    count: int
    picture: str | None = None

    def name(self, language: str) -> str:
        """The name in ``language``, falling back to English, then to any name, then the id."""
        for lang in (language, "en"):
            if self.names.get(lang):
                return self.names[lang]
        for value in self.names.values():
            if value:
                return value
        return self.category
