"""The ``linclf`` command line (``linclf`` or ``python -m linclf``): train, predict,
evaluate, gradcheck, demo. ``docs/cli.md`` is its guide; the data files are read by
:mod:`linclf.datasets.files`.

``train`` saves, beside the estimator (``extra`` of :meth:`~linclf.LinearSVM.save`), the
target column, the feature columns and the data format, so that ``predict`` and
``evaluate`` pick the same columns by name. Exit codes: 0 on success; 1 when the data or a
file is not usable, reported as one line ``linclf: error: ...`` on stderr; 2 for usage
errors (argparse's); 130 after a second Ctrl-C (the first one stops training after the
current step, and the model is still saved). Unexpected exceptions keep their traceback:
they are bugs to report.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

import numpy as np

from ._version import __version__
from .datasets.files import (
    DataFileError,
    Dataset,
    format_of,
    read_csv_header,
    read_data,
    read_labels,
)
from .estimator import LinearSVM, SoftmaxClassifier
from .exceptions import ModelFileError
from .gradcheck import check_gradient
from .objective import softmax_loss, svm_loss
from .persistence import read_saved
from .plot import confusion_counts

__all__ = ["build_parser", "main"]

ESTIMATORS = {"hinge": LinearSVM, "softmax": SoftmaxClassifier}


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
        0 on success, 1 for an unusable input (after one line ``linclf: error: ...`` on
        stderr), 130 when interrupted; usage errors exit with 2 through ``SystemExit``.

    Examples
    --------
    >>> main(["gradcheck", "--loss", "softmax"])  # doctest: +ELLIPSIS
    gradient check of softmax_loss in float64 ...
    gradient check passed
    0
    """
    args = build_parser().parse_args(argv)
    run = getattr(args, "run", _demo)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return run(args)
    except UserError as exc:
        print(f"linclf: error: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("linclf: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``linclf predict ... | head``): stop quietly, as shell
        # tools do, and keep Python from complaining about the unflushed stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # A user of the command line needs the message, not the library's source location.
    print(f"linclf: warning: {_one_line(str(message))}", file=file or sys.stderr, flush=True)


@contextlib.contextmanager
def _reading(path: str) -> Iterator[None]:
    """Turn the documented failures of reading ``path`` into one-line user errors."""
    try:
        yield
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not a file") from None
    except PermissionError:
        raise UserError(f"{path}: permission denied") from None
    except (DataFileError, ModelFileError) as exc:
        raise UserError(str(exc)) from None


