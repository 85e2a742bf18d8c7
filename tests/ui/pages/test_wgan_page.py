"""The WGAN page: live views during GUI training runs, slow motion, checkpoints, export, the W1 lab."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from app.engine.data import load_dataset
from app.engine.setup import build_configs, create_task
from app.engine.trainer import Trainer
from app.ui.widgets.exports import NothingToExport
from tests.ui.conftest import wait_idle

QUIET = {"val_every": 0, "checkpoint_every": 0}
SMALL_2D = {"hidden_dims": (16, 16), "batch_size": 32, **QUIET}
SMALL_IMAGES = {"latent_dim": 8, "conv_channels": (4, 8), "batch_size": 8, **QUIET}


@pytest.fixture
def page(main_window):
    return main_window.show_page("wgan")


def test_the_page_has_the_stable_object_names(main_window, page):
    from PySide6.QtWidgets import QWidget

    names = ["wganStartButton", "wganPauseButton", "wganStepButton", "wganStopButton", "wganLossPlot",
             "wganSampleGrid", "wganTimeline", "wganCriticMap", "wganW1Lab",
             "wganCriticStepButton", "wganGeneratorStepButton", "wganGradNormHist"]  # fmt: skip
    for name in names:
        assert main_window.findChild(QWidget, name) is not None, name


def test_choosing_data_of_another_kind_switches_the_model_defaults(page, tmp_path):
    np.save(tmp_path / "my_points.npy", np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32))
    page.bar.dataset.setCurrentText(str(tmp_path))  # a folder: images
    assert page.form.value("arch") == "conv" and page.form.value("batch_size") == 64
    assert page.form.value("conv_channels") == (32, 64)  # two halvings: 28×28 and 32×32 both fit
    assert page.form.value("generator_upsampling") == "nearest" and page.form.value("generator_batch_norm")
    page.bar.dataset.setCurrentText("shapes")  # known to be 32×32: room for a third halving
    assert page.form.value("conv_channels") == (32, 64, 128)
    page.bar.dataset.setCurrentText(str(tmp_path / "my_points.npy"))
    assert page.form.value("arch") == "mlp" and page.form.value("latent_dim") == 2


def test_text_data_is_named_as_the_wrong_kind_and_changes_nothing(page):
    before = page.form.values()
    page.bar.dataset.setCurrentText("python-docs")  # a text dataset: no WGAN defaults for it
    assert page.bar.status.text() == "The WGAN-GP trains on 2-D points or images; 'python-docs' is text."
    assert page.form.values() == before
    page.bar.dataset.setCurrentText("shapes")  # images again: the image defaults apply
    assert page.form.value("arch") == "conv" and page.bar.status.text() == "Ready."


def test_shape_settings_of_the_other_architecture_are_greyed_out(page):
    page.form.editors["arch"].setCurrentText("conv")  # chosen by hand
    assert page.form.editors["conv_channels"].isEnabled() and not page.form.editors["hidden_dims"].isEnabled()
    page.form.set_values({"arch": "mlp"})  # set by the page (a dataset or a checkpoint)
    assert page.form.editors["hidden_dims"].isEnabled() and not page.form.editors["conv_channels"].isEnabled()
    assert not page.form.editors["generator_batch_norm"].isEnabled()
    page.form.set_values({"arch": "conv"})
    assert not page.form.editors["hidden_dims"].isEnabled()
    editors = page.form.editors
    assert editors["conv_channels"].isEnabled() and editors["generator_upsampling"].isEnabled()


def test_settings_that_the_chosen_constraint_ignores_are_greyed_out(page):
    page.form.editors["lipschitz"].setCurrentText("clip")
    assert not page.form.editors["gp_lambda"].isEnabled() and page.form.editors["clip_value"].isEnabled()
    assert not page.form.editors["adam_beta1"].isEnabled()
    page.form.editors["lipschitz"].setCurrentText("gp")
    assert page.form.editors["gp_lambda"].isEnabled() and not page.form.editors["clip_value"].isEnabled()


def test_2d_training_run_updates_critic_map_timeline_and_plots(qtbot, page):
    assert page.bar.dataset.currentText() == "8gaussians"
    page.form.set_values({**SMALL_2D, "steps": 40})
    qtbot.mouseClick(page.bar.start_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, page)
    frame = page.critic_map.frame
    assert frame is not None and frame.step == 40
    assert frame.critic.shape == (100, 100) and np.isfinite(frame.critic).all()
    assert frame.samples.shape == (1000, 2)
    assert 0 < len(frame.gradients) == len(frame.arrow_starts) <= 14 * 14
    assert page.critic_map.image.image is not None
    steps = page.timeline_bar.timeline.steps
    assert len(steps) >= 2 and steps == sorted(steps) and steps[-1] == 40
    page.loss_plot.redraw()
    assert page.loss_plot.point_count("critic_loss") == 40
    assert page.loss_plot.point_count("wasserstein") == 40
    assert page.grad_hist.norms is not None and len(page.grad_hist.norms) == 32
    assert "modes covered" in page.coverage.text()
    assert "critic updates 200" in page.counters.text()
    # scrub back: the first kept frame comes on screen and "Live" turns off
    page.timeline_bar.slider.setValue(0)
    assert page.critic_map.frame.step == steps[0] and not page.timeline_bar.live.isChecked()
    page.timeline_bar.live.setChecked(True)
    assert page.critic_map.frame.step == 40


def test_file_export_writes_the_evolution_and_every_view(qtbot, page, tmp_path):
    from PIL import Image

    page.form.set_values({**SMALL_2D, "steps": 20})
    page.start()
    wait_idle(qtbot, page)
    labels = []
    for index, (label, suffix, export) in enumerate(page.exports()):
        path = tmp_path / f"e{index}.{suffix}"
        if label == "Sample grid as PNG…":  # drawn for images only: 2-D points have the critic map
            with pytest.raises(NothingToExport, match="export the critic map instead"):
                export(path)
            assert not path.exists()
            continue
        export(path)
        with Image.open(path) if suffix != "csv" else open(path) as handle:
            if suffix != "csv":
                assert handle.width > 50, label
        labels.append(label)
    assert "Evolution as animated GIF…" in labels and "W1 vs JSD lab as PNG…" in labels
    with Image.open(tmp_path / f"e{labels.index('Evolution as animated GIF…')}.gif") as gif:
        assert gif.n_frames >= 2


def test_image_run_updates_the_sample_grid_and_exports_the_evolution(qtbot, page, tmp_path):
    page.bar.dataset.setCurrentText("shapes")
    assert page.form.value("arch") == "conv" and page.form.value("latent_dim") == 64  # image defaults
    page.form.set_values({**SMALL_IMAGES, "steps": 6})
    page.start()
    wait_idle(qtbot, page)
    assert page.views_stack.currentWidget() is page.sample_grid
    assert page.sample_grid.images.shape == (64, 1, 32, 32)
    assert page.frame.step == 6 and len(page.timeline_bar.timeline) >= 2
    gif = page.export_gif(tmp_path / "evolution.gif")
    with Image.open(gif) as image:
        assert image.n_frames == len(page.timeline_bar.timeline)
    strip = page.export_strip(tmp_path / "strip.png")
    kept = min(8, len(page.timeline_bar.timeline))
    with Image.open(strip) as image:
        assert image.width >= kept * (image.height - 40)  # the frames side by side, labelled below


def test_slow_motion_buttons_move_one_player_each(qtbot, page):
    page.form.set_values({**SMALL_2D, "steps": 1000})
    qtbot.mouseClick(page.critic_button, Qt.MouseButton.LeftButton)  # from idle: starts paused
    qtbot.waitUntil(lambda: "1 critic update" in page.action_readout.text(), timeout=20000)
    qtbot.waitUntil(lambda: page.state == "paused", timeout=5000)
    qtbot.waitUntil(lambda: "critic updates 1 ·" in page.counters.text(), timeout=5000)
    qtbot.mouseClick(page.generator_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "generator updates 1" in page.counters.text(), timeout=5000)
    assert "1 generator update" in page.action_readout.text()
    assert page.thread.trainer.step == 0  # actions are not training steps
    # n_critic is live: change it while paused, then one Step makes exactly that many critic updates
    page.form.editors["n_critic"].setText("2")
    qtbot.waitUntil(lambda: page.thread.trainer.task.hparams.n_critic == 2, timeout=5000)
    page.step_once()
    qtbot.waitUntil(lambda: "critic updates 3 · generator updates 2" in page.counters.text(), timeout=5000)
    # a full step moved both players: the one-update readout of before is cleared
    qtbot.waitUntil(lambda: page.action_readout.text() == "", timeout=5000)
    page.stop()
    wait_idle(qtbot, page)


def test_an_opened_checkpoint_shows_its_critic_and_samples(qtbot, main_window, page, tmp_path):
    data = load_dataset("8gaussians")
    model_config, hparams, train = build_configs(
        "wgan", data, {"hidden_dims": [16, 16], "batch_size": 32, "lipschitz": "spectral", "steps": 3}
    )
    trainer = Trainer(create_task("wgan", data, model_config, hparams, train))
    trainer.run()
    path = trainer.save(tmp_path / "spectral.safetensors")
    assert main_window.open_checkpoint(path)
    assert page.form.value("lipschitz") == "spectral" and page.form.value("hidden_dims") == (16, 16)
    frame = page.critic_map.frame
    assert frame is not None and frame.step == 3 and frame.critic.shape == (100, 100)
    assert np.allclose(frame.samples[:4], trainer.task.model.sample(trainer.task.fixed_noise[:4]).detach())


def test_w1_lab_shows_flat_jsd_and_descends_on_w1_only(qtbot, page):
    lab = page.w1_lab
    lab.timer.setInterval(1)  # the animation's pace is for people; the test needs only its steps
    lab.set_theta(1.0)
    assert "JSD = 0.693" in lab.readout.text() and "W1 = 1.000" in lab.readout.text()
    lab.start_descent("jsd")
    qtbot.waitUntil(lambda: not lab.timer.isActive(), timeout=10000)
    assert lab.theta == pytest.approx(1.0)  # zero gradient: θ never moves
    lab.start_descent("w1")
    qtbot.waitUntil(lambda: not lab.timer.isActive(), timeout=10000)
    assert lab.theta == 0.0
    assert "JSD = 0" in lab.readout.text() or "matches the data" in lab.readout.text()


def test_choosing_a_gan_loss_applies_its_papers_settings_and_relabels_the_views(page):
    page.form.editors["gan_loss"].setCurrentText("minimax")  # chosen by hand
    assert page.form.value("n_critic") == 1 and page.form.value("lipschitz") == "none"
    assert not page.form.editors["gp_lambda"].isEnabled()
    legend = [label.text for _sample, label in page.loss_plot.legend.items]
    assert "discriminator loss" in legend and "JSD estimate (right axis)" in legend
    assert "W1 estimate (right axis)" not in legend and not page.grad_hist.target.isVisible()
    page.form.editors["gan_loss"].setCurrentText("wasserstein")
    assert page.form.value("n_critic") == 5 and page.form.value("lipschitz") == "gp"
    assert "W1 estimate (right axis)" in [label.text for _sample, label in page.loss_plot.legend.items]


def test_the_w1_lab_starts_a_live_minimax_run_that_shows_d_as_a_probability(qtbot, page):
    page.form.set_values({**SMALL_2D, "steps": 8})
    page.views.setCurrentWidget(page.w1_lab)
    qtbot.mouseClick(page.w1_lab.live_buttons["minimax"], Qt.MouseButton.LeftButton)
    assert page.views.currentIndex() == 0  # the Training tab, where the run is
    wait_idle(qtbot, page)
    assert page.trainer.task.model_config.gan_loss == "minimax" and page.trainer.task.hparams.n_critic == 1
    frame = page.critic_map.frame
    assert frame.probability and 0.0 <= frame.critic.min() and frame.critic.max() <= 1.0
    assert page.critic_map.colorbar.levels() == (0.0, 1.0)
    page.loss_plot.redraw()
    assert page.loss_plot.point_count("jsd") == 8 and page.loss_plot.point_count("d_fake") == 8
    assert page.loss_plot.point_count("wasserstein") == 0
    assert page.arrows_box.text() == "→ −∇ₓL_G"
