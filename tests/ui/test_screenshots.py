"""A screenshot of each shell customer screen in zh_CN and en (artifacts/screenshots/)."""

from __future__ import annotations

import pytest

from tests.ui.conftest import SHOTS, Scenario


def test_screenshots_of_the_customer_screens(run_scenario: Scenario) -> None:
    """Both languages in one app, one after the other (one process: the start is the slow
    part of a UI test)."""
    report = run_scenario("screenshots", lang="zh_CN,en")
    expected = {
        "zh_CN": "暂停服务：正在清洁。\n请使用其他收银台。",
        "en": "Closed for cleaning.\nPlease use another checkout.",
    }
    assert report["result"]["out_of_service"] == expected
    assert report["result"]["closed_reason"] == {"zh_CN": "cleaning", "en": "cleaning"}
    for reasons in report["result"]["close_reasons"].values():  # three reasons, none, keep open
        assert len(set(reasons)) == 5, reasons
    for lang in expected:
        for screen in ("attract", "basket", "help", "receipt", "out_of_service"):
            assert (SHOTS / lang / f"{screen}.png").stat().st_size > 1000, (lang, screen)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_an_idle_basket_prompts_then_is_kept(run_scenario: Scenario, lang: str) -> None:
    report = run_scenario("idle", lang=lang, idle_prompt_s="1", idle_suspend_s="4")
    titles = {
        "zh_CN": ("您还在吗？", "您的购物篮已保留"),
        "en": ("Are you still there?", "Your basket is kept"),
    }
    assert (report["result"]["prompt"], report["result"]["suspended"]) == titles[lang]
    assert report["result"]["lines"] == 1  # never dropped
    assert "still_there" in report["screens"]
    for screen in ("still_there", "still_there_suspended"):
        assert (SHOTS / lang / f"{screen}.png").stat().st_size > 1000
