"""A stand-in curve network for the Slicer replay: a fixed, gently S-curved band down the middle of any photo.

It has no weights (its ``model.pt`` is an empty state dict, loaded strictly like any other) and answers the same on
every CPU, so the replay always has a curve to import, edit and submit; a trained U-Net would need minutes of
training first, and the background-everywhere network of the app's tests finds no curve at all.
"""

from __future__ import annotations

import math

import torch

AMPLITUDE = 0.06  # of the photo's width
HALF_WIDTH = 0.025  # of the photo's width


class BandCurve(torch.nn.Module):
    """(B, C, W, H) -> (B, 2, W, H) logits of the band ``|x - c(y)| < HALF_WIDTH W``, c(y) = W (1/2 + A sin 2 pi y')
    for y' from 0.1 to 0.9 of the height (C7 to L5), nothing above or below."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, w, h = x.shape
        xs = torch.arange(w, dtype=torch.float32, device=x.device)[:, None]
        t = (torch.arange(h, dtype=torch.float32, device=x.device)[None, :] + 0.5) / h
        centre = w * (0.5 + AMPLITUDE * torch.sin(2 * math.pi * (t - 0.1) / 0.8))
        inside = ((xs - centre).abs() < HALF_WIDTH * w) & (t > 0.1) & (t < 0.9)
        curve = 10.0 * inside.float() - 5.0
        return torch.stack([-curve, curve])[None].expand(b, -1, -1, -1).to(x.dtype)
