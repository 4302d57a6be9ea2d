import numpy as np
import pytest

from deepphoto.metrics import SegScores, iou, paired_bootstrap


def test_iou_of_known_masks():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2] = True  # 8 pixels
    b[1:3] = True  # 8 pixels, 4 shared
    assert iou(a, b) == pytest.approx(4 / 12)
    assert iou(a, a) == 1.0
    assert iou(a, ~a) == 0.0


def test_iou_of_two_empty_masks_is_perfect():
    empty = np.zeros((3, 3), bool)
    assert iou(empty, empty) == 1.0


def test_pooled_and_mean_iou_differ_as_they_should():
    scores = SegScores()
    # Image 1: 2x2, truth 2 pixels, prediction finds 1 of them and nothing else -> IoU 1/2.
    t1 = np.array([[1, 1], [0, 0]], bool)
    p1 = np.array([[1, 0], [0, 0]], bool)
    # Image 2: 2x2, perfect on 1 pixel -> IoU 1.
    t2 = np.array([[0, 0], [0, 1]], bool)
    assert scores.add(p1, t1) == pytest.approx(0.5)
    assert scores.add(t2.copy(), t2) == 1.0
    assert scores.n == 2
    assert scores.person_iou == pytest.approx(0.75)
    # Pooled person: tp=2, fp=0, fn=1 -> 2/3. Background: tn=5, fp (bg predicted person)=1... pooled
    # background IoU = tn / (tn + fn + fp) = 5 / 6.
    assert scores.pooled_iou == pytest.approx(2 / 3)
    assert scores.class_iou(0) == pytest.approx(5 / 6)
    assert scores.miou == pytest.approx((2 / 3 + 5 / 6) / 2)


def test_shapes_must_match():
    with pytest.raises(ValueError):
        SegScores().add(np.zeros((2, 2)), np.zeros((3, 3)))


def test_paired_bootstrap_of_a_constant_shift_is_that_shift():
    a = np.linspace(0.7, 0.95, 40)
    mean, low, high = paired_bootstrap(a, a + 0.01)
    assert mean == pytest.approx(0.01) and low == pytest.approx(0.01) and high == pytest.approx(0.01)


def test_paired_bootstrap_keeps_an_images_scores_together():
    """Two models far apart image to image but the same on each image pair: no difference."""
    a = np.random.default_rng(0).uniform(0.3, 1.0, 50)
    assert paired_bootstrap(a, a) == (0.0, 0.0, 0.0)


def test_paired_bootstrap_interval_covers_the_truth_and_narrows_with_more_images():
    rng = np.random.default_rng(1)
    widths = []
    for n in (30, 300):
        a = rng.uniform(0.8, 0.95, n)
        b = a + 0.02 + rng.normal(0, 0.03, n)
        mean, low, high = paired_bootstrap(a, b)
        assert low < mean < high and low < 0.02 < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_paired_bootstrap_needs_scores_of_the_same_images():
    with pytest.raises(ValueError):
        paired_bootstrap([0.9, 0.8], [0.9])
    with pytest.raises(ValueError):
        paired_bootstrap([], [])
