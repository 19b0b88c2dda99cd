"""Imaging of the phantom: an ordinary RGB photo and an Azure-Kinect-like depth map of the same back.

Both images are rendered on the same pixel grid (the pixel alignment the Azure Kinect SDK gives the paper's
captures). The photo is shaded from the surface normals, so the curve reaches it only as subtle shading; the
depth map measures the surface directly, with the sensor's noise and its holes.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = [
    "LIGHT_AZIMUTH_DEG",
    "LIGHT_OFF_AXIS_DEG",
    "SKIN_TONES",
    "surface_normals",
    "render_photo",
    "render_depth",
    "smooth_noise",
]

# sRGB skin tones from very light to dark (Fitzpatrick I-VI, approximately)
SKIN_TONES = np.array(
    [[243, 206, 182], [232, 183, 150], [212, 158, 122], [184, 128, 92], [140, 92, 62], [98, 64, 44]], np.float32
)
# The photo's directional light, in degrees: its angle off the camera axis, and its azimuth around that axis
# measured from straight up (negative: from the photo's left). Intensity, ambient and colour ranges: render_photo.
LIGHT_OFF_AXIS_DEG = (10.0, 50.0)
LIGHT_AZIMUTH_DEG = (-75.0, 75.0)
_BACKGROUNDS = np.array(
    [[226, 226, 222], [200, 208, 214], [176, 196, 186], [222, 210, 188], [150, 160, 172]], np.float32
)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Zero-mean, unit-scale smooth noise: a coarse random grid of about ``cells`` cells upsampled bicubically."""
    h, w = shape
    gh, gw = max(2, round(cells * h / max(h, w))), max(2, round(cells * w / max(h, w)))
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BICUBIC))


def surface_normals(h: np.ndarray, spacing_mm: float) -> np.ndarray:
    """Unit normals (H, W, 3) of the height field, pointing towards the camera (+z)."""
    gy, gx = np.gradient(h.astype(np.float32), np.float32(spacing_mm))
    n = np.stack([-gx, -gy, np.ones_like(gx)], axis=-1)
    return n / np.sqrt(gx * gx + gy * gy + 1.0)[..., None]


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.power(c / 255.0, 2.2).astype(np.float32)


_GAMMA_LUT = (np.power(np.linspace(0.0, 1.0, 4096), 1.0 / 2.2) * 255.0).astype(np.float32)


