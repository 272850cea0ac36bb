"""The workshop path in a real browser: JupyterLab on 127.0.0.1, Debian's Chromium driven by
Playwright. Runs the quickstart notebook and asserts what a person sees; then the panel:
tabs, Start, live progress, Stop, the LR finder's highlighted suggestion, the report and
confusion matrix in view, a prediction, and the interactive attention view. Screenshots go to test-artifacts/ (and to docs/screenshots/
with KTNB_UPDATE_SCREENSHOTS=1, for the README)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOKEN = "ktnb-browser-test"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]

pytestmark = pytest.mark.slow


def _needs(condition: bool, why: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {why}")
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(folder: Path) -> None:
    """No news toast or update check; every cell kept in the DOM (no virtual scrolling)."""
    settings = {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }
    for key, value in settings.items():
        path = folder / f"{key}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    (folder / "overrides.json").write_text(json.dumps({k.replace("/", ":", 1).replace("/", ":"): v
                                                       for k, v in settings.items()}))


@pytest.fixture(scope="module")
def lab(tmp_path_factory, sst2_dir):
    _needs(Path(CHROMIUM).exists(), "Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")
    pytest.importorskip("jupyterlab")
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", work / "notebooks")
    _write_settings(work / "settings")
    port = _free_port()
    # small data unless asked otherwise (make screenshots runs the full 2,000 rows)
    env = {**os.environ, "KTNB_SMALL": os.environ.get("KTNB_SMALL", "1"), "KTNB_DATA_DIR": str(sst2_dir.parent), "HF_HUB_OFFLINE": "1",
           "JUPYTERLAB_SETTINGS_DIR": str(work / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"), "JUPYTER_RUNTIME_DIR": str(work / "runtime")}
    log = open(work / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--allow-root",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={work / 'notebooks'}"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            assert server.poll() is None and time.time() < deadline, (work / "lab.log").read_text()[-3000:]
            time.sleep(0.5)
    yield base
    server.terminate()
    server.wait(30)
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=False)
    if os.environ.get("KTNB_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(ARTIFACTS / name, SCREENSHOTS / name)


def _wait_for_kernel(page, timeout: float = 90) -> None:
    """Until the notebook's kernel is up. When Lab opened the notebook before it had listed the
    kernels, it asks which one to start: answer with the notebook's own (Python 3). Any other
    dialog fails the test with its text."""
    dialog = page.locator(".jp-Dialog")
    idle = page.locator("text=Kernel status: Idle")
    deadline = time.time() + timeout
    while time.time() < deadline:
        if dialog.count():
            text = " | ".join(dialog.all_inner_texts())
            if "Select Kernel" not in text:
                _screenshot(page, "dialog.png")
                pytest.fail("JupyterLab shows a dialog: " + text)
            choice = dialog.locator("select")
            if choice.count():
                choice.first.select_option(label="Python 3 (ipykernel)")
            print("answering JupyterLab's kernel dialog:", text.replace("\n", " "))
            dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
            dialog.wait_for(state="detached", timeout=10_000)
        elif idle.count():
            return
        page.wait_for_timeout(250)
    _screenshot(page, "kernel.png")
    pytest.fail(f"the notebook's kernel did not start within {timeout:.0f} s")


def _open_and_run_all(browser, base: str, notebook: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    workspace = notebook.split(".")[0].replace("_", "-")  # a fresh layout per notebook, nothing restored
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{notebook}?token={TOKEN}&reset")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
    _wait_for_kernel(page)
    # Run > Run All Cells. Lab can report "Idle" a moment before the kernel's connection takes
    # code (the cells are then walked through but none runs), so check that the last code cell
    # was queued ([*]) or ran, and ask again if not; nothing has run then, so asking again is safe.
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    last_prompt = page.locator(".jp-CodeCell .jp-InputPrompt").last
    for _ in range(3):
        _wait_for_kernel(page)
        try:  # a kernel dialog that opens late blocks the clicks: answered on the next round
            page.locator(".lm-MenuBar-item", has_text="Run").first.click(timeout=10_000)
            page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click(timeout=10_000)
            page.wait_for_function("e => /\\[(\\*|\\d+)\\]/.test(e.textContent)",
                                   arg=last_prompt.element_handle(), timeout=20_000)
            return page
        except PlaywrightTimeout:
            continue
    pytest.fail("Run All Cells started no cell in three tries")


def _wait_or_report(page, locator, timeout: int) -> None:
    """Wait for what the notebook should show; on timeout, fail with what it shows instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        locator.wait_for(timeout=timeout)
    except PlaywrightTimeout:
        _screenshot(page, "timeout.png")
        outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
        pytest.fail("the notebook did not show it in time; its outputs:\n" + "\n---\n".join(o[-600:] for o in outputs))


