"""What the bundles' engines need beyond ``monai.engines``: mixed precision that also works on the CPU."""

from monai_gamanet.engines.autocast import PRECISIONS, AutocastInferer, autocast_dtype, bf16_supported

__all__ = ["PRECISIONS", "AutocastInferer", "autocast_dtype", "bf16_supported"]
