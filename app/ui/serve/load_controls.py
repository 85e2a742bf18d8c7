"""The built-in load generator's controls: open loop (a rate) or closed loop (clients), the
request mix over the served families' endpoints, and Start load / Stop load."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QWidget,
)

from app.engine.serve.api import Endpoint, LoadPlan, LoadStats
from app.ui.serve.served_models import endpoints_of
from app.ui.serve.server_settings import field_defaults

PLAN_DEFAULTS = field_defaults(LoadPlan)
OPEN_LOOP = "Open loop: requests per second"
CLOSED_LOOP = "Closed loop: concurrent clients"
DEFAULT_RATE = 50.0
DEFAULT_CONCURRENCY = 8


class LoadControls(QWidget):
    startClicked = Signal()
    stopClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = QComboBox()
        self.mode.setObjectName("serveLoadMode")
        self.mode.addItems([OPEN_LOOP, CLOSED_LOOP])
        self.mode.setToolTip(
            "Open loop sends at a fixed rate whatever the answers (like real users: the queue can "
            "overflow); closed loop keeps N clients, each waiting for its answer before the next."
        )
        self.rate = QDoubleSpinBox()
        self.rate.setObjectName("serveLoadRate")
        self.rate.setRange(0.5, 5000.0)
        self.rate.setDecimals(1)
        self.rate.setValue(DEFAULT_RATE)
        self.rate.setSuffix(" req/s")
        self.concurrency = QSpinBox()
        self.concurrency.setObjectName("serveLoadConcurrency")
        self.concurrency.setRange(1, 1024)
        self.concurrency.setValue(DEFAULT_CONCURRENCY)
        self.concurrency.setSuffix(" clients")
        self.amount = QStackedWidget()
        self.amount.addWidget(self.rate)
        self.amount.addWidget(self.concurrency)
        self.amount.setFixedHeight(self.rate.sizeHint().height())
        self.mode.currentIndexChanged.connect(self.amount.setCurrentIndex)

        self.weights: dict[Endpoint, QSpinBox] = {}
        for endpoint in Endpoint:
            box = QSpinBox()
            box.setObjectName(f"serveMix{endpoint.value.title()}")
            box.setRange(0, 100)
            box.setSuffix("%")
            box.setToolTip(f"Share of {endpoint.value} requests (POST /v1/{endpoint.value})")
            self.weights[endpoint] = box
        self.max_new_tokens = QSpinBox()
        self.max_new_tokens.setObjectName("serveLoadMaxNewTokens")
        self.max_new_tokens.setRange(1, 1024)
        self.max_new_tokens.setValue(PLAN_DEFAULTS["max_new_tokens"])
        self.max_new_tokens.setToolTip("Tokens each generate request asks for (GPT only)")

        self.start_button = QPushButton("Start load")
        self.start_button.setObjectName("serveLoadStartButton")
        self.stop_button = QPushButton("Stop load")
        self.stop_button.setObjectName("serveLoadStopButton")
        self.start_button.clicked.connect(self.startClicked)
        self.stop_button.clicked.connect(self.stopClicked)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.mode)
        form.addRow("Load", self.amount)
        for endpoint, box in self.weights.items():
            form.addRow(f"Mix: {endpoint.value}", box)
        form.addRow("Max new tokens", self.max_new_tokens)
        form.addRow(buttons)
        self.summary = QLabel()
        self.summary.setObjectName("serveLoadSummary")
        self.summary.setWordWrap(True)
        form.addRow(self.summary)
        self.set_families(set())
        self.set_running(server=False, load=False)

    def set_families(self, families: set[str]) -> None:
        """Offer only the endpoints some served model answers, shared evenly to begin with."""
        offered = [e for e in Endpoint if any(e in endpoints_of(f) for f in families)]
        for endpoint, box in self.weights.items():
            box.setEnabled(endpoint in offered)
            box.setValue(round(100 / len(offered)) if endpoint in offered else 0)
        self.max_new_tokens.setEnabled(Endpoint.GENERATE in offered)

    def set_running(self, server: bool, load: bool) -> None:
        self.start_button.setEnabled(server and not load)
        self.stop_button.setEnabled(load)

    def show_stats(self, stats: LoadStats) -> None:
        """What the generator has seen: sent, answered and how (0 = no answer: refused, timed out)."""
        statuses = ", ".join(f"{code or 'no answer'}: {n:,}" for code, n in sorted(stats.by_status.items()))
        text = f"Sent {stats.sent:,}, answered {stats.completed:,}" + (f" ({statuses})" if statuses else "")
        if self.summary.text() != text:
            self.summary.setText(text)

    def plan(self) -> LoadPlan:
        """The plan the controls describe; ValueError (one sentence) when the mix is empty."""
        offered = {e: box for e, box in self.weights.items() if box.isEnabled()}
        mix = {endpoint: float(box.value()) for endpoint, box in offered.items() if box.value() > 0}
        if not mix:
            raise ValueError("Give at least one request type a share of the mix.")
        total = sum(mix.values())
        mix = {endpoint: weight / total for endpoint, weight in mix.items()}
        open_loop = self.mode.currentText() == OPEN_LOOP
        return LoadPlan(
            rate_per_s=self.rate.value() if open_loop else None,
            concurrency=None if open_loop else self.concurrency.value(),
            mix=mix,
            max_new_tokens=self.max_new_tokens.value(),
        )
