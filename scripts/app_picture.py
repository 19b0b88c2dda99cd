"""The picture of apps/spine_curve/README.md: what the app answers for one held-out photo, from the Table 4 runs
(runs/depth/seed0/gamanet and runs/table4/seed0/rgbd: see the curve bundle's docs). The photo shown is the one whose
predicted major Cobb angle is closest to the truth among the test photos curved by 20 degrees or more: a best case,
not a typical one (Table 4 gives the typical error).

    .venv/bin/python scripts/app_picture.py   # -> docs/images/app_results.png
"""

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from monai_gamanet.data import prepare_dataset
from monai_gamanet.inference.chain import SpineChain
from monai_gamanet.inference.curve import CurvePredictor
from monai_gamanet.inference.depth import DepthPredictor
from monai_gamanet.io.pictures import colorize_depth, overlay_curve, overlay_morphology, panel_grid

dov = {
    "spatial_size": [120, 240],
    "depth_percentiles": [1.0, 99.0],
    "output_activation": "clamp",
    "network_name": "gamanet",
}
chain = SpineChain(
    DepthPredictor.from_bundle("runs/depth/seed0/gamanet", dov, "cpu"),
    CurvePredictor.from_bundle("runs/table4/seed0/rgbd", {"spatial_size": [128, 256], "inputs": "rgbd"}, "cpu"),
)
test = prepare_dataset("runs/table4/seed0/phantom")["test"]
best = None
for item in test:
    doc = json.loads(Path(item["curve"]).read_text())
    if doc["curve_type"] == "none" or doc["major_cobb_deg"] < 20:
        continue
    result = chain(item["image"], Path(item["image"]).stem, doc["pixel_spacing_mm"])
    report, flat, depth, mask = result.report, result.flat, result.depth, result.label
    if report.get("curve_found"):
        err = abs(report["major_cobb_deg"] - doc["major_cobb_deg"])
        if best is None or err < best[0]:
            best = (err, item, doc, depth, mask, report, flat)
err, item, doc, depth, mask, report, flat = best
photo = np.asarray(Image.open(item["image"]).convert("RGB"))
label = overlay_curve(photo, mask.T)
pts = Image.fromarray(photo.copy())
draw = ImageDraw.Draw(pts)
for cp in flat["markups"][0]["controlPoints"]:  # in the photo's pixels, where Slicer places the PNG
    x, y = cp["position"][0], cp["position"][1]
    draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=(0, 200, 255))
    if cp["label"] in ("C7", "T4", "T8", "T12", "L3", "L5"):
        draw.text((x + 4, y - 5), cp["label"], fill=(255, 255, 255))
panels = [
    label,
    np.asarray(pts),
    colorize_depth(depth.T, np.ones_like(depth.T, bool)),
    overlay_morphology(photo, report, mask.T),
]
angles = f"predicted {report['major_cobb_deg']:.0f} deg, true {doc['major_cobb_deg']:.0f}"
cap = f"{Path(item['image']).stem}: label | markups curve | depth | report ({angles})"
panel_grid([panels], [cap]).save("docs/images/app_results.png")
print(cap, err)
