"""Command-line tools (``python -m monai_gamanet.cli.NAME`` and the console scripts of setup.cfg): the pipeline,
the demo, the Label server for 3D Slicer, the Azure Kinect import and the phantom generator."""
