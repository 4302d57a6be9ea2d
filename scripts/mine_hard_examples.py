"""Mine hard examples: the training images of the fully labelled sets that a LightNet gets most
wrong (``deepphoto.training.hard_examples``), written as JSON for ``train-seg --hard-examples``.

    python scripts/mine_hard_examples.py --weights docs/training/lightnet-v3-candidate.safetensors --out runs/hard.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from deepphoto.errors import DeepPhotoError
from deepphoto.training.config import SHARED_DATA
from deepphoto.training.hard_examples import mine, summary


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path, required=True, help="LightNet weights (safetensors) to mine with")
    p.add_argument("--out", type=Path, required=True, help="JSON file to write")
    p.add_argument("--data", type=Path, default=SHARED_DATA, help="shared data folder")
    p.add_argument("--worst", type=float, default=0.2, help="share of each set's training images to keep")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    try:
        mined = mine(args.weights, args.data, args.worst, threads=args.threads)
    except DeepPhotoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(mined, indent=1))
    print(summary(mined))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
