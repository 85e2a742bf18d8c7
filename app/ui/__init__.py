"""The Qt GUI: the only package that imports PySide6 and pyqtgraph."""

import pyqtgraph as pg

# images are (rows, columns[, channels]) everywhere in genplay, like NumPy. No antialiasing:
# Qt's software rasteriser then draws a busy loss plot 2-3 times faster, which matters
# because the GUI thread shares the interpreter lock with the trainer (bench/vae_gui_vs_headless.py).
pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="w", foreground="k")
