"""Pictures people would rather look at than read: colour-mapped depth, curve overlays and grids of panels.

Everything here works on display-order arrays, (H, W) or (H, W, 3) as a PNG stores them, not on MONAI's
(x, y)-ordered tensors; transpose a MONAI tensor's spatial axes (or write it with a MONAI writer) first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["colorize_depth", "overlay_curve", "overlay_morphology", "panel_grid"]


def colorize_depth(
    depth: np.ndarray,
    valid: np.ndarray | None = None,
    cmap: str = "turbo",
    invalid_rgb: Sequence[int] = (0, 0, 0),
    reverse: bool = True,
) -> np.ndarray:
    """Colour-map a depth (or error) map, stretched over its valid pixels (1st to 99th percentile).

    Args:
        depth: (H, W) depth in any unit (raw millimetres or relative depth), or any non-negative map.
        valid: (H, W) bool mask of measured pixels; default: ``depth > 0``.
        cmap: a matplotlib colour map name.
        invalid_rgb: colour of pixels without a measurement.
        reverse: run the colour map backwards, so that with ``turbo`` near (small depth) is red and far is blue;
            use ``False`` for error maps, so that large errors are the bright end.

    Returns:
        (H, W, 3) uint8 picture.
    """
    from matplotlib import colormaps  # imported here: only pictures need matplotlib

    d = np.asarray(depth, dtype=np.float64)
    valid = (d > 0) if valid is None else np.asarray(valid, dtype=bool)
    valid = valid & np.isfinite(d)
    out = np.empty(d.shape + (3,), np.uint8)
    out[:] = np.asarray(invalid_rgb, np.uint8)
    if valid.any():
        lo, hi = np.percentile(d[valid], [1.0, 99.0])
        norm = np.clip((d - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
        cm = colormaps[cmap].reversed() if reverse else colormaps[cmap]
        lut = (cm(np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
        out[valid] = lut[(norm[valid] * 255).astype(int)]
    return out


def overlay_curve(
    photo: np.ndarray,
    band: np.ndarray | None = None,
    points: np.ndarray | None = None,
    band_rgb: Sequence[int] = (255, 40, 40),
    line_rgb: Sequence[int] = (255, 230, 0),
    alpha: float = 0.55,
) -> np.ndarray:
    """Draw a spine curve over a photo: the band mask tinted, the centre line as a polyline.

    Args:
        photo: (H, W, 3) uint8 photo.
        band: (H, W) mask, > 0 on the curve band.
        points: (N, 2) (x, y) = (column, row) points of the curve, C7 first.
        band_rgb: tint of the band.
        line_rgb: colour of the polyline.
        alpha: opacity of the band tint.
    """
    out = np.asarray(photo, dtype=np.float32).copy()
    if band is not None:
        m = np.asarray(band) > 0
        out[m] = (1 - alpha) * out[m] + alpha * np.asarray(band_rgb, np.float32)
    img = Image.fromarray(out.clip(0, 255).astype(np.uint8))
    if points is not None and len(points) > 1:
        ImageDraw.Draw(img).line([tuple(map(float, p)) for p in points], fill=tuple(line_rgb), width=1)
    return np.asarray(img)


def _endplate(line: np.ndarray, point: Sequence[float], spacing: Sequence[float], half_mm: float) -> list[tuple]:
    """A segment through ``point`` perpendicular to the line there (in millimetres), as two pixel points."""
    sx, sy = spacing
    i = int(np.argmin(np.abs(line[:, 1] - point[1])))
    lo, hi = max(i - 3, 0), min(i + 3, len(line) - 1)
    tangent = (line[hi] - line[lo]) * np.array([sx, sy])
    normal = np.array([tangent[1], -tangent[0]]) / max(np.hypot(*tangent), 1e-9)
    offset = normal * half_mm / np.array([sx, sy])
    p = np.asarray(point, dtype=np.float64)
    return [tuple(p - offset), tuple(p + offset)]


def overlay_morphology(photo: np.ndarray, report: dict, band: np.ndarray | None = None) -> np.ndarray:
    """The photo with the measured spine: centre line, each curve's Cobb lines (the end vertebrae's endplates,
    perpendicular to the line), apex, the largest deviation and the Cobb angle written beside each curve.

    Args:
        photo: (H, W, 3) uint8 photo.
        report: a morphology report (:meth:`monai_gamanet.metrics.morphology.SpineMorphology.to_dict`); with
            ``curve_found`` false, the photo is returned with "no curve found" written on it.
        band: optional (H, W) predicted band, tinted.
    """
    if not report.get("curve_found", False):
        img = Image.fromarray(overlay_curve(photo, band))
        ImageDraw.Draw(img).text((4, 4), "no curve found", fill=(255, 60, 60))
        return np.asarray(img)
    line = np.asarray(report["points"], dtype=np.float64)
    img = Image.fromarray(overlay_curve(photo, band, line))
    draw = ImageDraw.Draw(img)
    spacing = report["spacing_mm"]
    half_mm = 0.12 * np.asarray(photo).shape[1] * spacing[0]
    for curve in report["curves"]:
        structural = curve["cobb_deg"] >= 10.0
        colour = (0, 230, 255) if structural else (160, 160, 160)
        for end in ("upper_point", "lower_point"):
            draw.line(_endplate(line, curve[end], spacing, half_mm), fill=colour, width=2 if structural else 1)
        ax, ay = curve["apex_point"]
        draw.ellipse([ax - 3, ay - 3, ax + 3, ay + 3], outline=colour)
        text = f"{curve['cobb_deg']:.0f} deg {curve['upper_end']}-{curve['lower_end']}"
        side = 6 if curve["convex"] == "left" else -6 - 6 * len(text)
        draw.text((ax + side, ay - 6), text, fill=colour)
    dx, dy = report["deviation_point"]
    draw.line([(line[0, 0], line[0, 1]), (line[-1, 0], line[-1, 1])], fill=(255, 255, 255), width=1)
    draw.rectangle([dx - 2, dy - 2, dx + 2, dy + 2], outline=(255, 120, 0))
    summary = f"major Cobb {report['major_cobb_deg']:.0f} deg, {report['curve_type']}, {report['severity']}"
    draw.text((4, 4), summary, fill=(255, 255, 255))
    return np.asarray(img)


def panel_grid(
    rows: Sequence[Sequence[np.ndarray]], captions: Sequence[str] | None = None, gap: int = 4, scale: float = 1.0
) -> Image.Image:
    """Lay out panels (each (H, W, 3) uint8, all the same size) in a grid, with one caption per row of panels.

    Args:
        rows: panels grouped by row; rows may hold different numbers of panels.
        captions: text written above each row.
        gap: pixels between panels.
        scale: resize factor of the whole picture.
    """
    h, w = rows[0][0].shape[:2]
    caption_h = 14 if captions else 0
    ncols = max(len(r) for r in rows)
    grid = Image.new("RGB", (ncols * (w + gap) + gap, len(rows) * (h + caption_h + gap) + gap), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    for i, panels in enumerate(rows):
        top = gap + i * (h + caption_h + gap)
        if captions:
            draw.text((gap, top), captions[i], fill=(0, 0, 0))
        for j, panel in enumerate(panels):
            grid.paste(Image.fromarray(np.asarray(panel, np.uint8)), (gap + j * (w + gap), top + caption_h))
    if scale != 1.0:
        grid = grid.resize((round(grid.width * scale), round(grid.height * scale)), Image.Resampling.LANCZOS)
    return grid
