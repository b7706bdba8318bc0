r"""Pictures of a fitted linear classifier: its training curve, its templates, its errors.

Three functions, each drawing on a matplotlib Axes or Figure it returns:

* :func:`loss_curve`: the objective per epoch (``loss_curve_``), and the validation
  accuracy (``validation_scores_``) on a second axis when training held data out;
* :func:`templates`: each row of ``coef_`` reshaped to an image, the "template" that
  class's score :math:`s_c = w_c \cdot x + b_c` matches the input against;
* :func:`confusion`: the confusion matrix on ``(X, y)``, counted with NumPy.

matplotlib is an optional dependency (``pip install 'linclf[plot]'``). It is imported
inside the functions, never by ``import linclf`` or ``import linclf.plot``, so the rest
of the package works without it; calling a function here without it raises
:class:`ImportError` with the install hint. The functions never call ``plt.show()`` and
never pick a backend: use ``matplotlib.use("Agg")`` for files on a machine with no display.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .exceptions import not_fitted_error

__all__ = ["confusion", "loss_curve", "templates"]

_INSTALL_HINT = "linclf.plot needs matplotlib: pip install 'linclf[plot]'"

_NORMALIZE = (None, "true", "pred", "all")


def _pyplot() -> Any:
    """matplotlib.pyplot, or ImportError with the install hint."""
    try:
        # The package first: a missing or blocked matplotlib fails here, not half-way.
        import matplotlib  # noqa: F401
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return plt


def _fitted(est: Any, *names: str) -> None:
    if not all(hasattr(est, name) for name in names):
        raise not_fitted_error(
            f"This {type(est).__name__} instance is not fitted yet (it has no "
            f"{' / '.join(names)}). Call 'fit' before plotting it."
        )


def loss_curve(est: Any, ax: Any = None) -> Any:
    r"""Plot the training objective of each epoch, and the validation accuracy if any.

    Parameters
    ----------
    est : fitted LinearSVM or SoftmaxClassifier
        Any object with ``loss_curve_`` (one value per epoch); when it also has a
        non-empty ``validation_scores_`` (``early_stopping=True``), the validation
        accuracy of each epoch is drawn against a second y axis on the right.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure and axes when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes of the loss (the validation axis is its twin, ``ax.right_ax``).

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    NotFittedError
        When ``est`` has no ``loss_curve_``.

    Notes
    -----
    Epoch ``k`` (1-based, on the x axis) shows the mean minibatch objective
    :math:`\mathcal{L}` of that epoch, penalty included, as recorded by the
    :class:`~linclf.Trainer` (one value per ``partial_fit`` call after ``partial_fit``).

    Examples
    --------
    >>> import matplotlib  # doctest: +SKIP
    >>> matplotlib.use("Agg")  # doctest: +SKIP
    >>> from linclf import LinearSVM
    >>> from linclf.datasets import load_digits
    >>> from linclf.plot import loss_curve
    >>> X, y = load_digits()
    >>> clf = LinearSVM(standardize=True, random_state=0).fit(X, y)  # doctest: +SKIP
    >>> ax = loss_curve(clf)  # doctest: +SKIP
    >>> ax.figure.savefig("loss_curve.png")  # doctest: +SKIP
    """
    plt = _pyplot()
    _fitted(est, "loss_curve_")
    loss = np.asarray(est.loss_curve_, dtype=np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 3.6), layout="constrained")
    epochs = np.arange(1, loss.shape[0] + 1)
    (loss_line,) = ax.plot(epochs, loss, color="C0", marker="." if loss.size <= 50 else None)
    loss_line.set_label("training objective")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean minibatch objective")
    ax.grid(True, alpha=0.3)
    lines = [loss_line]
    scores = getattr(est, "validation_scores_", None)
    if scores is not None and len(scores) > 0:
        scores = np.asarray(scores, dtype=np.float64)
        right = ax.twinx()
        (score_line,) = right.plot(np.arange(1, scores.shape[0] + 1), scores, color="C1")
        score_line.set_label("validation accuracy")
        right.set_ylabel("validation accuracy")
        best = getattr(est, "best_epoch_", None)
        if best is not None:
            ax.axvline(best, color="0.5", linestyle=":", linewidth=1.0)
        ax.right_ax = right
        lines.append(score_line)
    ax.legend(lines, [line.get_label() for line in lines], loc="upper right")
    return ax


def _image_layout(image_shape: Any, n_features: int) -> tuple[tuple[int, ...], bool]:
    """Validate ``image_shape`` against the model; return it as ints and whether it is RGB."""
    if isinstance(image_shape, (numbers.Integral, str)) or not isinstance(image_shape, Sequence):
        raise TypeError(
            f"image_shape must be a tuple such as (8, 8) or (32, 32, 3), got {image_shape!r}"
        )
    shape = tuple(image_shape)
    if not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in shape
    ):
        raise ValueError(f"image_shape must hold positive integers, got {image_shape!r}")
    if len(shape) == 3 and shape[2] == 1:
        shape = shape[:2]  # one channel is a grayscale image
    if not (len(shape) == 2 or (len(shape) == 3 and shape[2] == 3)):
        raise ValueError(
            f"image_shape must be (height, width) or (height, width, 3), got {image_shape!r}"
        )
    if math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape {tuple(image_shape)!r} holds {math.prod(shape)} values, but the "
            f"model has {n_features} features: each row of coef_ must fill one image"
        )
    return tuple(int(n) for n in shape), len(shape) == 3


def _unit_range(image: np.ndarray) -> np.ndarray:
    """Rescale to [0, 1] by the image's own minimum and maximum (constant: 0.5 gray)."""
    low, high = float(image.min()), float(image.max())
    if high == low:
        return np.full_like(image, 0.5)
    return (image - low) / (high - low)


