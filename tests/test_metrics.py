"""Metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from mmnet_edge.metrics import compute_metrics, confusion_matrix, metrics_from_confusion


def test_hand_computed_uf1_uar() -> None:
    # true:  A A A A B B C C C C   (rows = true)
    # pred:  A A A B B C C C A C
    y_true = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 0, 0, 1, 1, 2, 2, 2, 0, 2]
    m = compute_metrics(y_true, y_pred, ["A", "B", "C"])
    assert m.confusion_matrix == [[3, 1, 0], [0, 1, 1], [1, 0, 3]]
    # F1 = 2TP / (2TP + FP + FN): A 6/8, B 2/4, C 6/8
    assert m.per_class[0].f1 == pytest.approx(0.75)
    assert m.per_class[1].f1 == pytest.approx(0.5)
    assert m.per_class[2].f1 == pytest.approx(0.75)
    assert m.uf1 == pytest.approx((0.75 + 0.5 + 0.75) / 3)
    # recall: A 3/4, B 1/2, C 3/4
    assert m.uar == pytest.approx((0.75 + 0.5 + 0.75) / 3)
    assert m.accuracy == pytest.approx(0.7)
    assert m.per_class[1].precision == pytest.approx(0.5)  # B predicted twice, once right
    assert m.per_class[0].support == 4 and m.n == 10


def test_unequal_uf1_and_uar() -> None:
    cm = np.array([[5, 0], [5, 0]])  # everything predicted as class 0
    m = metrics_from_confusion(cm, ["x", "y"])
    assert m.accuracy == pytest.approx(0.5)
    assert m.uar == pytest.approx(0.5)  # recalls 1.0 and 0.0
    assert m.uf1 == pytest.approx((2 * 5 / (10 + 5)) / 2)  # F1 x = 2/3, y = 0


def test_absent_class_is_left_out_of_averages() -> None:
    m = compute_metrics([0, 1], [0, 1], ["a", "b", "c"])
    assert m.uf1 == pytest.approx(1.0) and m.uar == pytest.approx(1.0)
    assert m.absent == ["c"]


def test_confusion_matrix_validates() -> None:
    with pytest.raises(ValueError):
        confusion_matrix([0, 1], [0], 2)
    with pytest.raises(ValueError):
        confusion_matrix([0, 3], [0, 1], 2)
