"""Category pictures on the lookup screen: read and decoded on the screen's reader thread,
never on the Kivy thread, each file once; a file that is not a picture leaves its tile with the
initial and the name (kiosk/ui/screens/lookup.py)."""

from __future__ import annotations

from tests.ui.conftest import Scenario


def test_category_pictures_are_read_off_the_kivy_thread_once_and_a_bad_one_is_left_out(
    run_scenario: Scenario,
) -> None:
    result = run_scenario("tests.ui.pictures:category_pictures")["result"]
    tiles = result["tiles"]
    assert tiles and all(tile["picture"] for tile in tiles)  # the demo's categories all have one
    assert all("\n" not in tile["text"] for tile in tiles)  # the name under the picture
    assert result["read_on"] and all(name.startswith("pictures") for name in result["read_on"])
    assert result["reads"] == result["files"], result["paths"]  # each file once
    # the second visit reads nothing again: the one more read is the bad file
    assert result["reads_after_second_visit"] == result["reads"] + 1
    assert result["bad"] == {"cached_as": None, "shown": 0}
