"""linclf.plot: what is drawn is the model's data, and matplotlib stays optional.

Each drawing test reads the numbers back from the matplotlib artists (line data, image
arrays, cell texts) and compares them with the fitted attributes or with a count made
here by a plain loop, so a plot that looks right but shows the wrong numbers fails.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest

from helpers import make_blobs
from linclf import LinearSVM, NotFittedError, SoftmaxClassifier
from linclf.datasets import load_digits
from linclf.plot import coefficients, confusion, confusion_counts, loss_curve, templates

INSTALL_HINT = "linclf.plot needs matplotlib: pip install 'linclf[plot]'"


@pytest.fixture
def plt():
    """pyplot on the Agg backend (no display); every figure is closed afterwards."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


class FixedPredictions:
    """A stand-in classifier whose predictions are given: the confusion oracle's input."""

    def __init__(self, classes, predictions):
        self.classes_ = np.asarray(classes)
        self._predictions = np.asarray(predictions)

    def predict(self, X):
        assert len(X) == len(self._predictions)
        return self._predictions


def fitted_svm(n_classes=3, n_features=12, **params):
    X, y = make_blobs(n_classes=n_classes, n_features=n_features, spread=2.0)
    params = {"random_state": 0, "max_epochs": 7, "tol": None, **params}
    return LinearSVM(**params).fit(X, y), X, y


def image_axes(fig):
    """The axes that show a template (the colorbar's axes holds no image)."""
    return [ax for ax in fig.axes if ax.images]


def test_loss_curve_plots_one_point_per_epoch_with_the_loss_values(plt):
    clf, _, _ = fitted_svm()
    ax = loss_curve(clf)
    (line,) = ax.get_lines()  # no validation data: the loss alone, no twin axis
    assert len(ax.figure.axes) == 1
    # Epoch k at x = k, the recorded objective of that epoch at y.
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, clf.n_iter_ + 1))
    np.testing.assert_array_equal(line.get_ydata(), clf.loss_curve_)
    assert clf.n_iter_ == 7 == len(line.get_xdata())


def test_loss_curve_adds_the_validation_accuracy_on_a_twin_axis(plt):
    X, y = make_blobs(n_per_class=60, spread=3.0)
    clf = SoftmaxClassifier(
        early_stopping=True, max_epochs=6, tol=None, random_state=0, standardize=True
    ).fit(X, y)
    ax = loss_curve(clf)
    assert len(ax.figure.axes) == 2 and ax.right_ax in ax.figure.axes
    (score_line,) = ax.right_ax.get_lines()
    np.testing.assert_array_equal(score_line.get_ydata(), clf.validation_scores_)
    (loss_line,) = [line for line in ax.get_lines() if line.get_label() == "training objective"]
    np.testing.assert_array_equal(loss_line.get_ydata(), clf.loss_curve_)


def test_loss_curve_draws_on_the_axes_it_is_given(plt):
    clf, _, _ = fitted_svm()
    _, ax = plt.subplots()
    assert loss_curve(clf, ax=ax) is ax and len(ax.get_lines()) == 1


def test_templates_shows_each_row_of_coef_on_one_shared_symmetric_scale(plt):
    clf, _, _ = fitted_svm(n_classes=3, n_features=12)
    fig = templates(clf, (3, 4), feature_scale=None)  # coef_ itself, not W of standard units
    panels = image_axes(fig)
    assert len(panels) == 3  # one per class, no empty cell left in the grid
    limit = np.abs(clf.coef_).max()
    for k, ax in enumerate(panels):
        np.testing.assert_array_equal(ax.images[0].get_array(), clf.coef_[k].reshape(3, 4))
        assert ax.get_title() == str(clf.classes_[k])
        # White is 0 and one color is one weight in every panel.
        assert ax.images[0].get_clim() == pytest.approx((-limit, limit))


def test_templates_of_a_binary_model_is_one_difference_template(plt):
    X, y = make_blobs(n_classes=2, n_features=6)
    clf = LinearSVM(random_state=0, max_epochs=5, tol=None).fit(X, np.array(["b", "a"])[y])
    (panel,) = image_axes(templates(clf, (2, 3), feature_scale=None))
    # coef_ is w_1 - w_0: bright where a feature votes for classes_[1].
    assert panel.get_title() == "b − a"
    np.testing.assert_array_equal(panel.images[0].get_array(), clf.coef_[0].reshape(2, 3))


