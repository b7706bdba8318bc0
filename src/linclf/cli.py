"""The ``linclf`` command line: train, predict, evaluate, gradcheck, demo (guide: docs/cli.md).

Exit codes: 0 success; 1 unusable input (``linclf: error: ...``); 2 usage; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import shlex
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ._cli.holdout import stratified_split
from ._cli.impute import STRATEGIES, ImputeError, fill, fill_values
from ._cli.progress import reading_progress
from ._cli.report import classification_report, report_json, report_text
from ._formats.modelfile import write_atomically
from ._formats.untrusted import describe_bytes, read_budget
from ._version import __version__
from .datasets.files import DataFileError, format_of, read_csv_header, read_data, read_labels
from .exceptions import ModelFileError
from .gradcheck import check_gradient
from .objective import softmax_loss, svm_loss

__all__ = ["build_parser", "main"]

# The estimator of each --loss, by name: the estimators (and the persistence and plot
# modules, which import them) are imported by the commands that use them, because with
# scikit-learn installed that import costs 1 to 3 s, which --version, --help and
# gradcheck should not pay.
ESTIMATORS = {"hinge": "LinearSVM", "softmax": "SoftmaxClassifier"}
_FORMATS, _FLOATS = ["csv", "npz", "svmlight"], ["float32", "float64"]


class UserError(Exception):
    """A mistake in the command's input: reported as one line on stderr, exit code 1."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    Parameters
    ----------
    argv : sequence of str or None
        The arguments after the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 for an unusable input, 130 when interrupted (usage: ``SystemExit(2)``).

    Examples
    --------
    >>> main(["gradcheck", "--loss", "softmax"])  # doctest: +ELLIPSIS
    gradient check of softmax_loss in float64 ...
    gradient check passed
    0
    """
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return getattr(args, "run", _demo)(args)
    except UserError as exc:
        print("linclf: error:", *str(exc).split(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("linclf: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``linclf predict ... | head``): stop quietly, as shell
        # tools do, and keep Python from complaining about the unflushed stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # A user of the command line needs the message, not the library's source location.
    print("linclf: warning:", *str(message).split(), file=file or sys.stderr, flush=True)


@contextlib.contextmanager
def _user_errors(path: str, prefix: str = "", errors: Any = (DataFileError, ModelFileError)):
    """Documented failures of reading or using ``path`` as one-line user errors."""
    try:
        yield
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not a file") from None
    except PermissionError:
        raise UserError(f"{path}: permission denied") from None
    except errors as exc:
        raise UserError(f"{prefix}{exc}") from None


@contextlib.contextmanager
def _writing(path: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def _check_writable(path: str, *inputs: str | None) -> None:
    """Fail before the work, not after it, when the output's folder does not exist, or when
    the output is one of the command's ``inputs`` (it would replace the user's file)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"cannot write {path}: no such directory {folder}")
    if os.path.isdir(path):
        raise UserError(f"cannot write {path}: it is a directory")
    for source in inputs:
        if source is not None and _same_file(path, source):
            raise UserError(
                f"cannot write {path}: it is the input {source}, which the output would "
                "replace; choose another output path"
            )


def _same_file(path: str, other: str) -> bool:
    """Whether two paths name one file (the same inode, or the same resolved path)."""
    try:
        return os.path.samefile(path, other)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(path) == os.path.realpath(other)


def _format(path: str, fmt: str | None) -> str:
    try:
        return fmt or format_of(path)
    except DataFileError as exc:
        raise UserError(f"{exc} with --format") from None


def _needs_labels(what: str, path: str, sep: str) -> UserError:
    with _user_errors(path):
        columns = ", ".join(repr(c) for c in read_csv_header(path, sep))
    return UserError(f"{what}: pass --target with one of its columns ({columns}), or --labels FILE")


def _labels(data: Any, path: str, labels_path: str | None, y: Any = None, *, missing: str):
    """``data``'s own labels, or those of ``labels_path`` (read unless given as ``y``)."""
    if labels_path is None:
        if data.y is None:
            raise UserError(f"{path} has no labels (no array y): {missing}")
        return data.y
    if data.y is not None:
        where = "its array y" if data.format == "npz" else "the first field of each line"
        raise UserError(f"{path} has labels of its own ({where}); drop --labels")
    if y is None:
        with _user_errors(labels_path):
            y = read_labels(labels_path)
    if y.shape[0] != data.X.shape[0]:
        n, m = y.shape[0], data.X.shape[0]
        raise UserError(f"{labels_path} has {n} labels but {path} has {m} samples")
    return y


