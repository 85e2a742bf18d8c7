"""The ``genplay`` command line: ``train``, ``inspect`` and ``sample`` run headless."""
