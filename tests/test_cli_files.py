"""The command line on real-world files (issue 13, item 6), in process: ``cli.main([...])``.

The examples of docs/cli.md marked ``<!-- cli-example -->`` run as they are written, on a
CSV with a string ID column, a semicolon separator, string class names and missing
values, and on a file of scikit-learn's ``dump_svmlight_file``. The files they write are
checked against independent readings (the csv module, scikit-learn's metrics); then each
CSV option, on small files whose expected values are written out by hand.
"""

from __future__ import annotations

import csv
import json
import re
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

from linclf import cli
from linclf._formats.modelfile import read_model
from linclf.persistence import load

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
EXAMPLE = re.compile(r"^<!-- cli-example -->\n```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def doc_examples() -> list[tuple[str, str, list[str]]]:
    """``(kind, code, shown output lines)``: the python blocks, and each ``$ linclf`` line
    of the console blocks with the output the page shows under it."""
    found = []
    for language, body in EXAMPLE.findall(DOC.read_text(encoding="utf-8")):
        if language == "python":
            found.append(("python", body, []))
            continue
        assert language == "console", language
        for chunk in re.split(r"^\$ ", body, flags=re.MULTILINE)[1:]:
            command, *shown = chunk.splitlines()
            found.append(("command", command, shown))
    return found


def _masked(line: str) -> str:
    return re.sub(r"\d+\.\d+(e-?\d+)?", "#", line)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_rows(path, delimiter=","):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh, delimiter=delimiter))


def test_the_docs_examples_run_on_real_world_files(tmp_path, monkeypatch, capsys):
    metrics = pytest.importorskip("sklearn.metrics")
    monkeypatch.chdir(tmp_path)
    outputs = {}
    examples = doc_examples()
    assert sum(kind == "command" for kind, _, _ in examples) >= 5  # the extraction works
    for kind, code, shown in examples:
        if kind == "python":
            exec(compile(code, str(DOC), "exec"), {"__name__": "__main__"})
            continue
        argv = shlex.split(code)
        assert argv[0] == "linclf", code
        status, out, err = run(capsys, *argv[1:])
        assert status == 0, (code, err)
        outputs[code] = out
        # What the page shows under a command is what it prints, but the time it took, and
        # with any decimal number for a decimal number (BLAS may round the last bits of a
        # solution differently elsewhere); counts are exact.
        printed = {_masked(line) for line in out.splitlines()}
        for line in shown:
            if line != "..." and not line.startswith("trained in"):
                assert _masked(line) in printed, (code, line)

    new = read_rows("new-scans.csv", delimiter=";")
    assert new[0][0] == "id" and new[0][-1] == "digit"
    ids, truth = [row[0] for row in new[1:]], [row[-1] for row in new[1:]]
    # The predictions carry the IDs, in the file's order, beside a class name each.
    predictions = read_rows("predictions.csv")
    assert predictions[0] == ["id", "prediction"]
    assert [row[0] for row in predictions[1:]] == ids
    predicted = [row[1] for row in predictions[1:]]
    assert set(predicted) <= set(truth)
    # evaluate --json parses, and holds scikit-learn's report of these predictions.
    command = next(c for c in outputs if c.startswith("linclf evaluate") and "--json" in c)
    report = json.loads(outputs[command])
    expected = metrics.classification_report(truth, predicted, output_dict=True)
    assert report["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-12)
    assert report["samples"] == len(truth) == 397
    for name, values in report["classes"].items():
        assert values == pytest.approx(expected[name], abs=1e-12)
    assert report["macro avg"] == pytest.approx(expected["macro avg"], abs=1e-12)
    assert report["weighted avg"] == pytest.approx(expected["weighted avg"], abs=1e-12)
    # --proba: one column per class, named by it, summing to 1, largest for the prediction.
    probabilities = read_rows("probabilities.csv")
    model = load("soft.linclf")
    assert probabilities[0] == ["id", "prediction", *model.classes_.tolist()]
    values = np.array([[float(v) for v in row[2:]] for row in probabilities[1:]])
    np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=1e-4)  # 6 digits a column
    best = model.classes_[values.argmax(axis=1)]
    assert [row[0] for row in probabilities[1:]] == ids
    assert best.tolist() == [row[1] for row in probabilities[1:]]
    # A file of dump_svmlight_file (0-based indices) trained.
    assert load("svm.linclf").get_params()["class_weight"] == "balanced"


