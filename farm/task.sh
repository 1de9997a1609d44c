#!/usr/bin/env bash
# One task of a farm: build ONE handle in a clone at the commit to build, push its outputs to
# the DVC remote (by target: only this handle's), and hand back its dvc.lock.
#   bash farm/task.sh HANDLE LOCKS_DIR
# Run it in the project clone, tools on PATH (`source .venv/bin/activate`), a DVC remote set.
# The same on a laptop, a Slurm node, a Kubernetes pod or a CI runner (docs/many-handles.md).
set -euo pipefail
handle=$1
locks=$2
pipeline="handles/$handle/dvc.yaml"
[ -f "$pipeline" ] || { echo "farm/task.sh: $pipeline not found: is $handle in params.yaml?" >&2; exit 2; }
if [ -f "data/raw/$handle.dvc" ]; then
    dvc pull --quiet "data/raw/$handle.dvc"         # this handle's raw tweets, nothing else
else
    dvc repro --single-item sample                  # the synthetic sample writes its own
fi
tweetlm validate                                    # the params stamps every stage reads
dvc repro --single-item "$pipeline"                 # its stages, in order, its own dvc.lock
dvc push --quiet "$pipeline"                        # its outputs only
mkdir -p "$locks"
cp "handles/$handle/dvc.lock" "$locks/$handle.dvc.lock"
