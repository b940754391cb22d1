"""Scanner framing and debouncing (kiosk.hw.framing): pure byte-stream logic."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.hw.framing import FRAME_ERRORS, Debouncer, Framer, FrameResult, check_frame

CODES = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=48
)
TERMINATED = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}


def codes_of(results: list[FrameResult]) -> list[str]:
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    return [r.code for r in results if r.code is not None]


def feed_chunks(framer: Framer, chunks: list[bytes]) -> list[FrameResult]:
    results: list[FrameResult] = []
    for n, chunk in enumerate(chunks):
        results += framer.feed(chunk, n * 0.001)
    return results


@pytest.mark.parametrize("framing", ["CR", "LF", "CRLF"])
def test_single_code_decoded_with_each_terminator(framing: str) -> None:
    framer = Framer(framing)
    assert codes_of(framer.feed(b"6901028075831" + TERMINATED[framing], 0.0)) == ["6901028075831"]
    assert framer.pending == 0


def test_code_waits_for_its_terminator_split_across_reads() -> None:
    framer = Framer("CRLF")
    assert framer.feed(b"12345\r", 0.0) == []
    assert codes_of(framer.feed(b"\n", 0.001)) == ["12345"]


def test_prefix_and_suffix_stripped_when_configured() -> None:
    framer = Framer("CR", prefix=b"\x02", suffix=b"\x03")
    assert codes_of(framer.feed(b"\x024006381333931\x03\r", 0.0)) == ["4006381333931"]


def test_frame_rejected_when_configured_prefix_missing() -> None:
    [result] = Framer("CR", prefix=b"]E0").feed(b"4006381333931\r", 0.0)
    assert result.error == "bad_framing"
    assert "lacks prefix" in result.detail


def test_frame_rejected_when_configured_suffix_missing() -> None:
    [result] = Framer("LF", suffix=b"#").feed(b"4006381333931\n", 0.0)
    assert result.error == "bad_framing"
    assert "lacks suffix" in result.detail


def test_gap_framing_ends_code_after_quiet_gap() -> None:
    framer = Framer("gap", gap_s=0.05)
    assert framer.feed(b"40063", 1.000) == []
    assert framer.feed(b"81333931", 1.010) == []
    assert framer.flush_if_gap(1.040) == []  # 30 ms quiet: still the same code
    assert codes_of(framer.flush_if_gap(1.060)) == ["4006381333931"]
    assert framer.flush_if_gap(2.0) == []


def test_gap_framing_new_bytes_after_gap_start_next_code() -> None:
    framer = Framer("gap", gap_s=0.02)
    assert framer.feed(b"111", 0.0) == []
    assert codes_of(framer.feed(b"222", 0.05)) == ["111"]
    assert codes_of(framer.flush_if_gap(0.08)) == ["222"]


def test_over_long_line_discarded_with_bounded_buffer() -> None:
    framer = Framer("CR", max_length=16)
    for n in range(100):
        assert framer.feed(b"X" * 50, n * 0.001) == []
        assert framer.pending <= 16
    [too_long, good] = framer.feed(b"XX\r123\r", 0.2)
    assert too_long.error == "too_long"
    assert "5002 bytes" in too_long.detail
    assert good.code == "123"


def test_over_long_line_in_one_read_rejected() -> None:
    [result] = Framer("LF", max_length=8).feed(b"123456789\n", 0.0)
    assert result.error == "too_long"


def test_code_of_exactly_max_length_accepted() -> None:
    framer = Framer("CRLF", prefix=b"<", suffix=b">", max_length=8)
    assert codes_of(framer.feed(b"<12345678>\r\n", 0.0)) == ["12345678"]


def test_over_long_garbage_in_gap_mode_discarded_at_gap() -> None:
    framer = Framer("gap", max_length=10, gap_s=0.05)
    for n in range(50):
        framer.feed(b"\x00" * 100, n * 0.001)
        assert framer.pending <= 11
    [result] = framer.flush_if_gap(1.0)
    assert result.error == "too_long"
    assert "5000 bytes" in result.detail


def test_non_printable_byte_rejects_frame_and_names_it() -> None:
    framer = Framer("CR")
    [bad, good] = framer.feed(b"12\x0734\r5678\r", 0.0)
    assert bad.error == "non_printable"
    assert "'\\x07' at position 2" in bad.detail
    assert good.code == "5678"


def test_lf_inside_cr_framed_code_rejected_as_non_printable() -> None:
    framer = Framer("CR")
    [first, second] = framer.feed(b"111\r\n222\r\n", 0.0)
    assert first.code == "111"
    assert second.error == "non_printable"


def test_group_separator_allowed_for_gs1_data() -> None:
    framer = Framer("CR")
    code = "]d2010950110153000310ABC123\x1d17261231"
    assert codes_of(framer.feed(code.encode() + b"\r", 0.0)) == [code]


def test_utf8_text_decoded() -> None:
    assert codes_of(Framer("CR").feed("会员-42\r".encode(), 0.0)) == ["会员-42"]


def test_undecodable_bytes_rejected() -> None:
    [result] = Framer("CR").feed(b"12\xff\xfe\r", 0.0)
    assert result.error == "undecodable"
    assert "0xff at position 2" in result.detail


def test_empty_frame_reported() -> None:
    [result] = Framer("CR", prefix=b"[", suffix=b"]").feed(b"[]\r", 0.0)
    assert result.error == "empty"


def test_partial_frame_discarded_after_partial_timeout() -> None:
    framer = Framer("CR", partial_timeout_s=1.0)
    assert framer.feed(b"40063", 10.0) == []
    assert framer.flush_if_gap(10.9) == []
    [result] = framer.flush_if_gap(11.0)
    assert result.error == "incomplete"
    assert codes_of(framer.feed(b"123\r", 12.0)) == ["123"]


def test_reset_forgets_partial_frame() -> None:
    framer = Framer("CR")
    framer.feed(b"400", 0.0)
    framer.reset()
    assert codes_of(framer.feed(b"123\r", 0.1)) == ["123"]


def test_rejected_frame_ends_as_its_error_at_terminator() -> None:
    framer = Framer("CR")
    framer.feed(b"12", 0.0)
    framer.reject_current("unmapped_key", "key code 59 (F1)")
    [bad, good] = framer.feed(b"34\r56\r", 0.01)
    assert (bad.error, bad.detail) == ("unmapped_key", "key code 59 (F1)")
    assert good.code == "56"


def test_reject_current_refuses_unknown_error_kind() -> None:
    with pytest.raises(ValueError, match="unknown frame error 'oops'"):
        Framer().reject_current("oops", "x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"framing": "ETX"}, "framing must be one of CR, LF, CRLF, gap, got 'ETX'"),
        ({"max_length": 0}, "max_length must be 1 to 4096, got 0"),
        ({"max_length": 5000}, "max_length must be 1 to 4096"),
        ({"gap_s": 0}, "gap_s must be more than 0"),
        ({"partial_timeout_s": 0}, "partial_timeout_s must be positive"),
        ({"framing": "CR", "suffix": b"\r"}, "suffix b'\\\\r' must not contain the CR"),
        ({"framing": "CRLF", "prefix": b"\n>"}, "prefix b'\\\\n>' must not contain the CRLF"),
    ],
)
def test_framer_refuses_bad_settings(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Framer(**kwargs)  # type: ignore[arg-type]


def test_check_frame_accepts_plain_code() -> None:
    assert check_frame(b"ABC-123") == FrameResult(code="ABC-123")


def test_frame_errors_listed() -> None:
    assert set(FRAME_ERRORS) == {
        "too_long",
        "non_printable",
        "undecodable",
        "bad_framing",
        "empty",
        "incomplete",
        "unmapped_key",
    }


def test_debouncer_drops_identical_code_within_window() -> None:
    debouncer = Debouncer(0.5)
    assert debouncer.accept("123", 0.0)
    assert not debouncer.accept("123", 0.3)
    assert debouncer.accept("123", 0.5)


def test_debouncer_accepts_different_code_within_window() -> None:
    debouncer = Debouncer(0.5)
    assert debouncer.accept("123", 0.0)
    assert debouncer.accept("456", 0.1)
    assert debouncer.accept("123", 0.2)


def test_debouncer_window_zero_accepts_every_read() -> None:
    debouncer = Debouncer(0.0)
    assert all(debouncer.accept("123", 0.0) for _ in range(3))


def test_debouncer_refuses_negative_window() -> None:
    with pytest.raises(ValueError, match="must not be negative, got -1"):
        Debouncer(-1)


@pytest.mark.parametrize("framing", ["CR", "LF", "CRLF"])
def test_burst_of_20_codes_split_at_every_byte_boundary(framing: str) -> None:
    codes = [f"69010280758{n:02d}" for n in range(20)]
    stream = b"".join(code.encode() + TERMINATED[framing] for code in codes)
    for cut in range(len(stream) + 1):
        framer = Framer(framing)
        results = feed_chunks(framer, [stream[:cut], stream[cut:]])
        assert codes_of(results) == codes, cut
    assert codes_of(feed_chunks(Framer(framing), [bytes([b]) for b in stream])) == codes


@settings(max_examples=200, deadline=None)
@given(
    framing=st.sampled_from(["CR", "LF", "CRLF"]),
    codes=st.lists(CODES, min_size=1, max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=30),
)
def test_codes_arrive_in_order_whatever_the_read_sizes(
    framing: str, codes: list[str], cuts: list[int]
) -> None:
    stream = b"".join(code.encode() + TERMINATED[framing] for code in codes)
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    framer = Framer(framing, max_length=48)
    assert codes_of(feed_chunks(framer, chunks)) == codes
    assert framer.pending == 0


@settings(max_examples=100, deadline=None)
@given(codes=st.lists(CODES, min_size=1, max_size=20), split=st.integers(0, 48))
def test_gap_framed_burst_arrives_in_order(codes: list[str], split: int) -> None:
    framer = Framer("gap", gap_s=0.02)
    results: list[FrameResult] = []
    for n, code in enumerate(codes):  # one code every 50 ms, each in two reads 1 ms apart
        data = code.encode()
        t = n * 0.05
        results += framer.feed(data[:split], t)
        results += framer.feed(data[split:], t + 0.001)
        results += framer.flush_if_gap(t + 0.01)
    results += framer.flush_if_gap(len(codes) * 0.05)
    assert codes_of(results) == codes


@settings(max_examples=200, deadline=None)
@given(
    framing=st.sampled_from(["CR", "LF", "CRLF", "gap"]),
    chunks=st.lists(st.binary(max_size=300), max_size=40),
)
def test_garbage_never_grows_buffer_or_raises(framing: str, chunks: list[bytes]) -> None:
    framer = Framer(framing, max_length=32, gap_s=0.01)
    for n, chunk in enumerate(chunks):
        for result in framer.feed(chunk, n * 0.003) + framer.flush_if_gap(n * 0.003):
            assert result.ok or result.error in FRAME_ERRORS
        assert framer.pending <= 33