def test_quickstart_notebook_shows_report_confusion_matrix_and_attention(lab, browser):
    page = _open_and_run_all(browser, lab, "01_quickstart.ipynb")
    # the last cell's attention view (its sentence has "sad"), its SVG drawn by the inline script
    last_view = page.locator(".ktnb-attention", has=page.locator(".ktnb-token", has_text="sad"))
    _wait_or_report(page, last_view.locator(".ktnb-attention-live svg rect").first, 300_000)
    report = page.locator(".jp-OutputArea-output table.ktnb-report").first
    assert report.is_visible() and "accuracy" in report.inner_text()
    assert "test examples" in report.inner_text()  # on SST-2's test split, not the dev split that picked the weights
    assert page.locator(".jp-OutputArea-output img").count() >= 1  # the confusion matrix PNG
    assert page.locator(".jp-OutputArea-output img").first.evaluate("img => img.naturalWidth") > 200
    tokens = last_view.locator(".ktnb-token").all_inner_texts()
    assert "sad" in tokens and tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert last_view.locator(".ktnb-attention-png").is_hidden()  # the script took over from the PNG
    assert last_view.locator("select").count() == 2  # layer and head pickers
    n = len(tokens)
    assert last_view.locator(".ktnb-attention-live svg rect").count() == n * n
    # the rollout through every layer, then the switch that hides [CLS] and [SEP]
    last_view.locator("select").first.select_option("rollout")
    assert last_view.locator("select").nth(1).is_disabled()  # no head to pick in a rollout
    last_view.locator("input.ktnb-hide-special").check()
    assert last_view.locator(".ktnb-attention-live svg rect").count() == (n - 2) ** 2
    shown = last_view.locator(".ktnb-attention-live svg text").all_text_contents()
    assert "[CLS]" not in shown and "sad" in shown
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                        has_text="Traceback").count() == 0
    page.locator(".ktnb-progress").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    _screenshot(page, "quickstart-report.png")
    last_view.scroll_into_view_if_needed()
    _screenshot(page, "quickstart-attention.png")
    page.close()


def test_panel_tabs_start_live_progress_and_stop(lab, browser):
    page = _open_and_run_all(browser, lab, "02_panel.ipynb")
    titles = ["Data", "LR finder", "Train", "Evaluate", "Predict", "Attention", "Explain"]
    tabs = [page.get_by_role("tab", name=title, exact=True) for title in titles]
    tabs[0].wait_for(timeout=120_000)
    assert all(tab.count() == 1 for tab in tabs)
    page.wait_for_selector("text=class counts", timeout=180_000)  # Load finished: the Data tab shows counts
    _screenshot(page, "panel-data.png")
    tabs[2].click()
    epochs = page.locator(".widget-readout:visible").first  # the epochs slider's readout, editable
    epochs.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("20")
    page.keyboard.press("Enter")
    page.locator('button.widget-button[title="Start"]').click()
    page.wait_for_function(  # live progress: the bar grows while the kernel trains in the background
        """() => [...document.querySelectorAll('.widget-hprogress .progress-bar')]
                 .some(bar => parseFloat(bar.style.width) > 0)""", timeout=120_000)
    expect(page.locator('button.widget-button[title="Start"]')).to_be_disabled()
    # the live loss curve: SVG drawn by the browser from the points the kernel appends
    page.locator(".ktnb-live-curve polyline").first.wait_for(timeout=120_000)
    if os.environ.get("KTNB_UPDATE_SCREENSHOTS") == "1":
        page.wait_for_timeout(5000)  # a few dozen batches on the curve, for the README picture
    _screenshot(page, "panel-training.png")
    page.locator('button.widget-button[title="Stop"]').click()
    page.wait_for_selector("text=/training stopped/", timeout=120_000)
    width = page.locator(".widget-hprogress .progress-bar").first.evaluate("bar => parseFloat(bar.style.width)")
    assert 0 < width < 100  # stopped part-way through the 20 epochs
    expect(page.locator('button.widget-button[title="Start"]')).to_be_enabled(timeout=30_000)
    expect(page.locator('button.widget-button[title="Stop"]')).to_be_disabled()
    page.wait_for_function(  # once training ended, the full picture that stays (a PNG)
        """() => [...document.querySelectorAll('.widget-image')].some(img => img.naturalWidth > 200
                 && img.offsetParent !== null)""", timeout=60_000)
    _screenshot(page, "panel-stopped.png")
    _panel_lr_finder(page, tabs[1])
    _panel_evaluate(page, tabs[3])
    _panel_predict(page, tabs[4])
    _panel_attention(page, tabs[5])
    page.close()


