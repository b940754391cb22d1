"""The scripted demo basket that ``kiosk sim --demo`` (and ``make run``) sells.

Text-mode commands against the shipped demo catalog and staff (docs/operations.md lists them):
two bottles of water, a weighed banana label, a beer that needs an age check, an attendant
approving it by badge, and a card payment.
"""

from __future__ import annotations

from typing import Final

DEMO_SCRIPT: Final[tuple[str, ...]] = (
    "start language=en",
    "scan 6921168509256",  # Nongfu Spring water 550ml, 2.00
    "scan 6921168509256",  # the same again: quantity 2 on one line
    "scan 2110001012501",  # banana, weight label 1.250 kg x 6.98/kg
    "scan 6935284410013",  # Coastline Lager 500ml: age 18 -> age check intervention
    "pay card",  # refused: the age check is open
    "badge ST0001",  # attendant E01 logs in with a badge scan
    "clear age_check approve",  # the attendant checked the customer's age
    "logout",
    "pay card",  # approved by the simulated terminal: sale committed, receipt printed
)
