"""How steady a mask sequence is: flicker where the scene is still, and lag behind a moving person.

All inputs are sequences of equally sized float arrays in [0, 1] (masks) or grey frames in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deepphoto.stream.smoothing import CUT_STEADY, likeness, scene_cut

STILL_GREY = 2.0 / 255  # a pixel whose grey level changed less than this between frames is "still"
MOVING_MASK = 0.25  # a pixel whose raw mask changed more than this between frames is on a moving edge
MOVING_GREY = 8.0 / 255  # ... when its picture changed by at least this too (well above noise)
MAX_LAG = 5.0  # frames searched for the trailing
LAG_STEP = 0.05


def cut_frames(grey: Sequence[np.ndarray]) -> frozenset[int]:
    """Frames t whose pair (t-1, t) is a cut between steady footage: ``smoothing.scene_cut`` on
    the pair, and both neighbouring pairs, where the clip has them, alike (``CUT_STEADY``, or too
    flat to tell). Stricter than the pipeline's own test, which cannot look ahead: a false cut of
    the pipeline's in footage that is not steady (a dark, noisy room; a fast pan) stays counted,
    and the flicker it causes with it."""

    def steady(t: int) -> bool:
        if t < 1 or t >= len(grey):
            return True
        alike = likeness(grey[t], grey[t - 1])
        return alike is None or alike >= CUT_STEADY

    return frozenset(
        t for t in range(1, len(grey)) if scene_cut(grey[t], grey[t - 1]) and steady(t - 1) and steady(t + 1)
    )


def still_pixels(
    grey: Sequence[np.ndarray], t: int, threshold: float = STILL_GREY, cuts: frozenset[int] | None = None
) -> np.ndarray:
    """Pixels whose input did not change from frame t-1 to frame t; none across a cut (``cuts``,
    from ``cut_frames``: a new scene's first frame is not flicker where a few of its pixels happen
    to match the last scene's grey)."""
    if cuts is not None and t in cuts:
        return np.zeros(grey[t].shape, bool)
    return np.abs(grey[t] - grey[t - 1]) < threshold


def still_share(grey: Sequence[np.ndarray]) -> float:
    """Mean share of pixels whose input did not change from one frame to the next (cuts: none)."""
    cuts = cut_frames(grey)
    shares = [float(still_pixels(grey, t, cuts=cuts).mean()) for t in range(1, len(grey))]
    return float(np.mean(shares)) if shares else 0.0


def flicker_series(masks: Sequence[np.ndarray], grey: Sequence[np.ndarray]) -> np.ndarray:
    """Per frame t >= 1: mean |mask_t - mask_{t-1}| over the pixels where the input was still
    (NaN for a frame with no still pixel)."""
    values = []
    cuts = cut_frames(grey)
    for t in range(1, len(masks)):
        still = still_pixels(grey, t, cuts=cuts)
        values.append(float(np.abs(masks[t] - masks[t - 1])[still].mean()) if still.any() else np.nan)
    return np.array(values, np.float64)


def flicker(masks: Sequence[np.ndarray], grey: Sequence[np.ndarray]) -> float:
    """Mean still-scene mask change per frame (0 for a perfectly steady mask); NaN if nothing is still."""
    series = flicker_series(masks, grey)
    return float(np.nanmean(series)) if np.isfinite(series).any() else float("nan")


def delayed(raw: Sequence[np.ndarray], t: int, lag: float) -> np.ndarray:
    """The raw mask ``lag`` frames before t, linearly interpolated between frames (clamped at 0)."""
    pos = max(0.0, t - lag)
    k = int(np.floor(pos))
    f = pos - k
    return raw[k] if f == 0 or k + 1 >= len(raw) else (1 - f) * raw[k] + f * raw[k + 1]


def moving_edges(raw: Sequence[np.ndarray], grey: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """Per frame t >= 1 (index t - 1): the pixels the raw mask crossed (by more than ``MOVING_MASK``)
    within the last ``MAX_LAG`` frames; with ``grey``, only those whose picture changed too (by at
    least ``MOVING_GREY``, after matching the brightness of the whole picture) within the same frames:
    a moving person, not a network changing its mind about a still picture (that is flicker,
    measured on still pixels)."""
    reach = int(np.ceil(MAX_LAG))
    r = np.asarray(raw, np.float32)
    g = None if grey is None else np.asarray(grey, np.float32)
    out = np.zeros((len(r) - 1, *r.shape[1:]), bool)
    for t in range(1, len(r)):
        window = slice(max(0, t - reach), t)
        moved = np.max(np.abs(r[t] - r[window]), axis=0) > MOVING_MASK
        if g is not None:  # brightness of the whole picture matched first: a light flickering is not motion
            gain = g[t].mean() / np.maximum(g[window].mean(axis=(1, 2)), 1e-6)
            moved &= np.max(np.abs(g[t] - g[window] * gain[:, None, None]), axis=0) >= MOVING_GREY
        out[t - 1] = moved
    return out


def lag_frames(
    smoothed: Sequence[np.ndarray], raw: Sequence[np.ndarray], grey: Sequence[np.ndarray] | None = None
) -> float:
    """How many frames the smoothed mask trails the raw per-frame mask along moving edges: the
    delay (0 to ``MAX_LAG``, in steps of ``LAG_STEP``) of the raw sequence that best matches the
    smoothed one on pixels the raw mask moved across (with ``grey``: where the picture moved as
    well, see ``moving_edges``). NaN when nothing moved."""
    moving = moving_edges(raw, grey)  # wide enough (MAX_LAG frames) to tell lags apart
    frames = np.array([t for t in range(1, len(raw)) if moving[t - 1].any()], int)
    if not len(frames):
        return float("nan")
    r = np.asarray(raw, np.float32)
    s = np.asarray(smoothed, np.float32)[frames]
    m = moving[frames - 1]
    counts = m.reshape(len(frames), -1).sum(axis=1)
    best, best_err = 0.0, np.inf
    for lag in np.arange(0.0, MAX_LAG + 1e-9, LAG_STEP):  # every lag judged on the same frames
        # delayed(): the raw mask ``lag`` frames earlier, interpolated between frames, clamped at 0
        pos = np.maximum(0.0, frames - lag)
        k = np.floor(pos).astype(int)
        f = (pos - k).astype(np.float32)
        nxt = np.minimum(k + 1, len(r) - 1)
        f = np.where((f == 0) | (k + 1 >= len(r)), np.float32(0), f)[:, None, None]
        delayed_raw = (1 - f) * r[k] + f * r[nxt]
        per_frame = (np.abs(s - delayed_raw) * m).reshape(len(frames), -1).sum(axis=1) / counts
        err = float(per_frame.mean())
        if err < best_err - 1e-9:
            best, best_err = float(lag), err
    return round(best, 2)


def output_flicker(outputs: Sequence[np.ndarray], grey: Sequence[np.ndarray]) -> float:
    """Frame-to-frame change of the output (0-255 levels) where the input did not change."""
    return 255.0 * flicker(outputs, grey)
