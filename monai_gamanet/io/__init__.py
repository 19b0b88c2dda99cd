"""File formats of monai-gamanet: uploads checked before they are stored, 3D Slicer markups, pictures."""
