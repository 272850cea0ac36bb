"""Attention pictures: matplotlib heatmaps, and a self-contained interactive HTML view.

The HTML view needs no CDN, require.js or widget: an inline script draws an SVG heatmap with
layer and head pickers. It also carries the same picture as a data: PNG, which the script hides;
where scripts and SVG are stripped (an untrusted notebook, GitHub's viewer) the PNG and the
tokens, as plain escaped text, remain.
"""

from __future__ import annotations

import base64
import json
import uuid
from html import escape
from typing import Any, Protocol

import numpy as np

from .figures import _figure, figure_png


class Attention(Protocol):
    """Plain values: the sentence, its tokens, and `weights[layer, head, i, j]` (how much token
    i attends to token j). `ktnb.attention.Attention` is one; so is any object with these."""

    text: str
    tokens: list[str]
    weights: np.ndarray


#: the layer argument that asks for attention rollout through every layer
ROLLOUT = "rollout"


def rollout(weights: np.ndarray) -> np.ndarray:
    """Attention rollout (Abnar and Zuidema, 2020) of `weights[layer, head, i, j]`: how much
    each token's final state draws on each input token, through every layer. Each layer's mean
    over heads is mixed half and half with the identity (the residual connection), its rows
    renormalised, and the layers multiplied from the first up. Row i is token i's mix.

    >>> rollout(np.full((2, 1, 3, 3), 1 / 3))[0].round(3).tolist()
    [0.5, 0.25, 0.25]
    """
    size = weights.shape[-1]
    rolled = np.eye(size)
    for layer in weights:
        mixed = 0.5 * layer.mean(axis=0) + 0.5 * np.eye(size)
        mixed /= mixed.sum(axis=-1, keepdims=True)
        rolled = mixed @ rolled
    return rolled


def _select(att: Attention, layer: int | str, head: int | None, hide_special: bool = False) \
        -> tuple[np.ndarray, list[str]]:
    """The map shown (a head, the mean over a layer's heads, or the rollout) and its tokens;
    with `hide_special`, the special tokens' rows and columns are left out and each row is
    renormalised over the words, so that what is left is not all drawn to [CLS] and [SEP]."""
    if layer == ROLLOUT:
        matrix = rollout(att.weights)
    else:
        maps = att.weights[layer]
        matrix = maps.mean(axis=0) if head is None else maps[head]
    special = set(getattr(att, "special", ()) or ())
    if not hide_special or not special or len(special) >= len(att.tokens):
        return matrix, list(att.tokens)
    kept = [i for i in range(len(att.tokens)) if i not in special]
    matrix = matrix[np.ix_(kept, kept)]
    return matrix / np.maximum(matrix.sum(axis=-1, keepdims=True), 1e-12), [att.tokens[i] for i in kept]


def _label(att: Attention, layer: int | str, head: int | None, hide_special: bool = False) -> str:
    layers, heads = att.weights.shape[:2]
    hidden = ", special tokens hidden" if hide_special and getattr(att, "special", ()) else ""
    if layer == ROLLOUT:
        return f"rollout through {layers} layers{hidden}"
    return f"layer {layer % layers + 1}, " + ("mean over heads" if head is None else f"head {head % heads + 1}") + hidden


def _heatmap(ax: Any, matrix: np.ndarray, tokens: list[str], title: str, ticks: bool = True) -> Any:
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(float(matrix.max()), 1e-6))
    ax.set_title(title, fontsize=9)
    if ticks:
        positions = np.arange(len(tokens))
        ax.set_xticks(positions, labels=tokens, rotation=90, fontsize=8)
        ax.set_yticks(positions, labels=tokens, fontsize=8)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    return image


MAX_INCHES = 9.0  # figures stay within a notebook's width at 100 dpi


def attention_figure(att: Attention, layer: int | str = -1, head: int | None = None,
                     hide_special: bool = False) -> Any:
    """One heatmap: rows attend (from), columns are attended to; `layer` "rollout" for the
    rollout through every layer."""
    matrix, tokens = _select(att, layer, head, hide_special)
    side = min(2.5 + 0.28 * len(tokens), MAX_INCHES)
    fig = _figure(side + 1, side)
    ax = fig.add_subplot()
    image = _heatmap(ax, matrix, tokens, _label(att, layer, head, hide_special))
    ax.set_xlabel("attended to")
    ax.set_ylabel("attending token")
    fig.colorbar(image, ax=ax, shrink=0.7)
    return fig


