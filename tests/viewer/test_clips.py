"""A clip's page (``stalstm explain RUN CLIP --html FILE``) on a real SBU clip (two persons)
and a model trained on SBU: its numbers are attention.json's and the online recogniser's, and in
headless Chromium it loads without an error or a request, draws a different frame when the
slider moves and while it plays, shows the model's alpha and beta for the frame on screen, and
jumps to the key frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.browser import open_page
from helpers.models import model_input, saved_model, sbu_clip
from typer.testing import CliRunner

from stalstm.cli import app
from stalstm.clip import Clip
from stalstm.explain import clip_attention
from stalstm.model import STALSTMConfig, build_model
from stalstm.modelfile import load_model, save_model
from stalstm.online import replay_clip
from stalstm.viewer.clips import clip_view, write_clip_page

CLIP = "s01s02/08/001"  # punching: two persons
SHOWN = 5e-5  # the page shows alpha, beta and probabilities to 4 decimals


def page_data(path: Path) -> dict:
    """The JSON a page carries (what its script reads)."""
    text = path.read_text()
    start = text.index('id="stalstm-data">') + len('id="stalstm-data">')
    return json.loads(text[start : text.index("</script>", start)])


@pytest.fixture(scope="module")
def clip_page(sbu_run: Path, data_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """(page, attention.json's record) of one SBU clip, both written by one explain command."""
    out = tmp_path_factory.mktemp("explain")
    clip_file = data_root / "sbu_kinect_interaction" / CLIP / "skeleton_pos.txt"
    result = CliRunner().invoke(app, [
        "explain", str(sbu_run), str(clip_file), "-o", str(out / "pictures"), "--no-gif",
        "--html", str(out / "clip.html"), "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["files"]["html"] == str(out / "clip.html")
    return out / "clip.html", json.loads((out / "pictures" / "attention.json").read_text())


def test_the_page_carries_the_numbers_of_attention_json(clip_page, sbu_run, data_root) -> None:
    path, record = clip_page
    [view] = page_data(path)["views"]
    frames, joints = np.shape(record["alpha"])
    np.testing.assert_allclose(np.reshape(view["alpha"], (frames, joints)), record["alpha"],
                               atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(view["beta"], record["beta"], atol=1e-6)
    running = np.reshape(view["probabilities"], (frames, len(record["class_names"])))
    predicted = record["class_names"].index(record["prediction"][0]["class"])
    assert view["predicted"] == predicted and view["key_frames"] == record["key_frames"]
    np.testing.assert_allclose(running[:, predicted], record["running_probability"], atol=1e-6)
    assert view["truth"] == 7 and view["classes"][7] == "punching"
    # the running probabilities are the online recogniser's, frame by frame
    loaded = load_model(sbu_run / "model")
    clip = sbu_clip(data_root, CLIP)
    online = np.stack([probabilities for _, probabilities in replay_clip(loaded, clip)])
    np.testing.assert_allclose(running, online, atol=1e-5)
    # the skeleton is what the model read: both persons, prepared, to 1e-4 of its size
    skeleton = view["skeleton"]
    assert (skeleton["persons"], skeleton["joints_per_person"], skeleton["dims"]) == (2, 15, 3)
    coords = np.reshape(skeleton["coords"], (frames, joints, 3))
    np.testing.assert_allclose(coords, model_input(loaded, clip), atol=2e-4 * skeleton["radius"])
    assert skeleton["bones"] and skeleton["up"] is not None
    assert np.reshape(skeleton["present"], (frames, 2)).all()


def test_the_clip_page_in_a_browser(clip_page, browser) -> None:
    path, record = clip_page
    opened = open_page(browser, path)
    canvas = "canvas.skeleton"
    first = opened.pixels(canvas)
    assert opened.frame() == 0
    assert opened.text(".predicted-class") == record["prediction"][0]["class"]
    # the slider moves the drawing, and the numbers shown are the model's for that frame
    alpha = np.asarray(record["alpha"])
    for frame in (5, record["key_frames"][-1], len(record["beta"]) - 1):
        opened.move_slider(frame)
        assert opened.frame() == frame
        assert float(opened.text(".beta-value")) == pytest.approx(record["beta"][frame], abs=SHOWN)
        np.testing.assert_allclose(opened.numbers("table.alpha td.value"), alpha[frame], atol=SHOWN)
    assert opened.pixels(canvas) != first
    # the last frame's running top class is the prediction, with its probability
    assert opened.text("ol.classes li .name") == record["prediction"][0]["class"]
    assert float(opened.text("ol.classes li .value")) == pytest.approx(
        record["prediction"][0]["probability"], abs=SHOWN
    )
    # arrows step a frame, key frames jump
    opened.page.keyboard.press("Home")
    assert opened.frame() == 0
    opened.page.keyboard.press("ArrowRight")
    opened.page.keyboard.press("ArrowRight")
    assert opened.frame() == 2
    for frame in record["key_frames"]:
        opened.page.locator(f"button.key-frame[data-frame='{frame}']").click()
        assert opened.frame() == frame
    # play runs the clip from the start to its end, drawing as it goes
    opened.page.keyboard.press("Home")
    before = opened.pixels(canvas)
    opened.page.locator("button.play").click()
    opened.wait_until("Number(document.body.dataset.frame) >= 4")
    assert opened.pixels(canvas) != before
    last = len(record["beta"]) - 1
    opened.wait_until(f"Number(document.body.dataset.frame) === {last}")
    assert opened.text("button.play").endswith("play")  # it stopped at the end
    # 3D data orbits: dragging turns the drawing
    still = opened.pixels(canvas)
    box = opened.page.locator(canvas).bounding_box()
    opened.page.mouse.move(box["x"] + 200, box["y"] + 200)
    opened.page.mouse.down()
    opened.page.mouse.move(box["x"] + 320, box["y"] + 230, steps=4)
    opened.page.mouse.up()
    assert opened.pixels(canvas) != still
    opened.page.locator(canvas).dblclick()
    opened.move_slider(12)
    opened.screenshot("clip")
    opened.assert_clean()


def test_a_model_without_attention_says_so(browser, data_root: Path, tmp_path: Path) -> None:
    loaded = saved_model(tmp_path / "lstm", joints=30, classes=8, layout="openni15", preset="sbu",
                         variant="lstm")  # fmt: skip
    attention = clip_attention(loaded, sbu_clip(data_root, CLIP))
    view = clip_view(loaded, attention)
    assert view["alpha"] is None and set(view["beta"]) == {1.0}
    result = CliRunner().invoke(app, [
        "explain", str(tmp_path / "lstm"),
        str(data_root / "sbu_kinect_interaction" / CLIP / "skeleton_pos.txt"),
        "--html", str(tmp_path / "page.html"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "attention.json").exists()  # no -o: the page only
    opened = open_page(browser, tmp_path / "page.html")
    assert "no spatial attention" in opened.text(".note")
    assert "no temporal attention" in opened.text(".charts")
    assert opened.page.locator("table.alpha").count() == 0
    before = opened.pixels("canvas.skeleton")
    opened.move_slider(10)
    assert opened.pixels("canvas.skeleton") != before
    opened.assert_clean()


def test_explain_needs_an_output(data_root: Path, tmp_path: Path) -> None:
    saved_model(tmp_path / "m", joints=30, classes=8, layout="openni15", preset="sbu")
    clip_file = data_root / "sbu_kinect_interaction" / CLIP / "skeleton_pos.txt"
    result = CliRunner().invoke(app, ["explain", str(tmp_path / "m"), str(clip_file)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: explain: give -o DIR")


def test_2d_keypoints_are_drawn_upright_without_orbit(browser, data_root: Path, tmp_path) -> None:
    """SBU's x and y alone are image keypoints (y runs down): the page turns them upright, and
    dragging does not turn a 2D drawing."""
    sbu = sbu_clip(data_root, CLIP)
    clip = Clip(sbu.name, sbu.joints[..., :2], label=sbu.label, layout="openni15")
    torch.manual_seed(0)
    config = STALSTMConfig(num_joints=30, num_classes=8, num_coords=2, main_hidden=16,
                           spatial_hidden=8, spatial_tanh=8, temporal_hidden=8)  # fmt: skip
    save_model(tmp_path / "m", build_model(config), class_names=[str(n) for n in range(8)],
               layout="openni15", preset="none")  # fmt: skip
    path, attention = write_clip_page(load_model(tmp_path / "m"), clip, tmp_path / "2d.html")
    [view] = page_data(path)["views"]
    assert view["skeleton"]["dims"] == 2 and view["skeleton"]["up"][1] < 0  # up runs to -y
    opened = open_page(browser, path)
    assert opened.page.evaluate("stalstm.player.skeleton.flip") is True
    assert "orbit" not in opened.text(".stage .hint")
    drawn = opened.pixels("canvas.skeleton")
    box = opened.page.locator("canvas.skeleton").bounding_box()
    opened.page.mouse.move(box["x"] + 200, box["y"] + 200)
    opened.page.mouse.down()
    opened.page.mouse.move(box["x"] + 320, box["y"] + 230, steps=4)
    opened.page.mouse.up()
    assert opened.pixels("canvas.skeleton") == drawn
    # the wheel scrolls the page; with ctrl (a pinch) it zooms, and a double-click resets
    opened.page.mouse.wheel(0, -300)
    assert opened.pixels("canvas.skeleton") == drawn
    opened.page.keyboard.down("Control")
    opened.page.mouse.wheel(0, -300)
    opened.page.keyboard.up("Control")
    assert opened.page.evaluate("stalstm.player.skeleton.zoom") > 1
    assert opened.pixels("canvas.skeleton") != drawn
    opened.page.locator("canvas.skeleton").dblclick()
    assert opened.pixels("canvas.skeleton") == drawn
    # the head (joint 0) is drawn above the feet (joints 11 and 14) on the screen
    head, foot = opened.page.evaluate("""() => {
        const view = stalstm.player.skeleton, frame = 0;
        const point = (k) => view.project(view.skeleton.coords.slice(2 * k, 2 * k + 2),
                                          view.skeleton.centre);
        return [point(0)[1], point(11)[1]];
    }""")
    assert head > foot  # screen "up" is positive in the projection
    np.testing.assert_allclose(view["beta"], attention.beta, atol=1e-6)
    opened.assert_clean()