def test_evaluate_json_matches_scikit_learn_with_unseen_and_unpredicted_classes(tmp_path, capsys):
    metrics = pytest.importorskip("sklearn.metrics")
    # Three separable clusters to train on; the evaluation file mislabels some rows and
    # adds a label ("d") the model has never seen, so precision and recall differ.
    rng = np.random.default_rng(0)
    centers = {"a": (0.0, 0.0), "b": (6.0, 0.0), "c": (0.0, 6.0)}
    lines = ["x,y,label"]
    for label, (cx, cy) in centers.items():
        lines += [f"{cx + u:.3f},{cy + v:.3f},{label}" for u, v in rng.normal(size=(30, 2))]
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    evaluation = ["x,y,label", "0,0,a", "0.1,0,b", "6,0,b", "6,0.1,d", "0,6,c", "0,6.2,a"]
    (tmp_path / "eval.csv").write_text("\n".join(evaluation) + "\n", encoding="utf-8")
    model = tmp_path / "m.linclf"
    assert run(capsys, "train", tmp_path / "train.csv", "--target", "label", "-o", model)[0] == 0
    status, out, err = run(capsys, "evaluate", model, tmp_path / "eval.csv", "--json")
    assert status == 0, err
    report = json.loads(out)
    truth = [row.split(",")[2] for row in evaluation[1:]]
    predicted = load(model).predict(
        np.array([[0, 0], [0.1, 0], [6, 0], [6, 0.1], [0, 6], [0, 6.2]])
    )
    assert predicted.tolist() == ["a", "a", "b", "b", "c", "c"]  # the clusters, as drawn
    expected = metrics.classification_report(truth, predicted, output_dict=True, zero_division=0)
    assert sorted(report["classes"]) == ["a", "b", "c", "d"]
    for name, values in report["classes"].items():
        assert values == pytest.approx(expected[name], abs=1e-12), name
    for average in ("macro avg", "weighted avg"):
        assert report[average] == pytest.approx(expected[average], abs=1e-12)
    assert report["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-12)
    labels = report["confusion_matrix"]["labels"]
    confusion = metrics.confusion_matrix(truth, predicted, labels=labels)
    assert report["confusion_matrix"]["matrix"] == confusion.tolist()
    # The text table: the same numbers, and n/a for the precision of "d", never predicted.
    status, out, _ = run(capsys, "evaluate", model, tmp_path / "eval.csv")
    row = next(line for line in out.splitlines() if line.startswith("d "))
    assert row.split() == ["d", "n/a", "0.0000", "0.0000", "1"]
    row = next(line for line in out.splitlines() if line.startswith("macro avg"))
    assert float(row.split()[-2]) == pytest.approx(expected["macro avg"]["f1-score"], abs=5e-5)


@pytest.fixture
def leaky(tmp_path):
    """A CSV whose numeric 'row' column and text 'name' column must not be features."""
    rows = ["name|row|a|b|kind"]
    rows += [
        f"n{i}|{i % 2}|{(-1) ** i * (1 + i / 10):.2f}|{i / 7:.3f}|{'ab'[i % 2]}" for i in range(20)
    ]
    path = tmp_path / "leaky.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_id_and_drop_keep_columns_out_of_the_features(leaky, tmp_path, capsys):
    model = tmp_path / "m.linclf"
    args = ["train", leaky, "--target", "kind", "--id", "name", "--drop", "row", "-o", model]
    status, out, err = run(capsys, *args)
    assert status == 0, err
    assert "20 samples, 2 features, 2 classes (a, b)" in out
    extra = read_model(model)[0]["extra"]
    assert extra["feature_names"] == ["a", "b"] and extra["id_column"] == "name"
    assert extra["dropped"] == ["row"] and load(model).n_features_in_ == 2
    # predict: the model's ID column comes first, the same IDs in the same order.
    status, out, err = run(capsys, "predict", model, leaky)
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["name", "prediction"] and [r[0] for r in rows[1:]] == [
        f"n{i}" for i in range(20)
    ]
    # A file without the ID column: predictions alone; --id names another column.
    (tmp_path / "plain.csv").write_text("a,b,key\n1,2,k1\n-1,0,k2\n", encoding="utf-8")
    status, out, err = run(capsys, "predict", model, tmp_path / "plain.csv")
    assert out.splitlines()[0] == "prediction" and len(out.splitlines()) == 3
    status, out, err = run(capsys, "predict", model, tmp_path / "plain.csv", "--id", "key")
    assert [line.split(",")[0] for line in out.splitlines()] == ["key", "k1", "k2"]


def test_a_text_column_that_is_not_excluded_is_one_clear_error(leaky, tmp_path, capsys):
    status, _, err = run(capsys, "train", leaky, "--target", "kind", "-o", tmp_path / "m")
    assert status == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{leaky}, line 2, column 'name': 'n0' is not a number" in err
    assert "--drop COL, or --id COL" in err


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            ["--id", "nope"],
            "has no ID column 'nope'; its columns are 'name', 'row', 'a', 'b', 'kind'",
        ),
        (["--drop", "row,nope"], "has no column(s) 'nope' to drop"),
        (["--drop", "kind", "--id", "name"], "the target column 'kind' cannot also be dropped"),
        (["--sep", ","], "has no column 'kind'; its columns are 'name|row|a|b|kind'"),
        (["--id", "kind"], "the target column 'kind' cannot also be the ID column"),
    ],
)
def test_column_options_name_what_is_wrong(leaky, tmp_path, capsys, option, message):
    status, _, err = run(capsys, "train", leaky, "--target", "kind", *option, "-o", tmp_path / "m")
    assert status == 1 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "m").exists()


