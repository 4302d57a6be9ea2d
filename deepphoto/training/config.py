"""What a training run needs, as plain settings: the one definition of every option and default.

No PyTorch here: the ``train-seg`` and ``train-style`` commands read these defaults for their
``--help`` without loading the training code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deepphoto.errors import DeepPhotoError
from deepphoto.settings import choice, number, whole

SHARED_DATA = Path("../shared/data")
NEAR_BAND = 0.08  # reach of the band outside the person (share of the diagonal) that --near-weight weighs
MIXES = ("v1", "v2", "v2b", "v11", "v13")  # v1: portraits, composites, copy-paste; the others: training.seg_mix


@dataclass(frozen=True)
class SegTrainConfig:
    """A LightNet training run; resumes from ``out / "last.pt"`` when it exists."""

    data: Path = SHARED_DATA  # the shared data folder
    out: Path = Path("runs/seg")  # checkpoint folder
    steps: int = 4000
    batch: int = 8
    lr: float = 1e-3  # decoder learning rate (encoder: lr / 4)
    width: int = 128  # decoder channels
    composite_share: float = 0.5
    distractors: float = 0.0  # share of samples given a person-shaped scenery patch
    copy_paste: float = 0.0  # share of samples given the people of another training portrait
    sizes: tuple[int, ...] = (224, 256, 288)  # square training sizes, one drawn per batch; multiples of 32
    skip_portraits: tuple[str, ...] = ()  # training portraits (file stems) left out
    freeze_bn: bool = False  # keep BatchNorm statistics fixed (fine-tuning)
    save_every: int = 200
    seed: int = 0
    threads: int = 0  # CPU threads (0: all cores)
    export: Path | None = None  # write safetensors weights here at the end
    init: Path | None = None  # start from these LightNet weights instead of ImageNet
    mix: str = "v1"  # the data mix (MIXES); v2 trains on soft targets weighted by confidence
    fine_level: int | None = None  # channels of a 1/2-resolution decoder level (0: none); None: --init's own, else 0
    crp_stages: int = 4  # pooling stages of each CRP block (a new decoder only: --init keeps its own)
    init_encoder: Path | None = None  # a new decoder on the encoder of these LightNet weights
    edge_weight: float = 0.0  # extra loss weight in a band around the target's edges (v2 loss)
    near_weight: float = 0.0  # extra loss weight on background pixels near the person (v2 loss)
    near_from: float = 0.0  # the near band starts this far outside the person (share of the diagonal)
    consistency: float = 0.0  # share of each batch given a moved, re-lit copy (v2 loss)
    consistency_weight: float = 1.0  # weight of the copy-vs-moved-prediction squared difference
    resume: Path | None = None  # resume from this checkpoint (last.pt or a compact one) if it is ahead
    keep_last: int = 3  # also keep the last N saves as step-NNNNNN.pt (hard links: no copying)
    hard_examples: Path | None = None  # mined hard training images (training.hard_examples)
    hard_share: float = 0.0  # share of samples drawn from them (the mix's own shares make room)
    close_ups: float = 0.0  # v2: share of samples (not composites) cropped close around a person

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(self.sizes))
        choice("--mix", self.mix, MIXES)
        if self.fine_level is not None:
            whole("--fine-level", self.fine_level, 0, 1024)
        whole("--crp-stages", self.crp_stages, 1, 16)
        if self.init and self.init_encoder:
            raise DeepPhotoError("--init and --init-encoder: give one (all the weights, or the encoder's)")
        _weights_there(self.init, self.init_encoder)
        _checkpoint_there(self.resume)
        number("--edge-weight", self.edge_weight, 0.0, 1e3)
        number("--near-weight", self.near_weight, 0.0, 1e3)
        number("--near-from", self.near_from, 0.0, 0.5)
        if self.near_from >= NEAR_BAND:
            raise DeepPhotoError(f"--near-from {self.near_from:g}: must be under the near band's reach ({NEAR_BAND:g})")
        number("--consistency", self.consistency, 0.0, 1.0)
        number("--consistency-weight", self.consistency_weight, 0.0, 1e6)
        whole("--keep-last", self.keep_last, 0, 10**6)
        number("--hard-share", self.hard_share, 0.0, 1.0)
        number("--close-ups", self.close_ups, 0.0, 1.0)
        if self.close_ups and self.mix == "v1":
            raise DeepPhotoError("--close-ups needs a v2 data mix (--mix v2 or v2b)")
        if (self.hard_examples is None) != (self.hard_share == 0):
            raise DeepPhotoError("--hard-examples and --hard-share: give both (a file and a share above 0) or neither")
        if self.mix == "v1" and self.hard_examples:
            raise DeepPhotoError("--hard-examples belongs to the v2 data mix: add --mix v2 or v2b")
        if self.mix == "v1" and (self.edge_weight or self.near_weight or self.consistency):
            raise DeepPhotoError("--edge-weight, --near-weight and --consistency belong to the v2 loss: add --mix v2")
        object.__setattr__(self, "skip_portraits", tuple(self.skip_portraits))
        if not self.sizes or any(v <= 0 or v % 32 for v in self.sizes):
            text = ",".join(map(str, self.sizes))
            raise DeepPhotoError(f"sizes {text!r}: give sizes as multiples of 32, e.g. 320,352,384")
        whole("--steps", self.steps, 1, 10**8)
        whole("--batch", self.batch, 1, 4096)
        if not self.freeze_bn and self.batch * (min(self.sizes) // 32) ** 2 < 2:
            # the encoder's last map is (size/32)^2 pixels: BatchNorm in training needs two values a channel
            raise DeepPhotoError(
                f"--batch {self.batch} at size {min(self.sizes)}: BatchNorm needs more than one value per channel "
                "at 1/32 of the input; give a larger --batch or --sizes, or --freeze-bn"
            )
        number("--lr", self.lr, 0.0, 1.0, low_open=True)
        whole("--width", self.width, 8, 1024)
        number("--composite-share", self.composite_share, 0.0, 1.0)
        number("--distractors", self.distractors, 0.0, 1.0)
        number("--copy-paste", self.copy_paste, 0.0, 1.0)
        _common(self.save_every, self.seed, self.threads)


CROP_V1, CROP_DISTILL = 128, 256  # default training crops: v1 (Gram losses), v2 (--distill)


@dataclass(frozen=True)
class StyleTrainConfig:
    """A multi-style StyleNet training run; resumes from ``out / "last.pt"`` when it exists.

    ``distill``: StyleNet v2, learnt from the arbitrary-style teacher's cached paintings
    (``deepphoto paint-teacher``) with a pixel, a VGG feature and the temporal loss; otherwise v1,
    the design's content and Gram style losses."""

    data: Path = SHARED_DATA  # the shared data folder
    out: Path = Path("runs/style")  # checkpoint folder
    steps: int = 3000
    batch: int = 4
    crop: int | None = None  # training crop size (multiple of 8); None: CROP_V1, or CROP_DISTILL
    lr: float = 2e-3
    content_weight: float = 1.0
    style_weight: float = 5.0
    temporal_weight: float = 200.0  # 0 trains without the temporal term
    save_every: int = 50
    seed: int = 0
    threads: int = 0  # CPU threads (0: all cores)
    export: Path | None = None  # write safetensors weights here at the end
    init: Path | None = None  # start from these StyleNet weights (e.g. the shipped ones; --distill: by default)
    distill: bool = False  # StyleNet v2: learn the teacher's paintings
    teacher: Path | None = None  # the teacher paintings cache (None: <cache>/teacher-paintings)
    styles: tuple[str, ...] = ()  # --distill: the styles, in row order (empty: every shared painting)
    pixel_weight: float = 1.0  # --distill: mean absolute difference to the teacher's painting
    feature_weight: float = 1.0  # --distill: VGG feature difference to the teacher's painting
    texture_weight: float = 0.0  # --distill: Gram matrices of the VGG features against the teacher's painting's
    resume: Path | None = None  # --distill: resume from this checkpoint if it is ahead of OUT/last.pt
    keep_last: int = 3  # --distill: also keep the last N saves as step-NNNNNN.pt
    blocks: int | None = None  # --distill: grow the --init network to this many residual blocks (None: as it is)
    mid: int | None = None  # --distill: widen the --init network's way up to this many channels at 1/4 (None: as it is)
    fine: int | None = None  # ... and at 1/2 of the frame

    def __post_init__(self) -> None:
        if self.crop is None:
            object.__setattr__(self, "crop", CROP_DISTILL if self.distill else CROP_V1)
        object.__setattr__(self, "styles", tuple(self.styles))
        whole("--steps", self.steps, 1, 10**8)
        whole("--batch", self.batch, 1, 4096)
        whole("--crop", self.crop, 16, 2048)
        number("--pixel-weight", self.pixel_weight, 0.0, 1e9)
        number("--feature-weight", self.feature_weight, 0.0, 1e9)
        number("--texture-weight", self.texture_weight, 0.0, 1e9)
        whole("--keep-last", self.keep_last, 0, 10**6)
        if self.blocks is not None:
            whole("--blocks", self.blocks, 1, 64)
        for name, value in (("--mid", self.mid), ("--fine", self.fine)):
            if value is not None:
                whole(name, value, 1, 512)
        if not self.distill and (self.styles or self.teacher or self.resume or self.blocks or self.mid or self.fine):
            raise DeepPhotoError(
                "--styles, --teacher, --resume, --blocks, --mid and --fine belong to the distilled network: "
                "add --distill"
            )
        if self.crop % 8:
            raise DeepPhotoError(f"--crop {self.crop}: must be a multiple of 8")
        _weights_there(self.init)
        _checkpoint_there(self.resume)
        if self.teacher is not None and not Path(self.teacher).is_dir():
            # said so, not 'run paint-teacher': it paints into the cache, never into another --teacher
            raise DeepPhotoError(f"{self.teacher}: --teacher folder not found (leave it out for the paintings cache)")
        if self.distill and self.temporal_weight and self.crop <= 16:  # its shifted copies lose 8 px a side
            raise DeepPhotoError(
                f"--crop {self.crop}: the temporal term needs a crop above 16 (or --temporal-weight 0)"
            )
        number("--lr", self.lr, 0.0, 1.0, low_open=True)
        number("--content-weight", self.content_weight, 0.0, 1e9)
        number("--style-weight", self.style_weight, 0.0, 1e9)
        number("--temporal-weight", self.temporal_weight, 0.0, 1e9)
        _common(self.save_every, self.seed, self.threads)


