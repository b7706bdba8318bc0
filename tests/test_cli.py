"""The command line, end to end, as a user runs it: ``python -m linclf ...`` in a subprocess.

Each command runs in a fresh interpreter on files written to a temporary folder. The
numbers the commands print are checked against independent computations: the accuracy
that ``evaluate`` prints against the predictions file ``predict`` wrote, its per-class
table and confusion matrix against scikit-learn's metrics. Every documented user mistake
must give exactly one line ``linclf: error: ...`` on stderr, no traceback, and exit code 1
(data and file errors) or 2 (usage errors, reported by argparse).
"""

from __future__ import annotations

import builtins
import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from linclf import LinearSVM, cli
from linclf._formats.modelfile import read_model
from linclf.persistence import load

# Slow (a Python process per command): .ci/run runs the file after the README's command;
# the in-process tests of tests/test_cli_files.py are in the fast suite.
pytestmark = pytest.mark.slow


def _run(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "linclf", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _ok(*args):
    result = _run(*args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def _read_predictions(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["prediction"]
    return [row[0] for row in rows[1:]]


def _accuracy_line(stdout):
    match = re.search(r"^accuracy: ([0-9.]+) \((\d+) of (\d+) correct\)$", stdout, re.MULTILINE)
    assert match, stdout
    return float(match.group(1)), int(match.group(2)), int(match.group(3))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Iris as CSV (named target column), wine as .npz and as svmlight, in one folder."""
    datasets = pytest.importorskip("sklearn.datasets")
    folder = tmp_path_factory.mktemp("cli")
    iris = datasets.load_iris(as_frame=True)
    frame = iris.frame
    frame["species"] = iris.target_names[frame.pop("target")]
    frame.to_csv(folder / "iris.csv", index=False)
    X, y = datasets.load_wine(return_X_y=True)
    np.savez(folder / "wine.npz", X=X, y=y)
    datasets.dump_svmlight_file(X, y, str(folder / "wine.svmlight"), zero_based=False)
    return {"folder": folder, "iris": frame, "wine": (X, y)}


@pytest.fixture(scope="module")
def iris_model(files):
    """A model trained from the CLI on iris.csv, and the training run's output."""
    path = files["folder"] / "iris.model"
    result = _ok("train", files["folder"] / "iris.csv", "--target", "species", "-o", path)
    return path, result


@pytest.mark.parametrize("args", [(), ("demo",), ("demo", "--seed", "1")])
def test_demo_runs_gradient_check_training_and_reports_accuracy(args):
    result = _run(*args)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The gradient check ran on both parameters and passed.
    assert re.search(r"d loss / d W: passed", out) and re.search(r"d loss / d b: passed", out)
    # Training showed its progress: about ten printed "epoch N/M" lines, or, when tqdm is
    # installed, a tqdm bar on stderr.
    epoch_lines = re.findall(r"^epoch +\d+/\d+ +loss", out, flags=re.MULTILINE)
    tqdm_bar = re.search(r"training:\s+\d+%\|", result.stderr)
    assert 2 <= len(epoch_lines) <= 12 or (not epoch_lines and tqdm_bar)
    accuracy = float(re.search(r"held-out accuracy: ([0-9.]+)", out).group(1))
    assert accuracy >= 0.93  # a linear SVM gets ~96% on standardized digits
    assert re.search(r"total time: [0-9.]+ s", out)
    # It says what the training steps ran on: the compiled kernel and its ISA, or NumPy.
    from linclf import kernel_info

    assert f"steps on {kernel_info()}" in out


def test_version_and_usage_errors():
    from linclf import __version__

    assert _run("--version").stdout.strip() == f"linclf {__version__}"
    bad = _run("no-such-command")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (None, ["train", "predict", "evaluate", "gradcheck", "demo", "--version"]),
        ("demo", ["--seed"]),
        (
            "train",
            [
                *["DATA", "--target", "--labels", "--loss", "--reg", "--learning-rate"],
                *["--momentum", "--batch-size", "--max-epochs", "--tol", "--seed"],
                *["--no-standardize", "--dtype", "--verbose", "--output", "--format"],
            ],
        ),
        ("predict", ["MODEL", "DATA", "--output", "--format"]),
        ("evaluate", ["MODEL", "DATA", "--target", "--labels", "--format"]),
        ("gradcheck", ["--loss", "--dtype", "--seed"]),
    ],
)
def test_every_command_has_help(command, options):
    result = _ok(*([command] if command else []), "--help")
    assert result.stdout.startswith(f"usage: linclf {command or ''}".rstrip())
    for option in options:
        assert option in result.stdout


def test_console_script_runs():
    # pyproject maps the `linclf` script to linclf.__main__:main, as `python -m` runs it.
    script = shutil.which("linclf")
    if script is None:
        pytest.skip("the linclf console script is not on PATH")
    result = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.startswith("linclf ")


def test_train_csv_prints_a_summary_and_stores_the_columns(files, iris_model):
    path, result = iris_model
    out = result.stdout
    assert "150 samples, 4 features, 3 classes (setosa, versicolor, virginica)" in out
    assert "target 'species'" in out and "standardized features" in out
    pattern = r"trained in [0-9.]+ s: (\d+) lbfgs iterations, training accuracy ([0-9.]+)"
    match = re.search(pattern, out)
    assert match and int(match.group(1)) >= 1 and float(match.group(2)) >= 0.9
    # The model file keeps the columns beside the estimator, for predict and evaluate.
    extra = read_model(path)[0]["extra"]
    features = [c for c in files["iris"].columns if c != "species"]
    assert extra == {"target": "species", "feature_names": features, "format": "csv"}
    model = load(path)
    assert model.get_params()["standardize"] is True
    assert model.classes_.tolist() == ["setosa", "versicolor", "virginica"]


def test_predict_then_evaluate_agree_with_independent_metrics(files, iris_model):
    metrics = pytest.importorskip("sklearn.metrics")
    folder, frame = files["folder"], files["iris"]
    model, _ = iris_model
    out = folder / "iris-predictions.csv"
    _ok("predict", model, folder / "iris.csv", "-o", out)
    predicted = _read_predictions(out)
    truth = frame["species"].tolist()
    assert len(predicted) == 150 and set(predicted) <= {"setosa", "versicolor", "virginica"}

    report = _ok("evaluate", model, folder / "iris.csv").stdout
    accuracy, correct, total = _accuracy_line(report)
    expected_correct = sum(p == t for p, t in zip(predicted, truth, strict=True))
    assert (correct, total) == (expected_correct, 150)
    assert accuracy == pytest.approx(expected_correct / 150, abs=5e-5)  # printed to 4 places

    # The per-class table: precision, recall, F1 and support as scikit-learn computes them.
    labels = ["setosa", "versicolor", "virginica"]
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    lines = report.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("class ")))
    assert lines[start].split() == ["class", "precision", "recall", "f1-score", "support"]
    for c, label in enumerate(labels):
        name, p, r, f, s = lines[start + 1 + c].rsplit(maxsplit=4)
        assert name == label and int(s) == support[c]
        assert float(p) == pytest.approx(precision[c], abs=5e-5)
        assert float(r) == pytest.approx(recall[c], abs=5e-5)
        assert float(f) == pytest.approx(f1[c], abs=5e-5)
    # The table is aligned: every row of it has the same width up to the last column.
    assert len({len(line) for line in lines[start : start + 4]}) == 1

    # The confusion matrix, rows true and columns predicted, as scikit-learn's.
    expected = metrics.confusion_matrix(truth, predicted, labels=labels)
    start = lines.index(next(line for line in lines if line.startswith("true \\ predicted")))
    assert lines[start].split()[-3:] == labels
    for c, label in enumerate(labels):
        name, *counts = lines[start + 1 + c].rsplit(maxsplit=3)
        assert name == label and [int(v) for v in counts] == expected[c].tolist()