def test_templates_rescales_each_rgb_template_to_the_unit_range(plt):
    clf, _, _ = fitted_svm(n_classes=4, n_features=4 * 5 * 3)
    panels = image_axes(templates(clf, (4, 5, 3), feature_scale=None))
    assert len(panels) == 4
    for k, ax in enumerate(panels):
        w = clf.coef_[k].astype(np.float64)
        expected = ((w - w.min()) / (w.max() - w.min())).reshape(4, 5, 3)
        shown = np.asarray(ax.images[0].get_array())
        np.testing.assert_allclose(shown, expected, rtol=1e-12, atol=1e-12)
        assert shown.min() == 0.0 and shown.max() == 1.0


def test_templates_multiplies_by_feature_scale(plt):
    clf, X, _ = fitted_svm(n_classes=3, n_features=12)
    scale = X.std(axis=0)
    panels = image_axes(templates(clf, (4, 3), feature_scale=scale))
    for k, ax in enumerate(panels):
        expected = (clf.coef_[k].astype(np.float64) * scale).reshape(4, 3)
        np.testing.assert_allclose(ax.images[0].get_array(), expected, rtol=1e-12)


def far_from_white(fig):
    """Per template: the fraction of its pixels drawn far from the colormap's middle (0)."""
    fractions = []
    for ax in image_axes(fig):
        image = ax.images[0]
        position = np.asarray(image.norm(image.get_array()))  # 0.5: a weight of 0, white
        fractions.append(np.mean(np.abs(position - 0.5) > 0.15))
    return np.array(fractions)


def test_templates_of_a_standardized_model_show_the_weights_it_learned(plt):
    # coef_ of a standardized model is W / scale: the digits' border pixels, which hardly
    # ever vary, get raw weights that set the one color scale and left the rest white
    # (3.5 % of the pixels colored on average). By default each weight is multiplied by
    # the spread of its pixel, computed here as X.std: the weights W of standard units.
    X, y = load_digits()
    X, y = X[:1400], y[:1400]
    clf = LinearSVM(random_state=0).fit(X, y)
    fig = templates(clf, (8, 8))
    std = X.std(axis=0)
    for k, ax in enumerate(image_axes(fig)):
        expected = (clf.coef_[k] * std).reshape(8, 8)  # 0 where a pixel is constant
        np.testing.assert_allclose(ax.images[0].get_array(), expected, rtol=1e-10, atol=1e-12)
    assert far_from_white(fig).mean() > 0.1
    raw = templates(clf, (8, 8), feature_scale=None)  # coef_ itself, on request
    for k, ax in enumerate(image_axes(raw)):
        np.testing.assert_array_equal(ax.images[0].get_array(), clf.coef_[k].reshape(8, 8))


def test_templates_of_an_unstandardized_model_show_coef_by_default(plt):
    clf, _, _ = fitted_svm(n_classes=3, n_features=12, standardize=False)
    for k, ax in enumerate(image_axes(templates(clf, (3, 4)))):
        np.testing.assert_array_equal(ax.images[0].get_array(), clf.coef_[k].reshape(3, 4))


def test_templates_grid_has_no_empty_axes(plt):
    clf, _, _ = fitted_svm(n_classes=7, n_features=4)
    fig = templates(clf, (2, 2), ncols=3)  # 3 rows of 3 cells for 7 templates
    assert len(image_axes(fig)) == 7
    assert len(fig.axes) == 8  # the 7 templates and the colorbar; the 2 empty cells removed


@pytest.mark.parametrize(
    ("image_shape", "message"),
    [
        ((8, 9), "holds 72 values, but the model has 12 features"),
        ((12,), r"\(height, width\) or \(height, width, 3\)"),
        ((2, 2, 3, 1), r"\(height, width\) or \(height, width, 3\)"),
        ((2, 3, 2), r"\(height, width\) or \(height, width, 3\)"),
        ((0, 12), "positive integers"),
        ((3.0, 4.0), "positive integers"),
    ],
)
def test_templates_refuses_an_image_shape_that_does_not_fit(plt, image_shape, message):
    clf, _, _ = fitted_svm(n_classes=3, n_features=12)
    with pytest.raises(ValueError, match=message):
        templates(clf, image_shape)


