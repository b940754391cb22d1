"""The drivable fakes and payment simulators in kiosk.hw, driven like a wiring diagram."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.errors import DeviceError
from kiosk.hw import fake
from kiosk.hw.escpos_render import code128, feed_and_cut, render_receipt
from kiosk.hw.fake import (
    LIGHT_STATES,
    DeviceEvent,
    FakeClock,
    FakeDrawer,
    FakeLight,
    FakePrinter,
    FakeScanner,
    PrintedJob,
    Recent,
)
from kiosk.hw.payment_sim import ChargeRecord, SimCardTerminal, SimWalletGateway
from kiosk.hw.printer_profiles import get_profile
from kiosk.hw.system import RandomIds, SystemClock
from kiosk.payments import Method, PaymentIntent, PaymentResult
from kiosk.ports import Clock, Drawer, IdSource, Light, PaymentTerminal, ReceiptPrinter
from kiosk.ports import WalletGateway as WalletPort
from kiosk.protocol.ids import uuid7_ms
from kiosk.receipt import Receipt, ReceiptLine, ReceiptTax, ReceiptTender, ReceiptTotals

T0 = datetime(2024, 1, 1, tzinfo=UTC)
WALLET_CODE = "134567890123456789"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def intent(intent_id: str = "i-1", amount: int = 1250, method: Method = "card") -> PaymentIntent:
    return PaymentIntent(intent_id, "s-1", method, amount, "CNY")


def whats(history: list[DeviceEvent]) -> list[tuple[str, str]]:
    return [(event.what, event.detail) for event in history]


def receipt(number: str = "1", barcode: str | None = None) -> Receipt:
    """A one-line paid receipt numbered ``s0001-k01-<number>``."""
    receipt_no = f"s0001-k01-{number}"
    return Receipt(
        store_name="示例超市 Demo Market",
        address=(),
        header=(),
        kiosk_id="s0001-k01",
        receipt_no=receipt_no,
        seq=1,
        occurred_at="2026-11-27 17:15",
        business_day="2026-11-27",
        language="en",
        currency="CNY",
        lines=(ReceiptLine("Nongfu Spring water 550ml", "1", "ea", 200, 200, (), "VAT13"),),
        basket_adjustments=(),
        taxes=(ReceiptTax("VAT13", "13%", 177, 23),),
        totals=ReceiptTotals(200, 0, 23, True, 0, 200),
        tenders=(ReceiptTender("card", 200, ref="****4242"),),
        change=0,
        member_id=None,
        barcode=f"R{receipt_no}" if barcode is None else barcode,
        footer=(),
    )


class Reports:
    """An ``on_event`` sink that keeps what a fake reported."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, kind: str, detail: dict[str, Any]) -> None:
        self.seen.append((kind, detail))

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.seen]


# -- ports ---------------------------------------------------------------------------------------
def test_fakes_satisfy_ports_when_assigned_to_port_types(clock: FakeClock) -> None:
    drawer: Drawer = FakeDrawer(clock)
    light: Light = FakeLight(clock)
    printer: ReceiptPrinter = FakePrinter(clock)
    terminal: PaymentTerminal = SimCardTerminal(clock, sleep=clock.sleep)
    wallet: WalletPort = SimWalletGateway(clock, sleep=clock.sleep)
    clocks: list[Clock] = [clock, SystemClock()]
    ids: IdSource = RandomIds(clock)
    assert drawer.is_open() is False
    light.show("ready")
    printer.print_receipt("job-1", receipt())
    assert printer.status()["paper"] == "ok"
    assert terminal.charge(intent(), 5).outcome == "approved"
    assert wallet.charge(intent(method="wallet"), WALLET_CODE, 5).outcome == "approved"
    assert all(c.now().tzinfo is not None for c in clocks)
    assert ids.new_id() != ids.new_id()


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (FakeDrawer, "drawer"),
        (FakeLight, "light"),
        (FakePrinter, "printer"),
        (FakeScanner, "scanner"),
    ],
)
def test_health_reports_name_kind_ok_detail_when_fresh(
    clock: FakeClock, make: Any, name: str
) -> None:
    health = make(clock).health()
    assert set(health) == {"name", "kind", "ok", "detail"}
    assert health["name"] == name
    assert health["kind"] == "fake"  # what the lane's view flags as FAKE HARDWARE
    assert health["ok"] is True
    assert isinstance(health["detail"], str) and health["detail"]


# -- clock ---------------------------------------------------------------------------------------
def test_clock_advance_moves_wall_and_monotonic_time(clock: FakeClock) -> None:
    clock.advance(1.5)
    clock.sleep(0.5)
    assert clock.now() == T0 + timedelta(seconds=2)
    assert clock.monotonic() == 2.0


