"""The ELBO written out with the current value of every term, updated as training runs.

ELBO = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)),   objective = recon + β·Σ_i max(λ, KL_i)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QWidget

from app.engine.events import MetricsKind

# Training metrics arrive 10 times a second; the table re-renders at most 4 times a second.
# Numbers changing faster cannot be read, and laying out a rich-text table each time costs
# the GUI thread as much as all the plots together (time the trainer waits for the GIL).
LIVE_RENDER_MS = 250


@dataclass
class TermRow:
    """One row of the readout: where the numbers come from and their values (nats per image)."""

    source: str
    recon: float
    kl: float
    objective: float | None = None  # recon + β·Σ max(λ, KL_i), when it is known
    beta: float | None = None


def _num(value: float) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:,.2f}".replace("-", "−")


class ElboReadout(QLabel):
    """A rich-text table: one column per term of the ELBO, rows for training and validation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vaeElboReadout")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setStyleSheet("QLabel { background: white; border: 1px solid #dde3ea; padding: 4px; }")
        self.training: TermRow | None = None
        self.validation: TermRow | None = None
        self.beta = 1.0
        self.free_bits = 0.0
        self._live = QTimer(self)
        self._live.setSingleShot(True)
        self._live.setInterval(LIVE_RENDER_MS)
        self._live.timeout.connect(self.render)
        self.render()

    # --- inputs -----------------------------------------------------------------------------
    def show_metrics(self, batch: list) -> None:
        """Take the newest training and validation metrics of a batch [(step, kind, metrics)];
        the table shows them within ``LIVE_RENDER_MS``."""
        for step, kind, metrics in batch:
            if kind == MetricsKind.TRAIN and "recon" in metrics and "kl" in metrics:
                self.training = TermRow(
                    f"training batch · step {step:,}", metrics["recon"], metrics["kl"],
                    metrics.get("objective"), metrics.get("beta"),
                )  # fmt: skip
            elif kind == MetricsKind.VAL and "val_recon" in metrics and "val_kl" in metrics:
                self.validation = TermRow(
                    f"validation · step {step:,}", metrics["val_recon"], metrics["val_kl"]
                )
        if not self._live.isActive():
            self._live.start()

    def show_row(self, which: str, row: TermRow | None) -> None:
        """Set the ``training`` or ``validation`` row directly (e.g. from a checkpoint)."""
        setattr(self, which, row)
        self.render()

    def set_settings(self, beta: float, free_bits: float) -> None:
        self.beta, self.free_bits = float(beta), float(free_bits)
        self.render()

    def clear(self) -> None:
        self.training = self.validation = None
        self.render()

    # --- drawing ----------------------------------------------------------------------------
    def _row_html(self, row: TermRow | None, label: str) -> str:
        if row is None:
            cells = ["—"] * 4
            source = label
        else:
            elbo = -row.recon - row.kl
            cells = [_num(elbo), _num(-row.recon), _num(row.kl), self._objective_html(row)]
            source = row.source
        return (
            f"<tr><td style='color:#555'>{source}</td><td align=right><b>{cells[0]}</b></td><td>=</td>"
            f"<td align=right>{cells[1]}</td><td>−</td><td align=right>{cells[2]}</td>"
            f"<td>&nbsp;&nbsp;</td><td>{cells[3]}</td></tr>"
        )

    @staticmethod
    def _objective_html(row: TermRow) -> str:
        if row.objective is None or row.beta is None:
            return "<span style='color:#888'>(β = 1: objective = −ELBO)</span>"
        penalised = (row.objective - row.recon) / row.beta if row.beta > 0 else float("nan")
        return f"{_num(row.recon)} + {row.beta:.3g} × {_num(penalised)} = <b>{_num(row.objective)}</b>"

    def render(self) -> None:
        self._live.stop()  # whatever was waiting is shown now
        floor = "max(λ, KL<sub>i</sub>)" if self.free_bits > 0 else "KL<sub>i</sub>"
        header = (
            "<tr style='color:#0b4f9c'><td></td><td align=right><b>ELBO</b></td><td>=</td>"
            "<td align=right>E<sub>q(z|x)</sub>[log p(x|z)]</td><td>−</td>"
            "<td align=right>KL(q(z|x) ‖ p(z))</td><td></td>"
            f"<td>objective minimised: recon + β · Σ<sub>i</sub> {floor}</td></tr>"
        )
        rows = self._row_html(self.training, "training batch") + self._row_html(self.validation, "validation")
        settings = f"β = {self.beta:g}"
        if self.training is not None and self.training.beta is not None:
            settings = f"β now = {self.training.beta:.3g} (setting {self.beta:g})"
        settings += f", free bits λ = {self.free_bits:g} nats per dimension"
        self.setText(
            "<table cellspacing=0 cellpadding=3>" + header + rows + "</table>"
            f"<div style='color:#555'>nats per image · ELBO ≤ log p(x) · {settings}</div>"
        )
