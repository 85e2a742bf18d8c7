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


def _shown_plot(qtbot, width: int, height: int = 320) -> LossPlot:
    plot = LossPlot("testPlot")
    qtbot.addWidget(plot)
    for key, label in (
        ("loss", "negative ELBO = recon + KL"),
        ("recon", "reconstruction −log p(x|z)"),
        ("kl", "KL(q(z|x) ‖ p(z))"),
        ("objective", "objective recon + β·Σ max(λ, KL_i)"),
    ):
        plot.add_series(key, label)
    plot.add_series("val_loss", "validation negative ELBO", smoothed=False)
    plot.add_series("beta", "β (warm-up)", smoothed=False, right_axis=True)
    plot.resize(width, height)
    plot.show()
    qtbot.waitExposed(plot)
    return plot


def _scene_rect(item):
    return item.mapRectToScene(item.boundingRect())


def test_clearing_resets_the_ranges_and_shows_the_whole_hint(qtbot):
    plot = _shown_plot(qtbot, 700)
    for step in range(500):
        plot.append(step, {"loss": 600.0 - step, "beta": 1.0 + step})
    plot.redraw()
    view = plot.plot.getPlotItem().vb
    qtbot.waitUntil(lambda: view.viewRange()[0][1] > 400, timeout=2000)
    assert not plot.empty_hint.isVisible()
    plot.clear()
    assert view.viewRange() == [[0.0, 1.0], [0.0, 1.0]]
    assert plot._right_view.viewRange()[1] == [0.0, 1.0]
    assert plot.empty_hint.isVisible()
    hint, shown = _scene_rect(plot.empty_hint), _scene_rect(view)
    assert shown.contains(hint)  # every word of it, centred in the view
    assert abs(hint.center().x() - shown.center().x()) < 2 and abs(hint.center().y() - shown.center().y()) < 2
    plot.append(0, {"loss": 5.0})
    plot.append(1, {"loss": 7.0})
    plot.redraw()
    qtbot.waitUntil(lambda: view.viewRange()[1][1] >= 7.0, timeout=2000)  # ranges follow the data again


def test_the_legend_stays_under_the_plot_and_whole_at_any_width(qtbot):
    columns = {}
    for width in (360, 560, 1100):
        plot = _shown_plot(qtbot, width)
        item = plot.plot.getPlotItem()

        def legend_below_and_whole(plot=plot, item=item) -> None:
            view = _scene_rect(item.vb)
            visible = plot.plot.mapToScene(plot.plot.viewport().rect()).boundingRect()
            assert len(plot.legend.items) == 6
            for sample, label in plot.legend.items:
                for part in (sample, label):
                    rect = _scene_rect(part)
                    assert rect.top() >= view.bottom(), label.text  # below the curves, never on them
                    assert visible.contains(rect), label.text  # not cut off

        qtbot.waitUntil(legend_below_and_whole, timeout=2000)  # once the layout has settled
        columns[width] = plot.legend.columnCount
    assert columns[360] < columns[560] < columns[1100]  # as many columns as fit: fewer rows when wide


def test_a_redraw_that_moves_the_ranges_paints_once(qtbot):
    from PySide6.QtCore import QEvent, QObject

    plot = LossPlot("testPlot")
    qtbot.addWidget(plot)
    plot.resize(500, 350)
    plot.show()
    qtbot.waitExposed(plot)
    plot.add_series("loss", "loss")

    class PaintCounter(QObject):
        count = 0

        def eventFilter(self, _obj, event):  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint:
                self.count += 1
            return False

    counter = PaintCounter()
    plot.plot.viewport().installEventFilter(counter)

    def paints_of_one_redraw() -> int:
        before = counter.count
        plot._redraw_if_visible()
        qtbot.waitUntil(lambda: counter.count > before, timeout=2000)
        qtbot.wait(50)  # checks that nothing more happens: a second paint would be queued by now
        return counter.count - before

    for step in range(1, 51):  # the first points also bring the legend and the axes' widths
        plot.append(step, {"loss": 10.0 / step})
    paints_of_one_redraw()
    for round_index in range(1, 4):  # each round extends x and lowers y: both ranges move
        for step in range(round_index * 50 + 1, round_index * 50 + 51):
            plot.append(step, {"loss": 10.0 / step})
        assert paints_of_one_redraw() == 1
    assert plot.plot.last_paint_s > 0  # the budget knows what painting costs
    x_low, x_high = plot.plot.getPlotItem().vb.viewRange()[0]
    assert x_low <= 1 and x_high >= 200


def test_axes_show_plain_numbers_without_si_scaling(qtbot):
    plot = LossPlot("testPlot")
    qtbot.addWidget(plot)
    plot.add_series("w1", "W1", right_axis=True)
    plot.set_right_label("W1 estimate")
    for step in range(1, 50):
        plot.append(step, {"w1": 0.0005 * step})  # small values: pyqtgraph would show "x0.001"
    plot.redraw()
    for name in ("left", "bottom", "right"):
        axis = plot.plot.getPlotItem().getAxis(name)
        assert axis.autoSIPrefixScale == 1.0 and "x0.001" not in axis.labelString()
