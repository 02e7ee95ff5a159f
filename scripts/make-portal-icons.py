#!/usr/bin/env python3
"""Draws the portal's app icons (src/conso/web/static/*.png) once; the PNGs are committed.

Run it again only to change the design: `.venv/bin/python scripts/make-portal-icons.py`.
It needs Pillow (installed with matplotlib, a dependency of conso) and nothing else: no
font, so the drawing is the same on every machine. The picture is three gauge bars of
rising height (calls, SMS, data) in white on the portal's accent blue (app.css
`--accent`), drawn at 4x and scaled down for smooth edges.

- icon-192.png, icon-512.png: "any" purpose, a rounded square on a transparent ground;
- icon-maskable-512.png: the full square, its bars inside the central 60 % so that any
  mask a launcher applies (a circle of 80 % at the smallest) keeps them whole;
- apple-touch-icon.png (180 px, opaque: iOS fills transparency with black) and
  favicon-32.png for the browser tab.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

STATIC = Path(__file__).resolve().parents[1] / "src" / "conso" / "web" / "static"
ACCENT = (11, 92, 173, 255)     # app.css --accent #0b5cad
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)
SUPERSAMPLE = 4


def draw(size: int, *, rounded: bool, content: float) -> Image.Image:
    """The icon at `size` px: the blue ground (rounded or full) and the bars inside the
    central `content` fraction of the square."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), CLEAR if rounded else ACCENT)
    pen = ImageDraw.Draw(image)
    if rounded:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=ACCENT)
    box = big * content
    left = (big - box) / 2
    bottom = (big + box) / 2
    gap = box / 9
    width = (box - 2 * gap) / 3
    for index, height in enumerate((0.45, 0.7, 1.0)):
        x0 = left + index * (width + gap)
        pen.rounded_rectangle((x0, bottom - box * height, x0 + width, bottom),
                              radius=width / 4, fill=WHITE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    icons = {
        "icon-192.png": draw(192, rounded=True, content=0.56),
        "icon-512.png": draw(512, rounded=True, content=0.56),
        "icon-maskable-512.png": draw(512, rounded=False, content=0.48),
        "apple-touch-icon.png": draw(180, rounded=False, content=0.56).convert("RGB"),
        "favicon-32.png": draw(32, rounded=True, content=0.62),
    }
    for name, image in icons.items():
        image.save(STATIC / name, optimize=True)
        print(f"wrote {STATIC / name} ({image.width}x{image.height})")


if __name__ == "__main__":
    main()