def heads_figure(att: Attention, layer: int = -1) -> Any:
    """Every head of one layer in a grid (token labels on the first panel)."""
    cols = min(4, att.weights.shape[1])
    rows = -(-att.weights.shape[1] // cols)
    size = min(1.2 + 0.12 * len(att.tokens), (MAX_INCHES + 3) / cols)
    fig = _figure(cols * size + 1.5, rows * size + 0.8)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for head, ax in enumerate(axes):
        if head >= att.weights.shape[1]:
            ax.axis("off")
            continue
        _heatmap(ax, _select(att, layer, head)[0], att.tokens, f"head {head + 1}",
                 ticks=head == 0 and len(att.tokens) <= 24)
    fig.suptitle(f"{att.text[:80]} - layer {layer % att.weights.shape[0] + 1}", fontsize=10)
    return fig


_SCRIPT = """
(function () {
  var root = (document.currentScript && document.currentScript.parentElement) || document.getElementById(%(id)s);
  if (!root) { return; }
  var data = %(data)s, NS = "http://www.w3.org/2000/svg", cell = 20, pad = 6;
  var live = root.querySelector(".ktnb-attention-live"), png = root.querySelector(".ktnb-attention-png");
  function picker(label, options, value) {
    var wrap = document.createElement("label"), sel = document.createElement("select");
    wrap.textContent = label + " ";
    options.forEach(function (o) { var opt = document.createElement("option"); opt.value = o[0];
      opt.textContent = o[1]; sel.appendChild(opt); });
    sel.value = String(value); wrap.appendChild(sel); wrap.style.marginRight = "12px";
    return [wrap, sel];
  }
  var layers = data.weights.map(function (_, i) { return [i, "layer " + (i + 1)]; })
    .concat([["rollout", "rollout (all layers)"]]);
  var heads = [["mean", "mean over heads"]].concat(data.weights[0].map(function (_, i) { return [i, "head " + (i + 1)]; }));
  var lp = picker("layer", layers, data.layer), hp = picker("head", heads, data.head === null ? "mean" : data.head);
  var controls = document.createElement("div"), board = document.createElement("div"), info = document.createElement("div");
  controls.appendChild(lp[0]); controls.appendChild(hp[0]); info.style.height = "1.4em"; info.style.fontSize = "12px";
  var hide = document.createElement("input"), hideLabel = document.createElement("label");
  hide.type = "checkbox"; hide.checked = data.hide; hide.className = "ktnb-hide-special";
  hideLabel.appendChild(hide);
  hideLabel.appendChild(document.createTextNode(" hide " + data.special.map(function (i) { return data.tokens[i]; })
    .filter(function (t, k, all) { return all.indexOf(t) === k; }).join(" ")));
  if (data.special.length) { controls.appendChild(hideLabel); }
  live.appendChild(controls); live.appendChild(info); live.appendChild(board);
  function full() {
    if (lp[1].value === "rollout") { return data.rollout; }
    var l = data.weights[+lp[1].value], h = hp[1].value;
    if (h !== "mean") { return l[+h]; }
    return l[0].map(function (row, i) { return row.map(function (_, j) {
      var s = 0; l.forEach(function (m) { s += m[i][j]; }); return s / l.length; }); });
  }
  function shown() {  /* the map and its tokens; special tokens left out and rows renormalised when hidden */
    var m = full(), keep = data.tokens.map(function (_, i) { return i; });
    if (hide.checked) { keep = keep.filter(function (i) { return data.special.indexOf(i) < 0; }); }
    if (keep.length === data.tokens.length || !keep.length) { return [m, data.tokens]; }
    var sub = keep.map(function (i) { var row = keep.map(function (j) { return m[i][j]; }), s = 0;
      row.forEach(function (v) { s += v; }); return row.map(function (v) { return v / Math.max(s, 1e-12); }); });
    return [sub, keep.map(function (i) { return data.tokens[i]; })];
  }
  function text(x, y, str, anchor, rotate) {
    var t = document.createElementNS(NS, "text"); t.setAttribute("x", x); t.setAttribute("y", y);
    t.setAttribute("font-size", "11"); t.setAttribute("text-anchor", anchor); t.setAttribute("font-family", "monospace");
    if (rotate) { t.setAttribute("transform", "rotate(-60 " + x + " " + y + ")"); }
    t.textContent = str; return t;
  }
  function draw() {
    var picked = shown(), m = picked[0], tokens = picked[1], n = tokens.length;
    var left = 8 + 7 * data.maxlen, top = 8 + 6 * data.maxlen;
    hp[1].disabled = lp[1].value === "rollout";
    var max = 1e-9; m.forEach(function (r) { r.forEach(function (v) { if (v > max) { max = v; } }); });
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("width", left + n * cell + pad); svg.setAttribute("height", top + n * cell + pad);
    tokens.forEach(function (tok, i) {
      svg.appendChild(text(left - 4, top + i * cell + cell * 0.7, tok, "end", false));
      svg.appendChild(text(left + i * cell + cell * 0.6, top - 4, tok, "start", true));
    });
    m.forEach(function (row, i) { row.forEach(function (v, j) {
      var r = document.createElementNS(NS, "rect"), shade = Math.round(255 * (1 - v / max));
      r.setAttribute("x", left + j * cell); r.setAttribute("y", top + i * cell);
      r.setAttribute("width", cell - 1); r.setAttribute("height", cell - 1);
      r.setAttribute("fill", "rgb(" + shade + "," + Math.round(110 + 145 * shade / 255) + ",255)");
      r.addEventListener("mouseenter", function () {
        info.textContent = tokens[i] + " \\u2192 " + tokens[j] + ": " + v.toFixed(3); });
      svg.appendChild(r); }); });
    board.innerHTML = ""; board.appendChild(svg);
  }
  function fit() {  /* inside the panel's iframe: grow the frame to the drawing */
    var frame = window.frameElement;
    if (frame) { frame.style.height = (document.documentElement.scrollHeight + 8) + "px"; }
  }
  lp[1].addEventListener("change", function () { draw(); fit(); });
  hp[1].addEventListener("change", function () { draw(); fit(); });
  hide.addEventListener("change", function () { draw(); fit(); });
  draw();
  if (png) { png.style.display = "none"; }
  fit();
})();
"""


def attention_iframe(att: Attention, layer: int | str = -1, head: int | None = None, hide_special: bool = False) -> str:
    """The same view in an iframe, for widgets: HTML set into a widget runs no scripts, a
    document in an iframe does (and sizes the frame once drawn)."""
    document = ("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body style='margin:0'>"
                + attention_html(att, layer, head, hide_special) + "</body></html>")
    guess = 140 + 20 * len(att.tokens) + 7 * max(len(t) for t in att.tokens)
    return (f'<iframe class="ktnb-attention-frame" srcdoc="{escape(document, quote=True)}" '
            f'style="width:100%;border:0;height:{guess}px"></iframe>')


def attention_html(att: Attention, layer: int | str = -1, head: int | None = None, hide_special: bool = False) -> str:
    """The interactive view as one HTML fragment: a layer (or the rollout through every layer)
    and a head (or their mean) picked, and a switch that hides the special tokens; every token
    is escaped, the data is embedded with ``<`` written as ``\\u003c`` so that no token can
    close the script."""
    element_id = "ktnb-attention-" + uuid.uuid4().hex[:12]
    png = base64.b64encode(figure_png(attention_figure(att, layer, head, hide_special))).decode("ascii")
    data = {
        "tokens": att.tokens,
        "weights": np.round(att.weights, 3).tolist(),
        "rollout": np.round(rollout(att.weights), 3).tolist(),
        "special": [int(i) for i in getattr(att, "special", ()) or ()],
        "hide": bool(hide_special),
        "layer": ROLLOUT if layer == ROLLOUT else layer % att.weights.shape[0],
        "head": None if head is None else head % att.weights.shape[1],
        "maxlen": max(len(t) for t in att.tokens),
    }
    payload = json.dumps(data, ensure_ascii=True).replace("<", "\\u003c").replace(">", "\\u003e")
    script = _SCRIPT % {"id": json.dumps(element_id), "data": payload}
    tokens = " ".join(f'<span class="ktnb-token" style="padding:1px 3px;margin:1px;border:1px solid #ccc;'
                      f'border-radius:3px;font-family:monospace">{escape(t)}</span>' for t in att.tokens)
    return (
        f'<div class="ktnb-attention" id="{element_id}" style="font-family:sans-serif;font-size:13px">'
        f'<div style="font-weight:bold">attention: {escape(att.text)}</div>'
        f'<div class="ktnb-attention-tokens" style="margin:4px 0;line-height:1.9">{tokens}</div>'
        f'<img class="ktnb-attention-png" alt="attention heatmap, {escape(_label(att, layer, head, hide_special))}" '
        f'src="data:image/png;base64,{png}"/>'
        f'<div class="ktnb-attention-live"></div>'
        f"<script>{script}</script></div>"
    )