def _linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear [0, 1] -> sRGB-like [0, 255] float, gamma 2.2 through a 4096-entry lookup table (fast)."""
    return _GAMMA_LUT[(np.clip(linear, 0.0, 1.0) * 4095.0).astype(np.int32)]


def _skin_albedo(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[np.ndarray, dict]:
    """Skin reflectance (H, W, 3) in linear RGB: a sampled tone with blotches, pores and a few moles."""
    tone_index = rng.uniform(0, len(SKIN_TONES) - 1)
    lo = int(np.floor(tone_index))
    tone = SKIN_TONES[lo] + (SKIN_TONES[min(lo + 1, len(SKIN_TONES) - 1)] - SKIN_TONES[lo]) * (tone_index - lo)
    base = _srgb_to_linear(tone * rng.uniform(0.95, 1.05, 3).astype(np.float32))
    texture = 1.0 + 0.06 * smooth_noise(rng, shape, 6) + 0.03 * smooth_noise(rng, shape, 40)
    texture += 0.025 * rng.standard_normal(shape, dtype=np.float32)
    redness = 0.05 * smooth_noise(rng, shape, 10)
    albedo = base[None, None, :] * texture[..., None]
    albedo[..., 0] *= 1.0 + redness
    albedo[..., 1] *= 1.0 - 0.5 * redness
    h, w = shape
    for _ in range(rng.poisson(4)):  # moles
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.8, 2.2)
        y0, y1, x0, x1 = int(max(cy - 3, 0)), int(min(cy + 4, h)), int(max(cx - 3, 0)), int(min(cx + 4, w))
        yy, xx = np.mgrid[y0:y1, x0:x1]
        spot = np.clip(r + 0.5 - np.hypot(yy - cy, xx - cx), 0.0, 1.0)[..., None]
        albedo[y0:y1, x0:x1] *= 1.0 - 0.45 * spot
    return albedo, {"skin_tone_index": float(tone_index)}


def _draw_light(rng: np.random.Generator) -> tuple[float, float, np.ndarray, float, float]:
    """A clinic's light: from the camera's side (off the camera axis by LIGHT_OFF_AXIS_DEG) and from above (azimuth
    within LIGHT_AZIMUTH_DEG of straight up; + = from the photo's right), its colour, intensity and the ambient."""
    off_axis, azimuth = (np.radians(rng.uniform(*r)) for r in (LIGHT_OFF_AXIS_DEG, LIGHT_AZIMUTH_DEG))
    light_colour = np.array([1.0, 1.0, 1.0]) + rng.uniform(-0.08, 0.08) * np.array([1.0, 0.0, -1.0])
    intensity, ambient = rng.uniform(0.75, 1.1), rng.uniform(0.15, 0.35)
    return off_axis, azimuth, light_colour, intensity, ambient


def render_photo(
    rng: np.random.Generator,
    normals: np.ndarray,
    body: np.ndarray,
    spacing_mm: float,
    capture_rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, dict]:
    """Render the 8-bit RGB photo (H, W, 3) of the back.

    Args:
        rng: random generator of this sample.
        normals: (H, W, 3) surface normals of the back's height field (:func:`surface_normals`).
        body: (H, W) signed distance to the silhouette in pixels, > 0 inside the body.
        spacing_mm: pixel size in mm (sets how far the shadow on the wall falls).
        capture_rng: for another capture of the same back (a later visit): the light, exposure, vignette and the
            camera's noise are drawn from it instead, within the same clinic ranges; the skin and the room stay
            those of ``rng`` (which is drawn from exactly as without it).

    Returns:
        the photo and the lighting/camera parameters that were drawn.
    """
    shape = body.shape
    # Rows grow downwards, so "above" is -y in the normals' frame.
    off_axis, azimuth, light_colour, intensity, ambient = _draw_light(rng)
    if capture_rng is not None:
        off_axis, azimuth, light_colour, intensity, ambient = _draw_light(capture_rng)
    light = np.array(
        [np.sin(off_axis) * np.sin(azimuth), -np.sin(off_axis) * np.cos(azimuth), np.cos(off_axis)], np.float32
    )

    lambert = np.clip(normals @ light, 0.0, None)
    half = light + np.array([0.0, 0.0, 1.0], np.float32)
    specular = np.clip(normals @ (half / np.linalg.norm(half)), 0.0, None) ** 30
    albedo, skin = _skin_albedo(rng, shape)
    skin_rgb = albedo * (ambient + intensity * lambert)[..., None] + rng.uniform(0.01, 0.05) * specular[..., None]

    wall = _srgb_to_linear(_BACKGROUNDS[rng.integers(len(_BACKGROUNDS))] * rng.uniform(0.85, 1.1, 3))
    rows = np.linspace(-1.0, 1.0, shape[0], dtype=np.float32)[:, None]
    wall_shade = (1.0 + 0.1 * smooth_noise(rng, shape, 4) + rng.uniform(-0.1, 0.1) * rows)[..., None]
    # the subject's soft shadow on the wall behind, thrown away from the light
    gap_px = rng.uniform(250.0, 500.0) / spacing_mm
    shift = (-light[:2] / light[2] * gap_px).round().astype(int)
    shadow = np.roll(np.clip(body, 0.0, 1.0), (shift[1], shift[0]), axis=(0, 1))
    shadow = np.asarray(Image.fromarray(shadow.astype(np.float32), mode="F").resize((shape[1] // 8, shape[0] // 8)))
    shadow = np.asarray(Image.fromarray(shadow, mode="F").resize((shape[1], shape[0]), Image.Resampling.BILINEAR))
    wall_rgb = wall * wall_shade * (ambient + intensity * (1.0 - 0.45 * shadow))[..., None]

    alpha = np.clip(body + 0.5, 0.0, 1.0)[..., None]  # anti-aliased silhouette
    linear = (alpha * skin_rgb + (1.0 - alpha) * wall_rgb) * light_colour.astype(np.float32)
    cols = np.linspace(-1.0, 1.0, shape[1], dtype=np.float32)[None, :]
    camera = rng if capture_rng is None else capture_rng
    vignette, exposure = camera.uniform(0.0, 0.25), camera.uniform(0.85, 1.2)
    linear *= (np.float32(exposure) * (1.0 - np.float32(vignette) * (cols**2 + rows**2) / 2))[..., None]
    srgb = _linear_to_srgb(linear)
    noise = camera.uniform(0.5, 2.5)
    srgb += camera.standard_normal(srgb.shape, dtype=np.float32) * np.float32(noise) * (0.5 + srgb / 255.0)
    photo = np.clip(srgb + 0.5, 0, 255).astype(np.uint8)
    params = {
        "light_azimuth_deg": float(np.degrees(azimuth)),
        "light_off_axis_deg": float(np.degrees(off_axis)),
        "light_intensity": float(intensity),
        "ambient": float(ambient),
        "camera_noise": float(noise),
        "vignette": float(vignette),
        **skin,
    }
    return photo, params


def render_depth(
    rng: np.random.Generator, h: np.ndarray, normals: np.ndarray, body: np.ndarray, distance_mm: float
) -> tuple[np.ndarray, dict]:
    """Render the depth map (H, W) as an Azure Kinect writes it: uint16 millimetres, 0 = no measurement.

    The background behind the subject is segmented away (0), as in the paper's back captures. Noise grows with
    distance and at grazing angles; measurements drop out where the surface turns away from the camera (the
    silhouette), along a ragged band at the body's edge, in a few blobs and in sparse single pixels.

    Args:
        rng: random generator of this sample.
        h: (H, W) height field in mm.
        normals: (H, W, 3) its surface normals.
        body: (H, W) signed distance to the silhouette in pixels, > 0 inside the body.
        distance_mm: distance from the camera to the body's coronal plane (where ``h`` = 0).
    """
    shape = h.shape
    depth = distance_mm - h
    grazing = np.clip(1.0 - normals[..., 2], 0.0, 1.0)
    sigma = (0.5 + 1.0 * (depth / 1000.0) ** 2) * (1.0 + 3.0 * grazing)
    depth = depth + rng.standard_normal(shape, dtype=np.float32) * sigma + 0.8 * smooth_noise(rng, shape, 5)

    cutoff = np.cos(np.radians(rng.uniform(72.0, 80.0)))
    edge_band = rng.uniform(0.5, 2.5) + 1.5 * np.abs(smooth_noise(rng, (shape[0], 1), 60))
    valid = (body > edge_band) & (normals[..., 2] > cutoff)
    rows, cols = np.arange(shape[0])[:, None], np.arange(shape[1])[None, :]
    inside = np.argwhere(body > 4.0)
    n_blobs = int(rng.poisson(2.0)) if len(inside) else 0
    for cy, cx in inside[rng.integers(len(inside), size=n_blobs)]:
        ry, rx = rng.uniform(2.0, 8.0, 2)
        valid &= ((rows - cy) / ry) ** 2 + ((cols - cx) / rx) ** 2 > 1.0
    speckle = rng.uniform(0.0005, 0.004)
    valid &= rng.random(shape) > speckle
    out = np.where(valid, np.clip(np.round(depth), 1, 65535), 0).astype(np.uint16)
    return out, {"grazing_cutoff_deg": float(np.degrees(np.arccos(cutoff))), "blobs": int(n_blobs), "speckle": speckle}
