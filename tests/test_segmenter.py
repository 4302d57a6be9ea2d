import cv2
import numpy as np
import pytest
from conftest import SHARED, needs_shared

from deepphoto.errors import DeepPhotoError
from deepphoto.metrics import iou
from deepphoto.segmenters.lightnet import LightNetSegmenter
from deepphoto.training.seg_data import is_validation, list_pairs, read_pair


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 13, 3), (480, 640), (481, 641, 4), (720, 1280, 3)])
def test_any_frame_size_gives_a_map_of_that_size(shape):
    seg = LightNetSegmenter("onnx")
    frame = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    prob = seg(frame)
    assert prob.shape == shape[:2]
    assert prob.dtype == np.float32
    assert 0.0 <= prob.min() and prob.max() <= 1.0


def test_input_size_must_be_multiple_of_32():
    with pytest.raises(DeepPhotoError, match="multiples of 32"):
        LightNetSegmenter("onnx", input_size=(250, 250))


def test_unknown_backend_lists_the_valid_ones():
    with pytest.raises(DeepPhotoError, match="onnx, torch"):
        LightNetSegmenter("tensorflow")


@needs_shared
def test_shipped_weights_segment_validation_portraits():
    pairs = [p for p in list_pairs(SHARED / "seg" / "portraits") if is_validation(p[0].stem)][:5]
    seg = LightNetSegmenter("onnx")
    scores = []
    for img_path, mask_path in pairs:
        img, truth = read_pair(img_path, mask_path)
        scores.append(iou(seg(img) > 0.5, truth))
    assert min(scores) > 0.6, scores
    assert np.mean(scores) > 0.8, scores


@needs_shared
def test_no_person_in_an_empty_scene():
    bg = cv2.imread(str(sorted((SHARED / "seg" / "cutouts" / "backgrounds").glob("*.jpg"))[0]))
    assert (LightNetSegmenter("onnx")(bg) > 0.5).mean() < 0.1
