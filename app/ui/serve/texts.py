"""What the Serve page shows, mapped onto the serving pipeline (the in-app explanation)."""

from __future__ import annotations

PARAGRAPHS = (
    "<b>producer → bounded queue → batcher → workers → supervisor</b>",
    "<b>Producers</b> are the HTTP handlers: every request (yours with curl, or the built-in "
    "<b>load generator</b>'s) is put in one <b>bounded queue</b>. When the queue is full the "
    "handler answers <b>429 Too Many Requests</b> at once instead of letting the wait grow without "
    "bound: that is <b>backpressure</b> (the red 429s/s curve; the queue plot touches its dashed "
    "size line).",
    "The <b>batcher</b> takes the first waiting request, then waits at most <b>Max wait</b> ms for "
    "more, up to <b>Max batch</b>: one forward pass answers them all, so under load batches grow "
    "(the batch-size histogram moves right) and throughput rises while each request pays a few "
    "ms more latency. With a trickle of requests batches stay at 1.",
    "<b>Workers</b> are separate processes that each hold the models and compute batches (the "
    "table: ready = idle, busy = computing). The <b>supervisor</b> watches them: when one dies "
    "(press <b>Kill</b>) it puts a replacement in its place (restarts + 1; the <b>warm spare</b>, "
    "already loaded, takes over at once) and runs the dead worker's batch once more on a live "
    "worker (retried batches/s). If workers die more often than the restart intensity allows "
    "(too many restarts within a few seconds) it gives up and the server reports itself "
    "<b>unready</b>. The log beside the table tells what it did.",
    "<b>Throughput</b> and the rates are counted over the last two seconds. <b>Latency</b> "
    "p50/p95/p99: half, 95% and 99% of the load generator's answers in that time came back "
    "faster than this. <b>Open loop</b> load keeps its rate whatever the answers, so past "
    "capacity the queue fills and 429s start; <b>closed loop</b> load waits for each answer, so "
    "it slows down with the server instead.",
)
PIPELINE = "".join(f'<p style="margin: 0 0 6px 0">{text}</p>' for text in PARAGRAPHS)

NOT_RUNNING = "Not serving. Choose models and press Start."


def curl_example(url: str, model: str, family: str) -> str:
    """A request the user can paste into a terminal to ask the running server themselves."""
    if family == "gpt":
        path, body = "generate", f'{{"model": "{model}", "max_new_tokens": 64}}'
    else:
        path, body = "sample", f'{{"model": "{model}", "n": 4}}'
    return f"curl -s -X POST {url}/v1/{path} -H 'Content-Type: application/json' -d '{body}'"
