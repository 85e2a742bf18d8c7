"""Files the app ships: the icon (and, later, style sheets and small data)."""

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent
ICON = RESOURCES / "icon.svg"