def test_predict_picks_csv_columns_by_name(files, iris_model):
    # Reordered feature columns, an extra column and no target: the same predictions.
    folder, frame = files["folder"], files["iris"]
    model, _ = iris_model
    shuffled = frame.drop(columns="species")[frame.columns[[3, 1, 0, 2]]]
    shuffled.insert(2, "notes", "x")
    shuffled.to_csv(folder / "shuffled.csv", index=False)
    reference = _ok("predict", model, folder / "iris.csv").stdout
    assert _ok("predict", model, folder / "shuffled.csv").stdout == reference
    assert reference.splitlines()[0] == "prediction" and len(reference.splitlines()) == 151


@pytest.mark.parametrize("fmt", ["npz", "svmlight"])
def test_train_predict_evaluate_npz_and_svmlight(files, fmt):
    folder = files["folder"]
    data = folder / f"wine.{fmt}"
    model = folder / f"wine-{fmt}.model"
    train = _ok("train", data, "--loss", "softmax", "--max-epochs", "50", "-o", model)
    assert f"({fmt}): 178 samples, 13 features, 3 classes (0, 1, 2)" in train.stdout
    assert read_model(model)[0]["extra"] == {"target": None, "feature_names": None, "format": fmt}

    out = folder / f"wine-{fmt}-predictions.csv"
    _ok("predict", model, data, "-o", out)
    predicted = np.array(_read_predictions(out), dtype=np.int64)
    y = files["wine"][1]
    accuracy, correct, total = _accuracy_line(_ok("evaluate", model, data).stdout)
    assert (correct, total) == (int(np.sum(predicted == y)), 178)
    assert accuracy >= 0.9  # standardized wine is nearly linearly separable


