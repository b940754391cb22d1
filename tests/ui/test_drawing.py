"""The basket list clips with a scissor box that follows it in the window, its texts are as
wide as their text unless they must be shortened, and no screen manager draws a stencil
(kiosk/ui/widgets/drawing.py)."""

from __future__ import annotations

from tests.ui.conftest import Scenario


def test_the_list_is_clipped_by_a_scissor_box_that_follows_it_and_its_texts_fit(
    run_scenario: Scenario,
) -> None:
    result = run_scenario("tests.ui.drawing:clip_and_fit")
    assert result["ok"], result.get("error")
    found = result["result"]
    for key in ("box", "box_after_banner", "box_after_resize"):
        box = found[key]
        assert box["scissor"] == box["window_rect"], key
        assert box["before"][0] == "ScissorPush" and box["after"][0] == "ScissorPop", key
        assert not [i for i in box["before"] + box["after"] if i.startswith("Stencil")], key
    assert found["box_after_banner"]["window_rect"] != found["box"]["window_rect"]
    assert found["box_after_resize"]["window_rect"] != found["box_after_banner"]["window_rect"]
    for label in found["labels"]:  # every text of the row inside its own column
        assert label["texture"][0] <= label["width"] + 1, label
    short, long, wide = found["short"], found["long"], found["long_in_wide"]
    assert short["fits"] and 0 < short["texture"][0] < 300
    assert found["short_padded"]["fits"] is False  # its padding counts in the room it needs
    assert not long["fits"] and long["texture"][0] == 300
    assert wide["fits"] and long["texture"][0] < wide["texture"][0] < 4000


def test_nothing_on_the_basket_screen_draws_a_stencil_and_no_screen_manager_does(
    run_scenario: Scenario,
) -> None:
    result = run_scenario("tests.ui.drawing:no_stencil_on_screens")
    assert result["ok"], result.get("error")
    found = result["result"]
    assert found["basket"] == []  # Kivy's ScreenManager and ScrollView would each draw one
    for name, instructions in found["managers"].items():
        assert not [i for i in instructions if i.startswith("Stencil")], name
