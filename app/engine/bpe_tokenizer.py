"""GPT-2's byte-level BPE tokenizer, backed by Hugging Face's ``tokenizers`` library.

It follows ``models.tokenizer.TextTokenizer`` like the character tokenizer does, so the views and
samplers need not know which one a model reads with. Byte-level BPE can spell any text, so no
prompt character is ever unknown. ``pieces[i]`` is the text token i decodes to (GPT-2 writes a
leading space as 'Ġ' inside its vocabulary; decoded, it is an ordinary space, which the views
show as '␣'). In a checkpoint it is stored as ``{"type": "bpe", "json": <tokenizer.json text>}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer
from tokenizers.implementations import ByteLevelBPETokenizer

END_OF_TEXT = "<|endoftext|>"  # GPT-2's document separator: what an empty prompt starts from
MAX_TOKENIZER_BYTES = 64 * 1024**2


class BPETokenizer:
    kind = "token"

    def __init__(self, tokenizer: Tokenizer, source: str) -> None:
        self.tokenizer = tokenizer
        self.source = source  # the tokenizer.json text it was built from (stored in checkpoints)
        count = tokenizer.get_vocab_size(with_added_tokens=True)
        self._pieces = tuple(tokenizer.decode_batch([[i] for i in range(count)], skip_special_tokens=False))
        end = tokenizer.token_to_id(END_OF_TEXT)
        self._start = end if end is not None else 0

    # --- building -----------------------------------------------------------------------------
    @classmethod
    def from_json(cls, text: str) -> BPETokenizer:
        """From a tokenizer.json text; ValueError with one sentence when it is not one."""
        return _cached_from_json(text)

    @classmethod
    def from_folder(cls, folder: Path) -> BPETokenizer:
        """From ``tokenizer.json`` in ``folder``, else from its ``vocab.json`` + ``merges.txt``."""
        single = folder / "tokenizer.json"
        if single.is_file():
            return cls.from_json(_read_text(single))
        vocab, merges = folder / "vocab.json", folder / "merges.txt"
        if not (vocab.is_file() and merges.is_file()):
            raise ValueError(
                f"{folder.name} has no tokenizer: genplay needs tokenizer.json, or vocab.json and merges.txt"
            )
        for path in (vocab, merges):
            _read_text(path)  # refuses absurd sizes before the library reads them
        try:
            bpe = ByteLevelBPETokenizer(str(vocab), str(merges))
        except Exception as exc:  # the library's own parse errors
            reason = f"vocab.json and merges.txt are not a byte-level BPE tokenizer ({exc})"
            raise ValueError(reason) from None
        if bpe.token_to_id(END_OF_TEXT) is not None:
            bpe.add_special_tokens([END_OF_TEXT])
        return cls.from_json(bpe.to_str())

    @classmethod
    def from_metadata(cls, data: Any) -> BPETokenizer:
        if not isinstance(data, dict) or data.get("type") != "bpe" or not isinstance(data.get("json"), str):
            raise ValueError("the tokenizer metadata is not a BPE tokenizer")
        return cls.from_json(data["json"])

    def to_metadata(self) -> dict[str, Any]:
        return {"type": "bpe", "json": self.source}

    # --- the protocol ----------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self._pieces)

    @property
    def pieces(self) -> tuple[str, ...]:
        return self._pieces

    @property
    def start_token(self) -> int:
        return self._start

    @property
    def replacement(self) -> str:
        return ""  # never used: every text has a spelling in bytes

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode_lenient(self, text: str) -> tuple[list[int], list[int]]:
        return self.encode(text), []

    def unknown_characters(self, text: str) -> list[str]:
        return []

    def decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BPETokenizer) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)


@lru_cache(maxsize=4)  # the page asks again for every snapshot of the same model
def _cached_from_json(text: str) -> BPETokenizer:
    try:
        json.loads(text)
        tokenizer = Tokenizer.from_str(text)
    except Exception as exc:  # JSON or the library's own schema errors
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ValueError(f"the tokenizer is not a valid tokenizer.json ({reason})") from None
    return BPETokenizer(tokenizer, text)


def _read_text(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_TOKENIZER_BYTES:
        raise ValueError(f"{path.name} has {size:,} bytes, more than a tokenizer needs")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path.name} ({exc})") from None
