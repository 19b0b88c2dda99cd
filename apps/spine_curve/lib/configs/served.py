"""What the app's task configs share, handed to each config when it is made (not through MONAI Label's ``**kwargs``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from monai_gamanet.inference.bundles import ReloadingModel


@dataclass(frozen=True)
class ServedModels:
    """Both served models (each reloaded when its weights change on disk), the bundle settings they were trained
    with (``overrides["depth"]``, ``overrides["curve"]``) and the app's rule for a request's device."""

    depth: ReloadingModel
    curve: ReloadingModel
    overrides: dict[str, dict]
    device_for: Callable[[object], str]
