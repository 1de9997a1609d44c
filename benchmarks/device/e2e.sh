#!/usr/bin/env bash
# Timed `dvc repro` of the sample handle with a GPT-2-shaped base, in a git copy of the project
# (benchmarks/bench_train.py's e2e: per stage DVC time, start-up, imports, load, work, saving,
# W&B), then `pipeline('text-generation')` on the trained model.
#   bash benchmarks/device/e2e.sh TAG [WANDB_MODES] [KEY=VALUE ...]     (from the project root)
# WANDB_MODES: comma-separated, one repro each (default offline); KEY=VALUE edits params.yaml
# of the copy (model.base is the base below). Env: OUT (logs, JSON; default /tmp/tweetlm-out),
# BASE (default /tmp/gpt2base, built by make_base.py if missing; BASE_FLAGS=--small for a small
# one), PREPARE_ONLY=1 makes the copy in /tmp/tweetlm-TAG/p and stops.
set -u
KIT=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$KIT/../.." && pwd)
TAG=${1:?usage: e2e.sh TAG [WANDB_MODES] [KEY=VALUE ...]}; MODES=${2:-offline}; shift $(( $# < 2 ? $# : 2 ))
OUT=${OUT:-/tmp/tweetlm-out}; BASE=${BASE:-/tmp/gpt2base}; PY=${PYTHON:-python3}
mkdir -p "$OUT"; W=/tmp/tweetlm-$TAG; rm -rf "$W"; mkdir -p "$W"
if [ ! -f "$BASE/model.safetensors" ]; then
  "$PY" "$KIT/make_base.py" "$BASE" --root "$ROOT" ${BASE_FLAGS:-} 2>&1 | grep -v -i -e warn -e shards | tail -1
fi
sets=(); for kv in "$@"; do sets+=(--set "$kv"); done
cd "$ROOT"
if [ "${PREPARE_ONLY:-}" = 1 ]; then
  exec "$PY" benchmarks/bench_train.py --e2e-prepare-only --e2e-dir "$W/p" --e2e-base "$BASE" "${sets[@]}"
fi
"$PY" benchmarks/bench_train.py --e2e-only --e2e-dir "$W/p" --e2e-base "$BASE" --wandb "$MODES" \
  "${sets[@]}" --out "$OUT/e2e-$TAG.json" 2>&1 | grep -v -i warn
cp "$W/p/reports/sample/predictions.png" "$OUT/$TAG-predictions.png" 2>/dev/null
cp "$W/p/models/sample/README.md" "$OUT/$TAG-card.md" 2>/dev/null
cd "$W/p" && "$PY" - <<'PY'
import time
import torch
from transformers import pipeline
t = time.time()
g = pipeline("text-generation", model="models/sample", device=0 if torch.cuda.is_available() else -1)
out = g("My dream is", num_return_sequences=5, max_new_tokens=30, do_sample=True)
print(f"pipeline() on {g.device} in {time.time() - t:.1f} s:", out[0]["generated_text"][:80].replace("\n", " "))
PY