def _within_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]


def _panel_lr_finder(page, tab) -> None:
    tab.click()
    page.locator('button.widget-button[title="Run LR finder"]').click()
    status = page.locator(".widget-html-content", has_text="suggestion:")
    status.wait_for(timeout=180_000)
    suggested_by = status.inner_text().split("(", 1)[1].split(",", 1)[0]  # "suggestion: 1.2e-04 (name, 9 s)"
    active = page.locator(".widget-toggle-button.mod-active:visible")
    expect(active).to_have_count(1)
    assert active.inner_text().startswith(suggested_by), (active.inner_text(), suggested_by)
    plot = page.locator(".widget-image:visible").first
    assert plot.evaluate("img => img.naturalWidth") > 300
    assert plot.evaluate("img => Math.abs(img.clientWidth - img.naturalWidth) <= 1")  # natural size
    status.evaluate("e => e.scrollIntoView({block: 'start'})")
    _screenshot(page, "panel-lr-finder.png")


def _panel_evaluate(page, tab) -> None:
    tab.click()
    page.locator('button.widget-button[title="Evaluate"]').click()
    report = page.locator("table.ktnb-report:visible")
    report.wait_for(timeout=120_000)
    assert "accuracy" in report.inner_text()
    matrix = page.locator(".widget-image:visible").first
    page.wait_for_function("img => img.naturalWidth > 200", arg=matrix.element_handle(), timeout=60_000)
    matrix.scroll_into_view_if_needed()
    assert _within_viewport(page, report) and _within_viewport(page, matrix)
    assert matrix.evaluate("img => Math.abs(img.clientWidth - img.naturalWidth) <= 1")
    _screenshot(page, "panel-evaluate.png")


def _panel_predict(page, tab) -> None:
    tab.click()
    page.locator("textarea:visible").fill("a gorgeous , witty film\nthe plot is a tired mess")
    page.locator('button.widget-button[title="Predict"]').click()
    rows = page.locator("table.ktnb-predictions:visible tbody tr")
    expect(rows).to_have_count(2, timeout=60_000)
    assert "gorgeous" in rows.first.inner_text()


def _panel_attention(page, tab) -> None:
    tab.click()
    page.locator(".widget-text:visible input").fill("a <b>gorgeous</b> film")
    page.locator('button.widget-button[title="Show attention"]').click()
    frame = page.frame_locator("iframe.ktnb-attention-frame")
    frame.locator(".ktnb-attention-live svg rect").first.wait_for(timeout=60_000)  # drawn by the view's script
    assert frame.locator(".ktnb-attention-live select").count() == 2  # layer and head pickers, as in the cell
    assert "< b >" in frame.locator(".ktnb-attention-tokens").inner_text()  # the tags' pieces, as text
    assert frame.locator(".ktnb-attention b").count() == 0  # no bold element made from the sentence
    assert frame.locator(".ktnb-attention-png").is_hidden()
    _screenshot(page, "panel-attention.png")


def _run_to_the_last_table(browser, lab, notebook: str):
    """The notebook run in JupyterLab until its last cell shows a table (a top_losses table: every
    cell above has run), with no traceback anywhere."""
    page = _open_and_run_all(browser, lab, notebook)
    last = page.locator(".jp-CodeCell").last
    _wait_or_report(page, last.locator(".jp-OutputArea-output table").first, 480_000)
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                        has_text="Traceback").count() == 0
    return page


