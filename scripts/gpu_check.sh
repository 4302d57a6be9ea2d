#!/usr/bin/env bash
# The GPU checks, in one run on a machine with an NVIDIA GPU and PyTorch (CUDA) installed:
# what is there (driver, CUDA, PyTorch, ONNX Runtime's providers, TensorRT), the GPU tests, each
# network's latency on every engine that opens, and the pipeline benchmark on the GPU backend.
#
#   OUT=runs/gpu bash scripts/gpu_check.sh
#
# Optional: WHEELS (a folder of wheels installed first, without an index), DEEPPHOTO_CACHE (assets:
# the demo footage), CLIPS (a folder of videos for `deepphoto run` at their own size), ROUNDS (timed
# calls per engine and size, default 200), BENCH_SIZES (default 640x480,1280x720,1920x1080),
# BENCH_FRAMES (default 150). Each step
# runs whatever the one before did, each under a time limit; the log is $OUT/log.txt, the numbers $OUT/*.json and *.md.
set -u
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
PY=${PYTHON:-python3}
step() { echo; echo "=== $* ($(date +%T))"; }

if [ -n "${WHEELS:-}" ]; then
    step "install wheels from $WHEELS"
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl \
        && export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-}

step "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
nproc
$PY - <<'EOF'
import importlib, platform
print("python", platform.python_version())
for name in ("numpy", "cv2", "av", "onnxruntime", "torch", "tensorrt", "cuda", "pycuda", "safetensors"):
    try:
        m = importlib.import_module(name)
        print(name, getattr(m, "__version__", "?"))
    except Exception as exc:
        print(name, "MISSING:", type(exc).__name__, str(exc)[:100])
import onnxruntime as ort
print("onnxruntime providers:", ort.get_available_providers())
import torch
print("torch cuda", torch.version.cuda, "available", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
from deepphoto.engines.tensorrt_engine import tensorrt_status
print("deepphoto tensorrt_status:", tensorrt_status())
from deepphoto.engines.build import auto_backends
print("deepphoto auto backends, in order:", auto_backends())
EOF
echo "TensorRT libraries or trtexec anywhere:"
timeout 30 find /usr /opt /lib /lib64 \( -name 'libnvinfer.so*' -o -name trtexec -o -name 'libonnxruntime_providers_cuda.so' \) 2>/dev/null | head -5

step "GPU tests"
timeout 200 $PY -m pytest -q -p no:cacheprovider -m gpu -rs tests/test_gpu.py tests/test_tensorrt.py \

step "latency of each network on each engine"
timeout 150 $PY scripts/gpu_latency.py --rounds "${ROUNDS:-200}" --json "$OUT/latency.json" | tee "$OUT/latency.md"

step "LightNet training step speed (random data; sampling too where the shared data is)"
timeout 120 $PY scripts/seg_train_speed.py --batch 64 --size 288 --steps 20

step "pipeline benchmark, GPU backend"
timeout 200 $PY -m deepphoto bench --backend torch --precision fp16 --sizes "${BENCH_SIZES:-640x480,1280x720,1920x1080}" \
    --frames "${BENCH_FRAMES:-150}" --no-peers --out "$OUT/bench" > /tmp/bench.txt 2>&1
sed -n '/^# DeepPhoto/,/^Stage cells/p;/^## Steadiness/,/^Targets/p' /tmp/bench.txt
tail -3 /tmp/bench.txt
rm -f "$OUT/bench/stages.png" "$OUT/bench/flicker.png"  # what comes back is limited in count

if [ -n "${CLIPS:-}" ]; then
    step "deepphoto run on real clips at their own size (backend auto)"
    for clip in "$CLIPS"/*; do
        timeout 90 $PY -m deepphoto run "$clip" "/tmp/run-$(basename "${clip%.*}").mp4" --style starry-night --overwrite \
            --quiet 2>&1 | tail -4
    done
    # one frame of the last clip, input above output, to look at
    $PY - "$clip" "/tmp/run-$(basename "${clip%.*}").mp4" "$OUT/run-frame.png" <<'EOF'
import sys, av, cv2, numpy as np
def frame(path, n=100):
    with av.open(path) as f:
        for i, fr in enumerate(f.decode(video=0)):
            if i == n:
                return fr.to_ndarray(format="bgr24")
cv2.imwrite(sys.argv[3], np.vstack([frame(sys.argv[1]), frame(sys.argv[2])]))
EOF
fi
step "done"
