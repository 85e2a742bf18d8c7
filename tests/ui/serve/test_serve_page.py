"""The Serve page against a real server: tiny checkpoints, worker processes, port 0, offscreen.

Start → the table shows ready workers; Kill → the worker goes away and comes back ready with a
new process (restarts 1); load → the plots get data; Stop drains and no child process is left.
"""

from __future__ import annotations

import multiprocessing
import socket

import pytest

from app.engine.serve.api import WorkerState
from app.ui.pages.serve_page import ServePage
from app.ui.serve.load_controls import CLOSED_LOOP
from app.ui.serve.session import Phase
from tests.engine.serve.serving_helpers import pid_alive, tiny_gpt, tiny_vae

START_TIMEOUT_MS = 60_000  # spawning workers that import torch, on two shared cores


@pytest.fixture
def serve_page(qtbot):
    page = ServePage({})
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    page.models.list.clear()
    page.models.models.clear()
    yield page
    assert page.shutdown(20_000)
    assert not multiprocessing.active_children()


def rows(page: ServePage) -> list[list[str]]:
    table = page.workers
    return [[table.item(r, c).text() for c in range(6)] for r in range(table.rowCount())]


def all_ready(page: ServePage, workers: int) -> bool:
    shown = rows(page)
    return len(shown) == workers and all(r[2] in (WorkerState.READY, WorkerState.BUSY) for r in shown)


def test_serve_kill_load_and_stop(qtbot, serve_page, tmp_path):
    page = serve_page
    assert page.models.add_file(tiny_gpt(tmp_path)) and page.models.add_file(tiny_vae(tmp_path))
    page.settings.set_values(workers=2, port=0, max_wait_ms=5.0)
    page.start_button.click()
    assert page.session.phase is Phase.STARTING and not page.start_button.isEnabled()
    qtbot.waitUntil(lambda: all_ready(page, 2), timeout=START_TIMEOUT_MS)
    assert page.url.text().startswith("http://127.0.0.1:") and "/v1/generate" in page.curl.text()
    assert page.banner.text().startswith("Ready: 2 of 2")

    old_pid = int(rows(page)[0][1])
    seen: list[WorkerState] = []  # worker 0's state at every poll from the kill on
    show_workers = page.workers.show_workers

    def recording(workers) -> None:
        seen.append(workers[0].state)
        show_workers(workers)

    page.workers.show_workers = recording
    page.workers.kill_button(0).click()
    qtbot.waitUntil(lambda: not pid_alive(old_pid), timeout=10_000)

    def back() -> bool:
        row = rows(page)[0]
        return row[1] not in ("—", str(old_pid)) and row[2] == WorkerState.READY and row[3] == "1"

    qtbot.waitUntil(back, timeout=START_TIMEOUT_MS)
    assert {WorkerState.DEAD, WorkerState.STARTING} & set(seen)  # it was seen away, not just swapped

    page.load_controls.mode.setCurrentText(CLOSED_LOOP)
    page.load_controls.concurrency.setValue(4)
    page.load_controls.max_new_tokens.setValue(4)
    page.load_controls.start_button.click()
    assert page.session.load is not None and page.load_controls.stop_button.isEnabled()
    qtbot.waitUntil(lambda: page.history.throughput and max(v for _, v in page.history.throughput) > 0,
                    timeout=20_000)  # fmt: skip
    qtbot.waitUntil(lambda: page.plots.has_data(), timeout=5_000)
    assert len(page.history.latency) > 0 and page.history.batch_sizes

    pids = [int(r[1]) for r in rows(page)]
    page.stop_button.click()
    assert page.session.phase is Phase.STOPPING and page.banner.text().startswith("Stopping")
    qtbot.waitUntil(lambda: page.session.phase is Phase.STOPPED, timeout=30_000)
    assert page.start_button.isEnabled() and page.workers.rowCount() == 0
    assert not any(pid_alive(pid) for pid in pids) and not multiprocessing.active_children()
    assert not page.message.isVisible()


def test_a_port_in_use_is_said_in_one_sentence(qtbot, serve_page, tmp_path):
    page = serve_page
    page.models.add_file(tiny_gpt(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        page.settings.set_values(workers=1, port=taken.getsockname()[1])
        page.start_button.click()
        qtbot.waitUntil(lambda: page.session.phase is Phase.STOPPED, timeout=START_TIMEOUT_MS)
    assert page.message.isVisible() and page.message.text().startswith("The server did not start:")
    assert page.start_button.isEnabled() and not multiprocessing.active_children()


def test_closing_the_window_stops_the_server_it_serves_a_pages_model_from(qtbot, main_window, tmp_path):
    window = main_window
    assert window.open_checkpoint(tiny_gpt(tmp_path))
    window.tabs.setCurrentWidget(window.serve_page)
    assert not window.save_action.isEnabled()  # Save and Export belong to the family pages
    page = window.serve_page
    page.models.list.clear()
    page.models.models.clear()
    assert page.models.add_page_model("gpt")
    page.settings.set_values(workers=1, port=0)
    page.start_button.click()
    qtbot.waitUntil(lambda: all_ready(page, 1), timeout=START_TIMEOUT_MS)
    pid = int(rows(page)[0][1])
    window.close()
    assert not pid_alive(pid) and not multiprocessing.active_children()
    assert page.session.server is None
