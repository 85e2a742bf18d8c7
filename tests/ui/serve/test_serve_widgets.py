"""The Serve page's parts on their own: settings, the load plan, the workers table, the models list."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.serve.api import Endpoint, ModelSpec, ServeConfig, WorkerState, WorkerStatus
from app.ui.serve.load_controls import CLOSED_LOOP, LoadControls
from app.ui.serve.served_models import ServedModelsList
from app.ui.serve.server_settings import ServerSettings
from app.ui.serve.workers_table import WorkersTable
from tests.engine.serve.serving_helpers import tiny_gpt, tiny_vae


def test_settings_start_at_the_engines_defaults(qtbot):
    settings = ServerSettings()
    qtbot.addWidget(settings)
    models = (ModelSpec("m", Path("m.safetensors")),)
    assert settings.config(models) == ServeConfig(models=models)  # no spin box clamps a default
    settings.set_values(workers=3, max_wait_ms=12.5, port=0)
    config = settings.config(models)
    assert (config.workers, config.max_wait_ms, config.port) == (3, 12.5, 0)


def test_the_mix_offers_only_what_the_served_families_answer(qtbot):
    controls = LoadControls()
    qtbot.addWidget(controls)
    controls.set_families({"gpt"})
    assert [e for e, box in controls.weights.items() if box.isEnabled()] == [Endpoint.GENERATE]
    assert controls.plan().mix == {Endpoint.GENERATE: 1.0} and controls.plan().rate_per_s == 50.0
    controls.set_families({"gpt", "vae"})
    controls.weights[Endpoint.GENERATE].setValue(30)
    controls.weights[Endpoint.SAMPLE].setValue(10)
    controls.weights[Endpoint.DECODE].setValue(0)
    controls.mode.setCurrentText(CLOSED_LOOP)
    controls.concurrency.setValue(5)
    plan = controls.plan()
    assert plan.mix == {Endpoint.GENERATE: 0.75, Endpoint.SAMPLE: 0.25}
    assert (plan.rate_per_s, plan.concurrency) == (None, 5)
    controls.weights[Endpoint.GENERATE].setValue(0)
    controls.weights[Endpoint.SAMPLE].setValue(0)
    with pytest.raises(ValueError, match="share of the mix"):
        controls.plan()


def test_workers_table_colours_states_and_kills_by_id(qtbot):
    table = WorkersTable()
    qtbot.addWidget(table)
    table.show_workers((WorkerStatus(0, 101, WorkerState.READY, 0, 5, 40),
                        WorkerStatus(1, 102, WorkerState.BUSY, 2, 7, 1234)))  # fmt: skip
    assert [table.item(1, c).text() for c in range(6)] == ["1", "102", "busy", "2", "7", "1,234"]
    with qtbot.waitSignal(table.killRequested) as killed:
        table.kill_button(1).click()
    assert killed.args == [1]
    ready_colour = table.item(0, 2).background().color().name()
    table.show_workers((WorkerStatus(0, None, WorkerState.DEAD, 0, 5, 40),
                        WorkerStatus(1, 102, WorkerState.BUSY, 2, 7, 1234)))  # fmt: skip
    assert table.state_of(0) == "dead" and table.item(0, 1).text() == "—"
    assert table.item(0, 2).background().color().name() != ready_colour
    assert not table.kill_button(0).isEnabled() and table.kill_button(1).isEnabled()


def test_a_bad_file_is_refused_with_one_sentence(qtbot, tmp_path):
    models = ServedModelsList({})
    qtbot.addWidget(models)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint at all")
    with qtbot.waitSignal(models.failed) as failed:
        assert not models.add_file(junk)
    message = failed.args[0]
    assert message.startswith("Cannot serve junk.safetensors:") and message.count(". ") == 0
    assert models.models == [] and models.list.count() == 0


def test_models_are_named_once_and_removed_by_selection(qtbot, tmp_path):
    models = ServedModelsList({})
    qtbot.addWidget(models)
    (tmp_path / "b").mkdir()
    assert models.add_file(tiny_gpt(tmp_path)) and models.add_file(tiny_vae(tmp_path))
    with qtbot.waitSignal(models.failed) as failed:
        assert not models.add_file(tiny_gpt(tmp_path / "b"))  # another file, the same name
    assert failed.args == ["A model named tiny-gpt is already in the list."]
    assert models.families() == {"gpt", "vae"}
    assert [spec.name for spec in models.specs()] == ["tiny-gpt", "tiny-vae"]
    models.list.setCurrentRow(0)
    models.remove_button.click()
    assert [m.name for m in models.models] == ["tiny-vae"] and models.list.count() == 1
    assert models.families() == {"vae"}


def test_before_serving_the_plots_show_the_settings_limits(qtbot):
    from app.ui.pages.serve_page import ServePage

    page = ServePage({})
    qtbot.addWidget(page)
    assert page.plots.max_batch_line.value() == page.settings.boxes["max_batch"].value()
    page.settings.set_values(max_batch=12, queue_size=40)
    assert page.plots.queue_size.value() == 40  # the dashed "full → 429" line
    assert page.plots.max_batch_line.value() == 12
    low, high = page.plots.queue.viewRange()[1]
    assert low == 0 and 40 < high <= 60  # the size line sits inside the plot, not at its edge
    assert page.shutdown()
