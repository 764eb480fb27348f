"""Text widths in the PNG's font, measured from the font's glyph advances rather than by laying
the text out, so that wrapping thousands of list lines stays fast; the HTML map's first label
placement uses them too. matplotlib is imported on first use."""

from __future__ import annotations

import math
from typing import Any

PNG_DPI = 150  # the PNG map's resolution (cluster.review.map_png)


class GlyphWidths:
    """Text widths in the PNG's font without laying the text out, which costs matplotlib a
    millisecond or two a string while a week's list wraps thousands: the sum of the glyphs'
    advances, each rounded up to a whole pixel as the renderer's hinting does, plus one pixel,
    which errs on the wide side (the tests check it against the renderer)."""

    def __init__(self, weight: str = "normal", dpi: float = PNG_DPI) -> None:
        from matplotlib.font_manager import FontProperties, findfont, get_font

        self.font = get_font(findfont(FontProperties(weight=weight)))
        self.dpi = dpi
        self.pixels: dict[float, dict[str, int]] = {}  # by type size: each character's whole pixels

    def __call__(self, text: str, points: float) -> float:
        """Pixels at `points` (at 72 dpi a point is a pixel)."""
        if points not in self.pixels:
            self.pixels[points] = _Advances(self.font, points * self.dpi / 72)
        return float(sum(map(self.pixels[points].__getitem__, text)) + 1)


class _Advances(dict[str, int]):
    """A character's advance at one size, in whole pixels, looked up in the font on first use."""

    def __init__(self, font: Any, scale: float) -> None:
        super().__init__()
        self.font, self.scale = font, scale

    def __missing__(self, char: str) -> int:
        from matplotlib.ft2font import LoadFlags

        # the renderer sets its own size before each use of this shared font object
        self.font.set_size(100, 72)
        glyph = self.font.load_char(ord(char), flags=LoadFlags.NO_HINTING)
        self[char] = math.ceil(glyph.linearHoriAdvance / 65536 / 100 * self.scale)
        return self[char]
