"""Checkpointed distributed fits: linclf.distributed.fit(checkpoint_path=..., resume=True).

The kill test is the real thing: a child process runs the fit on its own LocalCluster and
SIGKILLs itself from a callback (the driver, and with it the scheduler and the in-process
workers, die at once: no ``finally`` runs); a second child resumes from the checkpoint.
The oracle is a third child's uninterrupted fit, compared byte for byte.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import dask.array as da
import numpy as np
import pytest
from numpy.testing import assert_array_equal

import linclf
from linclf.distributed import fit

# Slow (Dask clusters and child processes): .ci/run runs it after the README's command.
pytestmark = pytest.mark.slow

ROUNDS, KILLED_AT = 8, 6

# Both strategies with momentum, whose velocity a resume must restore, and a tol whose
# rule decays the rate (by 0.2) after rounds 5-8 ("average") and 6-8 ("gradient"):
# killed after round 6, the resumed fit must restore the rate's scale, and the rule's
# best loss to find round 7 no better (a fresh rule would take it as an improvement).
SETTINGS = {
    "average": dict(learning_rate=0.05, momentum=0.9, tol=0.1, n_iter_no_change=1),
    "gradient": dict(learning_rate=0.5, momentum=0.9, tol=1e-2, n_iter_no_change=1),
}


def make_data():
    """600 rows, 4 features, 3 overlapping classes, in 4 row chunks."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = np.digitize(X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=600), [-0.7, 0.7])
    return X, y


def estimator(strategy, **changes):
    settings = {"solver": "sgd", "random_state": 0, **SETTINGS[strategy], **changes}
    return linclf.LinearSVM(**settings)


def local_cluster():
    from distributed import LocalCluster

    # In-process workers: killing the driver leaves no orphaned worker process behind.
    return LocalCluster(
        host="127.0.0.1", protocol="tcp", n_workers=2, processes=False, dashboard_address=None
    )


CHILD = textwrap.dedent(
    """
    import os, signal, sys, warnings
    import dask.array as da, numpy as np
    from distributed import Client
    sys.path.insert(0, sys.argv[1])
    from test_distributed_checkpoint import ROUNDS, estimator, local_cluster, make_data
    from linclf.distributed import fit

    strategy, path, kill_at, resume, out = sys.argv[2:7]
    seen = []

    def callback(info):
        seen.append(info["round"])
        if info["round"] == int(kill_at):
            os.kill(os.getpid(), signal.SIGKILL)  # the driver dies here, mid-fit

    X, y = make_data()
    warnings.simplefilter("ignore")  # a ConvergenceWarning at max_rounds is expected
    with local_cluster() as cluster, Client(cluster) as client:
        dX, dy = da.from_array(X, chunks=(150, 4)), da.from_array(y, chunks=150)
        clf = fit(
            estimator(strategy), dX, dy, client=client, strategy=strategy, max_rounds=ROUNDS,
            checkpoint_path=path or None, resume=resume == "1", callbacks=[callback],
        )
    np.savez(out, coef=clf.coef_, intercept=clf.intercept_, curve=clf.loss_curve_, seen=seen)
    """
)


