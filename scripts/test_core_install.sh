#!/usr/bin/env bash
# The core install (pip install ., no extras) runs DeepPhoto without PyTorch. Usage: test_core_install.sh VENV
# Each check prints one line; the last line counts them ("N passed, N failed").
set -uo pipefail
venv=${1:?usage: test_core_install.sh VENV}
bin="$venv/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
check() {  # check NAME COMMAND...: passes when the command exits 0
  local name=$1
  shift
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    echo "core: ok    $name"
  else
    failed=$((failed + 1))
    echo "core: FAIL  $name"
    echo "$out" | tail -n 20 | sed 's/^/      /'
  fi
}
check "torch is not installed" bash -c "! '$bin/python' -c 'import torch' 2>/dev/null"
check "deepphoto --help" "$bin/deepphoto" --help
check "deepphoto styles lists the shipped styles" bash -c "'$bin/deepphoto' styles | grep -q starry-night"
clip=$("$bin/python" -c "from deepphoto.assets import demo_clip; print(demo_clip())")
check "run: a clip, styled background, to MP4" "$bin/deepphoto" run "$clip" "$work/out.mp4" --style wave --max-frames 24 --quiet
check "run: the output plays with 24 frames" "$bin/python" -c "
import av, sys
with av.open(sys.argv[1]) as c:
    n = sum(1 for _ in c.decode(video=0))
assert n == 24, n" "$work/out.mp4"
check "run: default precision (INT8 where it passed its gate), blur" "$bin/deepphoto" run "$clip" "$work/blur.mkv" --effect blur --max-frames 10 --quiet
"$bin/python" -c "import cv2, numpy as np; cv2.imwrite('$work/photo.png', np.full((120, 90, 3), 128, np.uint8))"
check "edit: a photo with the fast network" "$bin/deepphoto" edit "$work/photo.png" "$work/edited.jpg" --style scream --region whole
check "build-engine --backend onnx" "$bin/deepphoto" build-engine lightnet --backend onnx --precision int8
check "training says what it needs in one line, exit 2" bash -c "
  '$bin/deepphoto' train-seg --out '$work/seg' --steps 1 > '$work/train.txt' 2>&1; test \$? -eq 2 &&
  grep -q \"needs torch: pip install -e '.\[torch\]' in the DeepPhoto checkout\" '$work/train.txt' && test \$(wc -l < '$work/train.txt') -eq 1"
check "the PyTorch backend says what it needs" bash -c "'$bin/deepphoto' run '$clip' null:// --backend torch --max-frames 2 --quiet 2>&1 | grep -q 'needs torch'"
echo "core install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
