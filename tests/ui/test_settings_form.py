"""The settings form: fields locked during a run, and fields other settings make unused."""

from __future__ import annotations

from app.ui.widgets.settings_form import FieldSpec, SettingsForm


def make_form(qtbot) -> SettingsForm:
    form = SettingsForm(
        [
            FieldSpec("width", "Width", "int", 8, 1, 64, group="model"),
            FieldSpec("lam", "λ", "float", 10.0, 0.0, 100.0, group="hparams", live=True),
        ],
        "test",
    )
    qtbot.addWidget(form)
    return form


def test_running_locks_shape_fields_and_unused_fields_stay_grey_either_way(qtbot):
    form = make_form(qtbot)
    width, lam = form.editors["width"], form.editors["lam"]
    form.set_running(True)
    assert not width.isEnabled() and lam.isEnabled()  # live fields may change during a run
    form.set_unused({"lam"})
    assert not lam.isEnabled()
    form.set_running(False)  # the run ends: the model field opens, the unused one stays grey
    assert width.isEnabled() and not lam.isEnabled()
    form.set_unused({"width"})
    assert not width.isEnabled() and lam.isEnabled()
    form.set_running(True)
    form.set_running(False)
    assert not width.isEnabled()  # still unused
