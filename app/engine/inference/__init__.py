"""Qt-free inference: one path from a snapshot or a checkpoint to a ready model, and the maths
that the views, ``genplay sample`` and the server's workers run on it."""

from app.engine.inference.loading import ReadyModel, load_model, model_from_checkpoint, model_from_snapshot

__all__ = ["ReadyModel", "load_model", "model_from_checkpoint", "model_from_snapshot"]
