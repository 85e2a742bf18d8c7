"""GPT variants through checkpoints and the page's views: Post-LN, sinusoidal positions, the prefix LM."""

from __future__ import annotations

import numpy as np
import torch
from safetensors import safe_open

from app.engine.checkpoint import save_checkpoint
from app.engine.inference import load_model
from app.engine.inference.gpt_probe import probe_attention
from app.engine.inference.gpt_views import window_attention_stats
from models.text_sampling import GenerationSession
from models.tokenizer import CharTokenizer
from models.transformer import GPT, GPTConfig

TOKENIZER = CharTokenizer.from_text("abcde ")


def test_a_post_ln_sinusoidal_checkpoint_saves_no_table_and_opens_with_the_same_numbers(tmp_path):
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=6, block_size=8, n_layer=2, n_head=2, d_model=8, norm_position="post",
                       position_encoding="sinusoidal")  # fmt: skip
    model = GPT(config).eval()
    path = save_checkpoint(tmp_path / "post.safetensors", family="gpt", config=config,
                           tensors=model.state_dict(), tokenizer=TOKENIZER.to_metadata())  # fmt: skip
    with safe_open(str(path), "pt") as f:
        assert not any(k.startswith(("pe", "pos_emb", "ln_f")) for k in f.keys())
    ready = load_model(path)
    assert ready.config == config
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    torch.testing.assert_close(ready.model(ids).logits, model(ids).logits)


def test_probe_and_generation_views_work_with_both_variants():
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=6, block_size=8, n_layer=2, n_head=2, d_model=8, norm_position="post",
                       position_encoding="sinusoidal", mask="prefix", prefix_len=4)  # fmt: skip
    model = GPT(config)
    _, _, alpha = probe_attention(model, TOKENIZER, "abcdeabc")
    assert alpha.shape == (2, 2, 8, 8)
    np.testing.assert_allclose(alpha.astype(np.float32).sum(-1), 1.0, atol=2e-3)
    session = GenerationSession(model, TOKENIZER.encode("ab"), seed=1)
    for _ in range(3):
        session.step()
    stats = window_attention_stats(
        config, session.window.attention, prefix_length=session.window.prefix_length
    )
    # the 2-character prompt is the prefix: row 0 reads key 1, the written tokens read causally
    assert stats.allowed.tolist() == [[j <= i or j < 2 for j in range(5)] for i in range(5)]
    attention = session.window.attention.numpy()
    assert np.all(attention[..., ~stats.allowed] == 0) and np.all(attention[..., 0, 1] > 0)