def test_clock_refuses_negative_advance(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="negative"):
        clock.advance(-1)
    assert clock.now() == T0


def test_clock_refuses_naive_start() -> None:
    with pytest.raises(ValueError, match="UTC"):
        FakeClock(datetime(2024, 1, 1))


# -- drawer --------------------------------------------------------------------------------------
def test_drawer_open_pulses_and_opens_when_healthy(clock: FakeClock) -> None:
    drawer = FakeDrawer(clock, pulse_ms=150)
    drawer.open()
    assert drawer.is_open() is True
    assert drawer.pulses == [T0]
    assert whats(drawer.history) == [("pulse", "150 ms"), ("opened", "")]
    assert drawer.health()["detail"] == "open"


def test_drawer_switch_records_edges_with_time_when_driven(clock: FakeClock) -> None:
    drawer = FakeDrawer(clock)
    drawer.open()
    clock.advance(12)
    drawer.drive_closed()
    drawer.drive_closed()
    clock.advance(3)
    drawer.drive_open()
    assert drawer.is_open() is True
    assert [(e.at, e.what) for e in drawer.history] == [
        (T0, "pulse"),
        (T0, "opened"),
        (T0 + timedelta(seconds=12), "closed"),
        (T0 + timedelta(seconds=15), "opened"),
    ]
    assert drawer.pulses == [T0]


def test_drawer_stays_closed_but_pulses_when_jammed(clock: FakeClock) -> None:
    drawer = FakeDrawer(clock)
    drawer.jam()
    drawer.open()
    clock.advance(1)
    drawer.open()
    assert drawer.is_open() is False
    assert drawer.pulses == [T0, T0 + timedelta(seconds=1)]
    drawer.unjam()
    drawer.open()
    assert drawer.is_open() is True


def test_drawer_open_raises_without_pulse_when_relay_fails(clock: FakeClock) -> None:
    drawer = FakeDrawer(clock)
    drawer.fail_next("relay driver not responding")
    with pytest.raises(DeviceError, match="relay driver not responding"):
        drawer.open()
    assert drawer.pulses == []
    assert drawer.is_open() is False
    assert drawer.health() == {
        "name": "drawer",
        "kind": "fake",
        "ok": False,
        "detail": "relay driver not responding",
    }
    drawer.open()
    assert drawer.is_open() is True
    assert drawer.health()["ok"] is True


def test_drawer_reports_none_when_no_switch_fitted(clock: FakeClock) -> None:
    drawer = FakeDrawer(clock, has_switch=False)
    drawer.open()
    assert drawer.is_open() is None
    assert drawer.health()["detail"] == "no switch fitted"
    with pytest.raises(RuntimeError, match="no switch"):
        drawer.drive_closed()


@pytest.mark.parametrize("pulse_ms", [49, 201, 0])
def test_drawer_refuses_pulse_length_when_out_of_range(clock: FakeClock, pulse_ms: int) -> None:
    with pytest.raises(ValueError, match=f"pulse_ms {pulse_ms}"):
        FakeDrawer(clock, pulse_ms=pulse_ms)


def test_fail_next_refuses_empty_message(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="empty"):
        FakeDrawer(clock).fail_next("  ")


def test_drawer_reports_each_edge_with_its_times(clock: FakeClock) -> None:
    reports = Reports()
    drawer = FakeDrawer(clock, on_event=reports)
    drawer.open()
    clock.advance(7.5)
    drawer.drive_closed()
    drawer.drive_closed()  # no edge, no report
    assert reports.seen == [
        ("opened", {"name": "drawer", "at": "2024-01-01T00:00:00.000Z"}),
        ("closed", {"name": "drawer", "at": "2024-01-01T00:00:07.500Z", "was_open_s": 7.5}),
    ]


def test_drawer_poll_reports_left_open_once_per_opening(clock: FakeClock) -> None:
    reports = Reports()
    drawer = FakeDrawer(clock, left_open_after_s=30, on_event=reports)
    drawer.drive_open()
    clock.advance(29.9)
    drawer.poll()
    assert reports.kinds == ["opened"]
    clock.advance(0.1)
    drawer.poll()
    drawer.poll()
    assert reports.seen[1] == (
        "left_open",
        {"name": "drawer", "opened_at": "2024-01-01T00:00:00.000Z", "open_for_s": 30.0},
    )
    assert reports.kinds == ["opened", "left_open"]
    assert whats(drawer.history)[-1] == ("left_open", "30.0 s")
    drawer.drive_closed()
    drawer.drive_open()  # a new opening may be reported again
    clock.advance(30)
    drawer.poll()
    assert reports.kinds == ["opened", "left_open", "closed", "opened", "left_open"]


def test_drawer_refuses_left_open_time_when_not_positive(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="left_open_after_s must be positive"):
        FakeDrawer(clock, left_open_after_s=0)


