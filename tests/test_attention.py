"""Attention weights and their pictures: shapes, escaping, offline HTML, PNG fallback."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

import ktnb
from ktnb.render.figures import figure_png

HOSTILE = "a <script>alert('x')</script> & great film"


@pytest.fixture(scope="module")
def attention(tiny_model_dir, sentiment_data):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), progress=False)
    return learner.attention(HOSTILE)


def test_weights_for_every_layer_and_head_are_distributions(attention):
    n = len(attention.tokens)
    assert attention.weights.shape == (2, 2, n, n)
    assert np.allclose(attention.weights.sum(axis=-1), 1, atol=1e-4)
    assert attention.tokens[0] == "[CLS]" and attention.tokens[-1] == "[SEP]" and "<" in attention.tokens


def test_model_goes_back_to_its_fast_attention(tiny_model_dir, sentiment_data):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), progress=False)
    learner.attention("a film")
    assert learner.model.config._attn_implementation == "sdpa"


def test_html_view_escapes_user_text_and_needs_no_network(attention):
    html = attention.to_html()
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 1  # ours; the sentence's own <script> did not survive as markup
    assert "</" not in scripts[0] and '"\\u003c"' in scripts[0]  # the "<" token, unable to close the script
    outside = re.sub(r"<script>.*?</script>", "", html, flags=re.S)
    assert "&lt;script&gt;" in outside and "<script" not in outside
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "require" not in html and "cdn" not in html.lower()


def test_html_view_carries_a_png_fallback_that_matches_the_heatmap(attention):
    html = attention.to_html(layer=0, head=1)
    data = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    assert image.format == "PNG" and image.size[0] > 200 and image.size[1] > 200
    assert 'alt="attention heatmap, layer 1, head 2"' in html


def test_heatmaps_one_head_and_all_heads(attention):
    one = attention.plot(layer=0, head=0)
    assert [t.get_text() for t in one.axes[0].get_xticklabels()] == attention.tokens
    grid = attention.plot(layer=-1)
    assert len([ax for ax in grid.axes if ax.get_title().startswith("head")]) == 2
    png = Image.open(io.BytesIO(figure_png(grid)))
    assert png.size == (int(grid.get_figwidth() * 100), int(grid.get_figheight() * 100))
    assert attention._repr_png_()[:4] == b"\x89PNG"


def test_empty_sentence_and_unknown_view(tiny_model_dir, sentiment_data):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), progress=False)
    with pytest.raises(ktnb.DataError, match="attention needs a non-empty sentence"):
        learner.attention("  ")
    with pytest.raises(ktnb.KtnbError, match="unknown attention view 'matrix'"):
        learner.attention("a film", view="matrix")


def test_bertviz_view_when_installed(attention):
    pytest.importorskip("bertviz")
    html = attention.bertviz()
    assert "great" in str(getattr(html, "data", html))


def test_rollout_and_hiding_the_special_tokens(attention):
    n = len(attention.tokens)
    assert attention.special == (0, n - 1)  # [CLS] and [SEP], from the tokenizer's own mask
    rolled = attention.select("rollout")
    assert np.allclose(rolled, attention.rollout()) and np.allclose(rolled.sum(axis=-1), 1, atol=1e-4)
    words = attention.select(-1, hide_special=True)
    assert words.shape == (n - 2, n - 2) and np.allclose(words.sum(axis=-1), 1, atol=1e-5)
    kept = attention.select(-1)[1:-1, 1:-1]
    assert np.allclose(words, kept / kept.sum(axis=-1, keepdims=True))
    figure = attention.plot(layer="rollout", hide_special=True)
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == attention.tokens[1:-1]
    assert figure.axes[0].get_title() == "rollout through 2 layers, special tokens hidden"
    html = attention.to_html(layer="rollout", hide_special=True)
    assert 'alt="attention heatmap, rollout through 2 layers, special tokens hidden"' in html
    payload = re.search(r"var data = (\{.*?\}), NS", html, flags=re.S).group(1)
    assert '"layer": "rollout"' in payload and '"special": [0, ' in payload and '"hide": true' in payload
    assert "rollout (all layers)" in html and "ktnb-hide-special" in html