def _train(args: argparse.Namespace) -> int:
    fmt = _format(args.data, args.format)
    _check_writable(args.output, args.data, args.labels)
    _check_csv_options(args, fmt, ["sep", "drop", "id", "missing"])
    if fmt == "csv" and args.target is None and args.labels is None:
        raise _needs_labels(f"{args.data} needs labels", args.data, args.sep)
    labels = None
    if args.labels is not None:  # read first: it is small, and a typo in it shows at once
        with _user_errors(args.labels):
            labels = read_labels(args.labels)
    options = {"sep": args.sep, "drop": args.drop, "id_column": args.id}
    options["missing"] = args.missing != "error"
    data = _read(args, fmt, args.target, options, n_features=args.n_features)
    y = _labels(data, args.data, args.labels, labels, missing="add them, or pass --labels FILE")
    classes = np.unique(y)
    _check_model_size(args.data, data.X.shape[1], len(classes), args.max_bytes)
    shown = ", ".join(str(v) for v in classes[:8].tolist()) + (", ..." if len(classes) > 8 else "")
    target = f"; target {data.target!r}" if data.target else ""
    (n, d), k = data.X.shape, len(classes)
    print(f"{args.data} ({fmt}): {n} samples, {d} features, {k} classes ({shown}){target}")
    _warn_id_like(data.feature_names or [])
    train, test = _split(args, y)
    extra = {"target": data.target, "feature_names": data.feature_names, "format": fmt}
    extra |= {"id_column": args.id} if args.id is not None else {}
    extra |= {"dropped": args.drop} if args.drop else {}
    extra |= _impute_training(args, data, train)
    model = _fit(args, data.X, y, train)
    if test is not None:
        held_out = model.score(data.X[test], y[test])
        print(f"held-out accuracy: {held_out:.4f} on {len(test)} samples (--test-size)")
    with _writing(args.output):
        model.save(args.output, extra=extra)
    print(f"saved the model to {args.output}")
    return 0


_ID_NAMES = {"id", "index", "row", "unnamed: 0"}


def _warn_id_like(names: list[str]) -> None:
    """Warn of a feature column named like a row ID: a number that would leak the order."""
    for name in names:
        if name.lower() in _ID_NAMES or name.lower().endswith(("_id", " id")):
            quoted = shlex.quote(name)
            warnings.warn(
                f"column {name!r} looks like a row ID, and is used as a feature; if it is "
                f"one, pass --id {quoted} (or --drop {quoted})",
                stacklevel=2,
            )
            return


def _check_csv_options(args: argparse.Namespace, fmt: str, names: list[str]) -> None:
    """Refuse the CSV-only options given for another format."""
    defaults = {"sep": "auto", "drop": [], "id": None, "missing": "error"}
    given = [name for name in names if getattr(args, name) != defaults[name]]
    if fmt != "csv" and given:
        raise UserError(f"--{given[0]} applies to CSV files only; {args.data} is {fmt}")


def _split(args: argparse.Namespace, y: np.ndarray) -> tuple[np.ndarray, Any]:
    """The training rows and the held-out ones (None without --test-size)."""
    if args.test_size is None:
        return np.arange(y.shape[0]), None
    train, test = stratified_split(y, args.test_size, args.seed)
    if not test.size:
        raise UserError(f"--test-size {args.test_size} holds out no sample of {args.data}")
    return train, test


def _impute_training(args: argparse.Namespace, data: Any, train: np.ndarray) -> dict:
    """Fill in the missing features with statistics of the training rows; what to store."""
    if args.missing == "error":
        return {}
    X = data.X
    rows = X[train] if train.size < X.shape[0] else X
    with _user_errors(args.data, f"{args.data}: --missing {args.missing}: ", ImputeError):
        values = fill_values(rows, args.missing, data.feature_names)
    count = fill(X, values)
    what = "0" if args.missing == "zero" else f"the training rows' {args.missing}s"
    print(f"filled {count} missing values with {what}")
    return {"imputation": {"strategy": args.missing, "values": values}}