# -- light ---------------------------------------------------------------------------------------
def test_light_shows_each_state_and_keeps_history(clock: FakeClock) -> None:
    assert FakeLight(clock).state is None
    light = FakeLight(clock)
    assert light.health()["detail"] == "off"
    for state in LIGHT_STATES:
        light.show(state)
        clock.advance(1)
    assert light.state == "out_of_service"
    assert [(e.at, e.detail) for e in light.history] == [
        (T0 + timedelta(seconds=i), state) for i, state in enumerate(LIGHT_STATES)
    ]


def test_light_refuses_unknown_state_naming_it(clock: FakeClock) -> None:
    light = FakeLight(clock)
    light.show("ready")
    with pytest.raises(ValueError, match="'blinking_blue'"):
        light.show("blinking_blue")
    assert light.state == "ready"
    assert len(light.history) == 1


def test_light_keeps_last_state_when_driver_fails(clock: FakeClock) -> None:
    light = FakeLight(clock)
    light.show("ready")
    light.fail_next("gpio write failed")
    with pytest.raises(DeviceError, match="gpio write failed"):
        light.show("intervention")
    assert light.state == "ready"
    assert light.health()["ok"] is False
    assert whats(light.history)[-1] == ("fault", "gpio write failed")


# -- printer -------------------------------------------------------------------------------------
def test_printer_keeps_the_escpos_bytes_and_text_of_each_job(clock: FakeClock) -> None:
    printer = FakePrinter(clock)
    clock.advance(2)
    printer.print_receipt("job-1", receipt())
    (job,) = printer.jobs
    profile = get_profile("epson-tm-t88-zh")
    data = render_receipt(receipt(), profile, None).data
    assert job == PrintedJob(
        "job-1", job.text, "Rs0001-k01-1", data, T0 + timedelta(seconds=2), complete=True
    )
    assert code128("Rs0001-k01-1", profile.barcode_module, profile.barcode_height) in job.data
    assert job.data.endswith(feed_and_cut(profile))
    assert "示例超市".encode("gb18030") in job.data
    assert "s0001-k01-1" in job.text
    assert job.text.endswith("\n")
    assert printer.output == data  # python-escpos's Dummy got exactly the job's bytes
    assert printer.status() == {"online": True, "paper": "ok", "cover_open": False}


def test_recent_keeps_the_newest_entries_and_counts_them_all() -> None:
    kept: Recent[int] = Recent(3)
    for n in range(6):
        kept.append(n)
    assert kept == [0, 1, 2, 3, 4, 5]  # up to twice what it keeps
    kept.append(6)
    assert kept == [4, 5, 6] and kept.total == 7 and kept[-1] == 6
    assert Recent(1) == []
    with pytest.raises(ValueError, match="must keep at least 1 entry, got 0"):
        Recent(0)


def test_printer_on_a_long_day_keeps_the_newest_jobs_and_their_paper(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake, "JOBS_KEEP", 2)
    monkeypatch.setattr(fake, "HISTORY_KEEP", 3)
    printer = FakePrinter(clock)
    for n in range(1, 8):
        printer.print_receipt(f"job-{n}", receipt(str(n)))
    # trimmed to the newest 2 at the fifth job, then 2 more: at most twice what it keeps
    assert [job.job_id for job in printer.jobs] == ["job-4", "job-5", "job-6", "job-7"]
    assert printer.jobs.total == 7
    assert printer.output == b"".join(job.data for job in printer.jobs)  # the same jobs' paper
    assert [event.detail for event in printer.history] == ["job-5", "job-6", "job-7"]
    with pytest.raises(ValueError, match=r"^job already printed: job-7$"):
        printer.print_receipt("job-7", receipt("7"))
    assert printer.jobs.total == 7


def test_printer_prints_on_the_paper_of_its_profile(clock: FakeClock) -> None:
    narrow = get_profile("xprinter-58")
    printer = FakePrinter(clock, profile=narrow)
    printer.print_receipt("job-1", receipt())
    assert max(len(line) for line in printer.jobs[0].text.splitlines()) <= narrow.columns
    assert printer.jobs[0].data == render_receipt(receipt(), narrow, None).data


def test_printer_prints_a_test_page(clock: FakeClock) -> None:
    printer = FakePrinter(clock)
    printer.print_test_page("test-1")
    assert "epson-tm-t88-zh (80 mm, 42 columns)" in printer.jobs[0].text
    assert printer.jobs[0].barcode == "test-1"


def test_printer_refuses_job_id_when_already_printed(clock: FakeClock) -> None:
    printer = FakePrinter(clock)
    printer.print_receipt("job-1", receipt("1"))
    with pytest.raises(ValueError, match=r"^job already printed: job-1$"):
        printer.print_receipt("job-1", receipt("2"))
    assert [job.barcode for job in printer.jobs] == ["Rs0001-k01-1"]


