"""The live loss plot: debiased smoothing, thinning, log axis."""

from __future__ import annotations

import numpy as np
import pytest

from app.ui.widgets.loss_plot import MAX_POINTS, LossPlot, debiased_ema


def test_debiased_ema_keeps_a_constant_series_constant():
    assert np.allclose(debiased_ema(np.full(50, 3.0), 0.95), 3.0)


def test_debiased_ema_matches_its_formula():
    x = np.array([1.0, 2.0, 4.0])
    a = 0.5
    s1 = (1 - a) * 1.0
    s2 = a * s1 + (1 - a) * 2.0
    s3 = a * s2 + (1 - a) * 4.0
    expected = [s1 / (1 - a), s2 / (1 - a**2), s3 / (1 - a**3)]
    assert debiased_ema(x, a) == pytest.approx(expected)


def test_incremental_smoothing_equals_recomputed(qtbot):
    plot = LossPlot("testPlot")
    qtbot.addWidget(plot)
    plot.add_series("loss", "loss")
    values = np.random.default_rng(0).normal(5.0, 1.0, 200)
    for step, value in enumerate(values, start=1):
        plot.append(step, {"loss": value, "ignored": 1.0})
    assert plot.series["loss"].smooth == pytest.approx(list(debiased_ema(values, plot.alpha)))
    plot.smoothing.setValue(50)
    assert plot.series["loss"].smooth == pytest.approx(list(debiased_ema(values, 0.5)))
    plot.smoothing.setValue(0)
    plot.redraw()
    _, y = plot.series["loss"].smooth_item.getData()
    assert np.allclose(y, values)


def test_a_constant_loss_draws_flat_from_the_first_point(qtbot):
    plot = LossPlot("testPlot")
    qtbot.addWidget(plot)
    plot.add_series("loss", "loss")
    for step in range(1, 30):
        plot.append(step, {"loss": 2.5})
    plot.redraw()
    _, y = plot.series["loss"].smooth_item.getData()
    assert np.allclose(y, 2.5)


def test_long_histories_are_thinned(qtbot):
    plot = LossPlot("testPlot")
    qtbot.addWidget(plot)
    plot.add_series("loss", "loss")
    for step in range(1, MAX_POINTS + 500):
        plot.append(step, {"loss": 1.0})
    assert plot.point_count("loss") <= MAX_POINTS
    assert plot.series["loss"].steps[-1] == MAX_POINTS + 499


def test_log_toggle_and_legend(qtbot):
    plot = LossPlot("testPlot")
    qtbot.addWidget(plot)
    plot.add_series("loss", "negative ELBO")
    plot.add_series("val_loss", "validation", smoothed=False)
    plot.log_y.setChecked(True)
    assert plot.plot.getPlotItem().ctrl.logYCheck.isChecked()
    labels = [label.text for _, label in plot.legend.items]
    assert labels == ["negative ELBO", "validation"]