def _fit(args: argparse.Namespace, X: Any, y: np.ndarray, train: np.ndarray) -> Any:
    """The estimator the options describe, trained on the rows ``train``."""
    names = ["solver", "class_weight", "early_stopping", "validation_fraction"]
    names += [spec.split()[0][2:].replace("-", "_") for spec, *_ in _HYPERPARAMETERS]
    from . import estimator

    model = getattr(estimator, ESTIMATORS[args.loss])(
        standardize=not args.no_standardize,
        dtype=np.dtype(args.dtype).type,  # np.float32 or np.float64, as the estimator's default
        random_state=args.seed,
        verbose=int(args.verbose),
        **{name: getattr(args, name) for name in names if name in args},
    )
    scaling = "raw features" if args.no_standardize else "standardized features"
    print(
        f"training {type(model).__name__} ({args.loss} loss, {args.dtype}, {scaling}, "
        f"seed {args.seed}); Ctrl-C stops early and keeps the model",
        flush=True,
    )
    if train.size < y.shape[0]:
        X, y = X[train], y[train]
    started = time.perf_counter()
    # ValueError: invalid data or hyperparameters, or divergence (documented).
    with _user_errors(args.data, "training failed: ", ValueError):
        model.fit(X, y)
    seconds, accuracy = time.perf_counter() - started, model.score(X, y)
    unit = "epochs" if model.solver_ == "sgd" else f"{model.solver_} iterations"
    print(f"trained in {seconds:.2f} s: {model.n_iter_} {unit}, training accuracy {accuracy:.4f}")
    return model


def _read(args: argparse.Namespace, fmt: str, target: str | None, options: Any, **how: Any) -> Any:
    """Read DATA (``options``: of a CSV), with a progress line for a large file."""
    with reading_progress(args.data, forced=args.progress) as progress, _user_errors(args.data):
        if fmt == "csv":
            options = {**(options or {}), "progress": progress}
        return read_data(
            args.data,
            target,
            fmt,
            max_bytes=args.max_bytes,
            csv_options=options if fmt == "csv" else None,
            **how,
        )


def _check_model_size(path: str, n_features: int, n_classes: int, max_bytes: int | None) -> None:
    """Refuse a model whose float64 weights alone would break the data file's read budget."""
    size = 8 * n_features * max(n_classes, 2)
    budget = read_budget(os.stat(path).st_size, max_bytes)
    if size > budget:
        raise UserError(
            f"{path}: a model of {max(n_classes, 2)} classes × {n_features} features takes "
            f"{describe_bytes(size)}, beyond the {describe_bytes(budget)} this file may cost; "
            "if that is intended, raise the budget with --max-bytes"
        )


def _load(path: str) -> tuple[Any, dict[str, Any]]:
    """The estimator in ``path`` and what ``train`` stored beside it (``{}`` if nothing)."""
    from .persistence import read_saved

    with _user_errors(path):
        estimator, extra = read_saved(path)
    return estimator, extra or {}


def _features(args: argparse.Namespace, model: Any, extra: dict, target: str | None) -> Any:
    """Read DATA for ``model``: the trained feature columns of a CSV, by name, its ID column,
    and missing values filled in with the training data's values."""
    fmt = _format(args.data, args.format)
    _check_csv_options(args, fmt, ["sep", "id"] if "id" in args else ["sep"])
    options, imputation = None, extra.get("imputation")
    if fmt == "csv":
        id_column = getattr(args, "id", None)  # predict only: evaluate needs no IDs
        if id_column is None and "id" in args and extra.get("id_column") is not None:
            with _user_errors(args.data):
                header = read_csv_header(args.data, args.sep)
            id_column = extra["id_column"] if extra["id_column"] in header else None
        options = {"sep": args.sep, "id_column": id_column, "missing": imputation is not None}
    data = _read(
        args,
        fmt,
        target if fmt == "csv" else None,
        options,
        features=extra.get("feature_names") if fmt == "csv" else None,
        n_features=model.n_features_in_ if fmt == "svmlight" else None,
    )
    if imputation is not None and fmt == "csv":
        fill(data.X, imputation["values"])
    return data


def _predicted(model: Any, data: Any, path: str, method: str = "predict") -> np.ndarray:
    # ValueError: the number of features does not match the model's.
    with _user_errors(path, f"{path}: ", ValueError):
        return getattr(model, method)(data.X)


def _text(label: Any) -> str:
    return str(label.item() if isinstance(label, np.generic) else label)


