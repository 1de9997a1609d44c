#!/usr/bin/env bash
# The farm's last step, on one machine: take the lock files the tasks handed back, fetch what
# the bots and the page need, build those, push, and commit.
#   bash farm/gather.sh LOCKS_DIR
set -euo pipefail
locks=$1
pipelines=()
for lock in "$locks"/*.dvc.lock; do
    handle=$(basename "$lock" .dvc.lock)
    cp "$lock" "handles/$handle/dvc.lock"
    pipelines+=("handles/$handle/dvc.yaml")
done
dvc pull --quiet "${pipelines[@]}"   # the handles' outputs, as the tasks pushed them
dvc repro                            # validate, the bots, the page: no handle reruns
dvc push --quiet
git add dvc.lock handles $([ -d bots ] && echo bots)
git commit -q -m "farm: ${#pipelines[@]} handles gathered"