def test_tasks_notebook_shows_the_regression_plot_and_the_entity_highlight(lab, browser):
    page = _run_to_the_last_table(browser, lab, "05_tasks.ipynb")  # the last: the Python API on CoNLL
    pairs = page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text="data: stsb"))  # pairs, a score
    report = pairs.locator("table.ktnb-report")
    assert "pearson" in report.inner_text()
    scatter = pairs.locator(".jp-OutputArea-output img").first  # predicted against true scores
    assert scatter.evaluate("img => img.naturalWidth") > 200 and scatter.is_visible()
    highlight = page.locator(".jp-OutputArea-output .ktnb-entities").last  # ner.predictor.highlight(...)
    highlight.scroll_into_view_if_needed()
    marks = highlight.locator("mark.ktnb-entity")
    assert marks.count() >= 1, highlight.inner_text()
    assert marks.first.evaluate("m => getComputedStyle(m).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert page.locator(".ktnb-entities-png").last.is_hidden()  # the PNG is only for viewers without styles
    _screenshot(page, "tasks-entities.png")
    report.scroll_into_view_if_needed()
    _screenshot(page, "tasks-regression.png")
    page.close()


def test_question_answering_notebook_highlights_the_answer_in_the_pasted_paragraph(lab, browser):
    page = _run_to_the_last_table(browser, lab, "06_question_answering.ipynb")
    cell = page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text="task_options"))
    assert "exact match" in cell.locator("table.ktnb-report").inner_text()
    asked = page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text="paragraph = ("))
    views = asked.locator(".ktnb-predictions .ktnb-entities")
    assert views.count() == 2  # both questions, each with the paragraph
    assert "When was the tower built?" in asked.locator(".ktnb-predictions").inner_text()
    answers = asked.locator("mark.ktnb-entity[data-type='answer']")  # a SQuAD v1.1 model always answers
    assert answers.count() == 2
    assert answers.first.evaluate("m => getComputedStyle(m).backgroundColor") != "rgba(0, 0, 0, 0)"
    asked.scroll_into_view_if_needed()
    _screenshot(page, "qa-answer.png")
    page.close()


def test_generation_notebook_streams_the_text_into_one_display(lab, browser):
    page = _open_and_run_all(browser, lab, "07_generation.ipynb")
    cell = page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text="%ktrain generate"))
    stream = cell.locator("pre.ktnb-stream")
    _wait_or_report(page, stream, 480_000)
    seen = []  # what the cell shows while the model writes: the text grows in place
    deadline = time.time() + 120
    while time.time() < deadline:
        text = stream.first.inner_text()
        if not seen or seen[-1] != text:
            seen.append(text)
        if "writing" not in text:
            break
        time.sleep(0.02)
    final = seen[-1]
    assert stream.count() == 1 and final.startswith("the movie is") and "writing" not in final
    assert len(final) > len("the movie is") + 20, final
    growing = [t for t in seen if "writing" in t]
    assert len(growing) >= 2 and len(growing[-1]) > len(growing[0]), seen  # seen while it was written
    last = page.locator(".jp-CodeCell").last  # the merged LoRA model's text in pipeline, as ktnb writes it
    _wait_or_report(page, last.locator(".jp-OutputArea-output", has_text="the same as ktnb's"), 480_000)
    assert "the same as ktnb's: True" in last.locator(".jp-OutputArea-output", has_text="pipeline:").inner_text()
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                        has_text="Traceback").count() == 0
    cell.scroll_into_view_if_needed()
    _screenshot(page, "generation-stream.png")
    page.close()


def test_translation_notebook_scores_streams_and_matches_the_pipeline(lab, browser):
    page = _open_and_run_all(browser, lab, "08_translation.ipynb")
    cell = page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text="%%ktrain -o mt"))
    report = cell.locator("table.ktnb-report")
    _wait_or_report(page, report, 480_000)
    scores = report.inner_text()
    assert "chrF" in scores and "BLEU" in scores, scores
    assert cell.locator("table.ktnb-worst").count() == 1 and "nrefs:1" in cell.inner_text()
    streamed = page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text="%ktrain generate"))
    _wait_or_report(page, streamed.locator("pre.ktnb-stream"), 120_000)
    last = page.locator(".jp-CodeCell").last  # the saved folder's translation in pipeline, as ktnb writes it
    _wait_or_report(page, last.locator(".jp-OutputArea-output", has_text="the same as ktnb's"), 480_000)
    assert "the same as ktnb's: True" in last.locator(".jp-OutputArea-output", has_text="pipeline:").inner_text()
    assert "writing" not in streamed.locator("pre.ktnb-stream").first.inner_text()
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                        has_text="Traceback").count() == 0
    cell.scroll_into_view_if_needed()
    _screenshot(page, "translation-report.png")
    page.close()
