"""monai-gamanet: back depth (GAMA-Net) and RGBD spine-curve estimation for MONAI, MONAI Label and 3D Slicer.

Subpackages are imported on demand: ``monai_gamanet.data`` (the phantom) needs only numpy and PIL, while
``monai_gamanet.transforms`` and the networks pull in MONAI and torch.
"""

__version__ = "0.1.0"
