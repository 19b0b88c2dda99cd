#!/usr/bin/env bash
# Make this repository run on a GPU machine that has PyTorch but neither MONAI nor this package and no network
# (the lent device machine: Python 3.12, PyTorch 2.11). Install the wheels carried in .whl/ (README, "On a GPU")
# into /tmp/site, put them and this checkout on PYTHONPATH, and check the install before any long run: the
# imports and versions, the GPU and its bf16, and one epoch of the depth bundle on a tiny phantom on the GPU
# with the samples cached there (paper_tables --cache-on-device), its metrics read back.
#   source scripts/gpu_setup.sh
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || return 1 2>/dev/null || exit 1
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
python3 - <<'PY' || return 1 2>/dev/null || exit 1
import ignite
import monai
import torch

from monai_gamanet.engines import bf16_supported

assert torch.cuda.is_available(), "no CUDA GPU visible to PyTorch"
print(
    f"install OK: torch {torch.__version__}, MONAI {monai.__version__}, ignite {ignite.__version__}, "
    f"GPU {torch.cuda.get_device_name()}, bf16 {bf16_supported('cuda')}"
)
PY
rm -rf /tmp/gpu_check
python3 -m experiments.paper_tables --out /tmp/gpu_check --runs gamanet --epochs 1 --samples 10 --size 48 24 \
    --batch 4 --settings bundle --cache-on-device --workers 4 --name check >/tmp/gpu_check.log 2>&1 \
    || { tail -40 /tmp/gpu_check.log; return 1 2>/dev/null || exit 1; }
grep -q "device: NVIDIA" /tmp/gpu_check/check.md || { echo "the check did not run on the GPU"; return 1 2>/dev/null || exit 1; }
python3 -c "import json; m = json.load(open('/tmp/gpu_check/seed0/gamanet/eval/metrics.json'))['metrics']; \
print('bundle check OK on the GPU: one epoch, test delta1 %.3f' % m['delta1'])"
