"""The report's numbers match scikit-learn; it prints, renders HTML and plots."""

from __future__ import annotations

import io

import numpy as np
import pytest

from ktnb.metrics import ClassificationReport
from ktnb.render.figures import figure_png


def test_report_matches_scikit_learn():
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 3, 200))
    y_pred[y_pred == 2] = 1  # class 2 is never predicted: precision 0 must not be nan
    report = ClassificationReport.from_labels(y_true, y_pred, ["a", "b", "c"])
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    assert report.accuracy == pytest.approx(accuracy_score(y_true, y_pred))
    assert np.allclose(report.precision, p) and np.allclose(report.recall, r) and np.allclose(report.f1, f)
    assert (report.support == s).all() and (report.confusion == confusion_matrix(y_true, y_pred)).all()
    for avg in ("macro", "weighted"):
        sk = precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=0)
        ours = getattr(report, avg)
        assert (ours["precision"], ours["recall"], ours["f1"]) == pytest.approx(sk[:3])


def test_report_text_and_html_escape_class_names():
    report = ClassificationReport.from_labels([0, 1, 1], [0, 1, 0], ["<b>neg</b>", "pos"], loss=0.5)
    text = str(report)
    assert "precision" in text and "macro avg" in text and "weighted avg" in text and "0.6667" in text
    html = report._repr_html_()
    assert "&lt;b&gt;neg&lt;/b&gt;" in html and "<b>neg" not in html
    assert "http" not in html and "<script" not in html
    assert report.to_dict()["per_class"]["pos"]["support"] == 2


def test_confusion_matrix_figure_is_a_png_with_counts():
    from PIL import Image

    report = ClassificationReport.from_labels([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], ["neg", "pos"])
    fig = report.plot_confusion()
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["1", "1", "1", "2"]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["neg", "pos"]
    image = Image.open(io.BytesIO(figure_png(fig)))
    assert image.format == "PNG" and image.size == (int(fig.get_figwidth() * 100), int(fig.get_figheight() * 100))


def test_html_tables_show_numpy_numbers_as_numbers():
    import numpy as np

    from ktnb.render.html import table_html

    html = table_html(["score", "note"], [[np.float32(0.3), "<b>"], [np.int64(3), "x"]])
    assert ">0.3000</td>" in html and ">3</td>" in html and "0.30000001" not in html
    assert "&lt;b&gt;" in html and html.count("text-align:right") == 3  # the header and both numbers
