"""Pure PyTorch models of genplay: one file per family, each with its config dataclass.

This package never imports ``app``; the engine and the GUI are its clients.
"""
