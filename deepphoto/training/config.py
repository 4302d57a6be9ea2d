"""What a training run needs, as plain settings: the one definition of every option and default.

No PyTorch here: the ``train-seg`` and ``train-style`` commands read these defaults for their
``--help`` without loading the training code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deepphoto.errors import DeepPhotoError

SHARED_DATA = Path("../shared/data")


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(self.sizes))
        object.__setattr__(self, "skip_portraits", tuple(self.skip_portraits))
        if not self.sizes or any(v <= 0 or v % 32 for v in self.sizes):
            text = ",".join(map(str, self.sizes))
            raise DeepPhotoError(f"sizes {text!r}: give sizes as multiples of 32, e.g. 320,352,384")


@dataclass(frozen=True)
class StyleTrainConfig:
    """A multi-style StyleNet training run; resumes from ``out / "last.pt"`` when it exists."""

    data: Path = SHARED_DATA  # the shared data folder
    out: Path = Path("runs/style")  # checkpoint folder
    steps: int = 3000
    batch: int = 4
    crop: int = 128  # training crop size (multiple of 8)
    lr: float = 2e-3
    content_weight: float = 1.0
    style_weight: float = 5.0
    temporal_weight: float = 200.0  # 0 trains without the temporal term
    save_every: int = 50
    seed: int = 0
    threads: int = 0  # CPU threads (0: all cores)
    export: Path | None = None  # write safetensors weights here at the end
    init: Path | None = None  # start from these StyleNet weights (e.g. the shipped ones)
