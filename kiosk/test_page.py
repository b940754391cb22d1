"""The receipt printer's test page, as print-job data. Pure core.

The attendant's ``printer_test`` (``kiosk.lane_device_tests``) prints it through the lane's
normal print path; it is a ``Receipt`` document like receipts and X/Z reports, since the page of
``kiosk hw test printer`` lives in the ESC/POS adapter.
"""

from __future__ import annotations

from typing import Final

from kiosk.config import StoreConfig
from kiosk.receipt import Receipt, ReceiptTotals
from kiosk.receipt_refund import word

# What a test page says on top and at the bottom, in both languages whatever the receipt's.
TEST_PAGE_MARK: Final = "** TEST PAGE / 测试页 **"
NOT_A_RECEIPT: Final = "NOT A RECEIPT / 非收据"
# Lines that must each print on one line without wrapping: Chinese and accented Latin (the
# same as the installer's test page of ``kiosk hw test printer``).
TEST_PAGE_SAMPLES: Final[tuple[str, ...]] = ("中文 测试 合计 ¥12.50", "Crème brûlée à la carte")


def printer_test_page(
    job_id: str,
    *,
    store: StoreConfig,
    kiosk_id: str,
    width: int,
    local_time: str,
    business_day: str,
    language: str,
    staff: str,
) -> Receipt:
    """The printer test's page as a receipt document: marked as a test page (and as no
    receipt), a ruler exactly ``width`` columns wide (the receipt width the lane lays out at:
    it must fill one printed line), Chinese and accented Latin samples, who asked for it, the
    bold total row, and ``job_id`` as the page's number and barcode. Nothing is sold on it:
    every amount is 0."""
    if not job_id.strip():
        raise ValueError("a test page needs a job id")
    ruler = "".join(str(i % 10) for i in range(1, width + 1))
    return Receipt(
        store_name=store.name,
        address=tuple(store.address),
        header=(TEST_PAGE_MARK, ruler, *TEST_PAGE_SAMPLES, f"{word('staff', language)} {staff}"),
        kiosk_id=kiosk_id,
        receipt_no=job_id,
        seq=0,
        occurred_at=local_time,
        business_day=business_day,
        language=language,
        currency=store.currency,
        lines=(),
        basket_adjustments=(),
        taxes=(),
        totals=ReceiptTotals(gross=0, discount=0, tax=0, tax_included=True, rounding=0, due=0),
        tenders=(),
        change=0,
        member_id=None,
        barcode=job_id,
        footer=(NOT_A_RECEIPT,),
    )
