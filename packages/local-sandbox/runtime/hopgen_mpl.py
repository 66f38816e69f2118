"""Matplotlib backend of @hopgen/local-sandbox (MPLBACKEND=module://hopgen_mpl).

Drawing uses Agg; `plt.show()` turns every open figure into a PNG that the runner returns as the
execution's `png`, as a notebook's inline backend would, and closes it.
"""

import base64
import io

from matplotlib.backend_bases import FigureManagerBase as FigureManager  # noqa: F401
from matplotlib.backends.backend_agg import FigureCanvasAgg as FigureCanvas  # noqa: F401

captured = []


def capture_open_figures():
    """Saves every open pyplot figure as base64 PNG into `captured` and closes it."""
    import matplotlib.pyplot as plt

    for number in plt.get_fignums():
        figure = plt.figure(number)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        captured.append(base64.b64encode(buffer.getvalue()).decode("ascii"))
    plt.close("all")


def show(*args, **kwargs):
    capture_open_figures()
