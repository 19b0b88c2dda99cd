"""Anatomy of the synthetic back phantom: subject parameters, the spine, and the back's height field.

Everything is in millimetres on a grid of square pixels of ``spacing_mm``; X runs to the patient's right (the
image's right on a photo of the back), Y runs down, and the height ``h`` is how far the skin stands out
towards the camera from the body's coronal plane (the silhouette). The model is deliberately simple but keeps
what a back carries about scoliosis:

* the **radiographic** curve (C7 to L5) is built from its tangent-angle profile: a C curve is one monotonic
  swing of the tangent, an S curve two opposite swings, so each swing is one curve and its size is its Cobb
  angle (see :mod:`monai_gamanet.metrics.morphology`);
* the **spinous line** on the skin deviates less than the vertebral bodies (a fraction ``surface_ratio``);
* the **axial rotation** that comes with a curve lifts the convex side (rib hump, lumbar prominence) by an
  angle of trunk rotation that grows with the Cobb angle, and the shoulders and waist turn asymmetric.

Depth therefore carries the curve through the hump and the asymmetric surface; the photo sees it only as
shading.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from monai_gamanet.metrics.levels import level_t

__all__ = [
    "CurveSpec",
    "BackParameters",
    "SpineCurve",
    "sample_parameters",
    "restage",
    "add_curvature",
    "build_spine",
    "height_field",
    "SWAY_DEG",
    "SHOULDER_TILT_DEG",
    "DISTANCE_CHANGE",
]

# How much another capture of the same subject may differ (restage): a lateral lean of the trunk (sway) and a tilt
# of the shoulder line within a few degrees, the camera nearer or further by up to this fraction.
SWAY_DEG = (-2.0, 2.0)
SHOULDER_TILT_DEG = (-2.0, 2.0)
DISTANCE_CHANGE = (-0.1, 0.1)


@dataclass
class CurveSpec:
    """One intended structural curve: its end vertebrae, convex side and target Cobb angle."""

    region: str  # thoracic | thoracolumbar | lumbar
    upper_end: str
    lower_end: str
    convex: str  # right | left
    target_cobb_deg: float


@dataclass
class BackParameters:
    """Everything that makes one phantom subject; sampled by :func:`sample_parameters`, stored in the curve JSON."""

    height: int
    width: int
    spacing_mm: float
    distance_mm: float
    pattern: str  # none | thoracic | thoracolumbar | lumbar | double
    curves: list[CurveSpec]
    surface_ratio: float
    trunk_shift_ratio: float
    atr_per_cobb: float
    imbalance_mm: float
    pelvis_x_mm: float
    y_c7_mm: float
    y_l5_mm: float
    y_cleft_mm: float
    widths_mm: dict[str, float]
    thickness_mm: dict[str, float]
    section_power: float
    shoulder_drop_mm: float
    waist_asymmetry_mm: float
    muscle: dict[str, float]
    scapula: dict[str, float]
    extra: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _sample_pattern(rng: np.random.Generator) -> tuple[str, list[CurveSpec]]:
    """A curve pattern as a screening population shows it: many straight or mild spines, few severe ones."""
    pattern = rng.choice(["none", "thoracic", "thoracolumbar", "lumbar", "double"], p=[0.35, 0.2, 0.12, 0.1, 0.23])
    if pattern == "none":
        side = "right" if rng.random() < 0.5 else "left"
        return "none", [CurveSpec("thoracic", "T5", "T12", side, float(rng.uniform(0.0, 8.0)))]
    major = float(min(10.0 + rng.exponential(14.0), 62.0))
    if pattern == "double":
        thoracic_right = rng.random() < 0.85
        minor = float(np.clip(major * rng.uniform(0.6, 1.0), 10.0, None))
        cobbs = (major, minor) if rng.random() < 0.6 else (minor, major)
        sides = ("right", "left") if thoracic_right else ("left", "right")
        upper, middle, lower = rng.choice(["T4", "T5", "T6"]), rng.choice(["T11", "T12"]), rng.choice(["L3", "L4"])
        return "double", [
            CurveSpec("thoracic", str(upper), str(middle), sides[0], cobbs[0]),
            CurveSpec("lumbar", str(middle), str(lower), sides[1], cobbs[1]),
        ]
    ends = {
        "thoracic": (["T4", "T5", "T6"], ["T11", "T12", "L1"], 0.85),
        "thoracolumbar": (["T8", "T9", "T10"], ["L2", "L3"], 0.35),
        "lumbar": (["T11", "T12", "L1"], ["L4", "L5"], 0.3),
    }[pattern]
    side = "right" if rng.random() < ends[2] else "left"
    return str(pattern), [CurveSpec(str(pattern), str(rng.choice(ends[0])), str(rng.choice(ends[1])), side, major)]


def sample_parameters(rng: np.random.Generator, height: int = 480, width: int = 240) -> BackParameters:
    """Draw one adolescent subject, posture, curve and camera set-up.

    The photo is framed from the neck to below the top of the gluteal cleft, as in the paper's captures; the
    pixel size follows from the subject's trunk length and that framing.
    """
    v_c7, v_cleft = rng.uniform(0.07, 0.12), rng.uniform(0.84, 0.90)
    trunk_mm = rng.uniform(470.0, 600.0)  # C7 to the top of the gluteal cleft, adolescents 10-18 years
    spacing = trunk_mm / ((v_cleft - v_c7) * height)
    y_c7, y_cleft = v_c7 * height * spacing, v_cleft * height * spacing
    pattern, curves = _sample_pattern(rng)
    scale = trunk_mm / 535.0  # body proportions follow trunk length
    return BackParameters(
        height=height,
        width=width,
        spacing_mm=float(spacing),
        distance_mm=float(rng.uniform(900.0, 1300.0)),
        pattern=pattern,
        curves=curves,
        surface_ratio=float(rng.uniform(0.35, 0.6)),
        trunk_shift_ratio=float(rng.uniform(0.1, 0.3)),
        atr_per_cobb=float(rng.uniform(0.22, 0.35)),
        imbalance_mm=float(rng.normal(0.0, 8.0)),
        pelvis_x_mm=float(rng.normal(0.0, 5.0)),
        y_c7_mm=float(y_c7),
        y_l5_mm=float(y_cleft - rng.uniform(60.0, 90.0) * scale),
        y_cleft_mm=float(y_cleft),
        widths_mm={
            "neck": float(rng.uniform(48.0, 62.0) * scale),
            "shoulder": float(rng.uniform(160.0, 195.0) * scale),
            "waist": float(rng.uniform(100.0, 130.0) * scale),
            "hip": float(rng.uniform(130.0, 165.0) * scale),
            "neck_base_above_c7": float(rng.uniform(25.0, 40.0) * scale),
            "acromion_below_c7": float(rng.uniform(15.0, 40.0) * scale),
            "waist_below_c7": float(rng.uniform(0.68, 0.78) * trunk_mm),
            "hip_below_cleft": float(rng.uniform(20.0, 50.0) * scale),
        },
        thickness_mm={
            "neck": float(rng.uniform(45.0, 60.0)),
            "kyphosis": float(rng.uniform(92.0, 115.0)),
            "lordosis": float(rng.uniform(68.0, 90.0)),
            "buttock": float(rng.uniform(95.0, 125.0)),
            "kyphosis_t": float(rng.uniform(0.25, 0.45)),
            "lordosis_t": float(rng.uniform(0.8, 0.95)),
        },
        section_power=float(rng.uniform(2.3, 3.3)),
        shoulder_drop_mm=float(rng.normal(0.0, 4.0)),
        waist_asymmetry_mm=float(rng.normal(0.0, 3.0)),
        muscle={
            "offset": float(rng.uniform(24.0, 34.0) * scale),
            "sigma": float(rng.uniform(11.0, 16.0) * scale),
            "thoracic": float(rng.uniform(1.5, 3.5)),
            "lumbar": float(rng.uniform(5.0, 10.0)),
            "groove": float(rng.uniform(1.5, 3.5)),
            "groove_sigma": float(rng.uniform(5.0, 8.0)),
            "c7_bump": float(rng.uniform(3.0, 6.0)),
            "cleft_depth": float(rng.uniform(10.0, 20.0)),
            "dimple_depth": float(rng.uniform(1.5, 4.0)),
        },
        scapula={
            "height": float(rng.uniform(4.0, 10.0)),
            "medial_mm": float(rng.uniform(40.0, 60.0) * scale),
            "centre_below_c7": float(rng.uniform(70.0, 100.0) * scale),
            "sigma_y": float(rng.uniform(38.0, 50.0) * scale),
            "sigma_x": float(rng.uniform(35.0, 50.0) * scale),
        },
    )


def restage(p: BackParameters, rng: np.random.Generator) -> BackParameters:
    """The same subject stood again in front of the camera: another capture, not another back.

    The trunk leans sideways by a sway angle in :data:`SWAY_DEG` (C7 moves over the pelvis: a common tilt, which
    changes no Cobb angle), the shoulder line tilts by an angle in :data:`SHOULDER_TILT_DEG`, and the camera stands
    nearer or further by a fraction in :data:`DISTANCE_CHANGE`: the pixel size scales with the distance about the
    photo's centre, so the back is framed a little larger or smaller. Anatomy and curve are unchanged.
    """
    length = p.y_l5_mm - p.y_c7_mm
    sway, tilt = (np.radians(rng.uniform(*r)) for r in (SWAY_DEG, SHOULDER_TILT_DEG))
    ratio = 1.0 + rng.uniform(*DISTANCE_CHANGE)
    spacing = p.spacing_mm * ratio
    shift = p.height / 2 * (spacing - p.spacing_mm)  # mm from the photo's top: the centre stays where it was
    return replace(
        p,
        spacing_mm=float(spacing),
        distance_mm=float(p.distance_mm * ratio),
        imbalance_mm=float(p.imbalance_mm + np.tan(sway) * length),
        shoulder_drop_mm=float(p.shoulder_drop_mm + np.tan(tilt) * 2 * p.widths_mm["shoulder"]),
        y_c7_mm=float(p.y_c7_mm + shift),
        y_l5_mm=float(p.y_l5_mm + shift),
        y_cleft_mm=float(p.y_cleft_mm + shift),
    )


def add_curvature(p: BackParameters, degrees: float) -> BackParameters:
    """The same subject with its major curve (the largest target Cobb angle) ``degrees`` larger: a progression.

    The rotation, shoulder and waist asymmetry follow from the curve as for any subject; the measured Cobb angle
    of the result (``measure_spine``) is the truth, which differs from the target by the curve's shape.
    """
    if not degrees:
        return p
    major = max(range(len(p.curves)), key=lambda k: p.curves[k].target_cobb_deg)
    curves = list(p.curves)
    curves[major] = replace(curves[major], target_cobb_deg=float(max(curves[major].target_cobb_deg + degrees, 0.0)))
    return replace(p, curves=curves)


def _smooth_ramp(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, a cosine in between (C1-continuous)."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def _profile(y: np.ndarray, knots: list[tuple[float, float]]) -> np.ndarray:
    """A smooth profile through (y, value) knots: constant outside, cosine ramps between neighbours."""
    out = np.full(y.shape, knots[0][1], np.float32)
    for (y0, v0), (y1, v1) in zip(knots[:-1], knots[1:], strict=True):
        out = np.where(y >= y0, v0 + (v1 - v0) * _smooth_ramp((y - y0) / max(y1 - y0, 1e-6)), out)
    return out.astype(np.float32)


@dataclass
class SpineCurve:
    """The spine sampled densely from C7 (index 0) to L5, in millimetres.

    Attributes:
        t: (N,) position along the spine, 0 at C7, 1 at L5.
        y: (N,) vertical position.
        deviation: (N,) lateral deviation of the vertebral bodies from the pelvis-centred line.
        x: (N,) radiographic centre line (vertebral bodies).
        x_surface: (N,) spinous line on the skin.
        atr_deg: (N,) signed angle of trunk rotation, positive where the right side stands out.
    """

    t: np.ndarray
    y: np.ndarray
    deviation: np.ndarray
    x: np.ndarray
    x_surface: np.ndarray
    atr_deg: np.ndarray


def _tangent_profile(t: np.ndarray, curves: list[CurveSpec]) -> np.ndarray:
    """Tangent angle (degrees) along the spine: each curve is one cosine swing between its end vertebrae.

    A curve convex to the right runs towards +x above its apex and back below it, so its tangent falls.
    """
    theta = np.zeros_like(t)
    for spec in curves:
        sign = -1.0 if spec.convex == "right" else 1.0
        ramp = _smooth_ramp((t - level_t(spec.upper_end)) / (level_t(spec.lower_end) - level_t(spec.upper_end)))
        theta += sign * spec.target_cobb_deg * (ramp - 0.5)
    return theta


def build_spine(p: BackParameters, n_points: int = 121) -> SpineCurve:
    """Integrate the tangent profile into the radiographic curve and derive the surface line and rotation."""
    t = np.linspace(0.0, 1.0, n_points)
    length = p.y_l5_mm - p.y_c7_mm
    theta = _tangent_profile(t, p.curves)
    theta = np.radians(theta - theta.mean())  # a balanced spine: a common tilt changes no Cobb angle
    dx = np.tan(theta) * length / (n_points - 1)
    dev = np.concatenate([[0.0], np.cumsum((dx[1:] + dx[:-1]) / 2)])
    dev -= dev[-1] * t  # C7 and L5 over the pelvis: the small remaining lean is removed
    base = p.pelvis_x_mm + p.imbalance_mm * (1.0 - t)
    atr = np.zeros_like(t)
    for spec in p.curves:
        t0, t1 = level_t(spec.upper_end), level_t(spec.lower_end)
        bump = np.sin(np.pi * np.clip((t - t0) / (t1 - t0), 0.0, 1.0))
        sign = 1.0 if spec.convex == "right" else -1.0
        lumbar = 0.6 if spec.region == "lumbar" else 1.0
        atr += sign * lumbar * p.atr_per_cobb * spec.target_cobb_deg * bump
    return SpineCurve(
        t=t,
        y=p.y_c7_mm + t * length,
        deviation=dev,
        x=base + dev,
        x_surface=base + p.surface_ratio * dev,
        atr_deg=atr,
    )


def _along(y: np.ndarray, spine: SpineCurve, values: np.ndarray) -> np.ndarray:
    """Values defined along the spine, held constant above C7 and below L5."""
    return np.interp(y, spine.y, values).astype(np.float32)


def height_field(p: BackParameters, spine: SpineCurve) -> tuple[np.ndarray, np.ndarray]:
    """The back's height field on the photo's pixel grid.

    Returns:
        ``(h, body)``: ``h`` (H, W) height in mm towards the camera (0 outside the body) and ``body`` (H, W) the
        signed horizontal distance to the silhouette in pixels (> 0 inside).
    """
    s, w = p.spacing_mm, p.widths_mm
    y = (np.arange(p.height, dtype=np.float32) + 0.5)[:, None] * s  # (H, 1)
    x = (np.arange(p.width, dtype=np.float32) - (p.width - 1) / 2)[None, :] * s  # (1, W)
    y_neck = p.y_c7_mm - w["neck_base_above_c7"]
    y_acr = p.y_c7_mm + w["acromion_below_c7"]
    y_waist = p.y_c7_mm + w["waist_below_c7"]
    y_hip = p.y_cleft_mm + w["hip_below_cleft"]

    # shoulder height and waist asymmetry follow the curve: convex-side shoulder up, concave waist indented
    thoracic = sum((1 if c.convex == "right" else -1) * c.target_cobb_deg for c in p.curves if c.region == "thoracic")
    lower = sum((1 if c.convex == "right" else -1) * c.target_cobb_deg for c in p.curves if c.region != "thoracic")
    drop = p.shoulder_drop_mm + 0.3 * thoracic  # > 0: right shoulder higher
    waist_shift = p.waist_asymmetry_mm + 0.3 * lower  # > 0: left (concave) waist indented

    def half_width(side: float) -> np.ndarray:
        acr = y_acr - side * drop / 2
        waist = w["waist"] + side * waist_shift / 2
        knots = [(y_neck, w["neck"]), (acr, w["shoulder"]), (acr + 25.0, w["shoulder"]), (y_waist, waist)]
        return _profile(y, knots + [(y_hip, w["hip"])])

    a_right, a_left = half_width(1.0), half_width(-1.0)
    x_surface = _along(y, spine, spine.x_surface)  # (H, 1)
    centre = _along(y, spine, spine.x_surface + p.trunk_shift_ratio * spine.deviation)
    xr = x - centre
    a = np.where(xr >= 0, a_right, a_left)
    u = np.abs(xr) / a
    body = (a - np.abs(xr)) / s
    inside = u < 1.0

    th = p.thickness_mm
    t_of_y = (y - p.y_c7_mm) / (p.y_l5_mm - p.y_c7_mm)
    thickness = _profile(
        t_of_y,
        [(-0.15, th["neck"]), (th["kyphosis_t"], th["kyphosis"]), (th["lordosis_t"], th["lordosis"])]
        + [((p.y_cleft_mm + 60.0 - p.y_c7_mm) / (p.y_l5_mm - p.y_c7_mm), th["buttock"])],
    )
    section = np.power(np.clip(1.0 - np.power(np.minimum(u, 1.0), p.section_power), 0.0, 1.0), 1.0 / p.section_power)
    h = thickness * section

    h += _surface_details(p, spine, x, y, x_surface, u)
    rotation = np.tan(np.radians(_along(y, spine, spine.atr_deg)))
    h += rotation * (x - x_surface) * np.clip(1.0 - u * u, 0.0, None)  # rib hump / lumbar prominence
    h = np.where(inside, np.maximum(h, 0.0), 0.0).astype(np.float32)
    return h, body.astype(np.float32)


def _surface_details(
    p: BackParameters, spine: SpineCurve, x: np.ndarray, y: np.ndarray, x_surface: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Spinal groove, paraspinal muscles, C7 prominence, scapulae, dimples of Venus and the gluteal cleft."""
    m, sc = p.muscle, p.scapula
    d = x - x_surface
    lumbar = _smooth_ramp((y - p.y_c7_mm) / (p.y_l5_mm - p.y_c7_mm) * 1.6 - 0.6)  # 0 upper thorax -> 1 lumbar
    along = _smooth_ramp((y - p.y_c7_mm + 30.0) / 30.0) * (1.0 - _smooth_ramp((y - p.y_cleft_mm + 20.0) / 40.0))
    strength = m["thoracic"] + (m["lumbar"] - m["thoracic"]) * lumbar
    ridges = np.exp(-0.5 * ((np.abs(d) - m["offset"]) / m["sigma"]) ** 2)
    groove = np.exp(-0.5 * (d / m["groove_sigma"]) ** 2)
    out = along * (strength * ridges - m["groove"] * (1.0 + lumbar) * groove)

    x_c7 = float(spine.x_surface[0])
    out = out + m["c7_bump"] * np.exp(-0.5 * (((x - x_c7) / 9.0) ** 2 + ((y - p.y_c7_mm) / 9.0) ** 2))

    # scapulae: a sharp medial border fading laterally, one on each side
    lateral = np.abs(d) - sc["medial_mm"]
    plate = 1.0 / (1.0 + np.exp(-lateral / 3.0)) * np.exp(-0.5 * (np.maximum(lateral, 0.0) / sc["sigma_x"]) ** 2)
    out = out + sc["height"] * plate * np.exp(-0.5 * ((y - p.y_c7_mm - sc["centre_below_c7"]) / sc["sigma_y"]) ** 2)

    y_dimple = p.y_l5_mm + 0.5 * (p.y_cleft_mm - p.y_l5_mm)
    out = out - m["dimple_depth"] * np.exp(-0.5 * (((np.abs(d) - 40.0) / 9.0) ** 2 + ((y - y_dimple) / 9.0) ** 2))

    cleft = _smooth_ramp((y - p.y_cleft_mm) / 40.0) * np.exp(-0.5 * (d / 7.0) ** 2)
    out = out - m["cleft_depth"] * cleft
    return out * np.clip(1.0 - u**4, 0.0, None)
