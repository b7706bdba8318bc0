"""Draw the documentation's figures: the loss curve and the class templates of the digits.

Trains a LinearSVM on the 8x8 digits that ship with linclf (standardize=True,
random_state=0, every other hyperparameter at its default) and writes, with linclf.plot,

* docs/images/loss_curve.png: the objective of each epoch, on a log axis;
* docs/images/templates.png: the ten 8x8 templates, each weight times its pixel's
  standard deviation (``feature_scale="auto"``), the weights the model learned in standard
  units;
* docs/images/confusion.png: the confusion matrix on 397 held-out digits of a second
  model, trained the same way on the other 1,400;
* docs/images/coefficients.png: the coefficients of a LinearSVM on scikit-learn's wine
  data (13 named features), the one figure that needs scikit-learn.

Run from anywhere: ``python docs/make_figures.py`` (needs matplotlib and scikit-learn).
The result is deterministic given the seeds; the PNGs are small enough to commit (under
50 KB each).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only: no display needed

import matplotlib.pyplot as plt

from linclf import LinearSVM
from linclf.datasets import load_digits
from linclf.plot import coefficients, confusion, loss_curve, templates

IMAGES = Path(__file__).resolve().parent / "images"
DPI = 100


def main() -> None:
    X, y = load_digits()
    clf = LinearSVM(standardize=True, random_state=0).fit(X, y)
    IMAGES.mkdir(exist_ok=True)
    # Metadata off: the PNG bytes then depend on the pixels alone, not on the date or the
    # matplotlib version, so rerunning the script leaves git with nothing to commit.
    metadata = {"Software": None}

    ax = loss_curve(clf)
    ax.set_yscale("log")  # the first epochs would flatten the rest on a linear axis
    ax.set_title(f"LinearSVM on the 8x8 digits: {clf.n_iter_} epochs")
    ax.figure.savefig(IMAGES / "loss_curve.png", dpi=DPI, metadata=metadata)
    plt.close(ax.figure)

    fig = templates(clf, (8, 8))
    fig.suptitle("LinearSVM templates (weight × pixel standard deviation)")
    fig.savefig(IMAGES / "templates.png", dpi=DPI, metadata=metadata)
    plt.close(fig)

    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:1400], order[1400:]
    held_out = LinearSVM(standardize=True, random_state=0).fit(X[train], y[train])
    ax = confusion(held_out, X[test], y[test])
    ax.set_title(f"397 held-out digits: accuracy {held_out.score(X[test], y[test]):.3f}")
    ax.figure.savefig(IMAGES / "confusion.png", dpi=DPI, metadata=metadata)
    plt.close(ax.figure)

    draw_coefficients(metadata)
    for name in ("loss_curve.png", "templates.png", "confusion.png", "coefficients.png"):
        path = IMAGES / name
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    print(f"training accuracy {clf.score(X, y):.4f} after {clf.n_iter_} epochs")


def draw_coefficients(metadata: dict) -> None:
    """docs/images/coefficients.png: a tabular model's coefficients, named by the columns."""
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    clf = LinearSVM(random_state=0).fit(X, y)
    ax = coefficients(clf, load_wine().feature_names)
    ax.set_title("LinearSVM on the wine data")
    ax.figure.savefig(IMAGES / "coefficients.png", dpi=DPI, metadata=metadata)
    plt.close(ax.figure)


if __name__ == "__main__":
    main()