def test_printer_raises_paper_out_and_prints_same_job_after_refill(clock: FakeClock) -> None:
    printer = FakePrinter(clock)
    printer.run_out_of_paper()
    with pytest.raises(DeviceError) as caught:
        printer.print_receipt("job-1", receipt())
    assert str(caught.value).startswith("paper_out:")
    assert printer.jobs == []
    assert printer.output == b""
    assert printer.status()["paper"] == "out"
    assert printer.health()["ok"] is False
    printer.refill()
    printer.print_receipt("job-1", receipt())
    assert [job.job_id for job in printer.jobs] == ["job-1"]
    assert whats(printer.history) == [
        ("paper", "out"),
        ("refused", "job-1 paper_out: the printer is out of paper"),
        ("paper", "ok"),
        ("printed", "job-1"),
    ]


def test_printer_tears_a_job_when_the_paper_runs_out_mid_job(clock: FakeClock) -> None:
    printer = FakePrinter(clock)
    printer.run_out_of_paper_mid_job(after_bytes=64)
    with pytest.raises(DeviceError, match=r"^paper_out: the paper ran out during job job-1"):
        printer.print_receipt("job-1", receipt())
    (torn,) = printer.torn
    whole = render_receipt(receipt(), printer.profile, None).data
    assert (torn.job_id, torn.complete, torn.data) == ("job-1", False, whole[:64])
    assert printer.jobs == []
    assert printer.output == whole[:64]  # part of the receipt reached the paper
    assert printer.status()["paper"] == "out"
    assert whats(printer.history)[-1] == ("torn", f"job-1 after 64 of {len(whole)} bytes")
    printer.refill()
    printer.print_receipt("job-1", receipt())  # the torn job may be printed again
    assert printer.output == whole[:64] + whole