def _common(save_every: int, seed: int, threads: int) -> None:
    """The options both trainings share: finite, in range, named in the message."""
    whole("--save-every", save_every, 1, 10**8)
    whole("--seed", seed, 0, 2**32 - 1)
    whole("--threads", threads, 0, 256)


ADD_STYLE_MINUTES = 4.0


@dataclass(frozen=True)
class AddStyleConfig:
    """``deepphoto add-style``: one more style, learnt into a new row of the shipped StyleNet (every
    other weight frozen) from the teacher's paintings of a small content set, in ``minutes``."""

    painting: Path
    name: str
    minutes: float = ADD_STYLE_MINUTES  # wall-clock budget, the teacher's paintings included
    steps: int = 0  # stop after this many steps even within the budget (0: the budget decides)
    images: int = 36  # content images the teacher paints (cached)
    content: Path | None = None  # a folder of photos or a video (None: the shared data, else the demo clip)
    batch: int = 4
    crop: int = 128  # 128-pixel crops: 2.4 times the steps of 192 in the same time, which matter more
    lr: float = 0.1  # only 1,600 numbers learn, in a few hundred steps
    pixel_weight: float = 1.0
    feature_weight: float = 1.0
    temporal_weight: float = 100.0
    texture_weight: float = 4.0  # Gram matrices of VGG features against the teacher's painting (strokes; as v2)
    threads: int = 0  # CPU threads (0: all cores)
    seed: int = 0
    replace: bool = False  # replace a user style of that name

    def __post_init__(self) -> None:
        number("--minutes", self.minutes, 0.0, 24 * 60.0, low_open=True)
        whole("--steps", self.steps, 0, 10**8)
        whole("--images", self.images, 1, 10**5)
        whole("--batch", self.batch, 1, 4096)
        whole("--crop", self.crop, 16, 2048)
        if self.crop % 8:
            raise DeepPhotoError(f"--crop {self.crop}: must be a multiple of 8")
        number("--lr", self.lr, 0.0, 1.0, low_open=True)
        number("--pixel-weight", self.pixel_weight, 0.0, 1e9)
        number("--feature-weight", self.feature_weight, 0.0, 1e9)
        number("--temporal-weight", self.temporal_weight, 0.0, 1e9)
        number("--texture-weight", self.texture_weight, 0.0, 1e9)
        whole("--threads", self.threads, 0, 256)
        whole("--seed", self.seed, 0, 2**32 - 1)


def _weights_there(*paths: Path | None) -> None:
    """A weights file to start from that is not there, said before the data loads (minutes for the
    full mix), not after."""
    for path in paths:
        if path is not None and not Path(path).is_file():
            raise DeepPhotoError(f"{path}: weights file not found")


def _checkpoint_there(path: Path | None) -> None:
    """A --resume checkpoint that is not there, said before the data loads."""
    if path is not None and not Path(path).is_file():
        raise DeepPhotoError(f"{path}: --resume checkpoint not found")
