"""WCAG contrast of what a reader sees, from the page's computed colours (the browser tests' one toolkit).

The page reports each element's text colour and the background colours from it up to <html>; Python
composites them as the browser paints them and computes the ratio, so any CSS (variables, color-mix,
translucent tints) is judged by its result.
"""

from __future__ import annotations

import re
from typing import Any

# For each element: its text colour, and the background colours from it up to <html> (the browser composites
# them in that order), so Python can compute the colour a reader sees behind the text.
MEASURE = """(selector) => [...document.querySelectorAll(selector)].map(el => {
  const chain = [];
  for (let e = el; e; e = e.parentElement) chain.push(getComputedStyle(e).backgroundColor);
  const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
  return {text: own || el.textContent.trim().slice(0, 40), color: getComputedStyle(el).color,
          fill: getComputedStyle(el).fill, backgrounds: chain};
})"""

# Every element that itself holds text (not only through children), inside the outputs under test.
TEXT_ELEMENTS = """(root) => [...document.querySelectorAll(root + ' *')].filter(el =>
  [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) && el.getClientRects().length
).map((el, i) => { el.setAttribute('data-contrast-probe', String(i)); return null; }).length"""


def _rgba(css: str) -> tuple[float, float, float, float]:
    """A computed colour (``rgb()``, ``rgba()``, ``color(srgb ...)``) as 0..1 floats."""
    css = css.strip()
    if css in ("transparent", "none"):
        return (0.0, 0.0, 0.0, 0.0)
    m = re.fullmatch(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)", css)
    if m:
        r, g, b = (float(m.group(i)) / 255 for i in (1, 2, 3))
        return (r, g, b, float(m.group(4)) if m.group(4) is not None else 1.0)
    m = re.fullmatch(r"color\(srgb ([-\d.e]+) ([-\d.e]+) ([-\d.e]+)(?: / ([\d.e]+))?\)", css)
    if m:
        r, g, b = (min(max(float(m.group(i)), 0.0), 1.0) for i in (1, 2, 3))
        return (r, g, b, float(m.group(4)) if m.group(4) is not None else 1.0)
    raise AssertionError(f"a computed colour this test cannot read: {css!r}")


def _over(top: tuple[float, ...], bottom: tuple[float, float, float]) -> tuple[float, float, float]:
    a = top[3]
    return (top[0] * a + bottom[0] * (1 - a), top[1] * a + bottom[1] * (1 - a), top[2] * a + bottom[2] * (1 - a))


def _behind(backgrounds: list[str]) -> tuple[float, float, float]:
    """The opaque colour behind an element: its ancestors' backgrounds painted outermost first on white."""
    colour = (1.0, 1.0, 1.0)  # the browser's canvas
    for css in reversed(backgrounds):
        colour = _over(_rgba(css), colour)
    return colour


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: tuple[float, float, float], bg: tuple[float, float, float]) -> float:
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _contrast_of(item: dict[str, Any], prop: str = "color") -> tuple[float, tuple[float, float, float]]:
    bg = _behind(item["backgrounds"])
    return contrast(_over(_rgba(item[prop]), bg), bg), bg


def low_contrast_text(page: Any, root: str, minimum: float = 4.5) -> list[str]:
    """Every element under ``root`` that itself holds text and is drawn below ``minimum``:1, described."""
    failures = []
    page.evaluate(TEXT_ELEMENTS, root)
    for item in page.evaluate(MEASURE, f"{root} [data-contrast-probe]"):
        if not re.search(r"[\w\d]", item["text"]):  # coloured squares and marks are symbols, not text
            continue
        ratio, bg = _contrast_of(item)
        if ratio < minimum:
            failures.append(f"{item['text']!r}: {item['color']} on {bg} = {ratio:.2f}:1")
    return failures
