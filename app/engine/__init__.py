"""The Qt-free engine: trainer loop, tasks, data, checkpoints, devices and the CLI.

Nothing in this package imports Qt; the GUI is one client of it, the CLI another.
"""
