"""Test-time-flip uncertainty of the predicted spine curve, written to the datastore for active learning.

MONAI Label 0.8.5 has no test-time-augmentation scorer, and its epistemic (MC dropout) scorer puts the network in
training mode, which also switches BatchNorm to batch statistics. This one runs the served curve network on each
photo without a ``final`` label under four flips (none, left-right, upside-down, both: the flips it was trained
with), flips the probabilities back and scores their disagreement near the predicted curve
(:meth:`monai_gamanet.inference.curve.CurvePredictor.uncertainty`). The score goes into the image's info under
:data:`KEY`, which MONAI Label's ``Epistemic`` strategy ranks by (``lib.configs.spine_curve``: strategy
``curve_uncertainty``). A photo the models cannot read (missing, corrupt, grey) is skipped with a warning: it keeps
no score, the rest are scored.
"""

from __future__ import annotations

import logging
import time

from monailabel.interfaces.tasks.scoring import ScoringMethod

from monai_gamanet.inference.chain import SpineChain, load_photo

logger = logging.getLogger(__name__)

KEY = "curve_flip_uncertainty"


class FlipUncertainty(ScoringMethod):
    """Score every photo without a ``final`` label; returns ``{image_id: score}``."""

    def __init__(self, models, device_for) -> None:
        super().__init__("Disagreement of the spine curve under test-time flips (higher: less certain)")
        self.models, self.device_for = models, device_for

    def __call__(self, request: dict, datastore) -> dict[str, float]:
        if not (self.models.curve.available() and self.models.depth.available()):
            logger.info("no trained models yet: nothing scored")
            return {}
        device = self.device_for(request.get("device"))
        chain = SpineChain(self.models.depth.get(device), self.models.curve.get(device))
        scores = {}
        images = sorted(datastore.get_unlabeled_images("final"))
        for k, image_id in enumerate(images, 1):
            try:
                photo = load_photo(datastore.get_image_uri(image_id))
                scores[image_id] = chain.curve.uncertainty(photo, chain.depth_for_curve(photo))
            except (OSError, ValueError, RuntimeError) as err:  # one photo the models cannot read
                logger.warning("flip uncertainty: %s skipped (%s)", image_id, str(err).splitlines()[0])
                continue
            datastore.update_image_info(image_id, {KEY: scores[image_id], f"{KEY}_ts": int(time.time())})
            if k % 10 == 0 or k == len(images):
                logger.info("flip uncertainty: %d / %d photos scored", k, len(images))
        return scores
