"""Serving checkpoints over HTTP: a bounded queue, demand-driven batching, worker processes under
a supervisor. Qt-free; the CLI (``genplay serve``) and the Serve page are its two clients."""
