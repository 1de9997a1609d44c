"""LoRA with peft: low-rank adapters on a frozen base, merged into plain weights at the end.

The model folder must load with `pipeline('text-generation', model=...)` like a fully
fine-tuned one, so train saves the merged weights as model.safetensors and the adapter alone
(peft's adapter_config.json + adapter_model.safetensors) in models/<bot>/adapter/ for those
who want to load it on the base themselves. Target modules default to peft's own choice per
architecture (GPT-2: c_attn; Llama, Qwen2, Mistral: q_proj, v_proj).
"""

from __future__ import annotations

import warnings

from tweetlm.shared import pretrained
from tweetlm.core.errors import TweetlmError, first_line
from tweetlm.core.params import LoraParams


def targets(model, wanted: list[str]) -> list[str]:
    """train.lora.target_modules, or peft's default for the model's architecture."""
    if wanted:
        return list(wanted)
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

    kind = model.config.model_type
    found = TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(kind)
    if not found:
        names = sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                        if type(module).__name__ in ("Linear", "Conv1D") and "." in name})
        raise TweetlmError(f"params.yaml: train.lora.target_modules: peft has no default for "
                           f"{kind} models: name the layers to adapt, from {', '.join(names)}")
    return list(found)


def wrap(model, settings: LoraParams):
    """(the peft model: base frozen, adapters trainable; the target modules used)."""
    from peft import LoraConfig, get_peft_model
    from transformers.pytorch_utils import Conv1D

    modules = targets(model, settings.target_modules)
    # GPT-2's Conv1D stores weights transposed: peft must know, or it warns and guesses
    conv1d = any(isinstance(module, Conv1D) for name, module in model.named_modules()
                 if name.rsplit(".", 1)[-1] in modules)
    config = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=modules, fan_in_fan_out=conv1d, bias="none",
                        task_type="CAUSAL_LM")
    try:
        with warnings.catch_warnings():  # peft calls a transformers API deprecated in v5
            warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated",
                                    FutureWarning)
            return get_peft_model(model, config), modules
    except ValueError as e:  # no module of that name
        raise TweetlmError(f"params.yaml: train.lora.target_modules: {first_line(e)}") from None


def trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


ADAPTER_README = """\
# {what}

{body}
"""


def readme(folder, modules: list[str] | None, base: str, r: int = 0, alpha: float = 0,
           from_scratch: bool = False) -> str:
    """models/<bot>/adapter/README.md: there whether or not LoRA was used (a static DVC out)."""
    if modules is None:
        how = ("trained from scratch (the tiny preset)" if from_scratch
               else "fully fine-tuned (`train.lora.enabled: false`)")
        return ADAPTER_README.format(
            what="No adapter", body=f"This model was {how}: every weight is in "
            "`../model.safetensors`. With LoRA on, this folder holds "
            "the adapter (`adapter_config.json`, `adapter_model.safetensors`).")
    return ADAPTER_README.format(
        what="LoRA adapter", body=f"The low-rank adapter (r={r}, alpha={alpha:g}, on "
        f"{', '.join(modules)}) this model was trained as, on the base "
        f"`{pretrained.shown_name(base)}`. "
        "`../model.safetensors` already holds it merged into the base weights; to load the "
        "adapter itself:\n\n```python\nfrom peft import AutoPeftModelForCausalLM\n"
        f"model = AutoPeftModelForCausalLM.from_pretrained('{folder}')\n```")
