"""A validated settings form: each field shows why its value is refused, right beside it.

A page describes a field with ``FieldSpec`` (its words: label, tooltips, whether it is live);
``form_fields`` adds what the config dataclass says of it: its kind from the annotation, the
default from the dataclass, choices from a ``Literal`` and the range from the config's
``RANGES`` (the table its ``validate()`` checks), so the form cannot drift from the config.
Numbers are typed as text so that values like ``3e-4`` read naturally, and each is checked
for type and range as the user types. ``live`` fields may change while a run is paused or
running (they apply from the next step); the others are locked while a run is active.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

Kind = Literal["int", "float", "choice", "bool", "ints", "text"]  # "ints": comma-separated
Group = Literal["train", "model", "hparams"]


@dataclass(frozen=True)
class FieldSpec:
    """What a page says about one config field: the words beside it."""

    key: str  # the config field
    label: str
    tooltip: str = ""
    live: bool = False  # may change while a run is active
    choice_tooltips: tuple[str, ...] = ()  # one per Literal choice, in order


@dataclass(frozen=True)
class FormField:
    """One editor: the page's words and the config's kind, default, range and choices."""

    key: str
    label: str
    kind: Kind
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    tooltip: str = ""
    group: Group = "train"
    live: bool = False
    choice_tooltips: tuple[str, ...] = ()


def _kind(hint: Any) -> Kind:
    if typing.get_origin(hint) is Literal:
        return "choice"
    if typing.get_origin(hint) is tuple and typing.get_args(hint) == (int, Ellipsis):
        return "ints"
    kinds: dict[Any, Kind] = {bool: "bool", int: "int", float: "float", str: "text"}
    if hint not in kinds:
        raise TypeError(f"a settings form cannot edit a field of type {hint}")
    return kinds[hint]


def form_fields(config: Any, group: Group, specs: Iterable[FieldSpec]) -> list[FormField]:
    """``specs`` completed from ``config``, a config dataclass instance whose values are the
    form's defaults: each field's kind from its annotation, choices from its ``Literal`` and
    minimum and maximum from the config's ``RANGES``."""
    hints = typing.get_type_hints(type(config))
    names = {field.name for field in dataclasses.fields(config)}
    ranges = getattr(config, "RANGES", {})
    out = []
    for spec in specs:
        if spec.key not in names:
            raise KeyError(f"{type(config).__name__} has no field {spec.key!r}")
        hint = hints[spec.key]
        low, high = ranges.get(spec.key, (None, None))
        kind = _kind(hint)
        choices = tuple(str(c) for c in typing.get_args(hint)) if kind == "choice" else ()
        out.append(FormField(spec.key, spec.label, kind, getattr(config, spec.key), low, high, choices,
                             spec.tooltip, group, spec.live, spec.choice_tooltips))  # fmt: skip
    return out


class FieldError(ValueError):
    pass


def parse_field(spec: FormField, text: str) -> Any:
    """Text → typed value, or FieldError with a short reason."""
    text = text.strip()
    if spec.kind == "int":
        try:
            value = int(text)
        except ValueError:
            raise FieldError("enter a whole number") from None
        return _check_range(spec, value)
    if spec.kind == "float":
        try:
            value = float(text)
        except ValueError:
            raise FieldError("enter a number, e.g. 0.001 or 1e-3") from None
        if not math.isfinite(value):
            raise FieldError("enter a finite number")
        return _check_range(spec, value)
    if spec.kind == "ints":
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise FieldError("enter one or more whole numbers, e.g. 400 or 512,256")
        try:
            values = tuple(int(p) for p in parts)
        except ValueError:
            raise FieldError("enter whole numbers separated by commas") from None
        for value in values:
            _check_range(spec, value)
        return values
    return text


def _check_range(spec: FormField, value: float) -> float:
    low, high = spec.minimum, spec.maximum
    if low is not None and value < low:
        raise FieldError(f"must be at least {low:g}")
    if high is not None and value > high:
        raise FieldError(f"must be at most {high:g}")
    return value


def _format(spec: FormField, value: Any) -> str:
    if spec.kind == "ints":
        return ",".join(str(v) for v in value)
    if spec.kind == "float":
        return f"{value:g}"
    return str(value)


