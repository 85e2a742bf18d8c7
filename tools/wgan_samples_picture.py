"""The README's picture: real `shapes` beside a WGAN-GP checkpoint's samples, both drawn by genplay.

python tools/wgan_samples_picture.py weights/wgan-shapes.safetensors docs/images/wgan-shapes-samples.png
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.checkpoint import read_checkpoint  # noqa: E402
from app.engine.data import load_dataset  # noqa: E402
from app.engine.inference import model_from_checkpoint  # noqa: E402
from app.engine.inference.sampling import draw_samples  # noqa: E402
from app.engine.labelled_grid import labelled_grid_image  # noqa: E402

COUNT, COLUMNS, GAP = 64, 8, 30


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    checkpoint = read_checkpoint(sys.argv[1])
    real = load_dataset("shapes", seed=0).val[:COUNT].numpy()
    fake = draw_samples(model_from_checkpoint(checkpoint), COUNT, seed=0).images  # as `genplay sample`
    left = labelled_grid_image(real, COLUMNS, title="real shapes (validation set)", scale=2)
    title = f"WGAN-GP samples G(z), step {checkpoint.step:,} (genplay sample)"
    right = labelled_grid_image(fake, COLUMNS, title=title, scale=2)
    canvas = Image.new("RGB", (left.width + GAP + right.width, max(left.height, right.height)), "white")
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width + GAP, 0))
    canvas.save(sys.argv[2])
    print(f"wrote {sys.argv[2]}")


if __name__ == "__main__":
    main()
