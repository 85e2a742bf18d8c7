"""Tokenizers: what the GPT views and samplers need from one (``TextTokenizer``), and the
character-level tokenizer genplay trains with.

Character level: each distinct character of the training text is one token; the vocabulary is
the sorted list of characters and token id i is ``chars[i]``. It is stored in every GPT
checkpoint (``to_metadata``) so that a model can always read and write text again. A
Hugging Face GPT-2's byte-level BPE (``app/engine/bpe_tokenizer.py``) follows the same
protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

MAX_VOCAB = 65536
REPLACEMENT_PREFERENCE = ("?", " ", "_")  # what an unknown prompt character becomes, if known


class UnknownCharactersError(ValueError):
    """Text holds characters that are not in the vocabulary."""

    def __init__(self, unknown: list[str]) -> None:
        self.unknown = unknown
        shown = ", ".join(describe_char(c) for c in unknown[:8])
        more = f" and {len(unknown) - 8} more" if len(unknown) > 8 else ""
        super().__init__(
            f"the text has {len(unknown)} character(s) the model never saw in training: {shown}{more}"
        )


def describe_char(char: str) -> str:
    """A readable name for one character: 'a', '\\n', U+00A0."""
    if char == "\n":
        return "'\\n'"
    if char == "\t":
        return "'\\t'"
    if char.isprintable() and not char.isspace():
        return repr(char)
    return f"U+{ord(char):04X}"


class TextTokenizer(Protocol):
    """What text ↔ token ids needs, for writing text and for labelling views by token."""

    kind: str  # what one token is, in words for the views: "character" or "token"

    @property
    def vocab_size(self) -> int: ...

    @property
    def pieces(self) -> Sequence[str]:
        """The text each token id stands for (``pieces[i]`` for id i): axis labels, the text view."""
        ...

    @property
    def start_token(self) -> int:
        """What an empty prompt starts from."""
        ...

    @property
    def replacement(self) -> str: ...

    def encode(self, text: str) -> list[int]: ...

    def encode_lenient(self, text: str) -> tuple[list[int], list[int]]: ...

    def unknown_characters(self, text: str) -> list[str]: ...

    def decode(self, ids: Iterable[int]) -> str: ...

    def to_metadata(self) -> dict[str, Any]: ...


class CharTokenizer:
    kind = "character"

    def __init__(self, chars: Sequence[str]) -> None:
        self.chars = tuple(chars)
        self.index = {c: i for i, c in enumerate(self.chars)}
        replacement = next((c for c in REPLACEMENT_PREFERENCE if c in self.index), self.chars[0])
        self.replacement = replacement

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        return cls(sorted(set(text)))

    @classmethod
    def from_metadata(cls, data: Any) -> CharTokenizer:
        """Rebuild from checkpoint metadata; raises ValueError with one sentence when it is malformed."""
        if not isinstance(data, dict) or data.get("type", "char") != "char":  # "type" may be left out
            raise ValueError("the tokenizer metadata is not a character vocabulary")
        chars = data.get("chars")
        if not isinstance(chars, list) or not 2 <= len(chars) <= MAX_VOCAB:
            raise ValueError(f"the vocabulary must list 2 to {MAX_VOCAB} characters")
        if not all(isinstance(c, str) and len(c) == 1 for c in chars):
            raise ValueError("every vocabulary entry must be exactly one character")
        if len(set(chars)) != len(chars):
            raise ValueError("the vocabulary lists a character twice")
        return cls(chars)

    def to_metadata(self) -> dict[str, Any]:
        return {"type": "char", "chars": list(self.chars)}

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    @property
    def pieces(self) -> tuple[str, ...]:
        return self.chars

    @property
    def start_token(self) -> int:
        """A line break if the text has them, else a space, else token 0."""
        for char in ("\n", " "):
            if char in self.index:
                return self.index[char]
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharTokenizer) and other.chars == self.chars

    def __hash__(self) -> int:
        return hash(self.chars)

    def unknown_characters(self, text: str) -> list[str]:
        """The distinct characters of ``text`` outside the vocabulary, in order of appearance."""
        return list(dict.fromkeys(c for c in text if c not in self.index))

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; raises UnknownCharactersError naming what is not in the vocabulary."""
        unknown = self.unknown_characters(text)
        if unknown:
            raise UnknownCharactersError(unknown)
        return [self.index[c] for c in text]

    def encode_lenient(self, text: str) -> tuple[list[int], list[int]]:
        """Token ids with unknown characters replaced by ``replacement``, and where that happened."""
        ids, replaced = [], []
        fallback = self.index[self.replacement]
        for position, char in enumerate(text):
            token = self.index.get(char)
            if token is None:
                replaced.append(position)
                token = fallback
            ids.append(token)
        return ids, replaced

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.chars[int(i)] for i in ids)
