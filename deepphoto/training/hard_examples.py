"""Hard examples: the training photos a LightNet gets most wrong, for a fine-tune to see more often.

``mine`` runs a network over the TRAINING images of the sets whose masks mark every person
(portraits, eg-portraits, selfies: a wrong pixel there is wrong by the truth, not by an unlabelled
person) and keeps the worst share of each set by person IoU: the pushchairs, bags and rocks taken
for people, and the people half missed, in their own context rather than pasted in. Validation
images are never scored, listed or drawn (``datasets.pairs(..., "train")``, and ``read`` refuses
one).

    python scripts/mine_hard_examples.py --weights docs/training/lightnet-v3-candidate.safetensors --out runs/hard.json
    deepphoto train-seg --mix v2b --hard-examples runs/hard.json --hard-share 0.25 ...
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from deepphoto import datasets
from deepphoto.errors import DeepPhotoError
from deepphoto.metrics import iou
from deepphoto.settings import LIGHTNET_INPUT


def mine(
    weights: Path,
    shared_data: Path,
    worst: float = 0.2,
    sets: tuple[str, ...] = datasets.FULL_PERSON_SETS,
    input_size: tuple[int, int] = LIGHTNET_INPUT,
    threads: int | None = None,
    progress: bool = True,
) -> dict:
    """Per-image person IoU of ``weights`` (float32 ONNX, as evaluation reads it) on each set's
    training images, and the ``worst`` share of each set (at least one image) by that IoU."""
    from deepphoto.segmenters.lightnet import LightNetSegmenter

    if not 0 < worst <= 1:
        raise DeepPhotoError(f"--worst {worst}: give a share in (0, 1]")
    bad = [s for s in sets if datasets.labelled_set(s).meaning != datasets.FULL_PERSON]
    if bad:
        raise DeepPhotoError(f"{bad[0]}: its masks do not mark every person, so a miss there is not a miss")
    segmenter = LightNetSegmenter("onnx", weights, input_size, threads)
    out: dict = {"weights": str(weights), "worst": worst, "input": list(input_size), "sets": {}}
    for name in sets:
        scores = {}
        for img_path, mask_path in tqdm(datasets.pairs(name, "train", shared_data), desc=name, disable=not progress):
            img, truth = datasets.read_pair(img_path, mask_path)
            prob = cv2.resize(segmenter.low_res(img), (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
            scores[img_path.stem] = round(iou(prob > 0.5, truth), 4)
        keep = max(1, round(worst * len(scores)))
        ranked = sorted(scores, key=lambda s: (scores[s], s))
        out["sets"][name] = {"hard": ranked[:keep], "iou": scores}
    return out


def read(path: Path, shared_data: Path) -> list[tuple[Path, Path]]:
    """The (image, mask) pairs a ``mine`` file lists; a validation image in it is an error."""
    try:
        mined = json.loads(Path(path).read_text())
        listed = {name: list(entry["hard"]) for name, entry in mined["sets"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DeepPhotoError(f"{path}: not a hard-examples file ({exc})") from exc
    out = []
    for name, stems in listed.items():
        s = datasets.labelled_set(name)
        train = {img.stem: (img, mask) for img, mask in datasets.pairs(name, "train", shared_data)}
        for stem in stems:
            if s.is_validation(stem):
                raise DeepPhotoError(f"{path}: {name}/{stem} is a validation image: never trained on")
            if stem not in train:
                raise DeepPhotoError(f"{path}: {name}/{stem} is not a training image of {name}")
            out.append(train[stem])
    if not out:
        raise DeepPhotoError(f"{path}: lists no images")
    return out


def summary(mined: dict) -> str:
    """One line per set: how many were scored, how many kept, and the IoU where the kept ones end."""
    lines = []
    for name, entry in mined["sets"].items():
        scores = entry["iou"]
        kept = [scores[s] for s in entry["hard"]]
        lines.append(
            f"{name}: {len(kept)} of {len(scores)} training images kept, person IoU {min(kept):.3f}-{max(kept):.3f} "
            f"(set median {np.median(list(scores.values())):.3f})"
        )
    return "\n".join(lines)
