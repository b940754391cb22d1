"""Resident memory of the touchscreen process (``kiosk run``): glibc malloc and Kivy's text.

Measured with ``bench.ui_bench`` (``ui_memory``, docs/benchmarks.md); each setting here was kept
because it lowered the kiosk's resident set in that benchmark.

``tune_malloc`` sets glibc malloc's options (``mallopt``) on the main thread, before the lane,
scanner and renderer threads start (``kiosk.app.gui.build_gui`` calls it):

- ``M_ARENA_MAX`` 2: glibc gives each new thread an arena of its own, up to 8 per core; two
  are enough for a process whose allocating threads mostly take turns (Kivy, the lane).
- ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` fixed at 128 KiB: left alone, glibc raises the
  mmap threshold each time a large block is freed (up to 32 MiB), so later large blocks
  (decoded images, text surfaces, SQLite pages in bulk) land in the main heap, where a freed
  block in the middle is never returned. Fixed, a block over 128 KiB is its own mapping and
  goes back to the system when freed, and the heap's free top is trimmed past 128 KiB.

``release_label_surfaces`` changes Kivy's SDL2 text provider (``kivy.core.text.text_sdl2``) so
that a label drops the SDL surface it rendered into once the pixels are copied out for its
texture; Kivy keeps it until the label's next render, a second copy of every label's pixels
(~5 MiB on the kiosk's screens after one sale, more with a full basket). Call it before any
label renders (``kiosk.app.gui.configure_kivy`` does).

Both are optimisations: where they cannot apply (not glibc, another text provider) they log
at debug level and change nothing.
"""

from __future__ import annotations

import ctypes
import logging
import platform
from dataclasses import dataclass
from typing import Any, Final, Protocol

logger = logging.getLogger(__name__)

# mallopt parameter numbers (glibc malloc.h)
M_TRIM_THRESHOLD: Final = -1
M_MMAP_THRESHOLD: Final = -3
M_ARENA_MAX: Final = -8

_MAX_THRESHOLD: Final = 32 * 1024 * 1024  # glibc's ceiling for the mmap threshold (64-bit)


class _Mallopt(Protocol):
    def __call__(self, param: int, value: int) -> int: ...


@dataclass(frozen=True)
class MallocSettings:
    """What ``tune_malloc`` asks glibc for (see the module docstring)."""

    arena_max: int = 2
    mmap_threshold: int = 128 * 1024
    trim_threshold: int = 128 * 1024

    def __post_init__(self) -> None:
        if self.arena_max < 1:
            raise ValueError(f"arena_max must be at least 1, got {self.arena_max}")
        for name in ("mmap_threshold", "trim_threshold"):
            value = getattr(self, name)
            if not 0 < value <= _MAX_THRESHOLD:
                raise ValueError(f"{name} must be 1 .. {_MAX_THRESHOLD} bytes, got {value}")

    def options(self) -> tuple[tuple[int, int], ...]:
        """(mallopt parameter, value) pairs, in the order they are set."""
        return (
            (M_ARENA_MAX, self.arena_max),
            (M_MMAP_THRESHOLD, self.mmap_threshold),
            (M_TRIM_THRESHOLD, self.trim_threshold),
        )


def _glibc_mallopt() -> _Mallopt | None:
    """glibc's ``mallopt``, or None when this process's C library is not glibc."""
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        function: Any = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int)
    function.restype = ctypes.c_int
    mallopt: _Mallopt = function
    return mallopt


def tune_malloc(settings: MallocSettings | None = None, mallopt: _Mallopt | None = None) -> bool:
    """Set glibc malloc's options (main thread, before other threads start). True when every
    option was accepted; False when the C library is not glibc or refused one (logged)."""
    chosen = settings or MallocSettings()
    call = mallopt if mallopt is not None else _glibc_mallopt()
    if call is None:
        logger.debug("malloc options left alone: the C library is not glibc")
        return False
    refused = [param for param, value in chosen.options() if call(param, value) != 1]
    if refused:
        logger.warning("glibc refused the malloc options %s", refused)
        return False
    logger.debug("malloc options set: %s", chosen)
    return True


def release_label_surfaces(provider: Any = None) -> bool:
    """Make Kivy's SDL2 labels drop their SDL surface after rendering (see the module
    docstring); ``provider`` is the label class to change (tests), by default Kivy's
    ``LabelSDL2``. True when it was changed (or already was)."""
    if provider is None:
        try:
            from kivy.core.text.text_sdl2 import LabelSDL2
        except ImportError:  # no SDL2 text provider in this Kivy build
            logger.debug("label surfaces left alone: Kivy has no SDL2 text provider")
            return False
        provider = LabelSDL2
    if getattr(provider, "_kiosk_releases_surface", False):
        return True
    keep = provider._render_end

    def _render_end(self: Any) -> Any:
        data = keep(self)
        self._surface = None  # the pixels are in ``data``; the texture is made from it
        return data

    provider._render_end = _render_end
    provider._kiosk_releases_surface = True
    return True