@pytest.mark.parametrize("image_shape", [12, "3x4", None])
def test_templates_refuses_an_image_shape_that_is_not_a_tuple(plt, image_shape):
    clf, _, _ = fitted_svm(n_classes=3, n_features=12)
    with pytest.raises(TypeError, match="image_shape must be a tuple"):
        templates(clf, image_shape)


def bars_by_name(ax):
    """``{container label: {feature name: bar length}}``, each bar named by the y tick
    nearest to its middle: what a reader of the chart sees."""
    ticks = dict(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels()), strict=True))
    shown = {}
    for container in ax.containers:
        lengths = {}
        for bar in container:
            middle = bar.get_y() + bar.get_height() / 2
            lengths[ticks[min(ticks, key=lambda tick: abs(tick - middle))]] = bar.get_width()
        shown[container.get_label()] = lengths
    return shown


NAMES = ["age", "income", "height", "weight", "score"]


def test_coefficients_draws_each_coef_as_a_bar_labelled_with_its_feature(plt):
    clf, _, _ = fitted_svm(n_classes=3, n_features=5, standardize=False)
    ax = coefficients(clf, NAMES)
    assert [t.get_text() for t in ax.get_yticklabels()] == NAMES  # the first at the top
    assert ax.get_ylim()[0] > ax.get_ylim()[1]
    expected = {
        str(label): {name: clf.coef_[k, j] for j, name in enumerate(NAMES)}
        for k, label in enumerate(clf.classes_)
    }
    assert bars_by_name(ax) == expected
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(expected)


def test_coefficients_top_keeps_the_features_of_largest_weight(plt):
    clf, _, _ = fitted_svm(n_classes=3, n_features=5, standardize=False)
    largest = [max(abs(clf.coef_[k, j]) for k in range(3)) for j in range(5)]
    order = sorted(range(5), key=lambda j: -largest[j])[:2]  # a loop, not argsort
    ax = coefficients(clf, NAMES, top=2)
    assert [t.get_text() for t in ax.get_yticklabels()] == [NAMES[j] for j in order]
    assert {name for bars in bars_by_name(ax).values() for name in bars} == set(
        NAMES[j] for j in order
    )
    assert coefficients(clf, NAMES, top=9).get_yticks().size == 5  # more than D: all of them


def test_coefficients_takes_the_names_of_a_dataframe_and_is_one_bar_for_two_classes(plt):
    pd = pytest.importorskip("pandas")
    X, y = make_blobs(n_classes=2, n_features=3)
    frame = pd.DataFrame(X, columns=["red", "green", "blue"])
    clf = LinearSVM(random_state=0, standardize=False).fit(frame, np.array(["b", "a"])[y])
    _, ax = plt.subplots()
    assert coefficients(clf, ax=ax) is ax
    names = ["red", "green", "blue"]
    assert bars_by_name(ax) == {"b − a": dict(zip(names, clf.coef_[0], strict=True))}


def test_coefficients_of_a_standardized_model_are_per_standard_deviation(plt):
    # As for templates: coef_ times each feature's spread, here X.std, by default.
    clf, X, _ = fitted_svm(n_classes=3, n_features=4)
    ax = coefficients(clf)
    std = X.std(axis=0)
    for k, bars in enumerate(bars_by_name(ax).values()):
        shown = [bars[f"x{j}"] for j in range(4)]
        np.testing.assert_allclose(shown, clf.coef_[k] * std, rtol=1e-10)
    assert bars_by_name(coefficients(clf, feature_scale=None))["0"]["x1"] == clf.coef_[0, 1]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"feature_names": ["a", "b"]}, ValueError, "feature_names must hold 5 names, got 2"),
        ({"top": 0}, ValueError, "top must be a positive integer or None, got 0"),
        ({"top": True}, ValueError, "top must be a positive integer or None, got True"),
        ({"feature_names": "abcde"}, TypeError, "feature_names must be a sequence of 5 names"),
        ({"feature_scale": "std"}, ValueError, "feature_scale must be 'auto', None or an array"),
    ],
)
def test_coefficients_refuses_bad_arguments(plt, kwargs, error, match):
    clf, _, _ = fitted_svm(n_classes=3, n_features=5)
    with pytest.raises(error, match=re.escape(match)):
        coefficients(clf, **kwargs)


