r"""The dual coordinate-ascent prototype (``dual_cd``): its subproblem and its optimum.

The oracles are independent of the solver's code: ``scipy.optimize.minimize`` (L-BFGS-B on
each row's box QP; SLSQP on the hinge written as a quadratic program, ``hinge_qp``) and
``linclf.svm_loss`` for the objective values. The helpers are those of the package's solver
tests, ``tests/test_solvers.py``; run with both folders on the path:

    python -m pytest -q -p no:cacheprovider -o pythonpath="benchmarks tests" \
        benchmarks/solver_prototypes
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse

from linclf import LinearObjective
from linclf._validation import TrainingData
from solver_prototypes.dual_cd import DualCDSolver, ww_block_subproblem
from test_solvers import fresh, hinge_qp, make_data, objective_value

# --- the dual solver -----------------------------------------------------------------------


def test_ww_block_subproblem_matches_scipy():
    # Each row's subproblem is a small box QP: SciPy's bounded L-BFGS-B solves it too.
    rng = np.random.default_rng(13)
    M, y = rng.normal(size=(6, 5)), rng.integers(0, 5, 6)
    q, c = rng.uniform(0.5, 3.0, 6), rng.uniform(0.2, 1.0, 6)
    alpha = rng.uniform(0.0, 1.0, (6, 5)) * c[:, None]
    alpha[np.arange(6), y] = 0.0
    beta = ww_block_subproblem(M, y, q, c, alpha)
    for i in range(6):
        free = [j for j in range(5) if j != y[i]]

        def f(b, i=i, free=free):
            d = b - alpha[i, free]
            value = d @ M[i, free] - q[i] / 2 * (d.sum() ** 2 + d @ d)
            return -value, -(M[i, free] - q[i] * (d.sum() + d))

        oracle = scipy.optimize.minimize(
            f,
            alpha[i, free],
            jac=True,
            method="L-BFGS-B",
            bounds=[(0, c[i])] * 4,
            options={"ftol": 1e-15, "gtol": 1e-12},
        )
        np.testing.assert_allclose(beta[i, free], oracle.x, atol=1e-6)
        assert beta[i, y[i]] == 0.0


@pytest.mark.parametrize("weights", [False, True])
def test_dual_cd_matches_qp_through_its_gap(weights):
    data, reg = make_data(weights=weights, seed=14), 0.05
    value, W, _ = hinge_qp(data, reg, False)
    params, solver = fresh(data, False), DualCDSolver(tol=1e-6, block_rows=8)
    result = solver.solve(LinearObjective("hinge", reg=reg), params, data)
    primal, dual = solver.gap_
    assert result.converged
    # Weak duality brackets the QP's optimum; the gap, hence the error, is within tol.
    assert dual <= value + 1e-12 <= primal + 2e-12
    assert primal - dual <= 1e-6 * primal
    assert objective_value("hinge", params, data, reg) == pytest.approx(value, rel=2e-6)
    np.testing.assert_allclose(params["W"], W, atol=np.sqrt(2e-6 * value / reg))


def test_dual_cd_sparse_float32_and_errors():
    dense = make_data(n=30, d=6, seed=15)
    X = dense.X.copy()
    X[np.abs(X) < 0.8] = 0.0
    objective = LinearObjective("hinge", reg=0.03)
    results = []
    for X_kind in (X, scipy.sparse.csr_matrix(X), X.astype(np.float32)):
        data = TrainingData(X_kind, dense.y, 3)
        params = fresh(data, False, X_kind.dtype)
        solver = DualCDSolver(tol=1e-6)
        assert solver.solve(objective, params, data).converged
        assert params["W"].dtype == X_kind.dtype
        results.append(params["W"])
    # Certified within 1e-6 each: |W - W*| <= √(2 · 1e-6 · P / λ) ~ 4e-3 (float32: its noise).
    np.testing.assert_allclose(results[1], results[0], atol=4e-3)
    np.testing.assert_allclose(results[2], results[0], atol=4e-3)
    with pytest.raises(ValueError, match="no intercept"):
        DualCDSolver().solve(objective, fresh(dense, True), dense)
    with pytest.raises(ValueError, match="reg > 0"):
        DualCDSolver().solve(LinearObjective("hinge", reg=0.0), fresh(dense, False), dense)