def test_printer_tears_half_the_job_by_default(clock: FakeClock) -> None:
    printer = FakePrinter(clock)
    printer.run_out_of_paper_mid_job()
    with pytest.raises(DeviceError, match=r"^paper_out:"):
        printer.print_receipt("job-1", receipt())
    whole = render_receipt(receipt(), printer.profile, None).data
    assert printer.torn[0].data == whole[: len(whole) // 2]
    with pytest.raises(ValueError, match="after_bytes"):
        printer.run_out_of_paper_mid_job(after_bytes=-1)


def test_printer_raises_offline_until_it_comes_back(clock: FakeClock) -> None:
    printer = FakePrinter(clock)
    printer.go_offline()
    with pytest.raises(DeviceError, match=r"^offline:"):
        printer.print_receipt("job-1", receipt())
    assert printer.status()["online"] is False
    printer.come_back()
    printer.print_receipt("job-1", receipt())
    assert len(printer.jobs) == 1


def test_printer_raises_cover_open_until_closed(clock: FakeClock) -> None:
    printer = FakePrinter(clock)
    printer.open_cover()
    assert printer.status() == {"online": True, "paper": "ok", "cover_open": True}
    with pytest.raises(DeviceError, match=r"^cover_open:"):
        printer.print_receipt("job-1", receipt())
    printer.close_cover()
    printer.print_receipt("job-1", receipt())
    assert len(printer.jobs) == 1


def test_printer_reports_offline_first_when_several_faults(clock: FakeClock) -> None:
    printer = FakePrinter(clock)
    printer.run_out_of_paper()
    printer.open_cover()
    printer.go_offline()
    with pytest.raises(DeviceError, match=r"^offline:"):
        printer.print_receipt("job-1", receipt())
    printer.come_back()
    with pytest.raises(DeviceError, match=r"^cover_open:"):
        printer.print_receipt("job-1", receipt())
    printer.close_cover()
    with pytest.raises(DeviceError, match=r"^paper_out:"):
        printer.print_receipt("job-1", receipt())


def test_printer_prints_and_warns_when_paper_near_end(clock: FakeClock) -> None:
    printer = FakePrinter(clock)
    printer.paper_near_end()
    printer.print_receipt("job-1", receipt())
    assert printer.status()["paper"] == "near_end"
    assert printer.health() == {
        "name": "printer",
        "kind": "fake",
        "ok": True,
        "detail": "paper near end",
    }


def test_printer_raises_once_when_told_to_fail_next(clock: FakeClock) -> None:
    printer = FakePrinter(clock)
    printer.fail_next("usb write error")
    with pytest.raises(DeviceError, match="usb write error"):
        printer.print_receipt("job-1", receipt())
    printer.print_receipt("job-1", receipt())
    assert len(printer.jobs) == 1


def test_printer_reports_what_a_status_monitor_would_see(clock: FakeClock) -> None:
    reports = Reports()
    printer = FakePrinter(clock, on_event=reports)
    printer.paper_near_end()
    printer.run_out_of_paper()
    printer.refill()
    printer.open_cover()
    printer.close_cover()
    printer.go_offline()
    printer.come_back()
    assert reports.kinds == [
        "paper_near_end",
        "paper_out",
        "paper_ok",
        "cover_open",
        "cover_closed",
        "offline",
        "back_online",
    ]
    assert reports.seen[1] == (
        "paper_out",
        {"name": "printer", "message": "paper_out: the printer is out of paper"},
    )


def test_printer_reports_without_holding_its_lock(clock: FakeClock) -> None:
    printer = FakePrinter(clock)
    seen: list[dict[str, Any]] = []
    printer.on_event = lambda _kind, _detail: seen.append(printer.status())
    printer.run_out_of_paper()  # the sink asks the status at once, as the lane does
    assert seen == [{"online": True, "paper": "out", "cover_open": False}]


@pytest.mark.parametrize(
    ("job_id", "barcode", "message"),
    [("", "B1", "job id"), (" ", "B1", "job id"), ("job-1", "收据", "printable ASCII")],
)
def test_printer_refuses_bad_arguments(
    clock: FakeClock, job_id: str, barcode: str, message: str
) -> None:
    printer = FakePrinter(clock)
    with pytest.raises(ValueError, match=message):
        printer.print_receipt(job_id, receipt(barcode=barcode))
    assert printer.jobs == []
    assert printer.output == b""


# -- scanner -------------------------------------------------------------------------------------
def test_scanner_delivers_code_to_every_subscriber_synchronously(clock: FakeClock) -> None:
    scanner = FakeScanner(clock)
    first: list[str] = []
    second: list[str] = []
    scanner.subscribe(first.append)
    scanner.subscribe(second.append)
    assert scanner.scan("6901234567892") is True
    assert first == second == ["6901234567892"]
    assert scanner.codes == ["6901234567892"]
    assert scanner.history == [DeviceEvent(T0, "scan", "6901234567892")]


def test_scanner_delivers_odd_input_unchanged(clock: FakeClock) -> None:
    scanner = FakeScanner(clock)
    got: list[str] = []
    scanner.subscribe(got.append)
    for code in ["", "12\x0034", "9" * 300]:
        scanner.scan(code)
    assert got == ["", "12\x0034", "9" * 300]


def test_scanner_records_unheard_when_nobody_subscribed(clock: FakeClock) -> None:
    scanner = FakeScanner(clock)
    assert scanner.scan("123") is False
    assert whats(scanner.history) == [("unheard", "123")]
    assert scanner.codes == []


def test_scanner_loses_scans_while_unplugged(clock: FakeClock) -> None:
    scanner = FakeScanner(clock)
    got: list[str] = []
    scanner.subscribe(got.append)
    scanner.unplug()
    assert scanner.scan("123") is False
    assert scanner.health()["ok"] is False
    scanner.plug_in()
    scanner.scan("456")
    assert got == ["456"]
    assert whats(scanner.history) == [
        ("unplugged", ""),
        ("lost", "123"),
        ("plugged_in", ""),
        ("scan", "456"),
    ]


def test_scanner_reports_unplug_and_plug_in(clock: FakeClock) -> None:
    reports = Reports()
    scanner = FakeScanner(clock, name="front", on_event=reports)
    scanner.unplug()
    scanner.plug_in()
    assert reports.seen == [
        ("disconnected", {"name": "front", "detail": "unplugged"}),
        ("connected", {"name": "front", "detail": "plugged in"}),
    ]


def test_scanner_drops_repeat_within_debounce_window(clock: FakeClock) -> None:
    scanner = FakeScanner(clock, debounce_s=0.3)
    got: list[str] = []
    scanner.subscribe(got.append)
    scanner.scan("111")
    clock.advance(0.1)
    assert scanner.scan("111") is False
    scanner.scan("222")
    clock.advance(0.3)
    scanner.scan("222")
    assert got == ["111", "222", "222"]
    assert [e.what for e in scanner.history].count("debounced") == 1


def test_scanner_stops_delivering_after_unsubscribe(clock: FakeClock) -> None:
    scanner = FakeScanner(clock)
    got: list[str] = []
    scanner.subscribe(got.append)
    scanner.scan("1")
    scanner.unsubscribe(got.append)
    scanner.scan("2")
    assert got == ["1"]
    with pytest.raises(ValueError, match="not subscribed"):
        scanner.unsubscribe(got.append)


def test_scanner_propagates_callback_error(clock: FakeClock) -> None:
    scanner = FakeScanner(clock)

    def broken(code: str) -> None:
        raise RuntimeError(f"lane refused {code}")

    scanner.subscribe(broken)
    with pytest.raises(RuntimeError, match="lane refused 42"):
        scanner.scan("42")


def test_scanner_refuses_bad_input(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="debounce_s"):
        FakeScanner(clock, debounce_s=-1)
    with pytest.raises(TypeError, match="bytes"):
        FakeScanner(clock).scan(b"123")  # type: ignore[arg-type]


# -- card terminal -------------------------------------------------------------------------------
@pytest.fixture
def terminal(clock: FakeClock) -> SimCardTerminal:
    return SimCardTerminal(clock, sleep=clock.sleep)


def test_terminal_approves_in_full_by_default(terminal: SimCardTerminal) -> None:
    result = terminal.charge(intent(amount=1250), timeout_s=30)
    assert result.outcome == "approved"
    assert result.amount == 1250
    assert result.ref is not None and re.fullmatch(r"T-\d{6}", result.ref)
    assert result.auth is not None and re.fullmatch(r"\d{6}", result.auth)
    assert result.last4 == "4242"
    assert terminal.charges == [ChargeRecord(T0, "i-1", 1250, "approved", 1250)]


def test_terminal_uses_configured_test_card(clock: FakeClock) -> None:
    terminal = SimCardTerminal(clock, test_card_last4="0005", sleep=clock.sleep)
    assert terminal.charge(intent(), 30).last4 == "0005"
    with pytest.raises(ValueError, match="four digits"):
        SimCardTerminal(clock, test_card_last4="42")


def test_terminal_gives_distinct_refs_to_approvals(terminal: SimCardTerminal) -> None:
    refs = {terminal.charge(intent(f"i-{n}"), 30).ref for n in range(5)}
    assert len(refs) == 5


def test_terminal_approves_partial_amount_when_queued(terminal: SimCardTerminal) -> None:
    terminal.queue_outcome("approved", amount=500)
    result = terminal.charge(intent(amount=1250), 30)
    assert (result.outcome, result.amount) == ("approved", 500)
    assert terminal.charges[0].approved_amount == 500


def test_terminal_refuses_partial_amount_above_intent(terminal: SimCardTerminal) -> None:
    terminal.queue_outcome("approved", amount=2000)
    with pytest.raises(ValueError, match="exceeds intent amount 1250"):
        terminal.charge(intent(amount=1250), 30)


def test_terminal_declines_with_message(terminal: SimCardTerminal) -> None:
    terminal.queue_outcome("declined")
    terminal.queue_outcome("declined", message="insufficient funds")
    first = terminal.charge(intent("i-1"), 30)
    second = terminal.charge(intent("i-2"), 30)
    assert first == PaymentResult("declined", message="declined by issuer")
    assert second == PaymentResult("declined", message="insufficient funds")
    assert [c.outcome for c in terminal.charges] == ["declined", "declined"]


def test_terminal_waits_full_timeout_when_it_never_answers(
    clock: FakeClock, terminal: SimCardTerminal
) -> None:
    terminal.queue_outcome("timeout")
    result = terminal.charge(intent(), timeout_s=45)
    assert result.outcome == "timeout"
    assert clock.monotonic() == 45
    assert terminal.charges == [ChargeRecord(T0 + timedelta(seconds=45), "i-1", 1250, "timeout")]


def test_terminal_reports_own_timeout_after_its_delay(
    clock: FakeClock, terminal: SimCardTerminal
) -> None:
    terminal.queue_outcome("timeout", delay_s=20)
    assert terminal.charge(intent(), timeout_s=45).outcome == "timeout"
    assert clock.monotonic() == 20


def test_terminal_approves_after_delay_within_timeout(
    clock: FakeClock, terminal: SimCardTerminal
) -> None:
    terminal.queue_outcome("approved", delay_s=8)
    assert terminal.charge(intent(), timeout_s=30).outcome == "approved"
    assert clock.monotonic() == 8


def test_terminal_late_approval_times_out_then_repeats_approval(
    clock: FakeClock, terminal: SimCardTerminal
) -> None:
    terminal.queue_outcome("approved", delay_s=90)
    terminal.queue_outcome("declined")
    heard = terminal.charge(intent(), timeout_s=30)
    assert heard.outcome == "timeout"
    assert clock.monotonic() == 30
    again = terminal.charge(intent(), timeout_s=30)
    assert again.outcome == "approved"
    assert again.amount == 1250
    assert clock.monotonic() == 30
    assert terminal.pending_outcomes == 1
    assert [(c.outcome, c.repeat) for c in terminal.charges] == [
        ("timeout", False),
        ("approved", True),
    ]


def test_terminal_late_decline_times_out_and_charges_anew(
    clock: FakeClock, terminal: SimCardTerminal
) -> None:
    terminal.queue_outcome("declined", delay_s=60)
    assert terminal.charge(intent(), timeout_s=30).outcome == "timeout"
    assert terminal.charge(intent(), timeout_s=30).outcome == "approved"
    assert [c.repeat for c in terminal.charges] == [False, False]


def test_terminal_answers_disconnected_once_when_queued(terminal: SimCardTerminal) -> None:
    terminal.queue_outcome("disconnected")
    assert terminal.charge(intent("i-1"), 30).outcome == "disconnected"
    assert terminal.charge(intent("i-2"), 30).outcome == "approved"


def test_terminal_answers_disconnected_until_reconnected(terminal: SimCardTerminal) -> None:
    terminal.queue_outcome("declined")
    terminal.disconnect()
    assert terminal.health()["ok"] is False
    result = terminal.charge(intent(), 30)
    assert result.outcome == "disconnected"
    assert "not connected" in result.message
    assert terminal.pending_outcomes == 1
    terminal.reconnect()
    assert terminal.charge(intent(), 30).outcome == "declined"
    assert terminal.health() == {
        "name": "card_terminal",
        "kind": "sim",
        "ok": True,
        "detail": "connected",
    }


def test_terminal_returns_same_approval_when_intent_charged_again(
    terminal: SimCardTerminal,
) -> None:
    first = terminal.charge(intent(), 30)
    terminal.queue_outcome("declined")
    second = terminal.charge(intent(), 30)
    assert second == first
    assert terminal.pending_outcomes == 1
    assert [(c.approved_amount, c.repeat) for c in terminal.charges] == [
        (1250, False),
        (1250, True),
    ]


def test_terminal_refuses_different_amount_for_approved_intent(
    terminal: SimCardTerminal,
) -> None:
    terminal.charge(intent(amount=1250), 30)
    with pytest.raises(ValueError, match="approved for 1250, now asked 900"):
        terminal.charge(intent(amount=900), 30)


def test_terminal_approves_intent_again_after_decline(terminal: SimCardTerminal) -> None:
    terminal.queue_outcome("declined")
    assert terminal.charge(intent(), 30).outcome == "declined"
    assert terminal.charge(intent(), 30).outcome == "approved"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"outcome": "maybe"}, "unknown outcome 'maybe'"),
        ({"outcome": "declined", "amount": 5}, "only meaningful for approved"),
        ({"outcome": "approved", "amount": 0}, "positive integer"),
        ({"outcome": "approved", "amount": True}, "positive integer"),
        ({"outcome": "approved", "amount": 1.5}, "positive integer"),
        ({"outcome": "approved", "delay_s": -1.0}, "delay_s"),
        ({"outcome": "approved", "delay_s": float("nan")}, "delay_s"),
    ],
)
def test_terminal_refuses_bad_script(
    terminal: SimCardTerminal, args: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        terminal.queue_outcome(**args)
    assert terminal.pending_outcomes == 0


@pytest.mark.parametrize(
    ("bad_intent", "timeout_s", "message"),
    [
        (intent(method="wallet"), 30.0, "cannot charge a 'wallet' intent"),
        (intent(amount=0), 30.0, "amount must be positive"),
        (intent(), 0.0, "timeout_s must be positive"),
    ],
)
def test_terminal_refuses_bad_charge(
    terminal: SimCardTerminal, bad_intent: PaymentIntent, timeout_s: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        terminal.charge(bad_intent, timeout_s)
    assert terminal.charges == []


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["i-1", "i-2", "i-3"]),
            st.sampled_from(["approved", "declined", "timeout", "disconnected"]),
            st.sampled_from([None, 0.0, 5.0, 50.0]),
        ),
        max_size=30,
    )
)
def test_terminal_never_approves_an_intent_twice(
    script: list[tuple[str, str, float | None]],
) -> None:
    clock = FakeClock(T0)
    terminal = SimCardTerminal(clock, sleep=clock.sleep)
    approvals: dict[str, PaymentResult] = {}
    for intent_id, outcome, delay in script:
        terminal.queue_outcome(outcome, delay_s=delay)
        result = terminal.charge(intent(intent_id), timeout_s=30)
        if result.outcome == "approved":
            assert approvals.setdefault(intent_id, result) == result
    fresh = [c for c in terminal.charges if c.outcome == "approved" and not c.repeat]
    assert len(fresh) == len({c.intent_id for c in fresh})
    assert clock.monotonic() <= 30 * len(script)