def loop_confusion(classes, y_true, y_pred):
    """The oracle: count (true, predicted) pairs one by one."""
    pairs = Counter(zip(y_true.tolist(), y_pred.tolist(), strict=True))
    return np.array([[pairs[(t, p)] for p in classes] for t in classes])


# "dog" is never predicted and "emu" never true, so a normalized column or row is empty.
CLASSES = ["cat", "dog", "emu", "fox"]
Y_TRUE = np.array(["cat", "cat", "dog", "dog", "dog", "fox", "fox", "cat", "fox", "dog"])
Y_PRED = np.array(["cat", "fox", "cat", "fox", "emu", "fox", "fox", "cat", "emu", "cat"])


def test_confusion_counts_equal_a_loop_count(plt):
    est = FixedPredictions(CLASSES, Y_PRED)
    ax = confusion(est, np.zeros((10, 1)), Y_TRUE)
    expected = loop_confusion(CLASSES, Y_TRUE, Y_PRED)
    shown = np.asarray(ax.images[0].get_array())
    np.testing.assert_array_equal(shown, expected)  # rows true, columns predicted
    # Every cell is annotated with its count, in row-major order.
    assert [t.get_text() for t in ax.texts] == [str(v) for v in expected.ravel()]
    assert [t.get_text() for t in ax.get_xticklabels()] == CLASSES


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_counts_of_class_indices_equal_a_loop_count(seed):
    # The NumPy-only counter against the Counter oracle; class 4 is never drawn, so its
    # row and column are 0. int64 whatever the input's integer type.
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, 4, size=50), rng.integers(0, 4, size=50).astype(np.uint8)
    counts = confusion_counts(y_true, y_pred, 5)
    assert counts.dtype == np.int64 and counts.shape == (5, 5)
    np.testing.assert_array_equal(counts, loop_confusion(range(5), y_true, y_pred))
    np.testing.assert_array_equal(confusion_counts([], [], 2), np.zeros((2, 2), np.int64))


@pytest.mark.parametrize(
    ("y_true", "y_pred", "n_classes", "error", "message"),
    [
        ([0, 1], [0], 2, ValueError, r"1-D of one length, got shapes \(2,\) and \(1,\)"),
        ([0, 3], [0, 1], 3, ValueError, r"y_true holds class indices outside \[0, 3\): \[3\]"),
        ([0, 1], [-1, 1], 2, ValueError, r"y_pred holds class indices outside \[0, 2\): \[-1\]"),
        ([0.0, 1.0], [0, 1], 2, TypeError, r"y_true must hold integer class indices"),
        ([0], [0], 0, ValueError, r"n_classes must be >= 1, got 0"),
        ([0], [0], 2.0, TypeError, r"n_classes must be an integer, got 2\.0"),
    ],
)
def test_confusion_counts_refuses_bad_indices(y_true, y_pred, n_classes, error, message):
    with pytest.raises(error, match=message):
        confusion_counts(y_true, y_pred, n_classes)


@pytest.mark.parametrize("normalize", ["true", "pred", "all"])
def test_confusion_normalizes_rows_columns_or_all(plt, normalize):
    counts = loop_confusion(CLASSES, Y_TRUE, Y_PRED).astype(float)
    ax = confusion(
        FixedPredictions(CLASSES, Y_PRED), np.zeros((10, 1)), Y_TRUE, normalize=normalize
    )
    shown = np.asarray(ax.images[0].get_array())
    expected = np.zeros_like(counts)
    for j in range(4):
        for k in range(4):
            total = {
                "true": counts[j].sum(),
                "pred": counts[:, k].sum(),
                "all": counts.sum(),
            }[normalize]
            expected[j, k] = counts[j, k] / total if total else 0.0  # an empty row/column: 0
    np.testing.assert_allclose(shown, expected, rtol=1e-15)
    assert ax.texts[0].get_text() == f"{expected[0, 0]:.2f}"