def test_missing_values_are_refused_with_line_and_column(tmp_path, capsys):
    path = tmp_path / "gaps.csv"
    path.write_text("a,b,t\n1,2,x\n3,4,y\n5,N/A,x\n", encoding="utf-8")
    status, _, err = run(capsys, "train", path, "--target", "t", "-o", tmp_path / "m")
    assert status == 1 and err.count("\n") == 1
    assert f"{path}, line 4, column 'b': missing value ('N/A')" in err and "--missing" in err


@pytest.mark.parametrize(
    ("strategy", "values"),
    [("mean", [3.0, 16.0 / 3.0]), ("median", [3.0, 4.0]), ("zero", [0.0, 0.0])],
)
def test_missing_values_are_filled_in_with_the_training_values(tmp_path, capsys, strategy, values):
    # Column a: 1, 5 and a gap (mean = median = 3); column b: 2, 4, 10 (mean 16/3, median 4).
    train = tmp_path / "train.csv"
    train.write_text("a,b,t\n1,2,x\n,4,y\n5,10,x\n", encoding="utf-8")
    model = tmp_path / "m.linclf"
    args = ["train", train, "--target", "t", "--missing", strategy, "--no-standardize"]
    status, out, err = run(capsys, *args, "-o", model)
    assert status == 0, err
    assert "filled 1 missing values" in out
    assert read_model(model)[0]["extra"]["imputation"] == {"strategy": strategy, "values": values}
    # predict fills in the training values, not statistics of the file it is given.
    new = tmp_path / "new.csv"
    new.write_text("a,b\nNA,100\n7,?\n", encoding="utf-8")
    status, out, err = run(capsys, "predict", model, new)
    assert status == 0, err
    expected = load(model).predict(np.array([[values[0], 100.0], [7.0, values[1]]]))
    assert out.splitlines()[1:] == expected.tolist()


def test_predict_proba_writes_the_model_probabilities(tmp_path, capsys):
    path = tmp_path / "data.csv"
    rows = [f"{x:.2f},{'lo' if x < 0 else 'hi'}" for x in np.linspace(-2, 2, 21)]
    path.write_text("x,t\n" + "\n".join(rows) + "\n", encoding="utf-8")
    softmax, hinge = tmp_path / "s.linclf", tmp_path / "h.linclf"
    run(capsys, "train", path, "--target", "t", "--loss", "softmax", "-o", softmax)
    run(capsys, "train", path, "--target", "t", "-o", hinge)
    status, out, err = run(capsys, "predict", softmax, path, "--proba")
    assert status == 0, err
    rows = list(csv.reader(out.splitlines()))
    model = load(softmax)
    assert rows[0] == ["prediction", "hi", "lo"] == ["prediction", *model.classes_.tolist()]
    X = np.linspace(-2, 2, 21).round(2)[:, None]
    np.testing.assert_allclose(
        np.array(rows[1:])[:, 1:].astype(float), model.predict_proba(X), rtol=1e-5
    )
    status, out, err = run(capsys, "predict", hinge, path, "--proba")
    assert status == 1 and err.count("\n") == 1 and "LinearSVM, which gives no probabilities" in err
    assert "--loss softmax" in err


