"""The Qt GUI: the only package that imports PySide6 and pyqtgraph."""

import pyqtgraph as pg

# images are (rows, columns[, channels]) everywhere in genplay, like NumPy
pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, background="w", foreground="k")
