"""Widgets that draw fewer pixels per frame: ``Panels``, ``ClippedRecycleView`` and ``LineLabel``.

Kivy redraws the whole window on every frame. On the Pi the GPU carries that; under software
GL (Mesa llvmpipe, as on the bench and CI machines) each fragment is CPU work, so a frame costs
roughly what its covered pixels cost, transparent ones included. The basket (a 200-line list
redrawn on every scan and every scroll step) is where this shows; docs/architecture.md
("Touchscreen", frame cost) has the measurements. Kivy thread only.
"""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.graphics import ScissorPop, ScissorPush
from kivy.properties import BooleanProperty
from kivy.uix.label import Label
from kivy.uix.recycleview import RecycleView
from kivy.uix.screenmanager import NoTransition, ScreenManager
from kivy.uix.widget import Widget


class Panels(ScreenManager):  # type: ignore[misc]  # Kivy has no type hints
    """A ScreenManager that switches at once (``NoTransition``) and so needs no clipping.

    Kivy's ScreenManager is clipped by the stencil buffer (its rule in Kivy's style.kv), so
    that a sliding screen does not draw outside it: on every frame that is two extra passes
    over its whole area and a stencil test on every fragment inside it. The kiosk's managers
    never slide, so their rule (``<-Panels>`` in widgets.kv) drops Kivy's and with it the
    stencil; the kiosk's screen manager is one, so this is most of the window on every frame."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("transition", NoTransition())
        super().__init__(**kwargs)


class ClippedRecycleView(RecycleView):  # type: ignore[misc]  # Kivy has no type hints
    """A RecycleView clipped by the GL scissor test instead of the stencil buffer.

    Kivy's ScrollView is a StencilView: every frame it draws its rectangle into the stencil
    buffer, tests each fragment of its content against it and draws the rectangle again to
    clear it: two extra passes over the list's whole area. A scissor box costs nothing per
    fragment. Its box is in window pixels, so it is recomputed whenever this view or any
    widget above it moves or resizes. The kiosk's window is never rotated by Kivy
    (``Window.rotation`` 0); a rotated panel is rotated by the display server."""

    def __init__(self, **kwargs: Any) -> None:
        self._ancestors: list[Any] = []
        self._scissor = ScissorPush(x=0, y=0, width=0, height=0)
        super().__init__(**kwargs)
        self.bind(pos=self._clip, size=self._clip, parent=self._watch_ancestors)

    def on_kv_post(self, base_widget: Any) -> None:
        """The kv rules have drawn: swap the stencil for the scissor box."""
        super().on_kv_post(base_widget)
        self._drop_stencil()
        self.canvas.before.insert(0, self._scissor)
        self.canvas.after.insert(0, ScissorPop())

    def _drop_stencil(self) -> None:
        """Take out the StencilView rule's instructions (push, its rectangle, use; unuse, its
        rectangle, pop) and nothing else of what the kv rules drew."""
        for group in (self.canvas.before, self.canvas.after):
            children = list(group.children)
            for index, instruction in enumerate(children):
                kind = type(instruction).__name__
                if kind in ("StencilPush", "StencilUnUse"):
                    mask = next(c for c in children[index + 1 :] if type(c).__name__ == "Rectangle")
                    group.remove(mask)  # its BindTexture goes with it
                if kind.startswith("Stencil"):
                    group.remove(instruction)

    def _watch_ancestors(self, *_args: Any) -> None:
        for widget in self._ancestors:
            widget.unbind(pos=self._clip, size=self._clip)
        self._ancestors = []
        widget = self.parent
        while isinstance(widget, Widget):  # up to the root (its parent is the window)
            widget.bind(pos=self._clip, size=self._clip)
            self._ancestors.append(widget)
            widget = widget.parent
        self._clip()

    def _clip(self, *_args: Any) -> None:
        x, y = self.to_window(*self.pos)
        self._scissor.pos = (round(x), round(y))
        self._scissor.size = (round(self.width), round(self.height))


class LineLabel(Label):  # type: ignore[misc]
    """One line of text whose texture is only as wide as the text, aligned by ``halign``
    (left, center or right) inside the widget; a text too wide for the widget is shortened
    with an ellipsis instead (its texture then spans the widget, full of text).

    A Kivy Label given ``text_size`` renders a texture as wide as that width, so a short
    amount right-aligned in a wide column would cost the whole column's pixels every frame.
    Before the next frame, after any change of text, width or font, the text's own width is
    measured (``get_extents``: no rendering) and the label is set to one rendering or the
    other; ``fits`` tells which (tests read it)."""

    fits = BooleanProperty(True)

    def __init__(self, **kwargs: Any) -> None:
        self._refit = Clock.create_trigger(self._fit, -1)  # before the next frame
        self._shape: tuple[bool, tuple[float | None, None]] = (True, (None, None))
        super().__init__(**kwargs)
        for name in ("text", "width", "font_size", "font_name", "bold", "padding"):
            self.fbind(name, self._refit)
        self._refit()

    def _fit(self, *_args: Any) -> None:
        left, _top, right, _bottom = self.padding  # Kivy 2.3: padding_x is deprecated
        natural = self._label.get_extents(self.text)[0] + left + right if self.text else 0
        fits = natural <= self.width
        text_size = (None, None) if fits else (self.width, None)
        if (fits, text_size) != self._shape:
            self._shape = (fits, text_size)
            self.fits = fits
            self.shorten = not fits
            self.text_size = text_size
