"""Scanner framing and debouncing: bytes in, decoded barcode texts (or rejected frames) out.

Pure logic, no I/O, shared by the serial and the HID keyboard-wedge scanner adapters. Each
adapter owns one ``Framer`` and one ``Debouncer`` per device and calls them from its single
reader thread only (neither class is thread-safe).

``Framer`` cuts a byte stream into frames, either at a terminator (``"CR"``, ``"LF"``,
``"CRLF"``) or at an inter-character gap (``"gap"``: a pause of ``gap_s`` after the last
byte ends the code). ``check_frame`` then strips the configured prefix and suffix and decodes
the rest. A frame is rejected, with a ``FrameResult`` naming the reason, when:

============== ============================================================================
error          cause
============== ============================================================================
too_long       more than ``max_length`` bytes (plus prefix and suffix) before a terminator
non_printable  a control or other non-printable character (GS, 0x1D, is allowed: GS1 data)
undecodable    bytes that are not UTF-8 (ASCII is the usual case)
bad_framing    the configured prefix or suffix is missing
empty          nothing left after stripping prefix and suffix
incomplete     a partial frame without its terminator for ``partial_timeout_s``
unmapped_key   (HID) a key the keymap cannot translate; see ``Framer.reject_current``
============== ============================================================================

Memory is bounded: an over-long frame is not buffered, it is counted and discarded up to the
next terminator (or gap), so garbage without terminators never grows the buffer beyond one
frame plus one read. Frames come out in the order their bytes went in; several frames in one
``feed`` and a frame split across many ``feed`` calls give the same results.

``CodeDelivery`` is the last step both adapters share: it debounces good frames, hands them to
``on_code``, logs rejected ones and reports them to ``on_error``; a failing callback is logged
and never stops the reader thread that calls it.

The classifying of the decoded text (EAN, GS1, staff badge...) is the core's job
(``kiosk.barcodes``), not this module's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal, get_args

logger = logging.getLogger(__name__)

Framing = Literal["CR", "LF", "CRLF", "gap"]
FRAMINGS: Final[tuple[str, ...]] = get_args(Framing)
FRAME_ERRORS: Final[tuple[str, ...]] = (
    "too_long",
    "non_printable",
    "undecodable",
    "bad_framing",
    "empty",
    "incomplete",
    "unmapped_key",
)
TERMINATORS: Final[dict[str, bytes]] = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "gap": b""}
MAX_LENGTH_LIMIT: Final = 4096
GS: Final = "\x1d"  # group separator (FNC1 in GS1 data), the one control character allowed
_SHOWN_BYTES: Final = 40


@dataclass(frozen=True, slots=True)
class FrameResult:
    """One frame: either ``code`` (the decoded text) or ``error`` (see FRAME_ERRORS) + detail."""

    code: str | None = None
    error: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.code is not None


def show_bytes(raw: bytes) -> str:
    """A short, log-safe rendering of raw bytes (at most 40 of them)."""
    if len(raw) <= _SHOWN_BYTES:
        return repr(raw)
    return f"{raw[:_SHOWN_BYTES]!r}... ({len(raw)} bytes)"


def check_frame(
    raw: bytes, prefix: bytes = b"", suffix: bytes = b"", max_length: int = 128
) -> FrameResult:
    """Strip ``prefix``/``suffix`` from one complete frame and decode it, or say why not."""
    body = raw
    if prefix:
        if not body.startswith(prefix):
            return FrameResult(
                error="bad_framing", detail=f"frame {show_bytes(raw)} lacks prefix {prefix!r}"
            )
        body = body[len(prefix) :]
    if suffix:
        if not body.endswith(suffix):
            return FrameResult(
                error="bad_framing", detail=f"frame {show_bytes(raw)} lacks suffix {suffix!r}"
            )
        body = body[: len(body) - len(suffix)]
    if not body:
        return FrameResult(error="empty", detail=f"frame {raw!r} holds no code")
    if len(body) > max_length:
        return FrameResult(
            error="too_long",
            detail=f"code of {len(body)} bytes is longer than max_length {max_length}",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return FrameResult(
            error="undecodable",
            detail=f"byte 0x{body[exc.start]:02x} at position {exc.start} is not UTF-8 "
            f"in {show_bytes(body)}",
        )
    for position, char in enumerate(text):
        if not char.isprintable() and char != GS:
            return FrameResult(
                error="non_printable",
                detail=f"non-printable character {char!r} at position {position} "
                f"in {show_bytes(body)}",
            )
    return FrameResult(code=text)


class Framer:
    """Cuts a byte stream into frames; see the module docstring.

    ``feed(data, now)`` takes the bytes of one read and the monotonic time it returned;
    ``flush_if_gap(now)`` must be called regularly (after every read, including empty ones):
    it ends a frame after an inter-character gap (``"gap"`` framing) and discards a stale
    partial frame after ``partial_timeout_s`` (terminator framing).
    """

    def __init__(
        self,
        framing: str = "CR",
        prefix: bytes = b"",
        suffix: bytes = b"",
        max_length: int = 128,
        gap_s: float = 0.05,
        partial_timeout_s: float = 1.0,
    ) -> None:
        if framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {', '.join(FRAMINGS)}, got {framing!r}")
        if not 1 <= max_length <= MAX_LENGTH_LIMIT:
            raise ValueError(f"max_length must be 1 to {MAX_LENGTH_LIMIT}, got {max_length}")
        if not 0 < gap_s <= 1.0:
            raise ValueError(f"gap_s must be more than 0 and at most 1 s, got {gap_s}")
        if partial_timeout_s <= 0:
            raise ValueError(f"partial_timeout_s must be positive, got {partial_timeout_s}")
        terminator = TERMINATORS[framing]
        for name, affix in (("prefix", prefix), ("suffix", suffix)):
            if terminator and any(byte in affix for byte in terminator):
                raise ValueError(f"{name} {affix!r} must not contain the {framing} terminator")
        self.framing = framing
        self.prefix = prefix
        self.suffix = suffix
        self.max_length = max_length
        self.gap_s = gap_s
        self.partial_timeout_s = partial_timeout_s
        self._terminator = terminator
        self._limit = max_length + len(prefix) + len(suffix)
        self._buffer = bytearray()
        self._discarded = 0  # bytes of the current frame dropped because it is too long
        self._rejected: tuple[str, str] | None = None
        self._last = 0.0

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame held in the buffer (never above one frame + one read)."""
        return len(self._buffer)

    def feed(self, data: bytes, now: float) -> list[FrameResult]:
        """Add the bytes of one read; return the frames they complete, oldest first."""
        results: list[FrameResult] = []
        if not data:
            return results
        if not self._terminator:
            if self._in_frame() and now - self._last >= self.gap_s:
                results.append(self._end_frame(self._take_buffer()))
            self._append_bounded(data)
            self._last = now
            return results
        self._last = now
        self._buffer += data
        terminator = self._terminator
        while (index := self._buffer.find(terminator)) >= 0:
            frame = bytes(self._buffer[:index])
            del self._buffer[: index + len(terminator)]
            results.append(self._end_frame(frame))
        keep = len(terminator) - 1  # a CR at the end may be the first half of a CRLF
        if len(self._buffer) > self._limit + keep:
            cut = len(self._buffer) - keep
            self._discarded += cut
            del self._buffer[:cut]
        return results

    def flush_if_gap(self, now: float) -> list[FrameResult]:
        """End the current frame if the line has been quiet long enough (see class doc)."""
        if not self._in_frame():
            return []
        idle = now - self._last
        if not self._terminator:
            if idle >= self.gap_s:
                return [self._end_frame(self._take_buffer())]
            return []
        if idle < self.partial_timeout_s:
            return []
        held = len(self._buffer) + self._discarded
        if self._discarded:
            result = self._too_long(held)
        else:
            result = FrameResult(
                error="incomplete",
                detail=f"{show_bytes(bytes(self._buffer))} without a {self.framing} terminator "
                f"for {self.partial_timeout_s} s, discarded",
            )
        self._reset_frame()
        return [result]

    def reject_current(self, error: str, detail: str) -> None:
        """Mark the frame being received as bad; it ends as this error at its terminator."""
        if error not in FRAME_ERRORS:
            raise ValueError(f"unknown frame error {error!r}; known: {', '.join(FRAME_ERRORS)}")
        if self._rejected is None:
            self._rejected = (error, detail)

    def reset(self) -> None:
        """Forget any partial frame (after a reconnect: its bytes belong to no code)."""
        self._reset_frame()

    def _in_frame(self) -> bool:
        return bool(self._buffer) or self._discarded > 0 or self._rejected is not None

    def _append_bounded(self, data: bytes) -> None:
        room = self._limit + 1 - len(self._buffer)  # one byte over the limit marks "too long"
        if room > 0:
            self._buffer += data[:room]
        self._discarded += max(0, len(data) - max(room, 0))

    def _take_buffer(self) -> bytes:
        frame = bytes(self._buffer)
        self._buffer.clear()
        return frame

    def _end_frame(self, frame: bytes) -> FrameResult:
        """The result of a frame already taken out of the buffer; resets the frame state."""
        total = len(frame) + self._discarded
        rejected = self._rejected
        self._discarded = 0
        self._rejected = None
        if rejected is not None:
            return FrameResult(error=rejected[0], detail=rejected[1])
        if total > self._limit:
            return self._too_long(total)
        return check_frame(frame, self.prefix, self.suffix, self.max_length)

    def _too_long(self, total: int) -> FrameResult:
        return FrameResult(
            error="too_long",
            detail=f"frame of {total} bytes is longer than {self._limit} (max_length "
            f"{self.max_length} plus prefix and suffix), discarded",
        )

    def _reset_frame(self) -> None:
        self._buffer.clear()
        self._discarded = 0
        self._rejected = None


