"""Presenters: plain Python (no Kivy) that turn the lane view into what a screen shows.

Each takes the view (a mapping, ``kiosk.lane_view``) and a ``Text`` (translation and Babel
formatting bound to one language) and returns a small frozen dataclass of display strings.
Unit-tested without Kivy in tests/unit/ui/. Called on the Kivy thread.
"""