def _predict(args: argparse.Namespace) -> int:
    model, extra = _load(args.model)
    if args.output is not None:
        _check_writable(args.output, args.model, args.data)
    if args.proba and not hasattr(model, "predict_proba"):
        raise UserError(
            f"--proba: {args.model} holds a {type(model).__name__}, which gives no "
            "probabilities (a hinge-loss model scores, it does not estimate probabilities); "
            "train with --loss softmax for them"
        )
    data = _features(args, model, extra, target=None)
    header, columns = ["prediction"], [[_text(v) for v in _predicted(model, data, args.data)]]
    if data.ids is not None:
        id_column = args.id if args.id is not None else extra["id_column"]
        header, columns = [id_column, *header], [data.ids, *columns]
    if args.proba:
        proba = _predicted(model, data, args.data, "predict_proba")
        header += [_text(c) for c in model.classes_]
        columns += [[f"{p:.6g}" for p in proba[:, c]] for c in range(proba.shape[1])]
    rows = [header, *zip(*columns, strict=True)]
    if args.output is None:
        csv.writer(sys.stdout, lineterminator="\n").writerows(rows)
        return 0
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    with _writing(args.output):  # atomic: a full disk leaves the old file as it was
        write_atomically(args.output, text.getvalue().encode("utf-8"))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    model, extra = _load(args.model)
    fmt = _format(args.data, args.format)
    target = None
    if fmt == "csv" and args.labels is None:
        target = args.target if args.target is not None else extra.get("target")
        if target is None:
            raise _needs_labels(f"evaluate needs the labels of {args.data}", args.data, args.sep)
    elif args.target is not None:
        raise UserError(f"--target names a CSV column, but {args.data} is {fmt}")
    data = _features(args, model, extra, target=target)
    y = _labels(data, args.data, args.labels, missing="pass --labels FILE")
    predicted = _predicted(model, data, args.data)
    labels, true_index, predicted_index = _encode(model.classes_, y, predicted)
    from .plot import confusion_counts

    confusion = confusion_counts(true_index, predicted_index, len(labels))
    present = np.flatnonzero(confusion.sum(0) + confusion.sum(1))  # scikit-learn's classes
    confusion = confusion[np.ix_(present, present)]
    report = classification_report(confusion, [_text(labels[c]) for c in present])
    if args.json:
        print(report_json(report))
        return 0
    correct, n = int(np.trace(confusion)), int(confusion.sum())
    source = f", target {data.target!r}" if data.target else ""
    print(f"{args.data} ({fmt}): {n} samples{source}")
    print(f"accuracy: {correct / n:.4f} ({correct} of {n} correct)\n")
    print(report_text(report, confusion))
    return 0


def _encode(classes: np.ndarray, y: np.ndarray, predicted: np.ndarray) -> tuple[list, Any, Any]:
    """Index the model's classes, then unseen labels (Python values: mixed types are unequal)."""
    labels = classes.tolist()
    index = {label: i for i, label in enumerate(labels)}
    for label in sorted(set(y.tolist()) - set(index), key=str):
        index[label] = len(labels)
        labels.append(label)
    true_index = np.array([index[v] for v in y.tolist()], dtype=np.intp)
    return labels, true_index, np.array([index[v] for v in predicted.tolist()], dtype=np.intp)


def _gradcheck(args: argparse.Namespace) -> int:
    dtype, reg = np.dtype(args.dtype), 0.1
    loss, name = (svm_loss, "svm_loss") if args.loss == "hinge" else (softmax_loss, "softmax_loss")
    X, y, W, b = _gradcheck_problem(args.loss, dtype, args.seed)
    print(
        f"gradient check of {name} in {dtype.name} on random data: {X.shape[0]} samples, "
        f"{X.shape[1]} features, {W.shape[0]} classes, reg={reg}, seed {args.seed}"
    )
    _, dW, db = loss(W, b, X, y, reg)
    passed = True
    for label, param, grad in (("W", W, dW), ("b", b, db)):
        result = check_gradient(lambda _: loss(W, b, X, y, reg)[0], param, grad, seed=args.seed)
        passed = passed and result.passed
        print(f"\nd loss / d{label}:")
        print("  " + result.report().replace("\n", "\n  "))
    print("\ngradient check " + ("passed" if passed else "FAILED"))
    return 0 if passed else 1