def test_train_with_labels_file_and_options(files):
    # Features without a label column plus --labels; every training option reaches the
    # estimator, as the saved hyperparameters show.
    folder, frame = files["folder"], files["iris"]
    frame.drop(columns="species").to_csv(folder / "features.csv", index=False)
    (folder / "labels.txt").write_text("\n".join(frame["species"]) + "\n", encoding="utf-8")
    model = folder / "options.model"
    options = ["--loss", "softmax", "--solver", "sgd", "--reg", "0.01", "--learning-rate", "0.1"]
    options += ["--momentum", "0.5", "--batch-size", "16", "--max-epochs", "7", "--tol", "none"]
    options += ["--seed", "3", "--no-standardize", "--dtype", "float64", "-v"]
    labels = ["--labels", folder / "labels.txt"]
    result = _ok("train", folder / "features.csv", *labels, *options, "-o", model)
    params = load(model).get_params()
    expected = {"reg": 0.01, "learning_rate": 0.1, "momentum": 0.5, "batch_size": 16}
    expected |= {"max_epochs": 7, "tol": None, "random_state": 3, "standardize": False}
    expected |= {"verbose": 1, "solver": "sgd"}
    assert {k: params[k] for k in expected} == expected
    assert np.dtype(params["dtype"]) == np.float64
    assert type(load(model)).__name__ == "SoftmaxClassifier"
    assert "7 epochs" in result.stdout
    # -v shows the progress: printed epoch lines, or a tqdm bar on stderr.
    assert re.search(r"^epoch +\d+/7", result.stdout, re.MULTILINE) or "training:" in result.stderr
    # Labels given separately are evaluated with --labels, too.
    report = _ok("evaluate", model, folder / "features.csv", *labels)
    assert _accuracy_line(report.stdout)[2] == 150


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_predict_and_evaluate_open_the_model_file_once(tmp_path, monkeypatch, capsys, command):
    # The estimator and the columns train stored beside it come from one read of the model
    # file. In process, so that every open() of the model's path is counted.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    np.savez(tmp_path / "d.npz", X=X, y=y)
    model = tmp_path / "m.model"
    extra = {"target": None, "feature_names": None, "format": "npz"}
    LinearSVM(max_epochs=2, tol=None).fit(X, y).save(model, extra=extra)
    opened, real_open, real_os_open = [], builtins.open, os.open

    def counting_open(file, *args, **kwargs):
        opened.append(os.fspath(file) if isinstance(file, str | os.PathLike) else file)
        return real_open(file, *args, **kwargs)

    def counting_os_open(file, *args, **kwargs):  # the readers open regular files by fd
        opened.append(os.fspath(file))
        return real_os_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(os, "open", counting_os_open)
    assert cli.main([command, str(model), str(tmp_path / "d.npz")]) == 0
    assert opened.count(str(model)) == 1, opened
    assert ("prediction\n" if command == "predict" else "accuracy: ") in capsys.readouterr().out


