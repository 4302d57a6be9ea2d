"""The calibration source: preprocessed frames, never a validation image, readable by ONNX Runtime."""

import cv2
import numpy as np
from media import make_clip

from deepphoto.calibration.ort_reader import OrtCalibrationReader
from deepphoto.calibration.source import CalibrationFrames
from deepphoto.training.seg_data import is_validation


def test_folder_source_skips_validation_images(tmp_path):
    names = [str(i) for i in range(1, 40)]
    for name in names:
        cv2.imwrite(str(tmp_path / f"{name}.png"), np.full((20, 30, 3), int(name), np.uint8))
    frames = CalibrationFrames(tmp_path, (64, 32), limit=100)
    batches = list(frames)
    expected = [n for n in sorted(names) if not is_validation(n)]
    assert len(batches) == len(expected) and frames.skipped_validation == len(names) - len(expected)
    assert batches[0].shape == (1, 3, 32, 64) and batches[0].dtype == np.float32
    fed_levels = {round(float(b[0, 0, 0, 0]) * 255) for b in batches}
    assert not fed_levels & {int(n) for n in names if is_validation(n)}


def test_video_source_feeds_the_onnx_runtime_reader(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", frames=20)
    reader = OrtCalibrationReader(CalibrationFrames(clip, (64, 64), limit=3, every=2), "rgb")
    items = []
    while (item := reader.get_next()) is not None:
        items.append(item)
    assert len(items) == 3 and set(items[0]) == {"rgb"} and items[0]["rgb"].shape == (1, 3, 64, 64)


def test_held_out_frames_are_never_calibration_frames(tmp_path):
    names = [f"frame-{i}" for i in range(30) if not is_validation(f"frame-{i}")]
    for i, name in enumerate(names):
        cv2.imwrite(str(tmp_path / f"{name}.png"), np.full((16, 16, 3), i * 8, np.uint8))
    frames = CalibrationFrames(tmp_path, (32, 32), limit=10)
    used = {round(float(b[0, 0, 0, 0]) * 255) for b in frames}
    held = {round(float(b[0, 0, 0, 0]) * 255) for b in frames.held_out(100)}
    assert len(used) == 10 and len(held) == len(names) - 10 and not used & held
    clip = make_clip(tmp_path / "c.mp4", frames=20)
    video = CalibrationFrames(clip, (32, 32), limit=100, every=4)
    assert len(list(video)) == 5 and len(list(video.held_out(100))) == 5
