"""The settings form: fields locked during a run, fields other settings make unused, and
every field's default, range and choices taken from its config dataclass."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import ClassVar, Literal

import pytest

from app.engine.errors import GenplayError
from app.engine.tasks import families, get_task_class
from app.engine.train_config import TrainConfig
from app.ui.pages import page_class
from app.ui.pages.family_page import AUTOSAVE_EVERY
from app.ui.widgets.settings_form import FieldError, FieldSpec, SettingsForm, form_fields, parse_field
from models.config_fields import Ranges

SHAPE_FIELDS = {"input_shape", "data_shape"}  # taken from the data and checked as image shapes


@dataclass
class Knobs:
    width: int = 8
    lam: float = 10.0
    mode: Literal["fast", "exact"] = "exact"

    RANGES: ClassVar[Ranges] = {"width": (1, 64), "lam": (0.0, 100.0)}


def make_form(qtbot) -> SettingsForm:
    knobs = Knobs()
    fields = [
        *form_fields(knobs, "model", [FieldSpec("width", "Width"), FieldSpec("mode", "Mode")]),
        *form_fields(knobs, "hparams", [FieldSpec("lam", "λ", live=True)]),
    ]
    form = SettingsForm(fields, "test")
    qtbot.addWidget(form)
    return form


def test_a_field_takes_its_kind_default_range_and_choices_from_the_dataclass(qtbot):
    form = make_form(qtbot)
    width, mode, lam = form.specs["width"], form.specs["mode"], form.specs["lam"]
    assert (width.kind, width.default, width.minimum, width.maximum) == ("int", 8, 1, 64)
    assert (mode.kind, mode.choices, form.value("mode")) == ("choice", ("fast", "exact"), "exact")
    assert (lam.kind, lam.group, lam.live, form.value("lam")) == ("float", "hparams", True, 10.0)
    with pytest.raises(KeyError, match="no field 'depth'"):
        form_fields(Knobs(), "model", [FieldSpec("depth", "Depth")])


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


def _outside(low: float, high: float, kind: str) -> tuple[float, float]:
    """A value just below ``low`` and one just above ``high``."""
    if kind in ("int", "ints"):
        return low - 1, high + 1
    return low - (abs(low) * 1e-3 or 1e-9), high + (abs(high) * 1e-3 or 1e-9)


@pytest.mark.parametrize("family", families())
def test_every_form_field_is_its_configs_own_and_validate_agrees_on_the_bounds(qtbot, family):
    page = page_class(family)()
    qtbot.addWidget(page)
    task = page.task_cls
    configs = {
        "model": task.config_class(),
        "hparams": task.default_hparams(),
        "train": task.default_train_config(),
    }
    for key, field in page.form.specs.items():
        config = configs[field.group]
        hint = typing.get_type_hints(type(config))[key]
        own = AUTOSAVE_EVERY if key == "checkpoint_every" else getattr(config, key)  # the window autosaves
        assert field.default == own, key
        assert (field.minimum, field.maximum) == tuple(config.RANGES.get(key, (None, None))), key
        literal = typing.get_origin(hint) is Literal
        assert field.choices == (typing.get_args(hint) if literal else ()), key
        if field.minimum is None:
            continue
        for bound in (field.minimum, field.maximum):  # the bounds themselves are allowed
            assert parse_field(field, str(bound)) == ((bound,) if field.kind == "ints" else bound), key
        for value in _outside(field.minimum, field.maximum, field.kind):
            with pytest.raises(FieldError):
                parse_field(field, str(value))
            changed = dataclasses.replace(config, **{key: (value,) if field.kind == "ints" else value})
            with pytest.raises((ValueError, GenplayError), match=key):  # validate() refuses it too
                changed.validate()


def test_every_numeric_setting_has_a_range_for_validate_and_the_forms():
    tasks = [get_task_class(family) for family in families()]
    classes = {TrainConfig, *(t.config_class for t in tasks), *(t.hparams_class for t in tasks)}
    numeric = (int, float, tuple[int, ...])
    for cls in classes:
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            if hints[field.name] in numeric and field.name not in SHAPE_FIELDS:
                assert field.name in cls.RANGES, f"{cls.__name__}.{field.name} has no range"