class Debouncer:
    """Drops a code identical to the last accepted one when read within ``window_s`` of it.

    The window runs from the last *accepted* read (as ``FakeScanner`` does), so a code held
    under a scanner in continuous mode comes through once per window. ``window_s`` 0 accepts
    every read.
    """

    def __init__(self, window_s: float) -> None:
        if window_s < 0:
            raise ValueError(f"debounce window must not be negative, got {window_s}")
        self.window_s = window_s
        self._last: tuple[str, float] | None = None

    def accept(self, code: str, now: float) -> bool:
        """True when ``code`` read at ``now`` should go to the lane; False for a double read."""
        last = self._last
        if last is not None and last[0] == code and now - last[1] < self.window_s:
            return False
        self._last = (code, now)
        return True


class CodeDelivery:
    """Hands frames to the adapter's callbacks, on the adapter's reader thread.

    Good codes go through a ``Debouncer`` to ``on_code(code)``; rejected frames are logged (a
    warning naming the scanner, the error and its detail) and reported as
    ``on_error(error, detail)``. ``report`` is for the adapter's own faults (``disconnected``).
    """

    def __init__(
        self,
        name: str,
        on_code: Callable[[str], None],
        on_error: Callable[[str, str], None] | None,
        debounce_s: float,
    ) -> None:
        self.name = name
        self._on_code = on_code
        self._on_error = on_error
        self._debouncer = Debouncer(debounce_s)

    def deliver(self, results: Iterable[FrameResult], now: float) -> None:
        for result in results:
            if result.code is None:
                error = result.error or "unknown"
                logger.warning(
                    "scanner %s rejected a code (%s): %s", self.name, error, result.detail
                )
                self.report(error, result.detail)
                continue
            if not self._debouncer.accept(result.code, now):
                logger.info("scanner %s: double read of %r dropped", self.name, result.code)
                continue
            try:
                self._on_code(result.code)
            except Exception:
                logger.exception("scanner %s: on_code failed for %r", self.name, result.code)

    def report(self, kind: str, detail: str) -> None:
        if self._on_error is None:
            return
        try:
            self._on_error(kind, detail)
        except Exception:
            logger.exception("scanner %s: on_error failed for %s", self.name, kind)