@contextlib.contextmanager
def _writing(path: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def _check_writable(path: str) -> None:
    """Fail before the work, not after it, when the output's folder does not exist."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"cannot write {path}: no such directory {folder}")
    if os.path.isdir(path):
        raise UserError(f"cannot write {path}: it is a directory")


def _format(path: str, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    try:
        return format_of(path)
    except DataFileError as exc:
        raise UserError(f"{exc} with --format") from None


def _columns_hint(path: str) -> str:
    with _reading(path):
        columns = read_csv_header(path)
    return ", ".join(repr(c) for c in columns)


def _labels(
    data: Dataset, path: str, labels_path: str | None, y: Any = None, *, missing: str
) -> np.ndarray:
    """``data``'s own labels, or those of ``labels_path`` (read unless given as ``y``)."""
    if labels_path is None:
        if data.y is None:
            raise UserError(f"{path} has no labels (no array y): {missing}")
        return data.y
    if data.y is not None:
        where = "its array y" if data.format == "npz" else "the first field of each line"
        raise UserError(f"{path} has labels of its own ({where}); drop --labels")
    if y is None:
        with _reading(labels_path):
            y = read_labels(labels_path)
    if y.shape[0] != data.X.shape[0]:
        raise UserError(
            f"{labels_path} has {y.shape[0]} labels but {path} has {data.X.shape[0]} samples"
        )
    return y


def _train(args: argparse.Namespace) -> int:
    fmt = _format(args.data, args.format)
    _check_writable(args.output)
    if fmt == "csv" and args.target is None and args.labels is None:
        raise UserError(
            f"{args.data} needs labels: pass --target with one of its columns "
            f"({_columns_hint(args.data)}), or --labels FILE"
        )
    labels = None
    if args.labels is not None:  # read first: it is small, and a typo in it shows at once
        with _reading(args.labels):
            labels = read_labels(args.labels)
    with _reading(args.data):
        data = read_data(args.data, args.target, fmt)
    y = _labels(data, args.data, args.labels, labels, missing="add them, or pass --labels FILE")
    names = [option[2:].replace("-", "_") for option, *_ in _HYPERPARAMETERS]
    hyperparameters = {name: getattr(args, name) for name in names if name in args}
    estimator = ESTIMATORS[args.loss](
        standardize=not args.no_standardize,
        dtype=np.dtype(args.dtype).type,  # np.float32 or np.float64, as the estimator's default
        random_state=args.seed,
        verbose=int(args.verbose),
        **hyperparameters,
    )
    classes = np.unique(y)
    shown = ", ".join(str(v) for v in classes[:8].tolist()) + (", ..." if len(classes) > 8 else "")
    target = f"; target {data.target!r}" if data.target else ""
    print(
        f"{args.data} ({fmt}): {data.X.shape[0]} samples, {data.X.shape[1]} features, "
        f"{classes.shape[0]} classes ({shown}){target}"
    )
    scaling = "raw features" if args.no_standardize else "standardized features"
    print(
        f"training {type(estimator).__name__} ({args.loss} loss, {args.dtype}, {scaling}, "
        f"seed {args.seed}); Ctrl-C stops early and keeps the model",
        flush=True,
    )
    started = time.perf_counter()
    try:
        estimator.fit(data.X, y)
    except ValueError as exc:  # invalid data or hyperparameters, or divergence: documented
        raise UserError(f"training failed: {exc}") from None
    seconds = time.perf_counter() - started
    accuracy = estimator.score(data.X, y)
    print(
        f"trained in {seconds:.2f} s: {estimator.n_iter_} epochs, training accuracy {accuracy:.4f}"
    )
    extra = {"target": data.target, "feature_names": data.feature_names, "format": fmt}
    with _writing(args.output):
        estimator.save(args.output, extra=extra)
    print(f"saved the model to {args.output}")
    return 0


def _load(path: str) -> tuple[Any, dict[str, Any]]:
    """The estimator in ``path`` and what ``train`` stored beside it (``{}`` if nothing)."""
    with _reading(path):
        estimator, extra = read_saved(path)
    return estimator, extra or {}


def _features(
    args: argparse.Namespace, model: Any, extra: dict[str, Any], target: str | None
) -> Dataset:
    """Read DATA for ``model``: the trained feature columns of a CSV, by name."""
    fmt = _format(args.data, args.format)
    with _reading(args.data):
        return read_data(
            args.data,
            target if fmt == "csv" else None,
            fmt,
            features=extra.get("feature_names") if fmt == "csv" else None,
            n_features=model.n_features_in_ if fmt == "svmlight" else None,
        )


def _predicted(model: Any, data: Dataset, path: str) -> np.ndarray:
    try:
        return model.predict(data.X)
    except ValueError as exc:  # the number of features does not match the model's
        raise UserError(f"{path}: {exc}") from None


def _text(label: Any) -> str:
    return str(label.item() if isinstance(label, np.generic) else label)


def _predict(args: argparse.Namespace) -> int:
    model, extra = _load(args.model)
    if args.output is not None:
        _check_writable(args.output)
    predicted = _predicted(model, _features(args, model, extra, target=None), args.data)
    if args.output is None:
        _write_column(sys.stdout, predicted)
    else:
        with _writing(args.output), open(args.output, "w", newline="", encoding="utf-8") as fh:
            _write_column(fh, predicted)
    return 0


def _write_column(fh: TextIO, predicted: np.ndarray) -> None:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(["prediction"])
    writer.writerows([_text(v)] for v in predicted)


def _evaluate(args: argparse.Namespace) -> int:
    model, extra = _load(args.model)
    fmt = _format(args.data, args.format)
    target = None
    if fmt == "csv" and args.labels is None:
        target = args.target if args.target is not None else extra.get("target")
        if target is None:
            raise UserError(
                f"evaluate needs the labels of {args.data}: pass --target with one of its "
                f"columns ({_columns_hint(args.data)}), or --labels FILE"
            )
    elif args.target is not None:
        raise UserError(f"--target names a CSV column, but {args.data} is {fmt}")
    data = _features(args, model, extra, target=target)
    y = _labels(data, args.data, args.labels, missing="pass --labels FILE")
    predicted = _predicted(model, data, args.data)
    labels, true_index, predicted_index = _encode(model.classes_, y, predicted)
    k = len(labels)
    confusion = confusion_counts(true_index, predicted_index, k)
    correct, n = int(np.trace(confusion)), int(confusion.sum())
    source = f", target {data.target!r}" if data.target else ""
    print(f"{args.data} ({fmt}): {n} samples{source}")
    print(f"accuracy: {correct / n:.4f} ({correct} of {n} correct)\n")
    names = [_text(v) for v in labels]
    hits, n_predicted, support = np.diag(confusion), confusion.sum(0), confusion.sum(1)
    rows = [
        [names[c], _ratio(hits[c], n_predicted[c]), _ratio(hits[c], support[c]), str(support[c])]
        for c in range(k)
    ]
    print(_table(["class", "precision", "recall", "support"], rows) + "\n")
    print("confusion matrix (rows: true class, columns: predicted class)")
    rows = [[names[c], *(str(v) for v in confusion[c])] for c in range(k)]
    print(_table(["true \\ predicted", *names], rows))
    return 0


def _encode(
    classes: np.ndarray, y: np.ndarray, predicted: np.ndarray
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Index the labels: the model's classes, then labels of ``y`` the model never saw.

    Works on Python values, so labels of different types (the model's strings, a file's
    numbers) compare as unequal instead of failing.
    """
    labels = classes.tolist()
    index = {label: i for i, label in enumerate(labels)}
    for label in sorted(set(y.tolist()) - set(index), key=str):
        index[label] = len(labels)
        labels.append(label)
    true_index = np.array([index[v] for v in y.tolist()], dtype=np.intp)
    predicted_index = np.array([index[v] for v in predicted.tolist()], dtype=np.intp)
    return labels, true_index, predicted_index


def _ratio(numerator: int, denominator: int) -> str:
    # Precision of a class never predicted (recall of one never present) is 0/0: undefined.
    return f"{numerator / denominator:.4f}" if denominator else "n/a"


def _table(header: list[str], rows: list[list[str]]) -> str:
    """Columns separated by two spaces: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[j]) for row in [header, *rows]) for j in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _gradcheck(args: argparse.Namespace) -> int:
    dtype = np.dtype(args.dtype)
    loss, name = (svm_loss, "svm_loss") if args.loss == "hinge" else (softmax_loss, "softmax_loss")
    X, y, W, b = _gradcheck_problem(args.loss, dtype, args.seed)
    reg = 0.1
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


