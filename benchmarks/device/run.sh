#!/usr/bin/env bash
# One call on an offline GPU machine, from the project root: install the carried wheels, then
# lean_vs_hf.py (the lean GPT-2 against transformers', same init and data, 50 bf16 steps each:
# both loss curves, step times and the verdict on train.fast_gpt2), then
# benchmarks/bench_train.py's GPU part (GPT-2 124M: HF fp32 eager, HF optimized, lean; tokens/s
# and MFU), then the timed `dvc repro` with a GPT-2 124M-shaped base twice (cold bytecode, then
# warm). Logs and JSON land in $OUT; copy $OUT/device-*.json to reports/benchmarks/. At most
# about 10 minutes (the timeouts below).
#   OUT=/some/folder bash benchmarks/device/run.sh [KEY=VALUE ...]   (params for the repro)
# WARM_MODES=offline,disabled adds a warm repro with W&B disabled (W&B's cost on a GPU).
set -u
KIT=$(cd "$(dirname "$0")" && pwd); : "${OUT:?set OUT to a folder for logs}"; mkdir -p "$OUT"
cd "$KIT/../.."
nvidia-smi --query-gpu=name,memory.total,clocks.sm,temperature.gpu --format=csv,noheader
if ls "$KIT"/whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-cache-dir --upgrade --target /tmp/site \
    "$KIT"/whl/*.whl > "$OUT/pip.log" 2>&1 || tail -3 "$OUT/pip.log"
fi
export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH} PATH=/tmp/site/bin:$PATH DVC_NO_ANALYTICS=1 \
  HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false OUT
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())"
date +%T; echo "== GPT-2 124M-shaped base (make_base.py), for the comparison and the repro runs"
[ -f /tmp/gpt2base/model.safetensors ] || timeout 60 python3 "$KIT/make_base.py" /tmp/gpt2base \
  2>&1 | grep -v -i -e warn -e shards | tail -1
date +%T; echo "== lean GPT-2 against transformers (same init and data, 50 steps each, bf16)"
timeout 120 python3 benchmarks/device/lean_vs_hf.py --out "$OUT/device-lean-vs-hf.json" 2>&1 \
  | grep -v -i -e warn -e shards | tail -6
date +%T; echo "== bench_train (GPU part: HF fp32 eager, HF optimized, lean)"
timeout 180 python3 benchmarks/bench_train.py --no-e2e --no-tiny-run --cpu-steps 5 --gpu-steps 30 \
  --out "$OUT/bench_train.json" 2>&1 | grep -v -i warn | tail -8
date +%T; echo "== dvc repro, GPT-2 124M-shaped base (cold)"
timeout 130 bash "$KIT/e2e.sh" cold offline "$@" 2>&1 | tail -14
date +%T; echo "== dvc repro, GPT-2 124M-shaped base (warm)"
timeout 90 bash "$KIT/e2e.sh" warm "${WARM_MODES:-offline}" "$@" 2>&1 | tail -26
date +%T
