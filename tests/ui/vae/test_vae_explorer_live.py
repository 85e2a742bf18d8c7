"""The explorer keeps working while a training run is live, from published snapshots;
the objective's settings apply while paused; the KL bars match the model after the run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint

from app.engine.inference.vae_terms import KL_EXAMPLES
from tests.ui.conftest import wait_idle
from tests.ui.vae.vae_fixtures import drag, handle_centre, shown

SMALL_RUN = {"latent_dim": 4, "hidden_dims": (64,), "batch_size": 16, "val_every": 0, "steps": 100000}


def start_small_run(page, qtbot):
    page.form.set_values(SMALL_RUN)
    page.start()
    qtbot.waitUntil(lambda: page.inference.step is not None and page.kl_values is not None, timeout=20000)


def test_views_follow_the_snapshots_while_training(qtbot, main_window):
    page = main_window.pages["vae"]
    page.show_view(page.explorer)
    start_small_run(page, qtbot)
    explorer, latent_map = page.explorer, page.explorer.map
    assert page.inference.model is not page.thread.trainer.task.model  # never the model being trained

    slider = explorer.sliders.sliders[0]
    start = handle_centre(slider)
    drag(slider, start, start - QPoint(slider.width() // 4, 0))
    assert explorer.sliders.code()[0] < -0.3
    code = explorer.sliders.code()
    np.testing.assert_allclose(shown(explorer.decoded), page.inference.decode(code[None])[0], atol=1e-6)

    # new weights arrive: the same code decodes to the new model's picture
    step, before = page.inference.step, shown(explorer.decoded).copy()
    qtbot.waitUntil(lambda: page.inference.step > step + 5, timeout=10000)
    qtbot.waitUntil(  # the picture follows the new weights
        lambda: np.allclose(shown(explorer.decoded), page.inference.decode(code[None])[0], atol=1e-6),
        timeout=5000,
    )
    after = shown(explorer.decoded)
    np.testing.assert_allclose(after, page.inference.decode(code[None])[0], atol=1e-6)
    assert np.abs(after - before).max() > 1e-4

    # the latent map re-encodes the validation set as training goes on
    qtbot.waitUntil(lambda: latent_map.step is not None, timeout=10000)
    first_map_step = latent_map.step
    qtbot.waitUntil(lambda: latent_map.step is not None and latent_map.step > first_map_step, timeout=10000)
    assert latent_map.coords.shape == (60, 2)
    drawn = np.c_[latent_map.scatter.data["x"], latent_map.scatter.data["y"]]
    np.testing.assert_allclose(drawn, latent_map.coords, atol=1e-6)
    # paused, no new snapshot can arrive: a fresh map is exactly the snapshot's encoding
    page.pause()
    qtbot.waitUntil(lambda: page.thread.control.waiting, timeout=3000)
    latent_map.cancel()  # an encoding begun before the pause may hold older weights
    latent_map.refresh(force=True)
    latent_map.finish_now()
    assert latent_map.step == page.inference.step
    expected_mu, _ = page.inference.encode(page.current_data().val[:60])
    np.testing.assert_allclose(latent_map.mu, expected_mu, atol=1e-5)

    # the other tabs refresh from the latest snapshot when shown
    drawn = {
        page.traversal: lambda: page.traversal.images is not None,
        page.interpolation: lambda: page.interpolation.images is not None,
        page.reparameterization: lambda: page.reparameterization.result is not None,
    }
    for view, ready in drawn.items():
        page.show_view(view)
        qtbot.waitUntil(ready, timeout=5000)
    traversal = page.traversal
    page.show_view(traversal)
    qtbot.waitUntil(lambda: traversal.images is not None, timeout=5000)
    np.testing.assert_allclose(traversal.images, page.inference.decode(traversal.codes), atol=1e-6)
    assert page.interpolation.images.shape == (10, 1, 32, 32)
    reparam = page.reparameterization.result
    np.testing.assert_allclose(reparam.z, reparam.mu + reparam.sigma * reparam.eps, rtol=1e-5)
    assert "training batch · step" in page.elbo_readout.text()

    page.stop()
    wait_idle(qtbot, page)
    # after the run the bars equal the final model's KL over the first KL_EXAMPLES validation images
    model = page.trainer.task.model
    with torch.no_grad():
        mu, logvar = model.encode(page.current_data().val[:KL_EXAMPLES])
        expected = model.kl_per_example_and_dim(mu, logvar).mean(dim=0).numpy()
    np.testing.assert_allclose(page.kl_plot.values, expected, rtol=1e-5, atol=1e-6)
    assert page.kl_plot.step == page.trainer.step


def test_objective_settings_apply_while_paused(qtbot, main_window):
    page = main_window.pages["vae"]
    start_small_run(page, qtbot)
    page.pause()
    qtbot.waitUntil(lambda: page.thread.control.waiting, timeout=3000)
    seen: list[tuple[int, dict]] = []
    page.metricsArrived.connect(lambda batch: seen.extend((s, m) for s, k, m in batch if k == "train"))

    def one_step():
        target = page.thread.trainer.step + 1  # the trainer sits at a step boundary
        page.step_once()
        qtbot.waitUntil(lambda: any(s == target for s, _ in seen), timeout=5000)
        return next((s, m) for s, m in seen if s == target)

    page.form.editors["beta"].setText("2.5")
    _, metrics = one_step()
    assert metrics["beta"] == pytest.approx(2.5)
    assert metrics["objective"] == pytest.approx(metrics["recon"] + 2.5 * metrics["kl"], rel=1e-5)

    page.form.editors["free_bits"].setText("40")  # above every KL_i: Σ max(λ, KL_i) = 4 · 40
    _, metrics = one_step()
    assert metrics["objective"] == pytest.approx(metrics["recon"] + 2.5 * 4 * 40.0, rel=1e-5)
    assert page.kl_plot.floor_line.isVisible() and page.kl_plot.floor_line.value() == 40.0
    assert "λ = 40" in page.elbo_readout.text()

    page.form.editors["free_bits"].setText("0")
    page.form.editors["kl_warmup_steps"].setText("1000000")
    step, metrics = one_step()
    assert metrics["beta"] == pytest.approx(2.5 * (step - 1) / 1_000_000)  # β_t = β · t / N at step t
    page.stop()
    wait_idle(qtbot, page)
