"""The hinge loss node: hand-computed cases, its backward, the kink, weights, buffers, margin."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields

import numpy as np
import pytest

from linclf import LOSSES, LinearObjective, check_gradient, multiclass_hinge
from linclf.losses import MulticlassHinge, get_loss
from linclf.objective import svm_loss, svm_loss_naive


def test_cs231n_three_examples():
    # Scores and labels of the CS231n notes' cat/car/frog example; losses 2.9, 0 and 12.9
    # are computed by hand there, so the mean is 15.8 / 3.
    S = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    loss, dS = multiclass_hinge(S, y)
    assert loss == pytest.approx(15.8 / 3, rel=1e-12)
    # Hand-derived indicators: sample 0 violates by class 1; sample 2 by classes 0 and 1.
    expected = np.array([[-1, 1, 0], [0, 0, 0], [1, 1, -2]]) / 3
    np.testing.assert_allclose(dS, expected, rtol=1e-15)


def test_margin_exactly_zero_uses_subgradient_zero():
    # s_1 - s_0 + Δ = 0 exactly: no loss and, by the documented choice, no gradient.
    loss, dS = multiclass_hinge(np.array([[2.0, 1.0, -5.0]]), np.array([0]))
    assert loss == 0.0
    np.testing.assert_array_equal(dS, np.zeros((1, 3)))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("delta", [1.0, 0.3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backward_passes_gradient_check(weighted, delta, seed):
    # dS of the node is the gradient of its loss; random scores are away from the kinks
    # with probability 1, and any coordinate that is within h is reported as a kink.
    rng = np.random.default_rng(seed)
    S = rng.normal(size=(8, 4))
    y = rng.integers(0, 4, size=8)
    w = rng.uniform(0.1, 2, size=8) if weighted else None
    _, dS = multiclass_hinge(S, y, delta=delta, sample_weight=w)
    result = check_gradient(
        lambda s: multiclass_hinge(s, y, delta=delta, sample_weight=w)[0], S, dS
    )
    assert result.passed, result.report()
    assert result.n_checked == S.size


def test_weighted_loss_is_the_weighted_mean_of_rows():
    # Σ w_i L_i / Σ w_i, each L_i from a one-row call (an independent path).
    rng = np.random.default_rng(5)
    S, y, w = rng.normal(size=(6, 3)), rng.integers(0, 3, size=6), rng.uniform(0, 3, size=6)
    per_row = [multiclass_hinge(S[i : i + 1], y[i : i + 1])[0] for i in range(6)]
    loss, _ = multiclass_hinge(S, y, sample_weight=w)
    assert loss == pytest.approx(np.dot(w, per_row) / w.sum(), rel=1e-12)


def test_all_zero_weights_give_zero_not_nan():
    # No division by zero on empty weights: a batch that weighs nothing contributes nothing.
    loss, dS = multiclass_hinge(np.ones((3, 2)), np.array([0, 1, 0]), sample_weight=np.zeros(3))
    assert loss == 0.0
    assert np.all(dS == 0.0)


def test_out_may_alias_scores():
    # out=S overwrites S with dS and gives the same numbers as a separate buffer.
    rng = np.random.default_rng(1)
    S = rng.normal(size=(5, 4)).astype(np.float32)
    y = rng.integers(0, 4, size=5)
    loss_a, dS_a = multiclass_hinge(S.copy(), y)
    S_in_place = S.copy()
    loss_b, dS_b = multiclass_hinge(S_in_place, y, out=S_in_place)
    assert dS_b is S_in_place
    assert loss_a == loss_b
    np.testing.assert_array_equal(dS_a, dS_b)


def test_does_not_modify_scores_without_out():
    rng = np.random.default_rng(2)
    S = rng.normal(size=(5, 3))
    saved = S.copy()
    multiclass_hinge(S, rng.integers(0, 3, size=5))
    np.testing.assert_array_equal(S, saved)


def test_float32_stays_float32_and_loss_is_python_float():
    S = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    loss, dS = multiclass_hinge(S, np.array([0, 1, 2, 0]))
    assert dS.dtype == np.float32
    assert type(loss) is float


def test_registry_lists_hinge_and_rejects_unknown_names():
    assert LOSSES["hinge"] is MulticlassHinge
    assert LOSSES["hinge"].params == ("delta",) == tuple(f.name for f in fields(MulticlassHinge))
    with pytest.raises(ValueError, match=r"loss must be one of \['hinge'"):
        get_loss("squared")
    with pytest.raises(TypeError, match=r"loss 'hinge' takes no parameter\(s\) \['margin'\]"):
        get_loss("hinge", margin=1.0)


@pytest.mark.parametrize("weighted", [False, True])
def test_node_is_the_function_with_its_margin_bound(weighted):
    # The node built by name computes multiclass_hinge with its delta, bit for bit.
    rng = np.random.default_rng(4)
    S, y = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    w = rng.uniform(0.1, 2, size=6) if weighted else None
    node = get_loss("hinge", delta=0.3)
    assert node == MulticlassHinge(delta=0.3) and get_loss("hinge").delta == 1.0
    loss, dS = node.loss_grad(S, y, sample_weight=w)
    loss_ref, dS_ref = multiclass_hinge(S, y, delta=0.3, sample_weight=w)
    assert loss == loss_ref
    np.testing.assert_array_equal(dS, dS_ref)


@pytest.mark.parametrize(
    ("delta", "error", "message"),
    [
        (-0.5, ValueError, r"^delta must be >= 0(\.0)?, got -0\.5"),
        (float("nan"), ValueError, r"^delta must be finite"),
        ("1", TypeError, r"^delta must be a real number"),
        (True, TypeError, r"^delta must be a real number"),
    ],
)
def test_node_validates_its_margin_once_for_every_caller(delta, error, message):
    # The one check of delta: the node, the objective and the engine all raise it.
    with pytest.raises(error, match=message):
        MulticlassHinge(delta=delta)
    with pytest.raises(error, match=message):
        LinearObjective("hinge", delta=delta)
    W, X, y = np.zeros((2, 1)), np.ones((1, 1)), np.array([0])
    for objective in (svm_loss, svm_loss_naive):
        with pytest.raises(error, match=message):
            objective(W, None, X, y, delta=delta)
    with pytest.raises(FrozenInstanceError):
        MulticlassHinge().delta = 2.0  # type: ignore[misc]
