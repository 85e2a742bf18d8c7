"""The character tokenizer: round trip, metadata, unknown characters reported, never a crash."""

from __future__ import annotations

import json

import pytest

from models.tokenizer import CharTokenizer, UnknownCharactersError

TEXT = "def f(x):\n\treturn x ** 2  # café ✓ 𝔘\n"


def test_round_trip():
    tokenizer = CharTokenizer.from_text(TEXT)
    ids = tokenizer.encode(TEXT)
    assert tokenizer.decode(ids) == TEXT
    assert tokenizer.vocab_size == len(set(TEXT))
    assert list(tokenizer.chars) == sorted(set(TEXT))


def test_metadata_survives_json():
    tokenizer = CharTokenizer.from_text(TEXT)
    again = CharTokenizer.from_metadata(json.loads(json.dumps(tokenizer.to_metadata())))
    assert again == tokenizer
    assert CharTokenizer.from_metadata({"chars": ["a", "b"]}).chars == ("a", "b")  # "type" is optional


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        {"type": "bpe", "chars": ["a", "b"]},
        {"type": "char", "chars": "ab"},
        {"type": "char", "chars": ["a"]},
        {"type": "char", "chars": ["a", "bc"]},
        {"type": "char", "chars": ["a", "a"]},
        {"type": "char", "chars": ["a", 3]},
    ],
)
def test_malformed_metadata_is_refused_with_a_reason(metadata):
    with pytest.raises(ValueError) as info:
        CharTokenizer.from_metadata(metadata)
    assert str(info.value).count(".") <= 1


def test_unknown_characters_are_reported():
    tokenizer = CharTokenizer.from_text("hello world?")
    with pytest.raises(UnknownCharactersError) as info:
        tokenizer.encode("Héllo\nwörld")
    assert info.value.unknown == ["H", "é", "\n", "ö"]
    assert "'é'" in str(info.value) and "'\\n'" in str(info.value)


def test_unknown_characters_can_be_replaced_visibly():
    tokenizer = CharTokenizer.from_text("hello world?")
    ids, replaced = tokenizer.encode_lenient("hÉllo!")
    assert replaced == [1, 5]
    assert tokenizer.decode(ids) == "h?llo?"
