#!/usr/bin/env bash
# One pretraining run and its held-out curve, for exploring settings before a benchmark:
#   EVERY=60 eval/pretrain_curve.sh NAME CONFIG full|relaxed BUDGET_SEC [more pretrain flags...]
# Trains on the seq-128 Brown TFRecords of eval/core_vs_baseline.sh (run it once first) for
# BUDGET_SEC seconds, checkpointing every EVERY seconds, then evaluates every checkpoint on the
# held-out split. Writes work/curves/NAME/ and prints "step <TAB> training seconds <TAB> evaluate's
# JSON" per checkpoint, also kept as eval/exploration/NAME.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1; cfg=$2; model=$3; budget=$4; shift 4
d=work/curves/$name
rm -rf "$d"; mkdir -p "$d" eval/exploration
bin/corebert pretrain --config "$cfg" --model "$model" --input 'work/cmp/train/*.tfrecord' \
  --output-dir "$d/ckpt" --time-budget "$budget" --save-every-secs "${EVERY:-60}" --save-every 100000 \
  --keep-checkpoints 1000 --log-every 50 "$@" > "$d/out" 2> "$d/log"
: > "$d/curve.tsv"
for index in $(ls "$d"/ckpt/model.ckpt-*.index | sort -t- -k3 -n); do
  ckpt=${index%.index}
  step=${ckpt##*-}
  sec=$(grep "\"step\":$step," "$d/ckpt/metrics.jsonl" | sed 's/.*"elapsed_sec":\([0-9.]*\).*/\1/')
  result=$(bin/corebert evaluate --config "$cfg" --checkpoint "$ckpt" --input 'work/cmp/eval/*.tfrecord' \
    --model "$model" 2>/dev/null | tail -1)
  printf '%s\t%s\t%s\n' "$step" "$sec" "$result" >> "$d/curve.tsv"
done
cp "$d/curve.tsv" "eval/exploration/$name.tsv"
cat "$d/curve.tsv"
