"""A lean GPT-2 for training: transformers' GPT2LMHeadModel, same maths, less machinery.

Why: on an H200 the HF model (compiled, bf16) reached 23.8% MFU on GPT-2 124M; this block
(one qkv Linear, SDPA is_causal, the loss compiled with the model, vocabulary padded to a
multiple of 64) reached 41.6% in ../shared/device-kit/mfu.py. The HF model stays the format
on disk: `from_hf` copies its weights in, `export_to` copies them back, so models/<bot>/ is a
plain GPT2LMHeadModel folder.

Same model, same loss: pre-LN blocks, GELU as config.activation_function says, the base's
dropout (embd/resid as F.dropout, attention as SDPA's dropout_p, training only), tied
lm_head, shifted cross-entropy in fp32 summed over tokens (the caller divides by the step's
tokens, as train.model.loss_sum does). Module names are HF's, so a state dict maps 1:1 but
for the transposed Conv1D weights and the padded vocabulary rows.

    lean = LeanGPT2.from_hf(hf_model)          # on hf_model's device and dtype
    loss_fn = loss_function(lean, bf16=True, compile=True)   # x -> summed loss
    ...
    lean.export_to(hf_model); hf_model.save_pretrained(folder)
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# Conv1D layers: HF stores their weight as (in, out), nn.Linear as (out, in)
CONV1D = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
GELU = {"gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "gelu": "none"}  # -> F.gelu approximate


def unsupported(config) -> str | None:
    """Why this config is not a GPT-2 this module reproduces exactly, or None if it is."""
    if getattr(config, "model_type", None) != "gpt2":
        return f"model_type {getattr(config, 'model_type', None)!r} is not gpt2"
    if config.activation_function not in GELU:
        return f"activation {config.activation_function!r}"
    if getattr(config, "add_cross_attention", False):
        return "cross-attention"
    if not getattr(config, "tie_word_embeddings", True):
        return "untied lm_head"
    return None


class Attention(nn.Module):
    def __init__(self, config, layer: int):
        super().__init__()
        d = config.n_embd
        self.heads, self.dropout = config.n_head, config.attn_pdrop
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        # HF's scaling: 1/sqrt(head_dim) unless turned off, optionally / (layer + 1)
        scale = (d // self.heads) ** -0.5 if config.scale_attn_weights else 1.0
        self.scale = scale / (layer + 1) if config.scale_attn_by_inverse_layer_idx else scale

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.heads, -1).transpose(1, 2)
                   for t in self.c_attn(x).split(C, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scale,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        d, inner = config.n_embd, config.n_inner or 4 * config.n_embd
        self.c_fc, self.c_proj = nn.Linear(d, inner), nn.Linear(inner, d)
        self.approximate = GELU[config.activation_function]

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate=self.approximate))


class Block(nn.Module):
    def __init__(self, config, layer: int):
        super().__init__()
        eps, d = config.layer_norm_epsilon, config.n_embd
        self.ln_1, self.ln_2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.attn, self.mlp = Attention(config, layer), MLP(config)
        self.dropout = config.resid_pdrop

    def forward(self, x):
        x = x + _drop(self.attn(self.ln_1(x)), self.dropout, self.training)
        return x + _drop(self.mlp(self.ln_2(x)), self.dropout, self.training)


def _drop(x, p: float, training: bool):
    return F.dropout(x, p, training=True) if training and p > 0 else x  # p=0: no kernel at all


class Body(nn.Module):  # HF's `transformer`, so parameter names match GPT2LMHeadModel's
    def __init__(self, config, vocab: int):
        super().__init__()
        self.wte = nn.Embedding(vocab, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.h = nn.ModuleList(Block(config, i) for i in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)


class LeanGPT2(nn.Module):
    """GPT-2 whose embedding may have `padded_vocab - vocab` extra rows: zero, never looked up,
    their logits -inf (the output layer's bias, free in the GEMM), so they change neither the
    loss nor (their gradient being zero, AdamW leaves them at zero) the exported weights. They
    are there for the lm_head GEMM: 50304 = 64 x 786 tiles better than GPT-2's 50257."""

    def __init__(self, config, vocab_multiple: int = 1):
        super().__init__()
        self.config, self.vocab = config, config.vocab_size
        self.padded_vocab = math.ceil(self.vocab / vocab_multiple) * vocab_multiple
        self.transformer = Body(config, self.padded_vocab)
        self.embd_dropout = config.embd_pdrop
        self.register_buffer("pad_bias", None, persistent=False)
        self._mask_padding()

    def _mask_padding(self) -> None:
        if self.padded_vocab > self.vocab:
            weight = self.transformer.wte.weight
            bias = torch.zeros(self.padded_vocab, device=weight.device, dtype=weight.dtype)
            self.pad_bias = bias.index_fill_(0, torch.arange(self.vocab, self.padded_vocab,
                                                             device=weight.device), -math.inf)

    @classmethod
    @torch.no_grad()
    def from_hf(cls, hf_model, vocab_multiple: int = 64) -> "LeanGPT2":
        """A lean copy of `hf_model` (a GPT2LMHeadModel), on its device and in its dtype."""
        reason = unsupported(hf_model.config)
        if reason:
            raise ValueError(f"not a plain GPT-2: {reason}")
        weight = hf_model.transformer.wte.weight
        with torch.device("meta"):  # no random init to throw away
            lean = cls(hf_model.config, vocab_multiple)
        lean = lean.to_empty(device=weight.device).to(weight.dtype)
        lean._mask_padding()
        lean.transformer.wte.weight.zero_()  # the padded rows stay 0
        own = dict(lean.named_parameters())
        for name, value in hf_model.state_dict().items():
            if name == "lm_head.weight":  # tied: it is wte
                continue
            target = own.pop(name)
            if _conv1d(name) and name.endswith(".weight"):
                value = value.t()
            target[:value.shape[0]].copy_(value)
        if own:
            raise ValueError(f"{hf_model.__class__.__name__} has no {sorted(own)[0]}")
        return lean.train(hf_model.training)

    def hf_tensors(self, grads: bool = False) -> dict:
        """The weights (or, with `grads`, their gradients) under GPT2LMHeadModel's names and
        shapes: Conv1D weights transposed, padded vocabulary rows sliced off, lm_head = wte."""
        out = {}
        for name, param in self.named_parameters():
            tensor = param.grad if grads else param.detach()
            if tensor is None:
                continue
            if name == "transformer.wte.weight":
                tensor = tensor[:self.vocab]
            elif _conv1d(name) and name.endswith(".weight"):
                tensor = tensor.t()
            out[name] = tensor
        if "transformer.wte.weight" in out:
            out["lm_head.weight"] = out["transformer.wte.weight"]
        return out

    @torch.no_grad()
    def export_to(self, hf_model) -> None:
        """Copy the weights into `hf_model` (bit-exact) for save_pretrained."""
        mine = self.hf_tensors()
        for name, p in hf_model.named_parameters():  # tied lm_head is not listed: wte is
            p.copy_(mine[name])

    def hidden(self, idx):
        t = self.transformer
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = _drop(t.wte(idx) + t.wpe(pos), self.embd_dropout, self.training)
        for block in t.h:
            x = block(x)
        return t.ln_f(x)

    def padded_logits(self, idx):
        """(B, T, padded_vocab), the padded columns -inf."""
        return F.linear(self.hidden(idx), self.transformer.wte.weight, self.pad_bias)

    def forward(self, idx):
        """Logits over the real vocabulary, (B, T, vocab)."""
        return self.padded_logits(idx)[..., :self.vocab]

    def loss_sum(self, idx):
        """Summed next-token cross-entropy of `idx` (labels: idx shifted by one), in fp32
        whatever the autocast: what train.model.loss_sum computes on HF's logits. The last
        position's label is ignored rather than its logits sliced off: no copy of the logits
        but the fp32 one, when this runs uncompiled."""
        labels = F.pad(idx[:, 1:], (0, 1), value=-100)  # -100: cross_entropy's ignore_index
        return F.cross_entropy(self.padded_logits(idx).flatten(0, 1).float(), labels.flatten(),
                               reduction="sum")


def _conv1d(name: str) -> bool:
    return any(f".{layer}." in name for layer in CONV1D)


def loss_function(model: LeanGPT2, bf16: bool, compile: bool = False):
    """x -> summed loss (bf16 autocast on the model's device type if `bf16`), one function:
    compiled, the fp32 logits never leave the fused kernels (several GB a step at GPT-2 124M,
    batch 16, when they do: 31.6% vs 24.4% MFU in mfu.py)."""
    kind = model.transformer.wte.weight.device.type

    def loss(x):
        with torch.autocast(kind, dtype=torch.bfloat16, enabled=bf16):
            return model.loss_sum(x)
    return torch.compile(loss) if compile else loss
