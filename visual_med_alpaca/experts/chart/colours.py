"""Colour clusters of the plot (the marks of each series) and the legend that names them."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from typing import Callable

import numpy as np

from .text import _CHROME, TextBox, _bare


def _blend_of(colour: np.ndarray, other: np.ndarray, background: np.ndarray, most: float = 0.85) -> bool:
    """`colour` lies between `other` and the background (an anti-aliased edge of a mark drawn in `other`)."""
    direction = np.asarray(other, float) - background
    offset = np.asarray(colour, float) - background
    alpha = float(offset @ direction) / max(float(direction @ direction), 1e-9)
    return 0.15 <= alpha <= most and float(np.linalg.norm(offset - alpha * direction)) < 40


def _colour_clusters(region: np.ndarray, boxes: list[TextBox], x_offset: int, thin_lines: bool = False, most: int = 10,
                     unblanked: list | None = None):
    """Masks of the main non-background colours in the plot area, with text boxes blanked out (`thin_lines`:
    coloured codes need a quarter of the pixels, for 1-2 px lines; bars do not want their pale edges).

    Pixels go to the nearest colour centre through a lookup table over 32 levels per channel (a few
    milliseconds for a whole chart instead of a distance per pixel and centre). `unblanked`, when given, is
    filled with the masks not blanked under text (the same clusters: lines are traced through their labels)."""
    pixels = region.astype(np.int32)
    codes = (pixels[..., 0] // 32) * 64 + (pixels[..., 1] // 32) * 8 + pixels[..., 2] // 32
    blank = np.zeros(codes.shape, bool)
    for b in boxes:
        blank[max(0, int(b.y0)):int(b.y1) + 1, max(0, int(b.x0) - x_offset):max(0, int(b.x1) - x_offset + 1)] = True
    kept_codes = codes[~blank].ravel()
    counts = np.bincount(kept_codes, minlength=512)
    flat = pixels.reshape(-1, 3)
    all_counts = np.maximum(np.bincount(codes.ravel(), minlength=512), 1)
    means = np.stack([np.bincount(codes.ravel(), weights=flat[:, c], minlength=512) for c in range(3)], axis=1) / all_counts[:, None]
    background_code = int(counts.argmax())
    if np.ptp(means[background_code]) > 60:  # wide bars may cover more of the picture than the plot's backdrop:
        pale = [c for c in np.argsort(counts)[::-1][:4] if np.ptp(means[c]) <= 60 and counts[c] >= 0.25 * counts[background_code]]
        if pale:  # a colourless backdrop that is nearly as common is the background, the coloured one the bars
            background_code = int(pale[0])
    background = means[background_code]
    threshold = max(40, 0.001 * (~blank).sum())
    chromatic = means.max(axis=1) - means.min(axis=1) > 60  # thin coloured lines: few pixels, but coloured
    candidates = [c for c in np.argsort(counts)[::-1][:24]
                  if counts[c] >= (threshold / 4 if thin_lines and chromatic[c] else threshold) and c != background_code]
    centres: list[np.ndarray] = []
    for code in candidates:
        centre = means[code]
        if np.linalg.norm(centre - background) < 45:
            continue
        if all(np.linalg.norm(centre - other) >= 45 for other in centres):
            centres.append(centre)
        if len(centres) >= most:
            break
    masks = []
    if centres:
        all_centres = np.stack([background] + centres).astype(np.float32)
        levels = np.arange(32, dtype=np.float32) * 8 + 3.5
        grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
        distances = ((grid[:, None, :] - all_centres[None]) ** 2).sum(axis=2)
        lut = np.where(distances.min(axis=1) < 45 ** 2, distances.argmin(axis=1), -1).astype(np.int16)
        fine = (pixels[..., 0] >> 3) * 1024 + (pixels[..., 1] >> 3) * 32 + (pixels[..., 2] >> 3)
        nearest = lut[fine]
        if unblanked is not None:
            unblanked.extend((nearest == index + 1).astype(np.uint8) for index in range(len(centres)))
        nearest[blank] = -1
        for index in range(len(centres)):
            masks.append((nearest == index + 1).astype(np.uint8))
    return masks, centres, background


def border_colour(rgb: np.ndarray) -> np.ndarray:
    """The picture's commonest border colour (its median border pixel, per channel): the backdrop, for pictures read
    without colour clusters (the panels' gutters, the inks of printed labels)."""
    return np.median(np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.float32), axis=0)


def commonest_colour(pixels: np.ndarray) -> np.ndarray:
    """The commonest exact colour among some pixels (h, w, 3): a crop's backdrop, the paint over text that must go."""
    codes, counts = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
    return codes[counts.argmax()]


def _in_box(rgb: np.ndarray, box: TextBox) -> np.ndarray:
    """The picture's pixels inside a text box (its edges included), clipped to the picture."""
    height, width = rgb.shape[:2]
    return rgb[max(0, int(box.y0)):min(height, int(box.y1) + 1), max(0, int(box.x0)):min(width, int(box.x1) + 1)]


def _glyph_cores(rgb: np.ndarray, box: TextBox, background: np.ndarray) -> np.ndarray | None:
    """The pixels of a word's glyphs' cores: of the box's pixels off the background by more than 80, the quarter
    furthest off it (the anti-aliased rims of small text are paler). None for fewer than 10 such pixels."""
    pixels = _in_box(rgb, box).reshape(-1, 3).astype(np.float32)
    off = np.linalg.norm(pixels - np.asarray(background, np.float32), axis=1)
    ink, off = pixels[off > 80], off[off > 80]
    if len(ink) < 10:
        return None
    return ink[off >= np.percentile(off, 75)]


def _word_ink(rgb: np.ndarray, box: TextBox, background: np.ndarray) -> np.ndarray | None:
    """(round 34) The colour a word is printed in: the median of its glyphs' cores (`_glyph_cores`; the rims matched
    paler clusters: a dark red name read as a pink line's). None for fewer than 10 such pixels."""
    cores = _glyph_cores(rgb, box, background)
    return None if cores is None else np.median(cores, axis=0)


def coloured_ink(rgb: np.ndarray, box: TextBox, background: np.ndarray, spread: float = 30.0) -> np.ndarray | None:
    """The word's ink (`_word_ink`) where it is coloured: its channels spread over `spread` (30: black and grey words
    are no series' or line's; 60: clearly coloured); None otherwise."""
    ink = _word_ink(rgb, box, background)
    return ink if ink is not None and ink.max() - ink.min() > spread else None