class SettingsForm(QWidget):
    """Rows of labelled fields; ``values()`` returns the typed values of the valid ones."""

    liveChanged = Signal(str, object)  # key, value — a live field got a new valid value
    validityChanged = Signal(bool)
    valuesSet = Signal()  # set_values() replaced some values (editors' own signals stay quiet)

    def __init__(self, specs: list[FormField], name_prefix: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.specs = {spec.key: spec for spec in specs}
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self._invalid: set[str] = set()
        self._running = False
        self._unused: set[str] = set()  # greyed out: other settings make them irrelevant
        self.group_widgets: dict[str, QWidget] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        for spec in specs:
            if spec.group not in self.group_widgets:
                holder = QWidget()
                form = QFormLayout(holder)
                form.setContentsMargins(0, 0, 0, 0)
                form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
                self.group_widgets[spec.group] = holder
                outer.addWidget(holder)
            layout = self.group_widgets[spec.group].layout()
            editor = self._make_editor(spec)
            editor.setObjectName(f"{name_prefix}{_camel(spec.key)}")
            editor.setToolTip(spec.tooltip)
            error = QLabel()
            error.setObjectName(f"{name_prefix}{_camel(spec.key)}Error")
            error.setStyleSheet("color: #c62828; font-size: 11px;")
            error.setWordWrap(True)
            error.hide()
            cell = QWidget()
            box = QVBoxLayout(cell)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(1)
            box.addWidget(editor)
            box.addWidget(error)
            label = QLabel(spec.label)
            label.setToolTip(spec.tooltip)
            layout.addRow(label, cell)
            self.editors[spec.key] = editor
            self.errors[spec.key] = error

    def group_widget(self, group: str) -> QWidget:
        """The rows of one group (``train``, ``model``, ``hparams``), to place in a page's layout."""
        return self.group_widgets[group]

    def _make_editor(self, spec: FormField) -> QWidget:
        if spec.kind == "choice":
            combo = QComboBox()
            combo.addItems(list(spec.choices))
            for i, tip in enumerate(spec.choice_tooltips):
                combo.setItemData(i, tip, role=3)  # Qt.ToolTipRole
            combo.setCurrentText(str(spec.default))
            combo.currentTextChanged.connect(lambda _t, k=spec.key: self._edited(k))
            return combo
        if spec.kind == "bool":
            check = QCheckBox()
            check.setChecked(bool(spec.default))
            check.toggled.connect(lambda _v, k=spec.key: self._edited(k))
            return check
        line = QLineEdit(_format(spec, spec.default))
        line.textChanged.connect(lambda _t, k=spec.key: self._edited(k))
        return line

    # --- values -------------------------------------------------------------------------
    def raw_value(self, key: str) -> Any:
        editor, spec = self.editors[key], self.specs[key]
        if isinstance(editor, QComboBox):
            return editor.currentText()
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        return parse_field(spec, editor.text())

    def value(self, key: str) -> Any:
        return self.raw_value(key)

    def values(self, group: str | None = None) -> dict[str, Any]:
        """Typed values (of one group, or all); raises FieldError if any is invalid."""
        out = {}
        for key, spec in self.specs.items():
            if group is not None and spec.group != group:
                continue
            try:
                out[key] = self.raw_value(key)
            except FieldError as exc:
                self._show_error(key, str(exc))
                raise FieldError(f"{spec.label}: {exc}") from None
        return out

    def set_values(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key not in self.editors:
                continue
            editor, spec = self.editors[key], self.specs[key]
            editor.blockSignals(True)
            if isinstance(editor, QComboBox):
                editor.setCurrentText(str(value))
            elif isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            else:
                editor.setText(_format(spec, value))
            editor.blockSignals(False)
            self._show_error(key, "")
        self.valuesSet.emit()

    def is_valid(self) -> bool:
        return not self._invalid

    # --- state --------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        """Lock fields that cannot change during a run."""
        self._running = running
        self._apply_enabled()

    def set_unused(self, keys: set[str]) -> None:
        """Grey out fields the other settings make irrelevant (e.g. λ under weight clipping)."""
        self._unused = set(keys)
        self._apply_enabled()

    def _apply_enabled(self) -> None:
        for key, spec in self.specs.items():
            self.editors[key].setEnabled((spec.live or not self._running) and key not in self._unused)

    def _edited(self, key: str) -> None:
        try:
            value = self.raw_value(key)
        except FieldError as exc:
            self._show_error(key, str(exc))
            return
        self._show_error(key, "")
        if self.specs[key].live:
            self.liveChanged.emit(key, value)

    def _show_error(self, key: str, message: str) -> None:
        label = self.errors[key]
        was_valid = not self._invalid
        if message:
            label.setText(message)
            label.show()
            self._invalid.add(key)
        else:
            label.hide()
            self._invalid.discard(key)
        if was_valid != (not self._invalid):
            self.validityChanged.emit(not self._invalid)

    def error_text(self, key: str) -> str:
        label = self.errors[key]
        return label.text() if not label.isHidden() else ""


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))
