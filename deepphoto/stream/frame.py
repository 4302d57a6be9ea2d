"""One decoded frame and where it sits in its stream."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8
    pts: int | None  # in the source stream's time base
    time_base: Fraction | None
    arrival: float = 0.0  # seconds: when the reader took the frame (live: sets recording times)
    name: str = ""  # for image sources: the file stem
    lost: bool = False  # a live source is away: no picture (see stream.reconnect)
