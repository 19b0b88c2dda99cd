"""What the bundles' engines need beyond ``monai.engines``: mixed precision that also works on the CPU,
and the learning-rate schedules."""

from monai_gamanet.engines.autocast import PRECISIONS, AutocastInferer, autocast_dtype, bf16_supported
from monai_gamanet.engines.schedule import LR_SCHEDULES, create_lr_scheduler

__all__ = ["LR_SCHEDULES", "PRECISIONS", "AutocastInferer", "autocast_dtype", "bf16_supported", "create_lr_scheduler"]
