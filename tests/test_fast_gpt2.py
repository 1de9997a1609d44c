"""The lean GPT-2 (tweetlm.train.gpt2) is transformers' GPT2LMHeadModel: same loss and
gradients (exact in fp32, within bf16 tolerance under autocast), weights round-trip
bit-exactly, vocabulary padding changes nothing, dropout only in train mode. CPU, tiny model."""

from __future__ import annotations

import pytest
import torch

from tweetlm.train import model as hf_path
from tweetlm.train.gpt2 import LeanGPT2, loss_function, unsupported

VOCAB = 100  # not a multiple of 64: padding to 128 is exercised


def hf_gpt2(dropout: float = 0.0, seed: int = 0, **extra):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=VOCAB, n_positions=32, n_embd=32, n_layer=2, n_head=4,
                        resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout,
                        bos_token_id=0, eos_token_id=0, attn_implementation="sdpa", **extra)
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():  # trained-looking embeddings: random init's are too small to matter
        model.transformer.wte.weight.mul_(20)
    return model.train()


def batch(seed: int = 1, b: int = 4, t: int = 24):
    return torch.randint(0, VOCAB, (b, t), generator=torch.Generator().manual_seed(seed))


def hf_step(model, x, autocast=None):
    """The shipped path's loss and gradients (train.model.loss_sum, token-weighted)."""
    model.zero_grad(set_to_none=True)
    with autocast or torch.autocast("cpu", enabled=False):
        logits = model(input_ids=x).logits
    loss = hf_path.loss_sum(logits, x) / (x.shape[0] * (x.shape[1] - 1))
    loss.backward()
    return loss.detach(), {n: p.grad for n, p in model.named_parameters()}


def lean_step(lean, x, bf16=False):
    lean.zero_grad(set_to_none=True)
    loss = loss_function(lean, bf16=bf16)(x) / (x.shape[0] * (x.shape[1] - 1))
    loss.backward()
    return loss.detach(), lean.hf_tensors(grads=True)


@pytest.mark.parametrize("multiple", [1, 64])
def test_fp32_loss_and_gradients_match_hf_exactly(multiple):
    hf, x = hf_gpt2(), batch()
    lean = LeanGPT2.from_hf(hf, vocab_multiple=multiple)
    assert lean.padded_vocab == (VOCAB if multiple == 1 else 128)
    want_loss, want = hf_step(hf, x)
    got_loss, got = lean_step(lean, x)
    torch.testing.assert_close(got_loss, want_loss, rtol=1e-6, atol=1e-6)
    assert set(got) - {"lm_head.weight"} == set(want)  # every HF parameter, under its name
    for name, grad in want.items():
        torch.testing.assert_close(got[name], grad, rtol=1e-5, atol=1e-6, msg=name)


def test_bf16_autocast_step_matches_the_fp32_step_within_bf16_tolerance():
    hf, x = hf_gpt2(), batch()
    want_loss, want = hf_step(hf, x)
    got_loss, got = lean_step(LeanGPT2.from_hf(hf), x, bf16=True)
    # the shipped HF path under the same autocast, for scale: the lean one is no further off
    hf_loss, hf_bf16 = hf_step(hf, x, torch.autocast("cpu", dtype=torch.bfloat16))
    assert abs(got_loss - want_loss) / want_loss < 1e-2
    for name, grad in want.items():
        err = ((got[name] - grad).norm() / grad.norm()).item()
        hf_err = ((hf_bf16[name] - grad).norm() / grad.norm()).item()
        assert err < 0.03, f"{name}: relative error {err:.3g}"
        assert err < 3 * hf_err + 1e-3, f"{name}: {err:.3g} vs HF bf16 {hf_err:.3g}"


def test_weights_round_trip_bit_exactly_and_padding_never_reaches_them():
    from transformers import GPT2LMHeadModel

    hf = hf_gpt2()
    want = {k: v.clone() for k, v in hf.state_dict().items()}
    lean = LeanGPT2.from_hf(hf, vocab_multiple=64)
    out = GPT2LMHeadModel(hf.config)
    lean.export_to(out)
    got = out.state_dict()
    assert got.keys() == want.keys()
    for name, value in want.items():
        assert torch.equal(got[name], value), name
    assert out.lm_head.weight.data_ptr() == out.transformer.wte.weight.data_ptr()  # still tied

    # a few AdamW steps with weight decay: the padded rows stay exactly zero, and the trained
    # weights exported give the HF model the lean model's loss
    opt = hf_path.make_optimizer(lean, 1e-2, 0.1, fused=False)
    for i in range(3):
        lean_step(lean, batch(seed=10 + i))
        opt.step()
    assert not lean.transformer.wte.weight[VOCAB:].any()
    lean.export_to(out)
    x = batch(seed=99)
    lean.eval(), out.eval()
    with torch.no_grad():
        torch.testing.assert_close(lean.loss_sum(x), hf_path.loss_sum(out(input_ids=x).logits, x),
                                   rtol=1e-6, atol=1e-5)


def test_exported_model_saves_as_a_plain_gpt2_folder(tmp_path):
    from transformers import GPT2LMHeadModel

    hf = hf_gpt2()
    lean = LeanGPT2.from_hf(hf)
    with torch.no_grad():
        lean.transformer.h[0].mlp.c_fc.weight.add_(1.0)  # "training"
    lean.export_to(hf)
    hf.save_pretrained(tmp_path)
    back = GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    lean.eval()
    x = batch()
    with torch.no_grad():
        assert torch.equal(back(input_ids=x).logits, hf.eval()(input_ids=x).logits)
        torch.testing.assert_close(lean(x), back(input_ids=x).logits, rtol=1e-5, atol=1e-5)


def test_dropout_is_the_base_configs_and_active_in_train_mode_only():
    hf, x = hf_gpt2(dropout=0.1), batch()
    lean = LeanGPT2.from_hf(hf)
    assert lean.embd_dropout == lean.transformer.h[0].dropout == 0.1
    assert lean.transformer.h[0].attn.dropout == 0.1
    with torch.no_grad():
        a, b = lean.loss_sum(x), lean.loss_sum(x)
        assert a != b  # train mode: a new mask every call
        lean.eval(), hf.eval()
        c, d = lean.loss_sum(x), lean.loss_sum(x)
        assert c == d
        torch.testing.assert_close(c, hf_path.loss_sum(hf(input_ids=x).logits, x),
                                   rtol=1e-6, atol=1e-5)


def test_attention_scaling_options_are_honoured():
    hf, x = hf_gpt2(scale_attn_by_inverse_layer_idx=True), batch()
    want, _ = hf_step(hf, x)
    got, _ = lean_step(LeanGPT2.from_hf(hf), x)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


def test_other_architectures_are_refused():
    from transformers import LlamaConfig

    assert unsupported(hf_gpt2().config) is None
    assert "gpt2" in unsupported(LlamaConfig())
    assert "activation" in unsupported(hf_gpt2(activation_function="relu").config)


def test_loss_function_traces_as_one_graph():
    """What torch.compile sees on a GPU: the whole loss, no graph break (aot_eager: no C++
    compiler needed, so the check runs on any CPU)."""
    hf, x = hf_gpt2(dropout=0.0), batch()
    lean = LeanGPT2.from_hf(hf)
    torch._dynamo.reset()
    compiled = torch.compile(lambda t: loss_function(lean, bf16=False)(t), backend="aot_eager",
                             fullgraph=True)
    torch.testing.assert_close(compiled(x), lean.loss_sum(x), rtol=1e-6, atol=1e-5)
