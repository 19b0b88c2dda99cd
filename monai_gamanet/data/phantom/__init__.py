"""The synthetic back phantom: its anatomy (a spine curve with known Cobb angles, the back's surface over it) and
its rendering as an RGB photo and a depth capture (numpy and PIL only; no MONAI import). The dataset writer built
on it is :mod:`monai_gamanet.data.synthetic` (``python -m monai_gamanet.data.synthetic``)."""