def _inked_by_other(rgb: np.ndarray, box: TextBox, palette: np.ndarray, swatch: int) -> bool:
    """(round 34) The word in `box` is printed in a coloured ink (`_word_ink` spreads over 30 between channels) that
    is nearest another cluster of `palette` (row 0 the background) than `swatch`, within 80 of it and at least 20
    nearer than to `swatch`: Our World in Data
    names each line at its end in the line's own colour, and a line passing just left of another line's name
    (or a gridline's dashes) looks like a legend swatch. A legend's words are black or grey, or in their swatch's
    colour (a coloured swatch that blends the word's colour with the background is the rim of the word's line).
    Not when that colour is a filled patch in the box (3x3 erosion keeps over a fifth of its pixels: a legend drawn
    over or beside a bar, whose pixels fill part of the word's box) or lies between clusters (the second nearest
    within 10 more)."""
    import cv2

    median = coloured_ink(rgb, box, palette[0])
    if median is None:
        return False
    inked = (np.linalg.norm(_in_box(rgb, box).astype(np.float32) - median, axis=2) < 45).astype(np.uint8)
    if cv2.erode(inked, np.ones((3, 3), np.uint8)).sum() > 0.2 * inked.sum():
        return False  # (N1b) the colour fills part of the box (a bar behind a legend's word), no thin glyph strokes
    distances = np.linalg.norm(palette[1:] - median, axis=1)
    nearest = int(distances.argmin()) + 1
    if nearest == swatch or distances[nearest - 1] >= 80 or distances[nearest - 1] + 20 > distances[swatch - 1]:
        return False
    if np.sort(distances)[1] < distances[nearest - 1] + 10:
        return False  # (N1b) no one colour: the ink lies between clusters (JPEG's smeared text over a bar)
    # a coloured swatch paler than the word's colour is the anti-aliased rim of the word's own line
    return not (np.ptp(palette[swatch]) > 30 and _blend_of(palette[swatch], palette[nearest], palette[0]))


def _grey_beside_coloured_word(rgb: np.ndarray, box: TextBox, palette: np.ndarray, swatch: int) -> bool:
    """(round 120) The swatch's colour is colourless (its channels spread under 10: a gridline, a leader line from a
    line's end to its name, a callout's frame) and the word in `box` is printed in a clearly coloured ink (`_word_ink`
    spreads over 60, and at least half of its glyphs' cores lie within 45 of it: one ink, not a palette picture's
    coloured fringes around grey text). A legend prints its words in black or grey, or in their swatch's colour: a
    coloured word beside a grey stroke is a line's own name (Pew's `YouTube 73%` after the grey leader from its line's
    end, Our World in Data's `Georgia` over a dashed gridline), and the stroke is no swatch of it. Round 34's
    `_inked_by_other` needs the ink near another cluster; the line of a short or thin stroke may have none."""
    if np.ptp(palette[swatch]) >= 10:
        return False
    cores = _glyph_cores(rgb, box, palette[0])
    if cores is None:
        return False
    median = np.median(cores, axis=0)  # `_word_ink`
    return float(median.max() - median.min()) > 60 and float((np.linalg.norm(cores - median, axis=1) < 45).mean()) >= 0.5


def _age_band(text: str) -> bool:
    """(round 63) A legend entry that is an age band or a number range: `18-34`, `35 - 54`, `0-4`, `65+` (Statista's and
    Pew's charts by age group print the bands alone beside their swatches)."""
    return re.fullmatch(r"\d{1,3}\s*[-–]\s*\d{1,3}|\d{1,3}\s*\+", text.strip()) is not None


def _year_or_band(text: str) -> bool:
    """(round 92) A legend entry without two letters that `_legend_names` takes: a year (`2012`) or an age band."""
    return re.fullmatch(r"\d{4}\*?", text.strip()) is not None or _age_band(text)


def _period_code(text: str) -> bool:
    """(round 71) A legend entry that names a period by a short code: a capital and one or two digits (`Q1`, `H2`)
    or a fiscal year (`2019/20`, `2018-2019`). Statista's line charts by quarter or half print them alone beside
    their swatches; they have no two letters, so the word test missed them and the lines went unnamed."""
    return re.fullmatch(r"[A-Z]\s?\d{1,2}|\d{4}\s*[/–-]\s*(?:\d{2}|\d{4})\*?", text.strip()) is not None