def _gradcheck_problem(
    loss: str, dtype: np.dtype, seed: int, shape: tuple[int, int, int] = (40, 12, 5)
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random X, y, W, b; for the hinge, no margin within 0.05 of its kink.

    A centered difference that straddles a kink is wrong by up to half the slope's jump;
    the checker sets detected kinks aside, but a small jump can go unnoticed and fail the
    comparison. A step of ``h = 1e-3`` (float32) moves a margin by at most
    ``h · max(1, |x|)``, well below 0.05 here, so rows with a margin that close to 0 are
    redrawn.
    """
    n, d, c = shape
    rng = np.random.default_rng(seed)
    W = (0.1 * rng.standard_normal((c, d))).astype(dtype)
    b = (0.1 * rng.standard_normal(c)).astype(dtype)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, c, size=n)
    if loss != "hinge":
        return X, y, W, b
    for _ in range(1000):
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


def _bounded(
    kind: type, low: float | None = None, high: float | None = None, *, words: tuple = ()
) -> Callable[[str], Any]:
    """An argparse ``type``: a finite number with ``low <= value < high``, or one of
    ``words`` (case-insensitive; "none" is returned as None, another word as itself)."""

    def convert(text: str) -> Any:
        if text.lower() in words:
            return None if text.lower() == "none" else text.lower()
        try:
            value = kind(text)
        except ValueError:
            expected = "an integer" if kind is int else "a number"
            alternatives = "".join(f" or {w!r}" for w in words)
            raise argparse.ArgumentTypeError(
                f"expected {expected}{alternatives}, got {text!r}"
            ) from None
        if not np.isfinite(value) or (low is not None and value < low):
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {text}")
        if high is not None and value >= high:
            raise argparse.ArgumentTypeError(f"must be below {high}, got {text}")
        return value

    return convert


def _positive_float(text: str) -> float:
    value = _bounded(float, 0.0)(text)
    if value == 0.0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, except that a text with line breaks (examples) is kept as is."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _arg(*flags: str, **options: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    """One ``add_argument(*flags, **options)`` call, as a table entry."""
    return flags, options


def _seed(what: str) -> tuple:
    return _arg("--seed", type=int, default=0, metavar="N", help=f"seed of {what}")


_DATA = _arg(
    "data",
    metavar="DATA",
    help="data file: .csv (header row), .npz (arrays X and y) or svmlight (.svm, .svmlight, "
    ".libsvm)",
)
_MODEL = _arg("model", metavar="MODEL", help="model file written by 'linclf train'")
_FORMAT = _arg(
    "--format",
    choices=["csv", "npz", "svmlight"],
    help="format of DATA when its extension does not tell it",
)
_LOSS = {"choices": sorted(ESTIMATORS), "default": "hinge"}

# The estimator's hyperparameters: (option, metavar, type, help). They are left out of the
# namespace unless given (SUPPRESS), so that the estimator's own defaults apply.
_HYPERPARAMETERS = [
    (
        "--reg",
        "F",
        _bounded(float, 0.0, words=("auto",)),
        "L2 strength, or 'auto' (1/(2N)). Default: 1e-3 (hinge), auto (softmax)",
    ),
    (
        "--learning-rate",
        "F",
        _positive_float,
        "SGD step size. Default: 0.003 (hinge), 0.05 (softmax)",
    ),
    ("--momentum", "F", _bounded(float, 0.0, 1.0), "momentum in [0, 1). Default: 0.9"),
    (
        "--batch-size",
        "N",
        _bounded(int, 1),
        "rows per minibatch. Default: 64 (hinge), 32 (softmax)",
    ),
    ("--max-epochs", "N", _bounded(int, 1), "passes over the data at most. Default: 300"),
    (
        "--tol",
        "F",
        _bounded(float, 0.0, words=("none",)),
        "stop when the loss improved by less than F for 5 epochs; 'none' runs --max-epochs "
        "epochs. Default: 1e-4",
    ),
]
_TRAINING = [
    *(
        _arg(option, metavar=metavar, type=kind, default=argparse.SUPPRESS, help=text)
        for option, metavar, kind, text in _HYPERPARAMETERS
    ),
    _seed("the shuffling. Default: 0"),
    _arg(
        "--no-standardize",
        action="store_true",
        help="train on the raw features instead of standardized ones",
    ),
    _arg(
        "--dtype",
        choices=["float32", "float64"],
        default="float32",
        help="training precision. Default: float32",
    ),
    _arg("-v", "--verbose", action="store_true", help="show the progress of the epochs"),
]

# name: (run, help, description, arguments, epilog). In arguments, a list is a group of
# mutually exclusive options and a (title, description, arguments) triple a titled group.
_COMMANDS = {
    "demo": (
        _demo,
        "gradient check, training and held-out accuracy on the bundled digits",
        "Run the demo on the 8x8 digits bundled with linclf: split 80/20, check the gradient "
        "of the SVM loss, train a LinearSVM and report the held-out accuracy. This is what "
        "'linclf' without a command runs.",
        [_seed("the split and training")],
        None,
    ),
    "train": (
        _train,
        "train a classifier on a data file and save the model",
        "Train a multiclass linear classifier by minibatch SGD and save it. The features are "
        "standardized by default; the statistics are folded into the model, which therefore "
        "predicts from raw features. Ctrl-C stops training after the current step and still "
        "saves the model.",
        [
            _DATA,
            [
                _arg(
                    "--target",
                    metavar="COL",
                    help="CSV column holding the labels (all others: features)",
                ),
                _arg(
                    "--labels",
                    metavar="FILE",
                    help="labels, one per line, for DATA without a label column",
                ),
            ],
            _arg("-o", "--output", metavar="MODEL", required=True, help="model file to write"),
            _FORMAT,
            _arg(
                "--loss",
                **_LOSS,
                help="hinge: LinearSVM (multiclass hinge); softmax: SoftmaxClassifier "
                "(cross-entropy). Default: hinge",
            ),
            (
                "training",
                "defaults are those of the estimator (see 'help(linclf.LinearSVM)')",
                _TRAINING,
            ),
        ],
        "examples:\n"
        "  linclf train iris.csv --target species -o iris.model\n"
        "  linclf train digits.npz --loss softmax --max-epochs 50 -o digits.model\n"
        "  linclf train features.csv --labels labels.txt -o model.npz\n"
        "  linclf train news.svmlight --reg 1e-4 -v -o news.model",
    ),
    "predict": (
        _predict,
        "predict the labels of a data file with a saved model",
        "Write one predicted label per sample, under a header 'prediction', to stdout or to a "
        "file. For CSV data, the feature columns the model was trained on are picked by name "
        "(any order; other columns, the target included, are ignored).",
        [
            _MODEL,
            _DATA,
            _arg(
                "-o",
                "--output",
                metavar="FILE",
                help="where to write the predictions (default: stdout)",
            ),
            _FORMAT,
        ],
        None,
    ),
    "evaluate": (
        _evaluate,
        "accuracy, per-class precision and recall, and confusion matrix on labeled data",
        "Compare a saved model's predictions on DATA with its labels: prints the accuracy, the "
        "precision, recall and support of each class, and the confusion matrix.",
        [
            _MODEL,
            _DATA,
            [
                _arg(
                    "--target",
                    metavar="COL",
                    help="CSV column holding the labels (default: the one the model was "
                    "trained with)",
                ),
                _arg("--labels", metavar="FILE", help="labels, one per line, for DATA"),
            ],
            _FORMAT,
        ],
        None,
    ),
    "gradcheck": (
        _gradcheck,
        "check the analytic gradients of a loss against finite differences",
        "Compare the analytic gradients dW and db of svm_loss (hinge) or softmax_loss with "
        "centered finite differences on random data (40 samples, 12 features, 5 classes, "
        "reg=0.1) and print both reports. Exit code 0 when both pass, 1 otherwise.",
        [
            _arg("--loss", **_LOSS, help="default: hinge"),
            _arg(
                "--dtype",
                choices=["float32", "float64"],
                default="float64",
                help="precision of the data and parameters (float32 uses looser tolerances). "
                "Default: float64",
            ),
            _seed("the random data"),
        ],
        None,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``linclf`` command, with one subparser per command.

    Returns
    -------
    argparse.ArgumentParser
        Parsing sets ``args.run``, the function that runs the chosen command (absent when
        no command is given: then the demo runs).

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
    for name, (run, summary, description, arguments, epilog) in _COMMANDS.items():
        command = commands.add_parser(
            name, help=summary, description=description, epilog=epilog, formatter_class=_Formatter
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