def run_child(tmp_path, strategy, *, path="", kill_at=0, resume=False, name="out"):
    """Run the fit in a fresh interpreter; ``(returncode, saved arrays or None)``."""
    out = tmp_path / f"{name}.npz"
    here = os.path.dirname(os.path.abspath(__file__))
    argv = [sys.executable, "-c", CHILD, here, strategy, str(path), str(kill_at)]
    argv += ["1" if resume else "0", str(out)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode == 0:
        with np.load(out) as saved:
            return 0, dict(saved)
    return result.returncode, result.stderr


@pytest.mark.parametrize("strategy", ["average", "gradient"])
def test_killing_the_driver_mid_fit_and_resuming_equals_an_uninterrupted_fit(tmp_path, strategy):
    # Round 6's state is on disk before its callback kills the process; the resumed fit
    # runs rounds 7 and 8 only, and ends with the uninterrupted fit's bytes.
    path = tmp_path / "fit.ckpt"
    code, _ = run_child(tmp_path, strategy, path=path, kill_at=KILLED_AT, name="killed")
    assert code == -signal.SIGKILL  # it really died by the signal, mid-fit
    assert path.exists()
    code, resumed = run_child(tmp_path, strategy, path=path, resume=True, name="resumed")
    assert code == 0, resumed
    code, whole = run_child(tmp_path, strategy, name="whole")
    assert code == 0, whole
    assert resumed["seen"].tolist() == list(range(KILLED_AT + 1, ROUNDS + 1))
    assert whole["seen"].tolist() == list(range(1, ROUNDS + 1))
    for name in ("coef", "intercept", "curve"):
        assert resumed[name].tobytes() == whole[name].tobytes(), name
    assert not np.allclose(whole["coef"], 0.0)


@pytest.fixture(scope="module")
def client():
    from distributed import Client

    with local_cluster() as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def dask_data():
    X, y = make_data()
    return da.from_array(X, chunks=(150, 4)), da.from_array(y, chunks=150)


def test_callbacks_get_copies_of_the_rounds_model(client, dask_data):
    # Each round's W and b are the model after it: the last ones are the fitted model,
    # and they are copies (the rounds went on changing the live parameters).
    infos = []
    clf = estimator("gradient", tol=None)
    fit(clf, *dask_data, client=client, strategy="gradient", max_rounds=3, callbacks=[infos.append])
    assert [sorted(info) for info in infos] == [["W", "b", "loss", "round", "seconds"]] * 3
    assert [info["round"] for info in infos] == [1, 2, 3]
    assert_array_equal(infos[-1]["W"], clf.coef_)
    assert_array_equal(infos[-1]["b"], clf.intercept_)
    assert not np.array_equal(infos[0]["W"], infos[-1]["W"])


def test_resuming_a_finished_fit_gives_its_model_without_a_round(client, dask_data, tmp_path):
    # The last checkpoint holds the whole fit: resuming it runs no round.
    path = tmp_path / "done.ckpt"
    kwargs = dict(client=client, strategy="average", max_rounds=4, checkpoint_path=path)
    done = fit(estimator("average", tol=None), *dask_data, **kwargs)
    rounds = []
    again = fit(
        estimator("average", tol=None), *dask_data, resume=True, callbacks=[rounds.append], **kwargs
    )
    assert rounds == []
    assert again.coef_.tobytes() == done.coef_.tobytes() and again.n_iter_ == 4
    assert os.path.exists(str(path) + ".prev")  # the one before the last, kept


def test_a_checkpoint_of_another_fit_is_refused_and_the_estimator_kept(client, dask_data, tmp_path):
    # Another seed wrote the checkpoint: a clear error naming what differs, and the
    # estimator keeps its previous model.
    path = tmp_path / "other.ckpt"
    kwargs = dict(client=client, strategy="average", max_rounds=2, checkpoint_path=path)
    fit(estimator("average", random_state=1), *dask_data, **kwargs)
    clf = fit(estimator("average"), *dask_data, client=client, max_rounds=1)
    before = clf.coef_.tobytes()
    with pytest.raises(ValueError, match=r"written for another fit: .*seed: 1 \(checkpoint\)"):
        fit(clf, *dask_data, resume=True, **kwargs)
    with pytest.raises(ValueError, match="strategy: 'average' \\(checkpoint\\) != 'gradient'"):
        fit(clf, *dask_data, resume=True, **{**kwargs, "strategy": "gradient"})
    assert clf.coef_.tobytes() == before and clf.n_iter_ == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(resume=True), FileNotFoundError, "resume=True found no checkpoint at"),
        (dict(resume=True, checkpoint_path=None), ValueError, "resume=True needs checkpoint_path"),
        (dict(resume="yes"), TypeError, "resume must be a bool"),
        (dict(checkpoint_path=3), TypeError, "checkpoint_path must be None, a str or"),
        (
            dict(strategy="gradient", solver="lbfgs"),
            ValueError,
            "checkpoint_path is not supported with solver='lbfgs'",
        ),
    ],
)
def test_checkpoint_settings_that_cannot_work_are_refused_before_any_work(
    client, dask_data, tmp_path, kwargs, error, match
):
    # One clear error naming the argument; a fresh estimator stays unfitted.
    clf = estimator("average")
    settings = {"checkpoint_path": tmp_path / "missing.ckpt", **kwargs}
    with pytest.raises(error, match=match):
        fit(clf, *dask_data, client=client, max_rounds=2, **settings)
    assert not hasattr(clf, "coef_")
