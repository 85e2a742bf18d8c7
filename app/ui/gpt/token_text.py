"""The generated text, one coloured box per character, that tells which character the mouse is on.

Each written character's background is its probability under the model (orange = surprising,
pale blue = expected); the prompt is grey, and prompt characters replaced because the model
never saw them are struck through in red. Line breaks and tabs get a visible glyph. Attention
of a hovered token is shown as blue boxes over the characters it reads (extra selections,
so the probability colours stay in the document underneath).
"""

from __future__ import annotations

import bisect

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextEdit, QWidget

from app.engine.inference.gpt_views import highlight_strengths
from app.ui.gpt.palette import BLUES, probability_color

SHOWN_AS = {"\n": "↵\n", "\t": "⇥   ", "\r": "␍"}
PROMPT_COLOR = QColor("#e4e4e4")
REPLACED_COLOR = QColor("#c62828")
OUTSIDE_COLOR = QColor("#9a9a9a")  # text that has left the model's context window


def shown_text(piece: str) -> str:
    """How a token's text is drawn (a character, or a BPE token's characters each)."""
    return "".join(SHOWN_AS.get(c, c if c.isprintable() else "·") for c in piece)


class TokenText(QTextEdit):
    tokenHovered = Signal(int)  # token index in the text, −1 when none
    tokenClicked = Signal(int)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSize(11)
        self.document().setDefaultFont(font)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.viewport().installEventFilter(self)
        self.starts: list[int] = []  # document position where each token begins
        self.chars: list[str] = []
        self._end = 0
        self._hovered = -1

    # --- content ------------------------------------------------------------------------
    def clear_tokens(self) -> None:
        self.clear()
        self.starts, self.chars = [], []
        self._end = 0
        self._hovered = -1

    def _append(self, char: str, fmt: QTextCharFormat) -> None:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        text = shown_text(char)
        cursor.insertText(text, fmt)
        self.starts.append(self._end)
        self.chars.append(char)
        self._end += len(text)

    def set_prompt(self, chars: list[str], replaced: set[int] | frozenset[int] = frozenset()) -> None:
        self.clear_tokens()
        for index, char in enumerate(chars):
            fmt = QTextCharFormat()
            fmt.setBackground(PROMPT_COLOR)
            if index in replaced:
                fmt.setForeground(REPLACED_COLOR)
                fmt.setFontStrikeOut(True)
                fmt.setToolTip("replaced: the model never saw the character typed here")
            self._append(char, fmt)
        self.scroll_to_end()

    def append_token(self, char: str, prob: float) -> None:
        fmt = QTextCharFormat()
        fmt.setBackground(probability_color(prob))
        self._append(char, fmt)
        self.scroll_to_end()

    def scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    @property
    def token_count(self) -> int:
        return len(self.chars)

    def text_of_tokens(self) -> str:
        return "".join(self.chars)

    def dim_before(self, index: int) -> None:
        """Grey the text before token ``index``: the model no longer reads it."""
        if not 0 < index <= len(self.starts):
            return
        end = self.starts[index] if index < len(self.starts) else self._end
        cursor = QTextCursor(self.document())
        cursor.setPosition(0)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        fmt = QTextCharFormat()
        fmt.setForeground(OUTSIDE_COLOR)
        cursor.mergeCharFormat(fmt)

    # --- attention highlight ------------------------------------------------------------
    def show_attention(self, weights: dict[int, float], source: int | None) -> None:
        """Blue boxes over tokens by weight (largest = darkest); ``source`` outlined in orange."""
        selections = [
            self._selection(index, BLUES.mapToQColor(strength))
            for index, strength in highlight_strengths(weights).items()
        ]
        if source is not None and 0 <= source < len(self.chars):
            selections.append(self._selection(source, QColor("#fdae6b")))
        self.setExtraSelections(selections)

    def clear_attention(self) -> None:
        self.setExtraSelections([])

    def _selection(self, index: int, color: QColor) -> QTextEdit.ExtraSelection:
        selection = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.document())
        start = self.starts[index]
        end = self.starts[index + 1] if index + 1 < len(self.starts) else self._end
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        selection.cursor = cursor
        selection.format.setBackground(color)
        if color.lightness() < 120:
            selection.format.setForeground(QColor("white"))
        return selection

    # --- mouse ----------------------------------------------------------------------------
    def token_at(self, point) -> int:
        cursor = self.cursorForPosition(point)
        position = cursor.position()
        if self.cursorRect(cursor).center().x() > point.x():
            position -= 1  # the mouse is left of the cursor: on the character before it
        if not self.starts or position < 0 or position >= self._end:
            return -1
        return bisect.bisect_right(self.starts, position) - 1

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.viewport():
            kind = event.type()
            if kind == QEvent.Type.MouseMove:
                self._set_hovered(self.token_at(event.position().toPoint()))
            elif kind == QEvent.Type.Leave:
                self._set_hovered(-1)
            elif kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
                index = self.token_at(event.position().toPoint())
                if index >= 0:
                    self.tokenClicked.emit(index)
        return super().eventFilter(watched, event)

    def _set_hovered(self, index: int) -> None:
        if index != self._hovered:
            self._hovered = index
            self.tokenHovered.emit(index)
