"""``genplay``'s argument parser: --set values and number options."""

from __future__ import annotations

import argparse

import pytest

from app.engine.cli.parser import build_parser, parse_setting


def test_set_reads_json_lists_and_text():
    assert parse_setting("hidden_dims=512,256") == ("hidden_dims", [512, 256])
    assert parse_setting("beta=4") == ("beta", 4)
    assert parse_setting("mask=sliding") == ("mask", "sliding")


@pytest.mark.parametrize("text", ["hidden_dims=512,,256", "hidden_dims=512,", "hidden_dims=,512", "x= , "])
def test_set_refuses_a_list_with_an_empty_entry(text):
    with pytest.raises(argparse.ArgumentTypeError, match="has an empty entry in its list"):
        parse_setting(text)


def test_temperature_zero_means_greedy_and_negative_is_refused():
    parser = build_parser()
    assert parser.parse_args(["sample", "f.safetensors", "--temperature", "0"]).temperature == 0.0
    with pytest.raises(SystemExit):
        parser.parse_args(["sample", "f.safetensors", "--temperature", "-0.5"])
    assert parser.parse_args(["sample", "f.safetensors"]).temperature is None  # the model's default