def test_confusion_of_a_fitted_model_has_its_accuracy_on_the_diagonal(plt):
    clf, X, y = fitted_svm(n_classes=4)
    shown = np.asarray(confusion(clf, X, y).images[0].get_array())
    assert shown.sum() == len(y)
    assert np.trace(shown) / len(y) == pytest.approx(clf.score(X, y))


def outside_the_figure(fig, texts):
    """The texts (with their pixel boxes) not wholly inside the figure once it is drawn."""
    fig.canvas.draw()
    renderer, box = fig.canvas.get_renderer(), fig.bbox
    boxes = [(text.get_text(), text.get_window_extent(renderer)) for text in texts]
    return [
        (label, e.bounds)
        for label, e in boxes
        if e.x0 < box.x0 or e.y0 < box.y0 or e.x1 > box.x1 or e.y1 > box.y1
    ]


@pytest.mark.parametrize("normalize", [None, "true", "pred"])
@pytest.mark.parametrize("n_classes", [3, 10, 26])
def test_confusion_axis_labels_and_ticks_lie_inside_the_figure(plt, normalize, n_classes):
    # The digits' case of the issue: 10 classes, normalize="true" cut off "true label".
    # A classifier's matrix: 3 predictions in 10 drawn at random, the others right.
    rng = np.random.default_rng(0)
    classes = np.arange(n_classes)
    y_true = rng.integers(0, n_classes, 200)
    y_pred = np.where(rng.random(200) < 0.3, rng.integers(0, n_classes, 200), y_true)
    est = FixedPredictions(classes, y_pred)
    ax = confusion(est, np.zeros((200, 1)), y_true, normalize=normalize)
    colorbar = next(other for other in ax.figure.axes if other is not ax)
    texts = [ax.xaxis.label, ax.yaxis.label, colorbar.yaxis.label]
    texts += ax.get_xticklabels() + ax.get_yticklabels()
    assert ax.yaxis.label.get_text() == "true label"
    assert outside_the_figure(ax.figure, texts) == []


def test_confusion_refuses_unknown_labels_and_bad_arguments(plt):
    est = FixedPredictions(CLASSES, Y_PRED)
    with pytest.raises(ValueError, match=r"^y contains labels not in classes: \['gnu'\]"):
        confusion(est, np.zeros((10, 1)), np.where(Y_TRUE == "fox", "gnu", Y_TRUE))
    with pytest.raises(ValueError, match="normalize must be one of"):
        confusion(est, np.zeros((10, 1)), Y_TRUE, normalize="rows")
    with pytest.raises(ValueError, match=r"y must have shape \(10,\)"):
        confusion(est, np.zeros((10, 1)), Y_TRUE[:9])


@pytest.mark.parametrize("draw", [loss_curve, lambda est: templates(est, (3, 4)), coefficients])
def test_unfitted_estimators_raise_not_fitted(plt, draw):
    with pytest.raises(NotFittedError, match="not fitted"):
        draw(LinearSVM())


FITTED_STUB = SimpleNamespace(
    loss_curve_=[1.0, 0.5], coef_=np.ones((3, 4)), classes_=np.arange(3), predict=np.zeros
)


@pytest.mark.parametrize(
    "draw",
    [
        lambda: loss_curve(FITTED_STUB),
        lambda: templates(FITTED_STUB, (2, 2)),
        lambda: confusion(FITTED_STUB, 3, [0, 0, 0]),
        lambda: coefficients(FITTED_STUB),
    ],
    ids=["loss_curve", "templates", "confusion", "coefficients"],
)
def test_without_matplotlib_each_function_names_the_install_command(monkeypatch, draw):
    # None in sys.modules makes `import matplotlib` raise ImportError, as if not installed.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=re.escape(INSTALL_HINT)):
        draw()


def test_linclf_plot_imports_without_matplotlib():
    # A fresh interpreter where matplotlib cannot be imported: the module still loads,
    # so `import linclf.plot` (and the doctest walk over the package) never needs it.
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "import linclf.plot\n"
        "print(sorted(linclf.plot.__all__))\n"
        "print(linclf.plot.confusion_counts([1, 0], [1, 1], 2).tolist())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    # confusion_counts needs NumPy only: it runs there too.
    assert result.stdout.split("\n")[:2] == [
        "['coefficients', 'confusion', 'confusion_counts', 'loss_curve', 'templates']",
        "[[0, 1], [0, 1]]",
    ]