def _gradcheck_problem(loss: str, dtype: np.dtype, seed: int, shape: tuple = (40, 12, 5)) -> tuple:
    """Random X, y, W, b; for the hinge, no margin within 0.05 of its kink."""
    # A difference straddling a kink is off by half the slope's jump; h = 1e-3 (float32)
    # moves a margin by at most h·max(1, |x|) << 0.05, so such rows are redrawn.
    n, d, c = shape
    rng = np.random.default_rng(seed)
    W = (0.1 * rng.standard_normal((c, d))).astype(dtype)
    b = (0.1 * rng.standard_normal(c)).astype(dtype)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, c, size=n)
    for _ in range(1000 if loss == "hinge" else 0):
        S = X.astype(np.float64) @ W.T.astype(np.float64) + b
        margins = S - S[np.arange(n), y][:, None] + 1.0
        margins[np.arange(n), y] = np.inf  # the true class has no hinge term
        near = np.flatnonzero(np.any(np.abs(margins) < 0.05, axis=1))
        if near.size == 0:
            break
        X[near] = rng.standard_normal((near.size, d)).astype(dtype)
    return X, y, W, b


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(seed=getattr(args, "seed", 0))
    return 0


def _bounded(kind: type, low: float, high: float = np.inf, *, words: tuple = (), nonzero=False):
    """An argparse ``type``: a finite number in ``[low, high)``, or one of ``words``."""

    def convert(text: str) -> Any:
        if text.lower() in words:
            return None if text.lower() == "none" else text.lower()
        try:
            value = kind(text)
        except ValueError:
            expected = "an integer" if kind is int else "a number"
            expected += "".join(f" or {w!r}" for w in words)
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not np.isfinite(value) or value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {text}")
        if value >= high:
            raise argparse.ArgumentTypeError(f"must be below {high}, got {text}")
        if nonzero and value == 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return convert


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, except that a text with line breaks (examples) is kept as is."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _arg(spec: str, text: str, **options: Any) -> tuple[list[str], dict[str, Any]]:
    """One ``add_argument`` call: flags, then a metavar in capitals (``"-o --output MODEL"``)."""
    flags = spec.split()
    if flags[-1].isupper():
        options["metavar"] = flags.pop()
    return flags or [options["metavar"].lower()], {**options, "help": text}


_DATA = _arg("DATA", "data file: .csv (header row), .npz (arrays X, y), .svm/.svmlight/.libsvm")
_MODEL = _arg("MODEL", "model file written by 'linclf train'")
_FORMAT = _arg("--format", "format of DATA if not told by its extension", choices=_FORMATS)
_MAX_BYTES = _arg(
    "--max-bytes N",
    "bytes an .npz or svmlight DATA may take in memory. Default: max(64 MiB, 16 × its size)",
    type=_bounded(int, 1),
)
_LOSS = {"choices": sorted(ESTIMATORS), "default": "hinge"}
_NAMED_SEPARATORS = {"tab": "\t", "\\t": "\t", "space": " ", "comma": ",", "semicolon": ";"}


def _separator(text: str) -> str:
    """An argparse ``type``: one character, ``auto``, or a name (``tab``, ``\\t``, ``space``)."""
    sep = _NAMED_SEPARATORS.get(text.lower(), text)
    if sep != "auto" and (len(sep) != 1 or sep in '"\r\n'):
        raise argparse.ArgumentTypeError(
            f"expected one character, 'auto', 'tab' or 'space', got {text!r}"
        )
    return sep


