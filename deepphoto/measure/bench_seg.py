"""LightNet next to its peers on the same images (``deepphoto bench-seg``): MediaPipe's selfie
segmenter and, with ``--sets``, Robust Video Matting (RVM, GPL-3.0: a benchmark peer only, imported
here in measurement, never by the product).

A benchmark, not a test: accuracy (person IoU, boundary IoU) and median latency on this machine,
in one run, one table per set.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deepphoto.errors import DeepPhotoError
from deepphoto.measure.eval_seg import evaluate, set_pairs
from deepphoto.metrics import SegScores, paired_bootstrap
from deepphoto.segmenters.lightnet import LightNetSegmenter
from deepphoto.settings import LIGHTNET_INPUT
from deepphoto.training.seg_data import list_pairs, split_pairs


@dataclass
class SegBenchmark:
    rows: list[dict] = field(default_factory=list)  # one per model, engine and input size (see result_row)
    peer_skipped: str | None = None  # why MediaPipe was left out, when it was asked for and could not run
    skipped: dict[str, str] = field(default_factory=dict)  # peer -> why it could not run


def result_row(model: str, backend: str, size: str, scores: SegScores, latency: float) -> dict:
    return {
        "model": model,
        "backend": backend,
        "input": size,
        "n": scores.n,
        "person_iou": scores.person_iou,
        "boundary_iou": scores.boundary_iou,
        "pooled_iou": scores.pooled_iou,
        "miou": scores.miou,
        "latency_ms": latency,
        "per_image": list(scores.per_image),  # for paired comparisons (``differences``); not printed
        "per_image_boundary": list(scores.per_image_boundary),
    }


def differences(bench: SegBenchmark) -> list[dict]:
    """Each LightNet row after the first weights file's, against the first's row with the same
    engine and input: the difference in person and boundary IoU with a paired bootstrap 95%
    interval over the set's images (how much a split of this size can tell)."""
    lightnet = [r for r in bench.rows if r["model"].startswith("LightNet")]
    first = lightnet[0]["model"] if lightnet else None
    base = {(r["backend"], r["input"]): r for r in lightnet if r["model"] == first}
    found = []
    for r in lightnet:
        ref = base.get((r["backend"], r["input"]))
        if r["model"] == first or ref is None:
            continue
        found.append(
            {
                "model": r["model"],
                "against": first,
                "backend": r["backend"],
                "input": r["input"],
                "person_iou": paired_bootstrap(ref["per_image"], r["per_image"]),
                "boundary_iou": paired_bootstrap(ref["per_image_boundary"], r["per_image_boundary"]),
            }
        )
    return found


def _lightnets(
    weights: Sequence[Path | None],
    backends: Sequence[tuple[str, str]],
    input_sizes: Sequence[tuple[int, int]],
    threads: int | None,
) -> Iterator[tuple[str, LightNetSegmenter, str, str]]:
    """(row name, segmenter, backend label, input label) of LightNet for each of ``weights`` (None or
    "shipped": the shipped file), each (backend, precision) and each input size, opened in turn."""
    for file in weights:
        shipped = file is None or str(file) == "shipped"
        name = "LightNet" if shipped else f"LightNet {Path(file).stem}"  # type: ignore[arg-type]
        for backend, precision in backends:
            for size in input_sizes:
                seg = LightNetSegmenter(
                    backend, None if shipped else file, input_size=size, threads=threads, precision=precision
                )
                yield name, seg, seg.engine.label, f"{size[0]}x{size[1]}"


def compare_segmenters(
    data_dir: Path,
    split: str = "all",
    backends: Sequence[tuple[str, str]] = (("onnx", "fp32"),),
    input_sizes: Sequence[tuple[int, int]] = (LIGHTNET_INPUT,),
    threads: int | None = None,
    peer: bool = True,
    weights: Sequence[Path | None] = (None,),
) -> SegBenchmark:
    """LightNet (each of ``weights``, None or "shipped" for the shipped file) for every (backend,
    precision) and input size (width, height) over ``data_dir``'s images/ and masks/ (``split``:
    all, train or val), then MediaPipe's selfie segmenter if ``peer``."""
    every = list_pairs(data_dir)
    pairs = split_pairs(every, split)
    if not pairs:  # a score over no image is no score (it read mIoU 1.0 and NaN)
        raise DeepPhotoError(f"{data_dir}: no images in the {split} split ({len(every)} in all)")
    result = SegBenchmark()
    for name, seg, backend_label, size_label in _lightnets(weights, backends, input_sizes, threads):
        scores, latency = evaluate(seg, pairs)
        result.rows.append(result_row(name, backend_label, size_label, scores, latency))
    if peer:
        try:
            from deepphoto.segmenters.mediapipe import MediaPipeSegmenter

            mediapipe = MediaPipeSegmenter(threads=threads)
            scores, latency = evaluate(mediapipe, pairs)
            result.rows.append(result_row("MediaPipe selfie", mediapipe.backend, "256x256", scores, latency))
        except DeepPhotoError as exc:
            result.peer_skipped = str(exc)
    return result


PEERS = ("mediapipe", "rvm")


def _peer(name: str, threads: int | None) -> tuple[object, str, str]:
    """(segmenter, backend label, input label) of a peer, or a DeepPhotoError saying why not."""
    if name == "mediapipe":
        from deepphoto.segmenters.mediapipe import MediaPipeSegmenter

        seg = MediaPipeSegmenter(threads=threads)
        return seg, seg.backend, "x".join(map(str, seg.input_size))
    if name == "rvm":
        from deepphoto.teachers.rvm import BACKBONE_SIDE, RobustVideoMatting

        rvm = RobustVideoMatting(threads=threads, download=False)
        # two passes per still (the recurrent state fed back), as its labels were made: a video
        # pays one per frame, so its per-frame cost is about half the latency shown
        return rvm, f"ort x{rvm.passes}", f"own/{BACKBONE_SIDE}"
    raise DeepPhotoError(f"unknown peer {name!r}: choose from {', '.join(PEERS)}")


def compare_on_sets(
    sets: Sequence[str],
    split: str = "val",
    backends: Sequence[tuple[str, str]] = (("onnx", "fp32"), ("onnx", "int8")),
    input_sizes: Sequence[tuple[int, int]] = (LIGHTNET_INPUT,),
    threads: int | None = 2,
    peers: Sequence[str] = PEERS,
    weights: Sequence[Path | None] = (None,),
    progress: bool = True,
) -> dict[str, SegBenchmark]:
    """Per shared labelled set (``deepphoto.datasets``): LightNet (each of ``weights``, None or
    "shipped" for the shipped file) for every (backend, precision) and input size, then each peer,
    on the same ``split`` images. Models are loaded once."""
    chosen = {name: set_pairs(name, split) for name in sets}  # every set checked before any work
    models: list[tuple[str, object, str, str]] = list(_lightnets(weights, backends, input_sizes, threads))
    skipped: dict[str, str] = {}
    for name in peers:
        try:
            seg, backend, size_label = _peer(name, threads)
            models.append(({"mediapipe": "MediaPipe selfie", "rvm": "RVM MobileNetV3"}[name], seg, backend, size_label))
        except DeepPhotoError as exc:
            skipped[name] = str(exc)
    results = {}
    for set_name, pairs in chosen.items():
        bench = SegBenchmark(skipped=dict(skipped))
        for model, seg, backend, size_label in models:
            scores, latency = evaluate(seg, pairs, progress=progress)  # type: ignore[arg-type]
            bench.rows.append(result_row(model, backend, size_label, scores, latency))
        results[set_name] = bench
    return results
