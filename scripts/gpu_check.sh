#!/usr/bin/env bash
# The GPU checks, in one run on a machine with an NVIDIA GPU and PyTorch (CUDA) installed:
# what is there (driver, CUDA, PyTorch, ONNX Runtime's providers, TensorRT), the GPU tests, each
# network's latency on every engine that opens, LightNet's training speed, and the pipeline
# benchmark on the GPU backend.
#
#   OUT=runs/gpu bash scripts/gpu_check.sh
#
# Optional: WHEELS (a folder of wheels installed first, without an index), DEEPPHOTO_CACHE (assets:
# the demo footage), CLIPS (a folder of videos for `deepphoto run` at their own size), ROUNDS (timed
# calls per engine and size, default 100), BENCH_SIZES (default 640x480,1280x720,1920x1080),
# BENCH_FRAMES (default 100). Each step runs whatever the one before did, under a time limit
# (together at most 560 s with two clips, inside a lent machine's 600 s a command); the log is
# $OUT/log.txt, the numbers $OUT/*.json and *.md. The exit status is the number of steps that
# failed, each named at the end.
set -u
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
set -o pipefail
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
PY=${PYTHON:-python3}
failed=()
step() { echo; echo "=== $* ($(date +%T))"; }
check() {  # check NAME COMMAND...: run it, remember NAME if it fails
    local name=$1
    shift
    "$@" || { echo "!!! $name failed (status $?)"; failed+=("$name"); }
}

if [ -n "${WHEELS:-}" ]; then
    step "install wheels from $WHEELS"
    check "wheels" $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$WHEELS"/*.whl
    export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-}

step "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
nproc
check "machine" timeout 20 $PY - <<'PYTHON'
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
PYTHON
echo "TensorRT libraries or trtexec anywhere:"
timeout 20 find /usr /opt /lib /lib64 \( -name 'libnvinfer.so*' -o -name trtexec -o -name 'libonnxruntime_providers_cuda.so' \) \
    2>/dev/null | head -5

step "GPU tests"
check "GPU tests" timeout 120 $PY -m pytest -q -p no:cacheprovider -m gpu -rs tests/test_gpu.py tests/test_tensorrt.py

step "latency of each network on each engine"
check "latency" timeout 90 $PY scripts/gpu_latency.py --rounds "${ROUNDS:-100}" --json "$OUT/latency.json"

step "LightNet training step speed (random data; sampling too where the shared data is)"
check "training speed" timeout 60 $PY scripts/seg_train_speed.py --batch 64 --size 288 --steps 20

step "pipeline benchmark, GPU backend"
check "benchmark" timeout 180 $PY -m deepphoto bench --backend torch --precision fp16 \
    --sizes "${BENCH_SIZES:-640x480,1280x720,1920x1080}" --frames "${BENCH_FRAMES:-100}" --no-peers \
    --out "$OUT/bench" > "$OUT/bench.txt" 2>&1
sed -n '/^# DeepPhoto/,/^Stage cells/p;/^## Steadiness/,/^Targets/p' "$OUT/bench.txt"
tail -3 "$OUT/bench.txt"
rm -f "$OUT/bench/stages.png" "$OUT/bench/flicker.png"  # what comes back is limited in count

if [ -n "${CLIPS:-}" ]; then
    step "deepphoto run on real clips at their own size (backend auto)"
    made=()
    for clip in "$CLIPS"/*; do
        name=$(basename "$clip")
        out=/tmp/run-${name%.*}.mp4
        check "run $name" timeout 45 $PY -m deepphoto run "$clip" "$out" --style starry-night --overwrite --quiet
        made=("$clip" "$out")
    done
    # one frame (the 100th, or the last) of the last clip, input above output, to look at
    check "frame" $PY - "${made[@]}" "$OUT/run-frame.png" <<'PYTHON'
import sys, av, cv2, numpy as np
def frame(path, n=100):
    with av.open(path) as f:
        for i, fr in enumerate(f.decode(video=0)):
            last = fr.to_ndarray(format="bgr24")
            if i == n:
                break
    return last
cv2.imwrite(sys.argv[3], np.vstack([frame(sys.argv[1]), frame(sys.argv[2])]))
PYTHON
fi
step "done: ${#failed[@]} step(s) failed${failed[*]:+: ${failed[*]}}"
exit ${#failed[@]}
