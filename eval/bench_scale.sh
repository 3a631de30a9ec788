#!/usr/bin/env bash
# Scale-out on one machine, one command:
#   [OUT=eval/NAME] eval/bench_scale.sh [CONFIG=bert-mini] [SEQ=128] [more bench scale flags...]
# Pretrains CONFIG on Brown (eval/prepare_brown.sh) on a 1-worker and a 2-worker cluster on
# loopback, each worker a process pinned to its own core, at the same batch per worker, and writes
# examples/s, the scaling efficiency and the bytes moved per step to OUT.json and OUT.png
# (default eval/bench-scale-CONFIG-SEQ).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-bert-mini}
seq=${2:-128}
shift $(( $# < 2 ? $# : 2 ))
read -r config data < <(eval/prepare_brown.sh "$model" "$seq")
bin/corebert bench scale --config "$config" --input "$data/train/*.tfrecord" \
  --work-dir "work/bench-scale-$model-$seq" --output "${OUT:-eval/bench-scale-$model-$seq}" "$@"