# -- wallet gateway ------------------------------------------------------------------------------
@pytest.fixture
def wallet(clock: FakeClock) -> SimWalletGateway:
    return SimWalletGateway(clock, sleep=clock.sleep)


def wallet_intent(intent_id: str = "w-1", amount: int = 880) -> PaymentIntent:
    return intent(intent_id, amount, "wallet")


def test_wallet_approves_without_card_details_and_masks_code(wallet: SimWalletGateway) -> None:
    result = wallet.charge(wallet_intent(), WALLET_CODE, 30)
    assert result.outcome == "approved"
    assert result.amount == 880
    assert result.ref is not None and re.fullmatch(r"W-\d{6}", result.ref)
    assert (result.auth, result.last4) == (None, None)
    assert wallet.charges == [ChargeRecord(T0, "w-1", 880, "approved", 880, code="****6789")]


@pytest.mark.parametrize(
    "code",
    [
        "",
        "123456789012345",
        "1" * 25,
        "13456789012345678x",
        "１３４５６７８９０１２３４５６７８９",
        "1234 5678 9012 3456",
    ],
)
def test_wallet_declines_invalid_code_without_using_script(
    wallet: SimWalletGateway, code: str
) -> None:
    wallet.queue_outcome("timeout")
    result = wallet.charge(wallet_intent(), code, 30)
    assert result == PaymentResult("declined", message="invalid payment code")
    assert wallet.pending_outcomes == 1


