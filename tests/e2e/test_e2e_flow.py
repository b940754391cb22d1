"""End to end without faults: sales made through `kiosk sim` on two kiosks reach the central
inventory and finance consumers exactly once, with the kiosks' totals, on SQLite and on
PostgreSQL; `kiosk-central report` shows the same figures."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from tests.e2e.invariant import invariant_check, read_kiosk
from tests.e2e.stack import KIOSKS, Burst, Stack, deploy

SALES = 60  # per kiosk; about 20 ms each through kiosk sim


def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'central.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sales_made_in_kiosk_sim_are_applied_once_by_each_consumer_with_equal_totals(
    stack: Stack, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = database_url(backend, tmp_path, request)
    d = deploy(stack, url)

    bursts = [Burst(stack.sim(kiosk), SALES).start() for kiosk in d.kiosks]
    for burst in bursts:
        burst.join()

    report = invariant_check(d.kiosks, url, diagnostics=stack.diagnostics)
    assert report.last_seq == dict.fromkeys(KIOSKS, SALES)
    assert all(t.sales == SALES and t.due > 0 for t in report.totals.values())
    # The scripted payments used every tender type they name.
    assert all(set(t.tenders) == {"card", "wallet"} for t in report.totals.values())


def test_the_sales_report_of_kiosk_central_equals_the_kiosks_own_totals(
    stack: Stack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    d = deploy(stack, url)
    for kiosk in d.kiosks:
        sim = stack.sim(kiosk)
        sim.sell_many(12)
        sim.close()
    report = invariant_check(d.kiosks, url, diagnostics=stack.diagnostics)

    days = sorted({s.business_day for k in d.kiosks for s in read_kiosk(k).sales.values()})
    rows = d.central.report("sales", d.config, days[0], days[-1])
    by_kiosk: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        for key in ("sales", "gross", "discount", "tax", "rounding", "due"):
            by_kiosk[row["kiosk_id"]][key] += int(row[key])
    for kiosk_id, totals in report.totals.items():
        assert by_kiosk[kiosk_id] == {
            "sales": totals.sales,
            "gross": totals.gross,
            "discount": totals.discount,
            "tax": totals.tax,
            "rounding": totals.rounding,
            "due": totals.due,
        }
    tenders = d.central.report("tenders", d.config, days[0], days[-1])
    paid: dict[str, int] = defaultdict(int)
    for row in tenders:
        paid[row["tender"]] += int(row["amount"])
    want: dict[str, int] = defaultdict(int)
    for totals in report.totals.values():
        for kind, amount in totals.tenders.items():
            want[kind] += amount
    assert paid == want
