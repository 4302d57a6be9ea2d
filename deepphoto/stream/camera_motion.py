"""The camera's own motion between two frames, so a held painting can move with the picture.

A shaking hand, a zoom or a pan moves every pixel a little: repainting each frame redraws every
brush stroke at a new place, and holding the painting keeps strokes where the picture has left.
``camera_motion`` fits one similarity (shift, rotation, scale) to corners tracked between two small
grey copies (Lucas-Kanade, RANSAC) and keeps it only when it explains the new frame clearly better
than "nothing moved": a person moving in front of a still room is not the camera, and is left to
the hold's per-pixel test.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_POINTS = 12  # corners that must agree on the motion
MIN_SHIFT = 0.05  # pixels of the grey copy: below this nothing moved
BETTER = 0.8  # the warped frame before must be this much closer to the new one than the frame itself


def camera_motion(before: np.ndarray, after: np.ndarray) -> np.ndarray | None:
    """2x3 matrix taking ``before``'s pixel positions to ``after``'s (grey copies, float32 0-1, same
    size), or None where the camera did not move or the motion is not one similarity."""
    a8 = np.clip(before * 255.0, 0, 255).astype(np.uint8)
    b8 = np.clip(after * 255.0, 0, 255).astype(np.uint8)
    h, w = a8.shape
    corners = cv2.goodFeaturesToTrack(a8, maxCorners=200, qualityLevel=0.01, minDistance=max(3, min(h, w) // 40))
    if corners is None or len(corners) < MIN_POINTS:
        return None
    moved, status, _ = cv2.calcOpticalFlowPyrLK(a8, b8, corners, None, winSize=(15, 15), maxLevel=2)
    ok = status.ravel() == 1
    if ok.sum() < MIN_POINTS:
        return None
    matrix, inliers = cv2.estimateAffinePartial2D(corners[ok], moved[ok], method=cv2.RANSAC, ransacReprojThreshold=1.0)
    if matrix is None or inliers is None or int(inliers.sum()) < max(MIN_POINTS, ok.sum() // 2):
        return None
    frame_corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64)
    shift = np.abs(frame_corners @ matrix.T - frame_corners[:, :2]).max()
    if shift < MIN_SHIFT:
        return None
    warped = cv2.warpAffine(before, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if float(np.abs(warped - after).mean()) > BETTER * float(np.abs(before - after).mean()):
        return None
    return matrix


def scaled_motion(matrix: np.ndarray, small: tuple[int, int], full: tuple[int, int]) -> np.ndarray:
    """``matrix`` fitted on a grey copy of ``small`` (width, height), for the frame of ``full`` size
    (pixel centres kept: a small pixel's centre x maps to (x + 0.5) * full / small - 0.5)."""
    sx, sy = full[0] / small[0], full[1] / small[1]
    up = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
    down = np.linalg.inv(up)
    return (up @ np.vstack([matrix, [0, 0, 1]]) @ down)[:2]


def warp(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``image`` moved by ``matrix`` (its edges repeated where the motion uncovers the border)."""
    h, w = image.shape[:2]
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def brought_in(matrix: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Pixels of a picture of ``shape`` that ``matrix`` brings in from outside it (1; else 0):
    where a held picture moved with the camera has nothing of its own to show."""
    h, w = shape[:2]
    inside = cv2.warpAffine(np.ones((h, w), np.float32), matrix, (w, h), flags=cv2.INTER_LINEAR)
    return (inside < 0.999).astype(np.float32)
