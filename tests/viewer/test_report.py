"""A run's report: ``stalstm train`` writes ``report.html`` into the run folder and
``stalstm report RUN -o FILE`` writes the same page; on a real SBU run its per-class accuracy is
the confusion matrix's, a click on a cell lists that cell's clips from ``scores.json``, and the
embedded viewer shows test clips with the prediction the evaluation recorded. A detection run
gets its metrics; a run without evaluation, or whose data has moved, a page that says what is
absent; a folder that is no run, an error."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers.browser import open_page
from typer.testing import CliRunner

from stalstm.cli import app
from stalstm.errors import DataError
from stalstm.viewer.report import choose_clips, run_report


def page_data(path: Path) -> dict:
    text = path.read_text()
    start = text.index('id="stalstm-data">') + len('id="stalstm-data">')
    return json.loads(text[start : text.index("</script>", start)])


def report(run: Path, out: Path) -> Path:
    result = CliRunner().invoke(app, ["report", str(run), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out}\n"
    return out


def test_train_writes_the_report_and_the_command_writes_the_same(sbu_run, tmp_path) -> None:
    written = page_data(sbu_run / "report.html")
    again = page_data(report(sbu_run, tmp_path / "report.html"))
    assert written == again
    evaluation = written["evaluation"]
    with open(sbu_run / "evaluation-test" / "confusion.csv", newline="") as stream:
        rows = list(csv.reader(stream))
    assert evaluation["classes"] == rows[0][1:]
    assert evaluation["confusion"] == [[int(cell) for cell in row[1:]] for row in rows[1:]]
    scores = json.loads((sbu_run / "evaluation-test" / "scores.json").read_text())
    assert {clip["name"] for clip in evaluation["clips"]} == set(scores) and len(scores) == 55
    summary = json.loads((sbu_run / "summary.json").read_text())
    assert written["facts"]["top1"] == summary["top1"] and written["absent"] == []
    epochs = [row["epoch"] for row in written["curves"]]
    assert epochs == list(range(1, 16)) and "train/loss" in written["curves"][0]
    # the viewers: the most confident wrong clips, then right ones, as the evaluation saw them
    names = [view["name"] for view in written["views"]]
    assert names == [clip["name"] for clip in choose_clips(evaluation["clips"], 3)]
    for view in written["views"]:
        recorded = scores[view["name"]]
        assert view["classes"][view["predicted"]] == recorded["predicted"]
        assert view["probability"] == pytest.approx(
            recorded["probabilities"][recorded["predicted"]], abs=1e-5
        )
        assert view["classes"][view["truth"]] == recorded["label"]
    assert [scores[name]["correct"] for name in names] == [False] * 3 + [True] * 3


def test_the_report_in_a_browser(sbu_run, browser) -> None:
    data = page_data(sbu_run / "report.html")
    evaluation = data["evaluation"]
    classes, matrix = evaluation["classes"], np.asarray(evaluation["confusion"])
    opened = open_page(browser, sbu_run / "report.html")
    # curves drawn, one chart of losses and one of accuracies
    assert opened.page.locator("canvas.curve").count() == 2
    for index in range(2):
        assert (
            opened.page.locator("canvas.curve")
            .nth(index)
            .evaluate(
                "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v)"
            )
        )
    # per-class accuracy as the confusion matrix says
    shown = opened.page.locator("ul.per-class li .value").all_inner_texts()
    for c, text in enumerate(shown):
        total = matrix[c].sum()
        assert text == (f"{matrix[c, c]}/{total} = {100 * matrix[c, c] / total:.0f} %"
                        if total else "no clips")  # fmt: skip
    # a click on a cell lists exactly that cell's clips
    wrong = next(clip for clip in evaluation["clips"] if not clip["correct"])
    truth, predicted = wrong["truth"], wrong["predicted"]
    opened.page.locator(f"td[data-true='{truth}'][data-predicted='{predicted}']").click()
    listed = opened.page.locator(".clip-list li").evaluate_all(
        "items => items.map(i => i.dataset.clip)"
    )
    expected = [c["name"] for c in evaluation["clips"]
                if (c["truth"], c["predicted"]) == (truth, predicted)]  # fmt: skip
    assert listed == expected and len(listed) == matrix[truth, predicted]
    assert classes[truth] in opened.text(".cell-clips b")
    # the embedded viewer: one clip at a time, chosen by its button or from the cell's list
    assert opened.page.locator("canvas.skeleton").count() == 1
    first = data["views"][0]
    assert opened.text(".predicted-class") == first["classes"][first["predicted"]]
    right = next(view for view in data["views"] if view["predicted"] == view["truth"])
    opened.page.locator(f".viewer-chooser button[data-clip='{right['name']}']").click()
    assert opened.text(".predicted-class") == right["classes"][right["predicted"]]
    assert opened.text(".verdict").endswith("✓")
    before = opened.pixels("canvas.skeleton")
    opened.move_slider(len(right["beta"]) - 1)
    assert opened.pixels("canvas.skeleton") != before
    if wrong["name"] in {view["name"] for view in data["views"]}:
        opened.page.locator(f".clip-list li[data-clip='{wrong['name']}'] button").click()
        assert (
            opened.page.locator(".viewer-chooser button.active")
            .inner_text()
            .endswith(wrong["name"])
        )
    opened.page.locator(f"td[data-true='{truth}'][data-predicted='{predicted}']").click()
    opened.screenshot("report")
    opened.assert_clean()


def test_a_detection_run_s_report(detection_run, browser) -> None:
    data = page_data(detection_run / "report.html")
    summary = json.loads((detection_run / "summary.json").read_text())
    assert data["task"] == "detection" and data["evaluation"] is None and data["views"] == []
    assert data["detection"]["metrics"]["test"] == summary["test"]
    assert data["curves"] and data["absent"] == []
    opened = open_page(browser, detection_run / "report.html")
    table = opened.text("table.detection-metrics")
    assert "detection rate" in table and str(summary["test"]["streams"]) in table
    assert "--html" in opened.text("#app")
    opened.assert_clean()


def test_a_run_without_evaluation_or_data_says_what_is_absent(sbu_run, browser, tmp_path):
    unfinished = tmp_path / "unfinished"
    left_out = shutil.ignore_patterns("evaluation-*", "summary.*", "report.html")
    shutil.copytree(sbu_run, unfinished, ignore=left_out)
    data = page_data(report(unfinished, tmp_path / "unfinished.html"))
    assert data["evaluation"] is None and data["views"] == [] and data["curves"]
    assert any("no summary.json" in text for text in data["absent"])
    assert any("no evaluation" in text and "stalstm eval" in text for text in data["absent"])
    opened = open_page(browser, tmp_path / "unfinished.html")
    assert opened.page.locator(".absent").count() == 2
    assert opened.page.locator("canvas.curve").count() == 2
    opened.assert_clean()

    moved = tmp_path / "moved"
    shutil.copytree(sbu_run, moved, ignore=shutil.ignore_patterns("report.html"))
    recorded = json.loads((moved / "run.json").read_text())
    recorded.update(store=str(tmp_path / "gone-store"), data=str(tmp_path / "gone-data"))
    (moved / "run.json").write_text(json.dumps(recorded))
    data = run_report(moved)
    assert data["evaluation"] is not None and data["views"] == []
    assert any("the run's data cannot be read" in text for text in data["absent"])


def test_report_refuses_what_is_not_a_run(sbu_run, tmp_path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["report", str(tmp_path), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 1 and "not a run folder: no run.json" in result.stderr
    shutil.copytree(sbu_run, tmp_path / "cv" / "fold-1")
    result = runner.invoke(app, ["report", str(tmp_path / "cv"), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 1 and "report one of them" in result.stderr
    assert "fold-1" in result.stderr
    result = runner.invoke(app, ["report", str(tmp_path / "nothing"), "-o", "r.html"])
    assert result.exit_code == 1 and result.stderr.startswith("error: ")
    broken = tmp_path / "broken"
    shutil.copytree(sbu_run, broken)
    (broken / "evaluation-test" / "scores.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        run_report(broken)
    assert not (tmp_path / "r.html").exists()


def test_choose_clips_takes_the_most_confident_wrong_and_varied_right_ones() -> None:
    clips = [
        {"name": "a", "truth": 0, "predicted": 0, "probability": 0.9, "correct": True},
        {"name": "b", "truth": 0, "predicted": 0, "probability": 0.8, "correct": True},
        {"name": "c", "truth": 1, "predicted": 1, "probability": 0.7, "correct": True},
        {"name": "d", "truth": 1, "predicted": 0, "probability": 0.6, "correct": False},
        {"name": "e", "truth": 0, "predicted": 1, "probability": 0.95, "correct": False},
    ]
    assert [clip["name"] for clip in choose_clips(clips, 2)] == ["e", "d", "a", "c"]
    assert [clip["name"] for clip in choose_clips(clips, 3)] == ["e", "d", "a", "c", "b"]
