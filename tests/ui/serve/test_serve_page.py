"""The Serve page against a real server: tiny checkpoints, worker processes, port 0, offscreen.

Start → the table shows a ready worker; Kill → it goes away and comes back ready with a new
process (restarts 1); load → the plots get data; Stop drains and no child process is left.
Closing the window while the server starts leaves no process either.
"""

from __future__ import annotations

import multiprocessing
import socket

from app.engine.serve.api import WorkerState
from app.ui.pages.serve_page import ServePage
from app.ui.serve.load_controls import CLOSED_LOOP
from app.ui.serve.session import Phase
from tests.engine.serve.serving_helpers import pid_alive, tiny_gpt, tiny_vae

START_TIMEOUT_MS = 60_000  # a worker process imports torch and loads the models: seconds on 2 cores


def rows(page: ServePage) -> list[list[str]]:
    table = page.workers
    return [[table.item(r, c).text() for c in range(6)] for r in range(table.rowCount())]


def serve_only(page: ServePage, workers: int, *files) -> None:
    page.models.list.clear()
    page.models.models.clear()
    for path in files:
        assert page.models.add_file(path)
    page.settings.set_values(workers=workers, port=0, warm_spare=False)


def worker_ready(page: ServePage, pid_not: str = "", restarts: str = "0") -> bool:
    shown = rows(page)
    return (
        bool(shown)
        and shown[0][2] == WorkerState.READY
        and shown[0][1] not in ("—", pid_not)
        and (shown[0][3] == restarts)
    )


def test_serve_a_pages_model_kill_its_worker_load_it_and_stop(qtbot, main_window, tmp_path):
    assert main_window.open_checkpoint(tiny_gpt(tmp_path))
    main_window.tabs.setCurrentWidget(main_window.serve_page)
    assert not main_window.save_action.isEnabled()  # Save and Export belong to the family pages
    page = main_window.serve_page
    serve_only(page, 1, tiny_vae(tmp_path))
    assert page.models.add_page_model("gpt")  # the GPT page's weights, written when Start is pressed
    page.start_button.click()
    assert page.session.phase is Phase.STARTING and not page.start_button.isEnabled()
    qtbot.waitUntil(lambda: worker_ready(page), timeout=START_TIMEOUT_MS)
    assert page.url.text().startswith("http://127.0.0.1:") and "/v1/generate" in page.curl.text()
    assert page.banner.text().startswith("Ready: 1 of 1")

    old_pid = rows(page)[0][1]
    seen: list[WorkerState] = []  # worker 0's state at every poll from the kill on
    show_workers = page.workers.show_workers

    def recording(workers) -> None:
        seen.append(workers[0].state)
        show_workers(workers)

    page.workers.show_workers = recording
    page.workers.kill_button(0).click()
    qtbot.waitUntil(lambda: not pid_alive(int(old_pid)), timeout=10_000)
    qtbot.waitUntil(lambda: worker_ready(page, pid_not=old_pid, restarts="1"), timeout=START_TIMEOUT_MS)
    assert {WorkerState.DEAD, WorkerState.STARTING} & set(seen)  # seen away, not just swapped
    assert any("restarted it (restart 1)" in line for line in page.log.lines())

    page.load_controls.mode.setCurrentText(CLOSED_LOOP)
    page.load_controls.concurrency.setValue(4)
    page.load_controls.max_new_tokens.setValue(4)
    page.load_controls.start_button.click()
    assert page.session.load is not None and page.load_controls.stop_button.isEnabled()
    qtbot.waitUntil(lambda: any(v > 0 for _, v in page.history.throughput), timeout=20_000)
    qtbot.waitUntil(page.plots.has_data, timeout=5_000)
    assert page.history.latency and page.history.batch_sizes
    assert page.load_controls.summary.text().startswith("Sent ")

    # kill every replacement as soon as it exists: past the restart intensity the supervisor gives up
    killed = {old_pid}

    def kill_the_next_one() -> bool:
        pid = rows(page)[0][1] if page.workers.rowCount() else "—"
        if pid not in killed and pid != "—":
            killed.add(pid)
            page.workers.kill_button(0).click()
        return page.banner_kind == "bad"  # red: given up (amber while a replacement loads)

    qtbot.waitUntil(kill_the_next_one, timeout=START_TIMEOUT_MS)
    assert page.banner.text().startswith("Unready: ")
    assert any("unready" in line for line in page.log.lines())

    pid = int(rows(page)[0][1]) if rows(page)[0][1] != "—" else None
    page.stop_button.click()
    assert page.session.phase is Phase.STOPPING and page.banner.text().startswith("Stopping")
    qtbot.waitUntil(lambda: page.session.phase is Phase.STOPPED, timeout=30_000)
    assert page.start_button.isEnabled() and page.workers.rowCount() == 0
    assert not any(pid_alive(int(p)) for p in killed) and not multiprocessing.active_children()
    assert pid is None or not pid_alive(pid)
    assert page.message.isHidden()


def test_a_port_in_use_is_said_in_one_sentence(qtbot, tmp_path):
    page = ServePage({})
    qtbot.addWidget(page)
    serve_only(page, 1, tiny_gpt(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        page.settings.set_values(port=taken.getsockname()[1])
        page.start_button.click()
        qtbot.waitUntil(lambda: page.session.phase is Phase.STOPPED, timeout=START_TIMEOUT_MS)
    assert not page.message.isHidden() and page.message.text().startswith("The server did not start:")
    assert page.start_button.isEnabled() and not multiprocessing.active_children()
    assert page.shutdown()


def test_closing_the_window_while_the_server_starts_leaves_no_process(qtbot, main_window, tmp_path):
    page = main_window.serve_page
    serve_only(page, 1, tiny_gpt(tmp_path))
    page.start_button.click()
    qtbot.waitUntil(lambda: page.workers.rowCount() == 1, timeout=START_TIMEOUT_MS)  # spawned, loading
    pid = int(rows(page)[0][1])
    main_window.close()
    assert page.session.server is None and not pid_alive(pid) and not multiprocessing.active_children()