@pytest.mark.parametrize("code", ["1" * 16, "2" * 24])
def test_wallet_accepts_code_lengths_at_bounds(wallet: SimWalletGateway, code: str) -> None:
    assert wallet.charge(wallet_intent(), code, 30).outcome == "approved"


@pytest.mark.parametrize("outcome", ["declined", "timeout", "disconnected"])
def test_wallet_plays_scripted_outcome(
    clock: FakeClock, wallet: SimWalletGateway, outcome: str
) -> None:
    wallet.queue_outcome(outcome, delay_s=3)
    assert wallet.charge(wallet_intent(), WALLET_CODE, 30).outcome == outcome
    assert clock.monotonic() == 3


def test_wallet_never_keeps_or_logs_full_code(
    wallet: SimWalletGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wallet.charge(wallet_intent("w-1"), WALLET_CODE, 30)
    wallet.charge(wallet_intent("w-1"), WALLET_CODE, 30)
    wallet.charge(wallet_intent("w-2"), WALLET_CODE + "x", 30)
    assert WALLET_CODE not in repr(wallet.charges)
    assert WALLET_CODE not in repr(vars(wallet))
    assert WALLET_CODE not in caplog.text
    assert {c.code for c in wallet.charges} == {"****6789", "****789x"}


def test_wallet_returns_same_approval_when_intent_charged_again(
    wallet: SimWalletGateway,
) -> None:
    first = wallet.charge(wallet_intent(), WALLET_CODE, 30)
    second = wallet.charge(wallet_intent(), "2" * 18, 30)
    assert second == first
    assert [c.repeat for c in wallet.charges] == [False, True]


def test_wallet_refuses_card_intent(wallet: SimWalletGateway) -> None:
    with pytest.raises(ValueError, match="wallet gateway cannot charge a 'card' intent"):
        wallet.charge(intent(method="card"), WALLET_CODE, 30)


# -- system clock and ids ------------------------------------------------------------------------
def test_system_clock_gives_utc_now_and_monotonic_time() -> None:
    clock = SystemClock()
    before = datetime.now(UTC)
    now = clock.now()
    assert now.utcoffset() == timedelta(0)
    assert now >= before
    first = clock.monotonic()
    assert clock.monotonic() >= first


def test_ids_carry_clock_milliseconds(clock: FakeClock) -> None:
    ids = RandomIds(clock, randbytes=lambda n: b"\xff" * n)
    made = ids.new_id()
    assert uuid.UUID(made).version == 7
    assert uuid7_ms(made) == (T0 - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


class SteppingClock:
    """A clock that answers the times it was given, in order (it may step backwards)."""

    def __init__(self, times: list[datetime]) -> None:
        self._times = list(times)

    def now(self) -> datetime:
        return self._times.pop(0)

    def monotonic(self) -> float:
        return 0.0


def test_ids_strictly_increase_when_clock_stands_still_or_steps_back() -> None:
    times = [T0] * 500 + [T0 - timedelta(seconds=5)] * 500 + [T0 + timedelta(seconds=1)]
    ids = RandomIds(SteppingClock(times), randbytes=lambda n: b"\xff" * n)
    made = [ids.new_id() for _ in range(len(times))]
    assert made == sorted(made)
    assert len(set(made)) == len(times)
    assert uuid7_ms(made[-1]) - uuid7_ms(made[0]) == 1000


def test_ids_refuse_naive_clock() -> None:
    class NaiveClock:
        def now(self) -> datetime:
            return datetime(2024, 1, 1)

        def monotonic(self) -> float:
            return 0.0

    with pytest.raises(ValueError, match="naive"):
        RandomIds(NaiveClock()).new_id()
