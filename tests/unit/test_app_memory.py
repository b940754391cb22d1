"""``kiosk.app.memory``: glibc malloc options and Kivy label surfaces (stand-ins here; the
resident-memory effect is measured by ``bench.ui_bench`` ``ui_memory``)."""

from __future__ import annotations

import logging
import platform
from typing import Any

import pytest

from kiosk.app.memory import (
    M_ARENA_MAX,
    M_MMAP_THRESHOLD,
    M_TRIM_THRESHOLD,
    MallocSettings,
    release_label_surfaces,
    tune_malloc,
)


class Mallopt:
    """Records ``mallopt`` calls; refuses the parameters in ``refuse``."""

    def __init__(self, refuse: tuple[int, ...] = ()) -> None:
        self.calls: list[tuple[int, int]] = []
        self.refuse = refuse

    def __call__(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return 0 if param in self.refuse else 1


def test_the_default_options_are_set_in_order() -> None:
    mallopt = Mallopt()
    assert tune_malloc(mallopt=mallopt) is True
    assert mallopt.calls == [
        (M_ARENA_MAX, 2),
        (M_MMAP_THRESHOLD, 128 * 1024),
        (M_TRIM_THRESHOLD, 128 * 1024),
    ]


def test_chosen_settings_are_passed_through() -> None:
    mallopt = Mallopt()
    settings = MallocSettings(arena_max=4, mmap_threshold=256 * 1024, trim_threshold=65536)
    assert tune_malloc(settings, mallopt) is True
    assert mallopt.calls == [
        (M_ARENA_MAX, 4),
        (M_MMAP_THRESHOLD, 256 * 1024),
        (M_TRIM_THRESHOLD, 65536),
    ]


def test_a_refused_option_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="kiosk.app.memory")
    assert tune_malloc(mallopt=Mallopt(refuse=(M_ARENA_MAX,))) is False
    assert f"glibc refused the malloc options [{M_ARENA_MAX}]" in caplog.text


def test_without_glibc_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "libc_ver", lambda *_args: ("musl", "1.2"))
    assert tune_malloc() is False


def test_this_process_takes_the_options_when_its_c_library_is_glibc() -> None:
    assert tune_malloc() is (platform.libc_ver()[0] == "glibc")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"arena_max": 0}, "arena_max must be at least 1, got 0"),
        ({"mmap_threshold": 0}, "mmap_threshold must be 1 .. 33554432 bytes, got 0"),
        ({"trim_threshold": 64 * 1024 * 1024}, "trim_threshold must be 1 .. 33554432 bytes"),
    ],
)
def test_settings_out_of_range_are_refused_by_name(changes: dict[str, int], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        MallocSettings(**changes)


class Surface:
    def get_data(self) -> str:
        return "pixels"


class Label:
    """Stands in for Kivy's ``LabelSDL2``: ``_render_end`` reads the surface and keeps it."""

    def __init__(self) -> None:
        self._surface: Any = Surface()

    def _render_end(self) -> Any:
        return self._surface.get_data()


def test_a_label_drops_its_surface_once_the_pixels_are_read() -> None:
    class Provider(Label):
        pass

    assert release_label_surfaces(Provider) is True
    label = Provider()
    assert label._render_end() == "pixels"
    assert label._surface is None


def test_changing_the_provider_twice_wraps_it_once() -> None:
    class Provider(Label):
        pass

    release_label_surfaces(Provider)
    once = Provider._render_end
    assert release_label_surfaces(Provider) is True
    assert Provider._render_end is once
    assert Label()._render_end() == "pixels"  # the class it came from is left alone