def templates(
    est: Any,
    image_shape: Sequence[int],
    *,
    fig: Any = None,
    ncols: int | None = None,
    cmap: str = "RdBu_r",
    feature_scale: Any = None,
) -> Any:
    r"""Show each class's row of ``coef_`` as an image: the template its score matches.

    Parameters
    ----------
    est : fitted LinearSVM or SoftmaxClassifier
        Any object with ``coef_`` of shape (n_classes, n_features) and ``classes_``.
        For two classes ``coef_`` has one row, :math:`w_1 - w_0`, shown as one template
        titled ``"classes_[1] − classes_[0]"``: bright where a pixel votes for
        ``classes_[1]``.
    image_shape : tuple of int
        ``(height, width)`` for grayscale (``(8, 8)`` for the bundled digits) or
        ``(height, width, 3)`` for RGB (``(32, 32, 3)`` for CIFAR-10). Each row of
        ``coef_`` is reshaped to it in C order, so the features must be the pixels in
        that order (channels last for RGB). ``(height, width, 1)`` counts as grayscale.
    fig : matplotlib.figure.Figure, optional
        The figure to draw into (it should be empty); a new one when None.
    ncols : int, optional
        Templates per row of the grid; by default at most 5.
    cmap : str, default "RdBu_r"
        Colormap of grayscale templates. All of them share one color scale, symmetric
        around 0 (``±max |coef_|``), so a color means the same weight in every panel and
        white means 0. Not used for RGB.
    feature_scale : array-like of shape (n_features,), optional
        Multiply each feature's weight by this before drawing, typically
        ``X.std(axis=0)``: the weight per standard deviation of its pixel. With
        ``standardize=True`` (or any scaling folded into the model) ``coef_`` holds
        weights per raw unit, which are largest on pixels that hardly ever vary
        (the digits' borders) and hide the rest; scaled, the templates show what the
        model learned on the standardized data.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per template, titled with its class label, then (grayscale) a colorbar.

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    NotFittedError
        When ``est`` has no ``coef_``.
    ValueError, TypeError
        When ``image_shape`` is not a valid image shape or does not hold exactly
        ``n_features`` values.

    Notes
    -----
    An RGB template cannot be shown with a colormap, so each one is rescaled to
    :math:`[0, 1]` by its own minimum and maximum, :math:`(w - \min w) /
    (\max w - \min w)`: its colors show where it is most and least positive, not
    how its weights compare with another class's.

    Examples
    --------
    >>> import matplotlib  # doctest: +SKIP
    >>> matplotlib.use("Agg")  # doctest: +SKIP
    >>> from linclf import LinearSVM
    >>> from linclf.datasets import load_digits
    >>> from linclf.plot import templates
    >>> X, y = load_digits()
    >>> clf = LinearSVM(standardize=True, random_state=0).fit(X, y)  # doctest: +SKIP
    >>> fig = templates(clf, (8, 8), feature_scale=X.std(axis=0))  # doctest: +SKIP
    >>> len(fig.axes)  # doctest: +SKIP
    11
    """
    plt = _pyplot()
    _fitted(est, "coef_", "classes_")
    coef = np.asarray(est.coef_, dtype=np.float64)
    classes = np.asarray(est.classes_)
    shape, rgb = _image_layout(image_shape, coef.shape[1])
    if feature_scale is not None:
        scale = np.asarray(feature_scale, dtype=np.float64)
        if scale.shape != (coef.shape[1],) or not np.all(np.isfinite(scale)):
            raise ValueError(
                f"feature_scale must be {coef.shape[1]} finite numbers, one per feature, "
                f"got an array of shape {scale.shape}"
            )
        coef = coef * scale
    if coef.shape[0] == 1 and classes.shape[0] == 2:
        titles = [f"{classes[1]} − {classes[0]}"]
    else:
        titles = [str(label) for label in classes]
    n = coef.shape[0]
    if ncols is None:
        ncols = min(n, 5)
    elif isinstance(ncols, bool) or not isinstance(ncols, numbers.Integral) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    ncols = min(int(ncols), n)
    nrows = math.ceil(n / ncols)
    if fig is None:
        width = 1.5 * ncols + (0.0 if rgb else 0.8)  # room for the colorbar
        fig = plt.figure(figsize=(width, 1.7 * nrows), layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False)
    limit = float(np.max(np.abs(coef))) or 1.0  # all-zero coef_: any symmetric range
    image = None
    for k, ax in enumerate(grid.ravel()):
        if k >= n:
            ax.remove()  # an empty cell of the last row
            continue
        pixels = coef[k].reshape(shape)
        if rgb:
            image = ax.imshow(_unit_range(pixels), interpolation="nearest")
        else:
            image = ax.imshow(pixels, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(titles[k])
        ax.set_xticks([])
        ax.set_yticks([])
    if not rgb:
        fig.colorbar(image, ax=grid.ravel()[:n].tolist(), shrink=0.8, label="weight")
    return fig


def confusion(
    est: Any,
    X: Any,
    y: Any,
    ax: Any = None,
    normalize: str | None = None,
    *,
    annotate: bool = True,
    cmap: str = "Blues",
) -> Any:
    r"""Plot the confusion matrix of ``est`` on ``(X, y)``: rows true, columns predicted.

    Parameters
    ----------
    est : fitted classifier
        Any object with ``predict`` and ``classes_``; rows and columns follow
        ``classes_``.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        True labels, each one of ``est.classes_``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure and axes when None.
    normalize : {None, "true", "pred", "all"}, default None
        None: counts. ``"true"``: each row divided by its sum (the recall of each class
        on the diagonal); ``"pred"``: each column divided by its sum (the precision);
        ``"all"``: divided by the number of samples. An empty row or column stays 0.
    annotate : bool, default True
        Write each cell's value in it.
    cmap : str, default "Blues"

    Returns
    -------
    ax : matplotlib.axes.Axes
        Its image holds the matrix (``ax.images[0].get_array()``).

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    ValueError
        When ``normalize`` is not one of the above, when ``y`` does not have one label
        per row of ``X``, or when ``y`` holds a label that is not in ``est.classes_``.

    Notes
    -----
    With true class indices :math:`t_i` and predicted ones :math:`p_i`, entry
    :math:`M_{jk} = \#\{i : t_i = j,\ p_i = k\}`, counted in one ``np.bincount`` of
    :math:`C t_i + p_i`. The diagonal holds the correct predictions, so
    :math:`\operatorname{tr} M / N` is the accuracy (``est.score(X, y)``).

    Examples
    --------
    >>> import matplotlib  # doctest: +SKIP
    >>> matplotlib.use("Agg")  # doctest: +SKIP
    >>> from linclf import LinearSVM
    >>> from linclf.datasets import load_digits
    >>> from linclf.plot import confusion
    >>> X, y = load_digits()
    >>> clf = LinearSVM(standardize=True, random_state=0)
    >>> clf = clf.fit(X[:1400], y[:1400])  # doctest: +SKIP
    >>> ax = confusion(clf, X[1400:], y[1400:], normalize="true")  # doctest: +SKIP
    """
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be one of {list(_NORMALIZE)}, got {normalize!r}")
    plt = _pyplot()
    _fitted(est, "classes_")
    classes = np.asarray(est.classes_)
    predicted = np.asarray(est.predict(X))
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != predicted.shape[0]:
        raise ValueError(
            f"y must have shape ({predicted.shape[0]},), one label per row of X, "
            f"got shape {y.shape}"
        )
    n = classes.shape[0]
    true_index = _class_index(classes, y)
    pred_index = _class_index(classes, predicted)
    counts = np.bincount(n * true_index + pred_index, minlength=n * n).reshape(n, n)
    matrix = counts.astype(np.float64)
    if normalize == "true":
        matrix = _divide(matrix, matrix.sum(axis=1, keepdims=True))
    elif normalize == "pred":
        matrix = _divide(matrix, matrix.sum(axis=0, keepdims=True))
    elif normalize == "all":
        matrix = _divide(matrix, matrix.sum())
    else:
        matrix = counts

    if ax is None:
        size = min(12.0, 2.5 + 0.4 * n)
        _, ax = plt.subplots(figsize=(size + 1.0, size), layout="constrained")
    high = float(matrix.max()) if matrix.size else 0.0
    image = ax.imshow(matrix, cmap=cmap, vmin=0.0, vmax=high or 1.0)
    ax.figure.colorbar(image, ax=ax, label="fraction" if normalize else "count")
    ticks = np.arange(n)
    labels = [str(label) for label in classes]
    ax.set_xticks(ticks, labels, rotation=45 if max(map(len, labels)) > 3 else 0)
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    if annotate:
        cmap_object = image.get_cmap()
        for (j, k), value in np.ndenumerate(matrix):
            text = f"{value:d}" if normalize is None else f"{value:.2f}"
            # Dark cells get white text: read the cell's color's luminance.
            r, g, b, _ = cmap_object(image.norm(value))
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
            ax.text(
                k,
                j,
                text,
                ha="center",
                va="center",
                color="white" if dark else "black",
                fontsize="small" if n <= 10 else "x-small",
            )
    return ax


def _class_index(classes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Index of each label in the sorted ``classes``; ValueError naming unknown labels."""
    index = np.searchsorted(classes, labels)
    clipped = np.minimum(index, classes.shape[0] - 1)
    unknown = (index >= classes.shape[0]) | (classes[clipped] != labels)
    if unknown.any():
        raise ValueError(
            f"y contains labels not in classes_: {np.unique(labels[unknown]).tolist()!r} "
            f"(classes_ are {classes.tolist()!r})"
        )
    return clipped.astype(np.intp)


def _divide(numerator: np.ndarray, denominator: np.ndarray | float) -> np.ndarray:
    """numerator / denominator, with 0 where the denominator is 0 (an empty row/column)."""
    denominator = np.broadcast_to(np.asarray(denominator, dtype=np.float64), numerator.shape)
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out
