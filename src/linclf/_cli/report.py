"""The report of ``linclf evaluate``: accuracy, per-class precision, recall, F1 and support,
their macro and support-weighted averages, and the confusion matrix.

For a class :math:`c` with :math:`t_c` true positives, :math:`p_c` predictions and
:math:`s_c` true samples (its support): precision :math:`t_c / p_c`, recall
:math:`t_c / s_c`, F1 :math:`2 t_c / (p_c + s_c)`, the harmonic mean of the two. A ratio
whose denominator is 0 (a class never predicted) is 0, as scikit-learn's
``classification_report`` reports it by default; the text table shows ``n/a`` instead.
The classes reported are those in the labels or the predictions (scikit-learn's choice),
in the model's order, then unseen labels.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

__all__ = ["classification_report", "report_json", "report_text"]

_METRICS = ("precision", "recall", "f1-score", "support")


def classification_report(confusion: np.ndarray, names: list[str]) -> dict[str, Any]:
    """The metrics of a confusion matrix (rows: true class, columns: predicted class).

    Parameters
    ----------
    confusion : ndarray of shape (n_classes, n_classes)
        Counts; ``confusion[i, j]``: samples of class ``names[i]`` predicted ``names[j]``.
    names : list of str
        The class names, one per row.

    Returns
    -------
    dict
        ``accuracy``, ``samples``, ``classes`` (name -> precision, recall, f1-score,
        support), ``macro avg`` and ``weighted avg`` (the same keys), and
        ``confusion_matrix`` (``labels``, ``matrix``): the keys of scikit-learn's
        ``classification_report(..., output_dict=True)``, grouped.

    Examples
    --------
    >>> report = classification_report(np.array([[3, 1], [0, 4]]), ["a", "b"])
    >>> report["accuracy"], report["classes"]["a"]["recall"], report["macro avg"]["support"]
    (0.875, 0.75, 8)
    """
    hits, predicted, support = np.diag(confusion), confusion.sum(0), confusion.sum(1)
    per_class = {
        name: {
            "precision": _ratio(hits[c], predicted[c]),
            "recall": _ratio(hits[c], support[c]),
            "f1-score": _ratio(2 * hits[c], predicted[c] + support[c]),
            "support": int(support[c]),
        }
        for c, name in enumerate(names)
    }
    total = int(support.sum())
    averages = {}
    for average, weights in [("macro avg", np.ones(len(names))), ("weighted avg", support)]:
        averages[average] = {
            metric: float(np.average([v[metric] for v in per_class.values()], weights=weights))
            for metric in _METRICS[:3]
        }
        averages[average]["support"] = total
    return {
        "accuracy": _ratio(hits.sum(), total),
        "samples": total,
        "classes": per_class,
        **averages,
        "confusion_matrix": {"labels": names, "matrix": confusion.tolist()},
    }


def _ratio(numerator: Any, denominator: Any) -> float:
    return float(numerator / denominator) if denominator else 0.0


def report_json(report: dict[str, Any]) -> str:
    """The report as indented JSON text."""
    return json.dumps(report, indent=2)


def report_text(report: dict[str, Any], confusion: np.ndarray) -> str:
    """The per-class table with its averages, and the confusion matrix, as aligned text."""
    names = list(report["classes"])
    predicted = confusion.sum(0)
    rows = []
    for c, name in enumerate(names):
        values = report["classes"][name]
        precision = f"{values['precision']:.4f}" if predicted[c] else "n/a"
        rows.append([name, precision, *_cells(values)[1:]])
    rows += [[average, *_cells(report[average])] for average in ("macro avg", "weighted avg")]
    table = _table(["class", *_METRICS], rows, blank_before=len(names))
    matrix = [[names[c], *map(str, confusion[c])] for c in range(len(names))]
    heading = "confusion matrix (rows: true class, columns: predicted class)"
    return "\n".join([table, "", heading, _table(["true \\ predicted", *names], matrix)])


def _cells(values: dict[str, Any]) -> list[str]:
    recall = f"{values['recall']:.4f}" if values["support"] else "n/a"
    precision, f1 = f"{values['precision']:.4f}", f"{values['f1-score']:.4f}"
    return [precision, recall, f1, str(values["support"])]


def _table(header: list[str], rows: list[list[str]], blank_before: int | None = None) -> str:
    """Columns separated by two spaces: the first left-aligned, the others right-aligned."""
    widths = [max(map(len, column)) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join([row[0].ljust(widths[0]), *map(str.rjust, row[1:], widths[1:])]).rstrip()
        for row in [header, *rows]
    ]
    if blank_before is not None:
        lines.insert(blank_before + 1, "")
    return "\n".join(lines)
