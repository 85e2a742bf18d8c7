"""A Hugging Face GPT-2 folder opens as a genplay GPT that computes what transformers computes:
logits within 1e-4 and the same greedy text, with and without the KV cache; other models and
broken folders get one sentence."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from app.engine.checkpoint import CheckpointError, is_openable, read_checkpoint
from app.engine.errors import ConfigError
from app.engine.inference import model_from_checkpoint
from app.engine.session import RunRequest, RunSession
from app.entry import main
from models.text_sampling import SamplingSettings, generate
from tests.tiny_gpt2 import make_tiny_gpt2

PROMPT = "The cat sat on the"


@pytest.fixture(scope="module")
def opened(tiny_gpt2):
    folder, reference = tiny_gpt2
    progress = []
    checkpoint = read_checkpoint(folder, progress=lambda done, total: progress.append((done, total)))
    return folder, reference, model_from_checkpoint(checkpoint), progress


def test_logits_match_transformers_and_loading_reports_progress(opened):
    folder, reference, ready, progress = opened
    ids = torch.tensor([ready.tokenizer.encode(PROMPT + " mat. def add(a, b):")])
    with torch.no_grad():
        expected = reference(ids).logits
        ours = ready.model(ids).logits
    assert torch.allclose(ours, expected, atol=1e-4, rtol=0)
    assert ready.config.activation == "gelu_tanh" and not ready.config.output_bias
    assert ready.model.lm_head.weight is ready.model.tok_emb.weight  # tied to wte
    assert progress[0][0] == 0 and progress[-1][0] == progress[-1][1] > 0
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


@pytest.mark.parametrize("use_cache", [True, False])
def test_greedy_text_is_the_same_as_transformers(opened, use_cache):
    _folder, reference, ready, _ = opened
    prompt = torch.tensor([ready.tokenizer.encode(PROMPT)])
    new = 24
    expected = reference.generate(
        prompt, do_sample=False, max_new_tokens=new, min_new_tokens=new, pad_token_id=0,
        attention_mask=torch.ones_like(prompt),
    )  # fmt: skip
    ours = generate(ready.model, prompt, new, SamplingSettings(temperature=0.0), use_cache=use_cache)
    assert ours.tolist() == expected.tolist()


def test_cached_step_logits_match_a_full_forward_of_transformers(opened):
    _folder, reference, ready, _ = opened
    ids = ready.tokenizer.encode(PROMPT)
    cache = ready.model.new_cache(1)
    with torch.no_grad():
        ready.model(torch.tensor([ids]), cache=cache)
        for token in ready.tokenizer.encode(" mat. The dog"):
            step = ready.model(torch.tensor([[token]]), cache=cache).logits[0, -1]
            ids.append(token)
            assert torch.allclose(step, reference(torch.tensor([ids])).logits[0, -1], atol=1e-4, rtol=0)


def test_a_folder_its_config_and_safetensors_files_can_be_dropped(tiny_gpt2, tmp_path):
    folder, _ = tiny_gpt2
    assert is_openable(folder) and is_openable(folder / "config.json")
    assert is_openable(folder / "model.safetensors") and not is_openable(tmp_path)  # no config.json


def test_the_weights_file_opens_too_without_prefix_and_with_mask_buffers(opened, tmp_path):
    folder, reference, ready, _ = opened
    copy = tmp_path / "bare"
    shutil.copytree(folder, copy)
    tensors = {k.removeprefix("transformer."): v for k, v in load_file(copy / "model.safetensors").items()}
    tensors["h.0.attn.bias"] = torch.tril(torch.ones(1, 1, 64, 64))  # old files carry the mask
    tensors["h.0.attn.masked_bias"] = torch.tensor(-1e4)
    save_file(tensors, copy / "model.safetensors", metadata={"format": "pt"})
    again = model_from_checkpoint(read_checkpoint(copy / "model.safetensors"))
    ids = torch.tensor([ready.tokenizer.encode(PROMPT)])
    with torch.no_grad():
        assert torch.allclose(again.model(ids).logits, reference(ids).logits, atol=1e-4, rtol=0)


def test_vocab_and_merges_files_tokenise_like_tokenizer_json(tmp_path, opened):
    _folder, _reference, ready, _ = opened
    make_tiny_gpt2(tmp_path / "vm", tokenizer_files="vocab")
    other = model_from_checkpoint(read_checkpoint(tmp_path / "vm" / "config.json"))
    text = PROMPT + " mat.\n  return a + b"
    assert other.tokenizer.encode(text) == ready.tokenizer.encode(text)
    assert other.tokenizer.decode(other.tokenizer.encode(text)) == text
    assert other.tokenizer.pieces[other.tokenizer.encode(" cat")[0]].startswith(" ")  # 'Ġ' decoded


def _edited(folder, tmp_path, **config_changes):
    copy = tmp_path / "edited"
    shutil.copytree(folder, copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, **config_changes}))
    return copy


def test_other_architectures_and_broken_folders_get_one_sentence(tiny_gpt2, tmp_path):
    folder, _ = tiny_gpt2
    with pytest.raises(CheckpointError, match=r"holds a llama model; genplay opens .* GPT-2"):
        read_checkpoint(_edited(folder, tmp_path / "a", model_type="llama"))
    with pytest.raises(CheckpointError, match=r"has shape \[96\] but config.json needs \[144\]"):
        read_checkpoint(_edited(folder, tmp_path / "b", n_embd=48))
    with pytest.raises(CheckpointError, match="at most 200,000,000"):  # refused before any allocation
        read_checkpoint(_edited(folder, tmp_path / "c", n_layer=48, n_embd=1600, n_head=25))
    no_tokenizer = _edited(folder, tmp_path / "d")
    (no_tokenizer / "tokenizer.json").unlink()
    with pytest.raises(CheckpointError, match="no tokenizer"):
        read_checkpoint(no_tokenizer)
    (no_tokenizer / "model.safetensors").rename(no_tokenizer / "pytorch_model.bin")
    (no_tokenizer / "tokenizer.json").write_text((folder / "tokenizer.json").read_text())
    with pytest.raises(CheckpointError, match="never opens"):
        read_checkpoint(no_tokenizer)


def test_inspect_and_sample_read_the_folder(tiny_gpt2, capsys):
    folder, _ = tiny_gpt2
    assert main(["inspect", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["origin"] == "Hugging Face GPT-2" and report["tokenizer"] == "token"
    assert report["config"]["vocab_size"] == report["vocabulary_size"] == 300
    assert main(["sample", str(folder / "model.safetensors"), "--prompt", PROMPT, "--max-new", "5"]) == 0
    assert capsys.readouterr().out.startswith(PROMPT)


def test_a_gpt2_is_not_trained_on_character_text(tiny_gpt2):
    folder, _ = tiny_gpt2
    session = RunSession("gpt")
    session.open(read_checkpoint(folder))
    with pytest.raises(ConfigError, match="trains only character-level GPTs"):
        session.begin(RunRequest(5, "python-docs", {}))