def test_training_options_reach_the_estimator_and_test_size_holds_out(tmp_path, capsys):
    path = tmp_path / "data.csv"
    rng = np.random.default_rng(1)
    lines = ["u;v;t"] + [
        f"{u:.3f};{v:.3f};{'pq'[int(u + v > 0)]}" for u, v in rng.normal(size=(50, 2))
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts = {label: sum(line.endswith(label) for line in lines[1:]) for label in "pq"}
    model = tmp_path / "m.linclf"
    options = ["--class-weight", "balanced", "--early-stopping", "--validation-fraction", "0.25"]
    status, out, err = run(
        capsys, "train", path, "--target", "t", *options, "--test-size", "0.2", "-o", model
    )
    assert status == 0, err
    params = load(model).get_params()
    assert params["class_weight"] == "balanced" and params["early_stopping"] is True
    assert params["validation_fraction"] == 0.25
    held_out = sum(round(0.2 * n) for n in counts.values())  # stratified: 20 % of each class
    match = re.search(r"^held-out accuracy: ([0-9.]+) on (\d+) samples", out, re.MULTILINE)
    assert match and int(match.group(2)) == held_out and 0.5 <= float(match.group(1)) <= 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sep", "ab"], "argument --sep: expected one character"),
        (["--test-size", "1"], "argument --test-size: must be below 1.0"),
        (["--missing", "mode"], "argument --missing: invalid choice: 'mode'"),
        (["--class-weight", "auto"], "argument --class-weight: invalid choice: 'auto'"),
    ],
)
def test_option_usage_errors_exit_2(capsys, args, message):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "x.csv", "--target", "t", *args, "-o", "m"])
    assert info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("sep", "text"), [("tab", "a\tb\tt\n1\t2\tx\n3\t4\ty\n"), ("|", "a|b|t\n1|2|x\n3|4|y\n")]
)
def test_a_stated_or_sniffed_separator_reads_the_file(tmp_path, capsys, sep, text):
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    for options in ([], ["--sep", sep]):
        status, out, err = run(
            capsys, "train", path, "--target", "t", *options, "-o", tmp_path / "m"
        )
        assert status == 0 and "2 samples, 2 features, 2 classes (x, y)" in out, err


def test_csv_options_are_refused_for_other_formats(tmp_path, capsys):
    np.savez(tmp_path / "data.npz", X=np.eye(3), y=np.arange(3))
    status, _, err = run(capsys, "train", tmp_path / "data.npz", "--id", "k", "-o", tmp_path / "m")
    assert status == 1 and f"--id applies to CSV files only; {tmp_path / 'data.npz'} is npz" in err


@pytest.mark.parametrize(
    "content",
    [
        b"a,b,t\n1,2,x\n",
        b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False}",
        b"\x80\x04K\x01.",
    ],
)
def test_format_npz_on_another_file_is_one_clear_error(tmp_path, capsys, content):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    status, _, err = run(capsys, "train", path, "--format", "npz", "-o", tmp_path / "m")
    assert status == 1 and err.count("\n") == 1 and err.startswith(f"linclf: error: {path}")
    assert "allow_pickle" not in err and (
        "not a NumPy .npz archive" in err or "single array" in err
    )


def test_progress_is_shown_when_asked_for(tmp_path, capsys, monkeypatch):
    path = tmp_path / "data.csv"
    path.write_text("a,b,t\n1,2,x\n3,4,y\n", encoding="utf-8")
    model = tmp_path / "m.linclf"
    status, _, err = run(capsys, "train", path, "--target", "t", "-o", model)
    assert status == 0 and "reading" not in err  # stderr is no terminal, the file small
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the plain line, without tqdm
    status, _, err = run(capsys, "train", path, "--target", "t", "--progress", "-o", model)
    size = path.stat().st_size
    assert status == 0 and err.endswith(f"\rreading data.csv: 100% of {size / 1e6:.0f} MB\n")
    status, _, err = run(capsys, "evaluate", model, path, "--progress")
    assert status == 0 and "reading data.csv: 100%" in err


def test_a_numeric_column_named_like_an_id_is_warned_of(tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_text("row_id,a,t\n1,0.5,x\n2,0.7,y\n3,0.1,x\n", encoding="utf-8")
    status, out, err = run(capsys, "train", path, "--target", "t", "-o", tmp_path / "m")
    assert status == 0 and "2 features" in out
    assert "linclf: warning: column 'row_id' looks like a row ID" in err
    assert "pass --id row_id (or --drop row_id)" in err
    status, out, err = run(
        capsys, "train", path, "--target", "t", "--id", "row_id", "-o", tmp_path / "m"
    )
    assert status == 0 and "1 features" in out and "warning" not in err