def _backdrop(pixels: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The commonest colour of `pixels` (N x 3; binned by 8 levels a channel, then their median) and its share."""
    if len(pixels) < 6:
        return None
    bins = (pixels.astype(np.int32) // 8) @ np.array([1024, 32, 1])
    counts = np.bincount(bins)
    best = int(counts.argmax())
    return np.median(pixels[bins == best].astype(np.float32), axis=0), float(counts[best]) / len(pixels)


def _on_a_plate(rgb: np.ndarray, box: TextBox, patch: np.ndarray, keep: np.ndarray, blank: np.ndarray,
                background: np.ndarray) -> bool:
    """(round 135) A word printed on a plate of its own: the commonest colour of its box inset by a fifth of its
    height (its plate, 40% of that or more) differs by more than 24 from the plot's backdrop `background`, while the
    commonest colour of the strip left of the word (`patch`; `keep`: its pixels outside text boxes; `blank`: those of
    no cluster) is that backdrop (within 24) and covers half the strip or more, and under 3% of the strip's pixels
    lie within 24 of the plate's colour (rows half of that colour, a gridline across the strip, left out). OECD
    prints each line's name in a white box over the plot's tinted backdrop, and a line passing by or under the box
    is no swatch of it; a legend's word and its swatch stand on one backdrop (the legend's or the page's, seen in the
    gap between them, even where a bar behind a see-through legend tints the word's part of it)."""
    inset = 0.2 * box.h  # OCR's box of a boxed name reaches past its plate
    inner = rgb[max(0, int(box.y0 + inset)):int(box.y1 - inset) + 1, max(0, int(box.x0 + inset)):int(box.x1 - inset) + 1]
    word, around = _backdrop(inner.reshape(-1, 3)), _backdrop(patch[blank])
    if word is None or around is None or word[1] < 0.4 or around[1] * blank.sum() < 0.5 * keep.sum():
        return False  # the strip is mostly the backdrop (not a swatch and its blurred rims)
    backdrop = np.asarray(background, np.float32)
    if not float(np.linalg.norm(around[0] - backdrop)) <= 24 < float(np.linalg.norm(word[0] - backdrop)):
        return False
    near = (np.linalg.norm(patch.astype(np.float32) - word[0], axis=2) <= 24) & keep
    across = near.sum(axis=1) >= 0.5 * np.maximum(keep.sum(axis=1), 1)  # a gridline in the plate's colour (cut by lines)
    return float(near[~across].sum()) < 0.03 * max(1, int(keep.sum()))


def _bar_end(bar_rects, cluster: int, x0: float, x1: float, y0: float, y1: float, frame=None) -> bool:
    """(round 145) The would-be swatch of `cluster` over columns x0..x1 and rows y0..y1 of the original picture is a
    bar's own end: one of `bar_rects` (the bars read, original coordinates, with their `cluster`) of that colour
    holds its columns and ends where it ends (its right edge within 2 px: the bar's end, not a legend drawn over a
    bar's middle) and overlaps its rows, and that bar runs on left of it (its body) or another bar ends
    where it begins (2 px; a stacked bar's last segment, Pew's `62 NET` past the olive 11% segment). A legend's
    swatch is a patch of its own, parted from every bar by the legend's gap.
    (round 147) Two guards: a would-be swatch inside `frame` (`bars._legend_frame`'s frame (x0, y0, x1, y1), a
    legend found in the picture) is that legend's swatch, never a bar's end (a legend drawn over a bar cuts the bar
    where its swatch ends); and where every bar read spans the same columns (2 px; one column of stacked segments,
    read as rows) their right side is no bar's end: a word beside each segment is the segment's own label."""
    def rows(a, b0, b1) -> bool:
        return min(a.y1, b1) - max(a.y0, b0) > 0

    if frame is not None and frame[0] <= (x0 + x1) / 2 <= frame[2] and frame[1] <= (y0 + y1) / 2 <= frame[3]:
        return False
    if bar_rects and all(abs(o.x0 - bar_rects[0].x0) <= 2 and abs(o.x1 - bar_rects[0].x1) <= 2 for o in bar_rects):
        return False
    for r in bar_rects or ():
        if r.cluster != cluster or not (r.x0 <= x0 + 2 and abs(r.x1 - x1) <= 2 and rows(r, y0, y1)):
            continue
        if r.x0 < x0 - 2 or any(o is not r and abs(o.x1 - r.x0) <= 2 and rows(o, r.y0, r.y1) for o in bar_rects):
            return True
    return False


def _own_ink(rgb: np.ndarray, box: TextBox, palette: np.ndarray, cluster: int, start: float | None = None) -> bool:
    """(round 145) The word in `box` (its columns from `start` on, past the would-be swatch) is printed, at least in
    part, in the ink of `cluster` (1-based row of `palette`, row 0 the background): its glyphs' coloured ink
    (`coloured_ink`) is nearest that cluster, or of its pixels off the background
    (over 60 from it), 30% or more (and 10 or more) lie within 45 of that cluster's colour. Pew prints a series' name
    in its bars' colour beside the first group, where the bar's end stands for its swatch, often after the bar's
    value in black (`25 Ages 50+` in a pale tan: the glyphs' darkest cores are the black digits')."""
    ink = coloured_ink(rgb, box, palette[0])  # the glyphs' cores' median (a dark ink)
    if ink is not None and int(np.linalg.norm(palette[1:] - ink, axis=1).argmin()) + 1 == cluster:
        return True
    x0 = max(0, int(box.x0 if start is None else max(box.x0, start)))
    patch = rgb[max(0, int(box.y0)):int(box.y1) + 1, x0:int(box.x1) + 1].reshape(-1, 3).astype(np.float32)
    if not len(patch):
        return False
    off = np.linalg.norm(patch - palette[0], axis=1) > 60
    near = off & (np.linalg.norm(patch - palette[cluster], axis=1) < 45)
    return int(near.sum()) >= 10 and near.sum() >= 0.3 * off.sum()


def reading_key(y: float, x: float) -> float:
    """A legend entry's place in reading order, top to bottom, then left to right: the `order` of the entries
    `_legend_names` returns (and `_after_leading_swatches` finds), so a caller can tell which word an entry is."""
    return y * 10000 + x


def _nearest_clusters(patch: np.ndarray, palette: np.ndarray, none: int) -> np.ndarray:
    """Per pixel of `patch`: its nearest colour of `palette` (row 0 the background, k >= 1 a cluster), or `none` where
    no colour of it lies within 45."""
    d = ((patch.astype(np.float32)[:, :, None, :] - palette[None, None]) ** 2).sum(axis=3)
    return np.where(d.min(axis=2) < 45 ** 2, d.argmin(axis=2), none)


def _legend_names(original, centres, background, reread: Callable[[np.ndarray], str] | None = None,
                  codes: bool = False, bar_rects=None, frame=None) -> dict[int, tuple[float, str]]:
    """cluster -> (legend position, name): a word whose left neighbour strip holds a small swatch of that
    colour (the colour must stop above, below and left of the strip: a number printed on a bar is no legend).
    With `codes` (the value-axis reader: lines; round 71) a period code (`Q1`, `2019/20`) may be an entry too.
    With `bar_rects` (round 145; the bars read, original coordinates) a swatch that is a bar's own end (`_bar_end`)
    names nothing beside a word in black or grey (Pew's `62 NET` printed past a stacked bar's end), only beside a
    word in that bar's own ink (`_own_ink`: Pew's series name beside the first group); the next colour is tried.
    (round 147) A swatch inside `frame` (the legend `bars._legend_frame` found) is never a bar's end.

    Read on the upright original picture, so it works the same for rotated (horizontal-bar) charts."""
    rgb, boxes = original
    names: dict[int, tuple[float, str]] = {}
    palette = np.stack([background] + list(centres)).astype(np.float32)
    height, width = rgb.shape[:2]

    def colour_at(x: float, y: float) -> int:
        if not (0 <= x < width and 0 <= y < height):
            return -1
        d = ((palette - rgb[int(y), int(x)].astype(np.float32)) ** 2).sum(axis=1)
        return int(d.argmin()) - 1 if d.min() < 45 ** 2 else -1

    def nearest_colours(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Per pixel of rgb[y0:y1, x0:x1]: 1 + its cluster, or 0 (the background, or no colour within 45)."""
        return _nearest_clusters(rgb[y0:y1, x0:x1], palette, 0)

    def filling_colour(y0: int, y1: int, x0: int, x1: int) -> int | None:
        """The commonest cluster of rgb[y0:y1, x0:x1] when it fills at least 60% of it (a swatch's place), else None."""
        nearest = nearest_colours(y0, y1, x0, x1)
        counts = np.bincount(nearest.ravel(), minlength=len(palette))[1:]
        best = int(counts.argmax())
        return best if counts[best] >= 0.6 * nearest.size else None

    text_mask = np.zeros((height, width), bool)
    for box in boxes:
        text_mask[max(0, int(box.y0)):int(box.y1) + 1, max(0, int(box.x0)):int(box.x1) + 1] = True
    typical = float(np.median([b.h for b in boxes])) if boxes else 0.0
    entries: dict[int, tuple[TextBox, int, int]] = {}  # cluster -> (its word, the swatch's first and last column)
    barred: set[int] = set()  # (round 120) grey clusters seen beside a word in a coloured ink: rules, no swatches
    for box in boxes:
        if _CHROME.search(box.text) or not (re.search(r"[A-Za-z]{2}", box.text) or _year_or_band(box.text)
                                            or (codes and _period_code(box.text))):
            continue  # a legend entry has words, or is a year, or (round 63) an age band, or (round 71) a period code
        if box.h > 1.6 * typical or box.x0 < 1.0 * box.h:
            continue  # titles are large; a swatch needs room left of its word
        y0, y1 = int(box.y0 + box.h * 0.2), int(box.y1 - box.h * 0.2) + 1
        x1 = int(box.x0) - 1
        x0 = max(0, x1 - int(max(12, box.h * 2.5)))
        if x1 <= x0 or y1 <= y0:
            continue
        strip = rgb[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)[~text_mask[y0:y1, x0:x1].ravel()]
        if len(strip) < 6:
            continue
        nearest = nearest_colours(y0, y1, x0, x1)
        nearest[text_mask[y0:y1, x0:x1]] = 0
        if _on_a_plate(rgb, box, rgb[y0:y1, x0:x1], ~text_mask[y0:y1, x0:x1], (nearest == 0) & ~text_mask[y0:y1, x0:x1], background):
            continue  # (round 135) a word on a plate of its own (OECD's boxed end names): what runs by it is no swatch
        counts = np.bincount(nearest.ravel(), minlength=len(palette))[1:]
        word = rgb[y0:y1, int(box.x0):int(box.x1) + 1].reshape(-1, 3).astype(np.float32)
        word_d = ((word[:, None, :] - palette[None]) ** 2).sum(axis=2)
        inside = np.bincount(np.where(word_d.min(axis=1) < 45 ** 2, word_d.argmin(axis=1), 0), minlength=len(palette)) / max(1, len(word))
        # the commonest colour first (a patch's fill, not the rims along its edges), unless it is the pale rim of a
        # thin stroke (blurred towards the background) as wide as a stroke in the colour it fades from: that core
        extents = np.array([(nearest == k + 1).any(axis=0).sum() if counts[k] >= 6 else 0 for k in range(len(counts))])
        ranked = sorted((k for k in range(len(counts)) if extents[k] > 0), key=lambda k: -counts[k])
        cores = [k for k in ranked[1:] if extents[k] >= 0.8 * extents[ranked[0]]
                 and _blend_of(palette[ranked[0] + 1], palette[k + 1], palette[0], 0.95)]
        if cores:
            ranked.insert(0, ranked.pop(ranked.index(cores[0])))
        elif ranked and (inner := _enclosed_patch(nearest, ranked[0], ranked[1:])) is not None:
            ranked.insert(0, ranked.pop(ranked.index(inner)))  # (round 165) the patch before the ground around it
        for best in ranked:
            extent = int(extents[best]) + _run_into_box(nearest_colours, nearest, best, box, x1, y0, y1)
            solid = counts[best] >= max(6, 0.08 * len(strip)) and extent >= max(3, 0.3 * box.h)
            if inside[best + 1] > 0.3:
                continue  # the colour fills the word's own box: the legend's backdrop, or a bar the word is printed on
            if not (solid or (extent >= 0.7 * box.h and counts[best] >= extent)) or extent >= 0.95 * (x1 - x0):
                continue  # a swatch is a patch or a line's short stroke, with a gap before its word (a gridline has none)
            # probed at the colour's own columns in the strip (a bar left of a legend entry, behind the legend,
            # fills the strip's left part: probes in the strip's middle would miss it and take it for the swatch)
            cols = np.nonzero((nearest == best + 1).any(axis=0))[0]
            middle, end = x0 + (cols.min() + cols.max()) / 2, x0 + int(cols.max())
            above = any(colour_at(px, box.y0 - 0.35 * box.h) == best for px in (middle, end))
            below = any(colour_at(px, box.y1 + 0.35 * box.h) == best for px in (middle, end))
            left = colour_at(x0 - 0.6 * box.h, box.cy) == best
            if (above and below) or (left and (above or below)):
                continue  # the colour surrounds the word: a bar it is printed on, or the legend's own frame
            if best in barred or _grey_beside_coloured_word(rgb, box, palette, best + 1):
                barred.add(best)  # (round 120) a grey stroke left of a word in a coloured ink: a gridline or a leader
                continue  # from a line's end to its name, no swatch; the same grey beside any other word is one too
            if _inked_by_other(rgb, box, palette, best + 1):
                break  # (round 34) a word in another line's own colour is that line's name at its end, not an entry
            if _bar_end(bar_rects, best, x0 + cols.min(), x0 + cols.max(), y0, y1, frame) and not _own_ink(rgb, box, palette, best + 1, x0 + cols.max() + 1):
                continue  # (round 145) the bar's own end beside a black or grey word: no swatch
            order = reading_key(box.cy, box.cx)
            if best not in names or order < names[best][0]:
                names[best] = (order, _bare(box.text))
                entries[best] = (box, x0 + int(cols.min()), x0 + int(cols.max()))
            break
    for best in barred:  # (round 120) a word taken before the coloured one was seen beside the same grey stroke
        names.pop(best, None)
        entries.pop(best, None)
    # an entry of a legend drawn over a bar of its own colour fails the test above (its word sits on that colour):
    # a word in the same column as a found entry (same left edge, the next line) has its swatch where that one's is
    for box in boxes:
        if any(box is entry for entry, _, _ in entries.values()) or not re.search(r"[A-Za-z]{2}", box.text) or _CHROME.search(box.text):
            continue
        for entry, c0, c1 in list(entries.values()):
            # (round 70) left edges within 0.8 of a line height: OCR's box of a word printed on a bar starts up to
            # ~0.7 of it off the box of the word above it, which matplotlib printed from the same left edge
            if abs(box.x0 - entry.x0) > 0.8 * entry.h or abs(box.h - entry.h) > 0.3 * entry.h or not 0.6 * entry.h < abs(box.cy - entry.cy) < 1.8 * entry.h:
                continue
            y0, y1 = int(box.y0 + box.h * 0.3), int(box.y1 - box.h * 0.3) + 1
            if rgb[y0:y1, c0:c1 + 1].size == 0:
                continue
            best = filling_colour(y0, y1, c0, c1 + 1)
            if best is not None and best not in names:
                names[best] = (reading_key(box.cy, box.cx), _bare(box.text))
            break
    for best, (entry, c0, c1) in entries.items():  # (round 102) an entry printed on two lines (`Mostly / positive`)
        below = [b for b in boxes if b is not entry and _continues(b, entry)
                 and not any(b is other for other, _, _ in entries.values())]
        if len(below) == 1 and filling_colour(int(below[0].y0 + 0.3 * below[0].h), int(below[0].y1 - 0.3 * below[0].h) + 1, c0, c1 + 1) is None \
                and not nearest_colours(int(below[0].y0), int(below[0].y1) + 1, c0, c1 + 1).any():
            names[best] = (names[best][0], f"{names[best][1]} {_bare(below[0].text)}")

    def missed_word(entry: TextBox, row: float, half: float) -> str | None:
        """The word beside a swatch at `row` in `entry`'s column, read again alone in a crop `half` above and below
        the row: None where the detector found a word there (not missed) or the re-read is no name."""
        x0, x1 = max(0, int(entry.x0) - 2), min(width, int(entry.x0 + 10 * entry.h))
        wy0, wy1 = max(0, int(row - half)), min(height, int(row + half) + 1)
        if any(x0 <= b.cx <= x1 and wy0 <= b.cy <= wy1 for b in boxes):
            return None
        text = reread(np.ascontiguousarray(rgb[wy0:wy1, x0:x1])).strip()
        return _bare(text) if re.search(r"[A-Za-z]{2}", text) and not _CHROME.search(text) and len(text) <= 30 else None

    if reread is not None and entries:  # an entry whose short word the detector missed (`Day`): its swatch stands
        # in the legend's column a line above or below the found entries; the place of its word is read again alone
        found = sorted(entries.values(), key=lambda e: e[0].cy)
        pitch = float(np.median(np.diff([e[0].cy for e in found]))) if len(found) >= 2 else 1.4 * found[0][0].h
        for entry, c0, c1, row in [(found[0] + (found[0][0].cy - n * pitch,)) for n in (1, 2)] + [(found[-1] + (found[-1][0].cy + n * pitch,)) for n in (1, 2)]:
            h = entry.h
            y0, y1 = int(row - 0.3 * h), int(row + 0.3 * h) + 1
            if pitch < 0.8 * h or y0 < 0 or y1 > height or c1 < c0:
                continue
            best = filling_colour(y0, y1, c0, c1 + 1)
            if best is None or best in names:
                continue
            if (name := missed_word(entry, row, 0.8 * h)) is not None:
                names[best] = (reading_key(row, entry.cx), name)
        for entry, c0, c1 in found:  # (round 70) the rows guessed from a pitch missed: the swatches themselves
            for best, row in _swatches_in_column(nearest_colours, entry, c0, c1, height):
                if best in names:
                    continue
                half = min(0.8 * entry.h, 0.5 * abs(row - entry.cy))  # the crop stops halfway to the entry's own line
                if (name := missed_word(entry, row, half)) is not None:
                    names[best] = (reading_key(row, entry.cx), name)
    return names


def _legend_column_names(rgb: np.ndarray, boxes: list[TextBox], centres, background, series: list[int],
                         named: dict[int, tuple[float, str]]) -> dict[int, tuple[float, str]]:
    """(round 178) cluster -> (legend position, name) for the `series` (bar clusters, 0-based) that `named` leaves
    unnamed, where the legend is drawn over bars (matplotlib's legend placed inside a plot full of bars: a swatch on
    a bar of its own colour does not show, one on another bar runs into it, a word on a bar stands in its colour, and
    `_legend_names` finds no entry or only some). The legend's words stand in one column, one word per series: left
    edges within 0.8 of a line's height, heights within 0.4 (`Day`'s descender), evenly spaced 0.9-2.2 heights apart. An entry's swatch is
    the colour that the strip left of its word (the column's, 2.5 heights wide) holds more of on the word's middle rows
    than on the rows halfway to the entries beside it (a bar behind the legend runs through both), by a quarter of
    the strip or more. Every entry's swatch must show but one's, in distinct series colours; the one left without one
    takes the one series colour left (its swatch lies on a bar of that colour). Nothing unless exactly one column
    reads so (`_column_swatches`), nor where `named` gives a word of that column another colour."""
    if len(series) < 2 or all(c in named for c in series):
        return {}
    typical = float(np.median([b.h for b in boxes])) if boxes else 0.0
    words = [b for b in boxes if re.search(r"[A-Za-z]{2}", b.text) and not _CHROME.search(b.text) and b.h <= 1.6 * typical]
    columns = []
    for anchor in words:
        column = sorted((b for b in words if abs(b.x0 - anchor.x0) <= 0.8 * anchor.h and abs(b.h - anchor.h) <= 0.4 * anchor.h),
                        key=lambda b: b.cy)
        steps = np.diff([b.cy for b in column])
        if len(column) != len(series) or steps.min() < 0.9 * anchor.h or steps.max() > 2.2 * anchor.h or steps.max() > 1.3 * steps.min():
            continue
        if not any({id(b) for b in column} == {id(b) for b in other} for other in columns):
            columns.append(column)
    palette = np.stack([background] + list(centres)).astype(np.float32)
    readings = [names for names in (_column_swatches(rgb, column, palette, series) for column in columns) if names]
    if len(readings) != 1:
        return {}
    names = readings[0]
    for c, (_, name) in named.items():
        if any(word == name and other != c for other, (_, word) in names.items()):
            return {}  # the legend reader gave this word another colour
    taken = {name for _, name in named.values()}
    return {c: v for c, v in names.items() if c not in named and v[1] not in taken}


def _column_swatches(rgb: np.ndarray, column: list[TextBox], palette: np.ndarray, series: list[int]) -> dict[int, tuple[float, str]]:
    """(round 178) `_legend_column_names`' swatches left of one column of words: cluster -> (position, name), or {}
    where the column is no legend of the `series` (an entry's shown swatch in no series' colour, two alike, or more
    than one entry without one)."""
    height = rgb.shape[0]
    h = float(np.median([b.h for b in column]))
    pitch = float(np.median(np.diff([b.cy for b in column])))
    x1 = int(min(b.x0 for b in column))
    x0 = max(0, x1 - int(max(12, 2.5 * h)))
    if x1 - x0 < 6:
        return {}

    def shares(row: float, half: float) -> np.ndarray | None:
        """Per cluster (1 + its index; 0 the background or no colour within 45): its share of the strip's pixels on the
        rows `row` +- `half`."""
        r0, r1 = max(0, int(round(row - half))), min(height, int(round(row + half)) + 1)
        if r1 <= r0:
            return None
        nearest = _nearest_clusters(rgb[r0:r1, x0:x1], palette, 0)
        return np.bincount(nearest.ravel(), minlength=len(palette)) / nearest.size

    found: dict[int, int] = {}  # entry -> its swatch's cluster
    for n, box in enumerate(column):
        middle = shares(box.cy, 0.2 * h)
        gaps = [g for g in (shares(box.cy - pitch / 2, max(1.0, 0.1 * h)), shares(box.cy + pitch / 2, max(1.0, 0.1 * h))) if g is not None]
        if middle is None or not gaps:
            return {}
        excess = middle - np.max(gaps, axis=0)
        excess[0] = -1.0
        best = int(excess.argmax())
        if excess[best] >= 0.25:
            if best - 1 not in series:
                return {}  # a swatch in no bars' colour: no legend of these bars
            found[n] = best - 1
    unknown = [n for n in range(len(column)) if n not in found]
    left = [c for c in series if c not in found.values()]
    if not found or len(set(found.values())) < len(found) or len(unknown) > 1 or len(left) != len(unknown):
        return {}
    found.update(dict(zip(unknown, left)))
    return {c: (reading_key(column[n].cy, column[n].cx), _bare(column[n].text)) for n, c in found.items()}


def _enclosed_patch(nearest: np.ndarray, ground: int, others: list[int]) -> int | None:
    """(round 165) The first of `others` (clusters, 0-based) whose pixels in a legend entry's strip (`nearest`: 1 + the
    cluster per pixel, 0 for none) form a patch with `ground` right above and right below it (80% of the patch's
    columns, on the rows next to its first and last) inside the strip: the swatch, drawn on that ground. The commonest
    colour of the strip is then no swatch but what lies around one: a see-through legend's face over a bar (0.8 of
    the backdrop and 0.2 of the bar's colour, a cluster of its own) that outnumbers the swatch it surrounds (plain pool
    90210's chart 20: `After` named the face's cluster, its blue series `Series 3`). None where no such patch is."""
    for k in others:
        rows, cols = np.nonzero(nearest == k + 1)
        if len(rows) < 6:
            continue
        top, bottom, columns = int(rows.min()), int(rows.max()), np.unique(cols)
        if top == 0 or bottom == nearest.shape[0] - 1:
            continue
        if (nearest[top - 1, columns] == ground + 1).mean() >= 0.8 and (nearest[bottom + 1, columns] == ground + 1).mean() >= 0.8:
            return k
    return None


def _run_into_box(nearest_colours, nearest: np.ndarray, best: int, box: TextBox, x1: int, y0: int, y1: int) -> int:
    """(round 102) The columns from `x1` on (the strip's end, right before the word's box) over which a swatch of
    cluster `best` that reaches the strip's last column runs on, at the rows it holds there, within the word's box (a
    6 px square drawn right against its word: the strip sees 5 of its columns, the box's OCR edge cuts the rest)."""
    rows = nearest[:, -1] == best + 1 if nearest.shape[1] else np.zeros(0, bool)
    if not rows.any():
        return 0
    more, x = 0, x1
    while x < int(box.x1) and (nearest_colours(y0, y1, x, x + 1)[rows, 0] == best + 1).all():
        more, x = more + 1, x + 1
    return more


def _continues(below: TextBox, entry: TextBox) -> bool:
    """(round 102) `below` is the second line of legend entry `entry`'s name: the next line down (its middle 0.6-1.8
    of the entry's line height below the entry's), from the same left edge (within 0.8 of a line height), as tall
    (within 0.3 of it), words only, beginning with a small letter (a name's wrapped part: `positive` under `Mostly`)."""
    h = entry.h
    text = below.text.strip()
    return (abs(below.x0 - entry.x0) <= 0.8 * h and abs(below.h - h) <= 0.3 * h and 0.6 * h < below.cy - entry.cy < 1.8 * h
            and bool(re.match(r"[a-z]", text)) and bool(re.search(r"[A-Za-z]{2}", text)) and not re.search(r"\d", text)
            and not _CHROME.search(text))


def _swatches_in_column(nearest_colours, entry, c0: int, c1: int, height: int) -> list[tuple[int, float]]:
    """(round 70) The other swatches of a legend's column, read off a found entry's swatch columns c0..c1: (cluster,
    the swatch's middle row) for each run of rows filled (60% of the columns) by one colour that is as tall as the
    entry's own swatch (within half of it), with rows of another colour or none right above and below it, the next one
    up or down the column (a gap under two line heights), two at most each way. A legend's rows are spaced by
    matplotlib's label spacing, not by the OCR box's height, so a pitch guessed from one entry's box misses them.
    Only for a patch swatch at least 0.3 of a line height tall (a bar chart's legend; a line's stroke is 1-3 rows)."""
    h = entry.h
    top, bottom = max(0, int(entry.cy - 4 * h)), min(height, int(entry.cy + 4 * h) + 1)
    if bottom - top < 3 or c1 < c0:
        return []
    nearest = nearest_colours(top, bottom, c0, c1 + 1)
    per_row = []
    for line in nearest:
        counts = np.bincount(line, minlength=2)
        k = int(counts[1:].argmax()) + 1 if len(counts) > 1 else 0
        per_row.append(k if counts[k] >= 0.6 * len(line) else 0)
    runs: list[list[int]] = []  # [cluster (0-based), first row, last row]
    for y, k in enumerate(per_row):
        if runs and runs[-1][0] == k - 1 and runs[-1][2] == y - 1 and k:
            runs[-1][2] = y
        elif k:
            runs.append([k - 1, y, y])
    own = [n for n, (_, a, b) in enumerate(runs) if a <= entry.cy - top <= b]
    if not own:
        return []
    n0 = own[0]
    tall = runs[n0][2] - runs[n0][1] + 1
    if runs[n0][1] == 0 or runs[n0][2] == len(per_row) - 1 or tall > 1.2 * h:
        return []  # the entry's own swatch must be a bounded patch, not a bar running through the column
    if tall < 0.3 * h:
        return []  # (P1b) a line's short stroke (a line chart's legend): rows as thin match every line crossing the column
    out = []
    for step in (-1, 1):
        last, found, n = runs[n0], 0, n0 + step
        while 0 <= n < len(runs) and found < 2:
            run = runs[n]
            k, a, b = run
            n += step
            if b - a + 1 < min(3, 0.5 * tall):
                continue  # a row or two of a blended colour where two patches meet (JPEG, anti-aliasing)
            gap = (a - last[2]) if step > 0 else (last[1] - b)
            if gap > 2 * h or not 0.5 * tall <= b - a + 1 <= 1.5 * tall or a == 0 or b == len(per_row) - 1:
                break
            out.append((k, top + (a + b) / 2))
            last, found = run, found + 1
    return out


def _middle_band_and_edges(patch: np.ndarray, palette: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel of a text box's patch, its nearest colour of `palette` (row 0 the background; -1 none within 45):
    the box's middle rows (0.35-0.65 of its height `h`) and its top and bottom rows, where swatches are looked for.
    (round 92) A column whose middle rows are not all one cluster k >= 1 is k in every middle row where k fills an
    unbroken run of at least 0.3 of `h` rows between the box's top and bottom rows, lying within one row of its
    neighbour column's run of k (Pew's 5-7 px squares and dots stand off the middle of a tall box: the fixed rows met
    the background above or below them)."""
    nearest = _nearest_clusters(patch, palette, -1)  # 0 the background, k >= 1 a cluster
    off = nearest < 0
    if off.any():  # (round 102) a colour within 45 of no cluster: its own index past the palette's, one per colour
        coarse = patch[off].astype(np.int64) // 8  # (a swatch whose colour the clusters merged away or never held)
        _, index = np.unique(coarse[:, 0] * 1024 + coarse[:, 1] * 32 + coarse[:, 2], return_inverse=True)
        nearest[off] = len(palette) + index.ravel()
    band = nearest[int(0.35 * h):max(int(0.35 * h) + 1, int(0.65 * h))].copy()
    k, first, last = _longest_runs(nearest[1:-1])  # per column, inside the top and bottom rows
    tall = (k > 0) & (last - first + 1 >= max(3, 0.3 * h))
    steady = np.zeros_like(tall)
    for shift in (1, -1):  # a neighbour column holds a run of the same cluster within one row at both ends
        other = slice(None, -1) if shift == 1 else slice(1, None)
        mine = slice(1, None) if shift == 1 else slice(None, -1)
        steady[mine] |= (k[other] == k[mine]) & (np.abs(first[other] - first[mine]) <= 1) & (np.abs(last[other] - last[mine]) <= 1)
    uniform = (band == band[:1]).all(axis=0) & (band[0] > 0)
    fill = tall & steady & ~uniform
    band[:, fill] = k[fill]
    return band, np.concatenate([nearest[:1], nearest[-1:]])


def _longest_runs(nearest: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(round 92) Per column of nearest-colour indices, its longest unbroken run of one colour cluster k >= 1: (k or 0
    where the column holds none, the run's first row, its last row)."""
    cols = nearest.shape[1]
    best_k, best_first, best_last = np.zeros(cols, int), np.zeros(cols, int), np.full(cols, -1)
    if nearest.shape[0] == 0:
        return best_k, best_first, best_last
    start = np.zeros(cols, int)
    for row in range(1, nearest.shape[0] + 1):
        ended = np.ones(cols, bool) if row == nearest.shape[0] else nearest[row] != nearest[row - 1]
        value = nearest[row - 1]
        longer = ended & (value > 0) & (row - start > best_last - best_first + 1)
        best_k[longer], best_first[longer], best_last[longer] = value[longer], start[longer], row - 1
        start[ended] = row
    return best_k, best_first, best_last


def _colour_run(band: np.ndarray, column: int) -> tuple[int, int] | None:
    """The run of columns of `band` from `column` on whose rows are all one colour cluster k >= 1: (k, its last
    column); None where `column` is not such a column."""
    k = int(band[0, column])
    if k <= 0 or not (band[:, column] == k).all():
        return None
    end = column
    while end + 1 < band.shape[1] and (band[:, end + 1] == k).all():
        end += 1
    return k, end


def _after_leading_swatches(rgb: np.ndarray, boxes: list[TextBox], centres, background,
                            found: dict[int, tuple[float, str]] | None = None, codes: bool = False,
                            bar_rects=None, frame=None) -> list[TextBox]:
    """(round 56) Legend words whose detected box begins on the entry's own swatch (Pew's row of small squares: the
    detector's box of `Agree` starts on or inside its square), their boxes starting after that swatch, so that
    `_legend_names` finds the swatch left of the word. Other boxes as they are.

    A leading swatch: in the box's middle rows (0.35-0.65 of its height) a run of columns of one colour cluster (not
    the background), 0.3-1.6 line heights wide (W1b; W1: 0.35), that reaches into the box and starts at most 0.6 line heights
    inside it (from up to half a line height left of it; narrower runs before it, a swatch's blended rim, are passed
    over), with that colour at neither the box's top nor its bottom
    row (a patch, not a bar the word is printed on), and at least a tenth of a line height of the box after it.
    (W1b) Where `found` is given, each such word is entered in it as that colour's legend name (cluster -> (position,
    name), the first word per colour in reading order), for the entries whose small swatch `_legend_names` passes
    over (a 7 px square in a strip 2.5 line heights wide). With `codes` (round 71) a period code's box (`● Q1`, the
    detector's box of Statista's legend word starting on its round swatch) is trimmed too, and (round 92) so is a year's
    or an age band's (`_year_or_band`: Pew's `■1992`, `■30-49`). With `bar_rects` (round 145) a run that is a bar's
    own end (`_bar_end`; never inside the legend's `frame`, round 147) is no swatch of a word in black or grey
    (`_legend_names`)."""
    if not len(centres):
        return boxes
    palette = np.stack([background] + list(centres)).astype(np.float32)
    height, width = rgb.shape[:2]
    out: list[TextBox] = []
    for box in boxes:
        h = box.h
        if h < 6 or not (re.search(r"[A-Za-z]{2}", box.text) or (codes and _period_code(box.text)) or _year_or_band(box.text)) \
                or _CHROME.search(box.text):
            out.append(box)
            continue
        x0, x1 = max(0, int(box.x0 - 0.5 * h)), min(width, int(box.x0 + 1.6 * h) + 1)
        y0, y1 = max(0, int(box.y0)), min(height, int(box.y1) + 1)
        if x1 - x0 < 3 or y1 - y0 < 6:
            out.append(box)
            continue
        band, edges = _middle_band_and_edges(rgb[y0:y1, x0:x1], palette, h)
        start = int(box.x0) - x0  # the box's first column in the patch
        trimmed = None
        column = 0
        while column < band.shape[1] and column <= start + 0.6 * h:
            run = _colour_run(band, column)
            if run is None:
                column += 1
                continue
            k, end = run
            if end - column + 1 < 0.3 * h:  # (W1b) a swatch's 1-2 px rim blended towards the background
                column = end + 1
                continue
            if end >= start and end - column + 1 <= 1.6 * h and not (edges[:, column:end + 1] == k).any() \
                    and x0 + end + 1 + 0.1 * h < box.x1:
                if 0 < k < len(palette) and _bar_end(bar_rects, k - 1, x0 + column, x0 + end, box.y0 + 0.35 * h, box.y0 + 0.65 * h, frame) \
                        and not _own_ink(rgb, box, palette, k, x0 + end + 1):
                    break  # (round 145) the bar's own end beside a black or grey word: no swatch
                trimmed = float(x0 + end + 1)
                if found is not None and k < len(palette):  # (round 102) an off-palette swatch names no cluster
                    order = reading_key(box.cy, box.cx)
                    if k - 1 not in found or order < found[k - 1][0]:
                        found[k - 1] = (order, _bare(box.text))
            break
        out.append(replace(box, x0=trimmed) if trimmed is not None else box)
    return out


def _glyph(char: str) -> bool:
    """(round 95) A symbol character (Unicode's `So`: `■`, `□`, `●`): OCR's reading of a legend's swatch."""
    return unicodedata.category(char) == "So"


def _unglyphed(text: str) -> str:
    """(round 95) A legend entry's text without the swatch glyphs OCR read at its ends (`■Republican`)."""
    stripped = text.strip()
    while stripped and _glyph(stripped[0]):
        stripped = stripped[1:].lstrip()
    while stripped and _glyph(stripped[-1]):
        stripped = stripped[:-1].rstrip()
    return stripped or text.strip()


def _split_at_swatches(rgb: np.ndarray, boxes: list[TextBox], centres, background) -> list[TextBox]:
    """Boxes in which OCR read a legend's row of entries as one text ('FrequentlySometimesHardly ever Never': the
    small swatches between the words were dropped) are split at those swatches, one box per entry.

    A swatch inside a box of words: a run of columns, 0.35-1.6 line heights wide, whose middle rows are one colour
    cluster (not the background), with that colour neither at the box's top nor bottom edge (a patch, not a bar the
    words are printed on). The text is cut at the word boundary (a space, or a small letter before a capital)
    nearest to the swatch's place along the box; each piece must keep two letters. (round 95) Symbol glyphs (`_glyph`)
    at a box's or a piece's ends are dropped from its text, its place unchanged: OCR read the entry's swatch as `■`."""
    if not centres:
        return boxes
    palette = np.stack([background] + list(centres)).astype(np.float32)
    height, width = rgb.shape[:2]
    out: list[TextBox] = []
    for box in boxes:
        unglyphed = _unglyphed(box.text)
        if unglyphed != box.text.strip():
            box = replace(box, text=unglyphed)  # (round 95) `■Republican`: the swatch OCR read as a glyph
        x0, x1, y0, y1 = max(0, int(box.x0)), min(width, int(box.x1) + 1), max(0, int(box.y0)), min(height, int(box.y1) + 1)
        h = box.h
        if len(re.findall(r"[A-Za-z]", box.text)) < 4 or x1 - x0 < 3 * h or h < 6 or _CHROME.search(box.text):
            out.append(box)
            continue
        band, edges = _middle_band_and_edges(rgb[y0:y1, x0:x1], palette, h)
        cuts: list[tuple[int, int]] = []  # (first column, last column) of each swatch, in the box
        column = 0
        while column < band.shape[1]:
            run = _colour_run(band, column)
            if run is None:
                column += 1
                continue
            k, end = run
            if 0.35 * h <= end - column + 1 <= 1.6 * h and not (edges[:, column:end + 1] == k).any():
                cuts.append((column, end))
            column = end + 1
        if not cuts:
            out.append(box)
            continue
        text = box.text
        bounds = [i for i in range(1, len(text)) if (text[i - 1] == " ") or (text[i - 1].islower() and text[i].isupper())]
        pieces, start, start_x = [], 0, 0.0
        inked = (x1 - x0) - sum(c1 - c0 + 1 for c0, c1 in cuts)  # the text's own width, swatches left out
        for n, (c0, c1) in enumerate(cuts):
            at = (c0 - sum(b - a + 1 for a, b in cuts[:n])) / max(inked, 1) * len(text)  # characters before the swatch
            if at < 1 and start == 0:  # the first entry's swatch, inside the box: that entry starts after it
                start_x = float(c1 + 1)
                continue
            near = [i for i in bounds if abs(i - at) <= 2.5 and i > start]
            if not near:
                continue
            i = min(near, key=lambda i: abs(i - at))
            pieces.append((_unglyphed(text[start:i]), start_x, float(c0 - 1)))
            start, start_x = i, float(c1 + 1)
        pieces.append((_unglyphed(text[start:]), start_x, float(x1 - x0)))
        if len(pieces) < 2 or any(len(re.findall(r"[A-Za-z]", p)) < 2 for p, _, _ in pieces):
            out.append(box)
            continue
        for piece, a, b in pieces:
            out.append(TextBox(piece, x0 + a, box.y0, x0 + b, box.y1))
    return out


def _split_close_tints(rgb: np.ndarray, clusters, least: int = 100):
    """(round 51) A colour cluster holding two flat colours under the clusters' 45 apart is cut in two (Pew's pale
    answers side by side: `Hardly ever` (198,217,241) and `Never` (217,217,217) lie 31 apart, so their segments were
    one cluster and one rectangle, and an answer column was lost). Returns (masks, centres, background) with each
    cut-off colour as a cluster of its own, after the others (bars only: read_bar_chart).

    Within a cluster the pixels are binned by 8 levels per channel; the commonest bin is one colour, and the
    commonest other bin 20 or more from it, holding at least `least` pixels and a twentieth of the cluster, is the
    second. They are two flat colours, not one colour's shading (a gradient, an anti-aliased rim), when the pixels
    between them (a quarter to three quarters of the way, within 8 of the line joining them) are under a tenth of
    the second's, and when the second's pixels (those nearer to it than to the first) fill an area: a 3x3 opening
    keeps half of them and at least `least` (a bar's rim where its edge line blends in, or text's anti-aliasing, is
    no answer of its own). Each pixel of the cluster goes to the nearer of the two."""
    import cv2

    masks, centres, background = clusters
    masks, centres = list(masks), list(centres)
    for index in range(len(masks)):
        on = masks[index].astype(bool)
        ys, xs = np.nonzero(on)
        pixels = rgb[ys, xs].astype(np.float32)
        if len(pixels) < 2 * least:
            continue
        quantised = pixels.astype(np.int32) // 8
        codes = quantised[:, 0] * 1024 + quantised[:, 1] * 32 + quantised[:, 2]
        _, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
        means = np.stack([np.bincount(inverse, weights=pixels[:, c]) for c in range(3)], axis=1) / counts[:, None]
        first = means[int(counts.argmax())]
        second = None
        for b in np.argsort(counts)[::-1]:
            if counts[b] < max(least, 0.05 * len(pixels)):
                break
            if np.linalg.norm(means[b] - first) >= 20:
                second, second_count = means[b], int(counts[b])
                break
        if second is None:
            continue
        direction = second - first
        t = (pixels - first) @ direction / float(direction @ direction)
        off = np.linalg.norm(pixels - first - t[:, None] * direction[None], axis=1)
        if int(((t > 0.25) & (t < 0.75) & (off < 8)).sum()) >= 0.1 * second_count:
            continue  # shading from one colour to the other
        nearer = ((pixels - second) ** 2).sum(axis=1) < ((pixels - first) ** 2).sum(axis=1)
        patch = np.zeros(on.shape, np.uint8)
        patch[ys[nearer], xs[nearer]] = 1
        filled = int(cv2.morphologyEx(patch, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).sum())
        if filled < max(least, 0.5 * int(nearer.sum())):
            continue  # (H1b) thin or scattered: a bar's dark rim where its edge line blends in, text's anti-aliasing
        kept, cut = masks[index].copy(), np.zeros_like(masks[index])
        kept[ys[nearer], xs[nearer]] = 0
        cut[ys[nearer], xs[nearer]] = 1
        masks[index], centres[index] = kept, pixels[~nearer].mean(axis=0)
        masks.append(cut)
        centres.append(pixels[nearer].mean(axis=0))
    return masks, centres, background