@pytest.mark.parametrize("loss", ["hinge", "softmax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradcheck_passes(loss, dtype):
    result = _ok("gradcheck", "--loss", loss, "--dtype", dtype, "--seed", "1")
    out = result.stdout
    name = "svm_loss" if loss == "hinge" else "softmax_loss"
    assert f"gradient check of {name} in {dtype}" in out
    # Both reports are printed in full, each with its verdict, and the summary follows.
    assert out.count("Gradient check passed") == 2
    assert "d loss / dW:" in out and "d loss / db:" in out and f"dtype {dtype}" in out
    assert out.rstrip().endswith("gradient check passed")


@pytest.fixture(scope="module")
def mistakes(files):
    """Files for the user-mistake tests."""
    folder = files["folder"]
    (folder / "bad.csv").write_text("a,b,label\n1,2,x\n3,oops,y\n", encoding="utf-8")
    (folder / "other.csv").write_text("a,b,label\n1,2,x\n3,4,y\n", encoding="utf-8")
    (folder / "data.dat").write_text("1 1:2\n", encoding="utf-8")
    (folder / "short.txt").write_text("setosa\nvirginica\n", encoding="utf-8")
    np.savez(folder / "narrow.npz", X=np.ones((3, 2)), y=np.arange(3))
    return folder


MISTAKES = {
    "missing data file": (
        ["train", "{f}/missing.csv", "--target", "species", "-o", "{f}/m.model"],
        "{f}/missing.csv: no such file",
    ),
    "missing model file": (["predict", "{f}/missing.model", "{f}/iris.csv"], "no such file"),
    "non-numeric feature": (
        ["train", "{f}/bad.csv", "--target", "label", "-o", "{f}/m.model"],
        "bad.csv, line 3, column 'b': 'oops' is not a number",
    ),
    "wrong target column": (
        ["train", "{f}/iris.csv", "--target", "Species", "-o", "{f}/m.model"],
        "no column 'Species'; its columns are 'sepal length (cm)', 'sepal width (cm)', "
        "'petal length (cm)', 'petal width (cm)', 'species'",
    ),
    "no target column": (
        ["train", "{f}/iris.csv", "-o", "{f}/m.model"],
        "pass --target with one of its columns ('sepal length (cm)',",
    ),
    "wrong target at evaluate": (
        ["evaluate", "{f}/iris.model", "{f}/iris.csv", "--target", "kind"],
        "no column 'kind'; its columns are",
    ),
    "missing feature columns": (
        ["predict", "{f}/iris.model", "{f}/other.csv"],
        "lacks the feature column(s) 'sepal length (cm)', 'sepal width (cm)', "
        "'petal length (cm)', 'petal width (cm)'; its columns are 'a', 'b', 'label'",
    ),
    "data file given as model": (
        ["predict", "{f}/iris.csv", "{f}/iris.csv"],
        "iris.csv is not a linclf model file",
    ),
    "npz data given as model": (
        ["evaluate", "{f}/wine.npz", "{f}/wine.npz"],
        "wine.npz is not a linclf model file",
    ),
    "unknown format": (
        ["train", "{f}/data.dat", "-o", "{f}/m.model"],
        "cannot tell the format of {f}/data.dat from its extension '.dat'",
    ),
    "labels of another length": (
        ["train", "{f}/features.csv", "--labels", "{f}/short.txt", "-o", "{f}/m.model"],
        "short.txt has 2 labels but {f}/features.csv has 150 samples",
    ),
    "wrong number of features": (
        ["predict", "{f}/iris.model", "{f}/narrow.npz"],
        "X has 2 features, but LinearSVM is expecting 4 features",
    ),
    "output folder missing": (
        ["train", "{f}/iris.csv", "--target", "species", "-o", "{f}/no/such/m.model"],
        "cannot write {f}/no/such/m.model: no such directory",
    ),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_user_mistakes_give_one_line_errors(files, iris_model, mistakes, mistake):
    if mistake == "labels of another length":
        files["iris"].drop(columns="species").to_csv(mistakes / "features.csv", index=False)
    args, message = MISTAKES[mistake]
    result = _run(*(a.format(f=mistakes) for a in args))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("linclf: error: ")
    assert message.format(f=mistakes) in lines[0]
    assert not (mistakes / "m.model").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "x.csv", "--target", "t"], "the following arguments are required: -o"),
        (["train", "x.csv", "--loss", "svm", "-o", "m"], "invalid choice: 'svm'"),
        (["train", "x.csv", "--reg", "-1", "-o", "m"], "argument --reg: must be at least 0"),
        (["train", "x.csv", "--tol", "soon", "-o", "m"], "expected a number or 'none'"),
        (["train", "x.csv", "--target", "t", "--labels", "l", "-o", "m"], "not allowed with"),
        (["train", "x.csv", "--format", "parquet", "-o", "m"], "invalid choice: 'parquet'"),
        (["gradcheck", "--dtype", "float16"], "invalid choice: 'float16'"),
        (["predict", "model"], "the following arguments are required: DATA"),
    ],
)
def test_usage_errors_exit_2(args, message):
    result = _run(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("usage: linclf ")
    assert message in result.stderr.splitlines()[-1]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT is POSIX")
def test_ctrl_c_stops_training_and_saves_a_working_model(tmp_path):
    # 20,000 x 20 rows take about 15 ms an epoch, so 100,000 epochs would run for half an
    # hour: the run can only end early through the interruption.
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "big.npz", X=rng.normal(size=(20_000, 20)), y=rng.integers(0, 5, 20_000))
    model = tmp_path / "big.model"
    command = [sys.executable, "-m", "linclf", "train", tmp_path / "big.npz", "-o", model]
    proc = subprocess.Popen(
        [*command, "--solver", "sgd", "--max-epochs", "100000", "--tol", "none"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A child started with SIGINT ignored (a background shell job) would ignore it too.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    watchdog = threading.Timer(120, proc.kill)  # a hung child fails the test, not the run
    watchdog.start()
    try:
        started = []
        for line in proc.stdout:  # poll until the CLI says training starts
            started.append(line)
            if line.startswith("training "):
                break
        assert started and started[-1].startswith("training "), "".join(started)
        time.sleep(1.0)  # well inside fit: the data is loaded and standardized by now
        assert proc.poll() is None  # still training
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "interrupted (Ctrl-C)" in err and err.startswith("linclf: warning: ")
    assert re.search(r"trained in [0-9.]+ s: \d+ epochs", out)
    assert model.exists()
    predictions = _ok("predict", model, tmp_path / "big.npz").stdout.splitlines()
    assert predictions[0] == "prediction" and len(predictions) == 20_001