def _columns(text: str) -> list[str]:
    """An argparse ``type``: comma-separated column names."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected COL[,COL...], got {text!r}")
    return names


_SEP = _arg(
    "--sep SEP",
    "CSV field separator: one character, 'tab', 'space', or 'auto' (guessed from the first "
    "lines among , ; tab | space). Default: auto",
    type=_separator,
    default="auto",
)
_PROGRESS = _arg(
    "--progress",
    "show the progress of reading DATA on stderr (default: for files over 50 MB when stderr "
    "is a terminal)",
    action="store_true",
)


def _dtype(default: str, text: str) -> tuple:
    return _arg("--dtype", f"{text}. Default: {default}", choices=_FLOATS, default=default)


_SEED = _bounded(int, 0)  # NumPy's generators take non-negative seeds

# Hyperparameters (option, type, help), SUPPRESSed unless given: the estimator's defaults apply.
_AUTO, _NONE = _bounded(float, 0.0, words=("auto",)), _bounded(float, 0.0, words=("none",))
_HYPERPARAMETERS = [
    ("--reg F", _AUTO, "L2 strength, or 'auto' (chosen for the data). Default: auto"),
    (
        "--learning-rate F",
        _bounded(float, 0.0, nonzero=True),
        "SGD step size. Default: 0.003 (hinge), 0.05 (softmax)",
    ),
    ("--momentum F", _bounded(float, 0.0, 1.0), "momentum in [0, 1). Default: 0.9"),
    ("--batch-size N", _bounded(int, 1), "rows per minibatch. Default: 64 (hinge), 32 (softmax)"),
    ("--max-epochs N", _bounded(int, 1), "SGD epochs or L-BFGS iterations at most. Default: auto"),
    ("--tol F", _NONE, "the solver's stopping tolerance ('none': never stop). Default: auto"),
]
_TRAINING = [
    _arg(
        "--solver",
        "lbfgs: to the optimum, in memory; sgd: minibatch SGD (the options above and "
        "below it: learning rate to tol). Default: auto (docs/solvers.md)",
        choices=("auto", "lbfgs", "sgd"),
        default=argparse.SUPPRESS,
    ),
    *(_arg(spec, text, type=t, default=argparse.SUPPRESS) for spec, t, text in _HYPERPARAMETERS),
    _arg("--seed N", "seed of the shuffling and of --test-size. Default: 0", type=_SEED, default=0),
    _arg(
        "--class-weight",
        "balanced: weight each class by n_samples / (n_classes × its count). Default: none",
        choices=("balanced",),
        default=argparse.SUPPRESS,
    ),
    _arg(
        "--early-stopping",
        "hold out --validation-fraction of the rows (stratified), stop SGD when their "
        "accuracy stops improving, keep the best epoch (implies the sgd solver)",
        action="store_true",
        default=argparse.SUPPRESS,
    ),
    _arg(
        "--validation-fraction F",
        "fraction held out by --early-stopping, in (0, 1). Default: 0.1",
        type=_bounded(float, 0.0, 1.0, nonzero=True),
        default=argparse.SUPPRESS,
    ),
    _arg(
        "--test-size F",
        "hold out this fraction of the rows (stratified), train on the rest and print the "
        "held-out accuracy; in (0, 1)",
        type=_bounded(float, 0.0, 1.0, nonzero=True),
    ),
    _arg("--no-standardize", "train on raw features, not standardized ones", action="store_true"),
    _dtype("float32", "training precision"),
    _arg("-v --verbose", "show the progress of the epochs", action="store_true"),
]
# A list: mutually exclusive options; a (title, description, arguments) triple: a group.
_TRAIN = [
    _DATA,
    [
        _arg("--target COL", "CSV column of the labels (others: features)"),
        _arg("--labels FILE", "labels, one per line, for DATA without a label column"),
    ],
    _arg("-o --output MODEL", "model file to write", required=True),
    _FORMAT,
    _arg("--n-features N", "svmlight DATA: its number of columns", type=_bounded(int, 1)),
    _MAX_BYTES,
    (
        "CSV columns",
        "features are every column but the target, the ID and --drop",
        [
            _SEP,
            _arg(
                "--drop COL[,COL...]",
                "columns that are no features (repeatable)",
                type=_columns,
                action="extend",
                default=[],
            ),
            _arg("--id COL", "column of row IDs: no feature; predict writes it beside its rows"),
            _arg(
                "--missing",
                "missing values (empty, NA, N/A, nan, null, none, ?): error (refuse them, "
                "naming the line and column), or fill them in with the training rows' mean "
                "or median of the column, or zero; predict and evaluate fill in the same "
                "values. Default: error",
                choices=STRATEGIES,
                default="error",
            ),
            _PROGRESS,
        ],
    ),
    _arg("--loss", "hinge: LinearSVM; softmax: SoftmaxClassifier. Default: hinge", **_LOSS),
    ("training", "defaults are those of the estimator (see 'help(linclf.LinearSVM)')", _TRAINING),
]
_OUT = _arg("-o --output FILE", "where to write the predictions (default: stdout)")
_ID = _arg(
    "--id COL", "CSV column of row IDs, written first (default: the model's, if DATA has it)"
)
_PREDICT = [
    _MODEL,
    _DATA,
    _OUT,
    _arg(
        "--proba",
        "also write one column of probabilities per class (softmax models only)",
        action="store_true",
    ),
    _FORMAT,
    _MAX_BYTES,
    _SEP,
    _ID,
    _PROGRESS,
]
_EVALUATE = [
    _MODEL,
    _DATA,
    [
        _arg("--target COL", "CSV column of the labels (default: the model's)"),
        _arg("--labels FILE", "labels, one per line, for DATA"),
    ],
    _arg("--json", "print the report as JSON on stdout", action="store_true"),
    _FORMAT,
    _MAX_BYTES,
    _SEP,
    _PROGRESS,
]
_GRADCHECK = [
    _arg("--loss", "default: hinge", **_LOSS),
    _dtype("float64", "data and parameter precision (float32: looser tolerances)"),
    _arg("--seed N", "seed of the random data", type=_SEED, default=0),
]
_TRAIN_EXAMPLES = """examples:
  linclf train iris.csv --target species -o iris.model
  linclf train digits.npz --loss softmax --max-epochs 50 -o digits.model
  linclf train features.csv --labels labels.txt -o model.npz
  linclf train news.svmlight --reg 1e-4 -v -o news.model
  linclf train scans.csv --target digit --id id --missing median --test-size 0.2 -o m.model"""

# name: (run, help, description, arguments[, epilog])
_COMMANDS = {
    "demo": (
        _demo,
        "gradient check, training and held-out accuracy on the bundled digits",
        "Run the demo on the 8x8 digits bundled with linclf: split 80/20, check the gradient of "
        "the SVM loss, train a LinearSVM, report the held-out accuracy. 'linclf' alone runs it.",
        [_arg("--seed N", "seed of the split and training", type=_SEED, default=0)],
    ),
    "train": (
        _train,
        "train a classifier on a data file and save the model",
        "Train a multiclass linear classifier by minibatch SGD and save it. Features are "
        "standardized by default, the statistics folded into the model (it predicts from raw "
        "features). Ctrl-C stops training after the current step and still saves the model.",
        _TRAIN,
        _TRAIN_EXAMPLES,
    ),
    "predict": (
        _predict,
        "predict the labels of a data file with a saved model",
        "Write one predicted label per sample, under a header 'prediction', to stdout or a file; "
        "the ID column first, if any, and with --proba one probability column per class. "
        "CSV feature columns are picked by the names the model was trained on (any order; "
        "others, the target included, are ignored).",
        _PREDICT,
    ),
    "evaluate": (
        _evaluate,
        "accuracy, per-class precision, recall and F1, and confusion matrix on labeled data",
        "Compare a saved model's predictions on DATA with its labels: accuracy, precision, "
        "recall, F1 and support of each class, their macro and weighted averages, and the "
        "confusion matrix; as a table, or as JSON with --json.",
        _EVALUATE,
    ),
    "gradcheck": (
        _gradcheck,
        "check the analytic gradients of a loss against finite differences",
        "Compare the analytic gradients dW and db of svm_loss (hinge) or softmax_loss with "
        "centered finite differences on random data (40 samples, 12 features, 5 classes, "
        "reg=0.1). Exit code 0 when both pass, 1 otherwise.",
        _GRADCHECK,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``linclf`` command, with one subparser per command.

    Returns
    -------
    argparse.ArgumentParser
        Parsing sets ``args.run``, the chosen command's function (absent: the demo runs).

    Examples
    --------
    >>> args = build_parser().parse_args(["train", "iris.csv", "--target", "species", "-o", "m"])
    >>> args.command, args.data, args.target, args.output, args.run.__name__
    ('train', 'iris.csv', 'species', 'm', '_train')
    """
    parser = argparse.ArgumentParser(
        prog="linclf",
        description="Linear classifiers for NumPy: train, apply and evaluate a multiclass "
        "linear SVM or softmax classifier from data files. Without a command, runs the demo.",
        epilog="Run 'linclf COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"linclf {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (run, summary, description, arguments, *epilog) in _COMMANDS.items():
        command = commands.add_parser(
            name,
            help=summary,
            description=description,
            epilog=next(iter(epilog), None),
            formatter_class=_Formatter,
        )
        _add_arguments(command, arguments)
        command.set_defaults(run=run)
    return parser


def _add_arguments(parser: Any, arguments: list) -> None:
    for entry in arguments:
        if isinstance(entry, list):
            _add_arguments(parser.add_mutually_exclusive_group(), entry)
        elif len(entry) == 3:
            _add_arguments(parser.add_argument_group(entry[0], entry[1]), entry[2])
        else:
            parser.add_argument(*entry[0], **entry[1])
