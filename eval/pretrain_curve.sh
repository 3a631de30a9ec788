#!/usr/bin/env bash
# One pretraining run and its held-out curve, for exploring settings before a benchmark:
#   EVERY=60 [TRAIN=DIR] [EVAL=DIR] eval/pretrain_curve.sh NAME CONFIG full|relaxed BUDGET_SEC [more pretrain flags...]
# Trains on the seq-128 Brown TFRecords of eval/core_vs_baseline.sh (run it once first; TRAIN and
# EVAL name other record folders) for BUDGET_SEC seconds, checkpointing every EVERY seconds, then
# evaluates every checkpoint on the held-out split (with the masked metric and the training
# records' unigram loss). Writes work/curves/NAME/ and prints "step <TAB> training seconds <TAB>
# evaluate's JSON" per checkpoint, also kept as eval/exploration/NAME.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1; cfg=$2; model=$3; budget=$4; shift 4
d=work/curves/$name
train=${TRAIN:-work/cmp}/train/*.tfrecord
heldout=${EVAL:-work/cmp/eval}/*.tfrecord
rm -rf "$d"; mkdir -p "$d" eval/exploration
bin/corebert pretrain --config "$cfg" --model "$model" --input "$train" \
  --output-dir "$d/ckpt" --time-budget "$budget" --save-every-secs "${EVERY:-60}" --save-every 100000 \
  --keep-checkpoints 1000 --log-every 50 "$@" > "$d/out" 2> "$d/log"
: > "$d/curve.tsv"
# In step order (the run's name may hold dashes, so sort on the number after "ckpt-").
for index in $(ls "$d"/ckpt/model.ckpt-*.index | sed 's/.*ckpt-\([0-9]*\)\.index$/\1 &/' | sort -n | cut -d' ' -f2); do
  ckpt=${index%.index}
  step=${ckpt##*-}
  sec=$(grep "\"step\":$step," "$d/ckpt/metrics.jsonl" | sed 's/.*"elapsed_sec":\([0-9.]*\).*/\1/')
  result=$(bin/corebert evaluate --config "$cfg" --checkpoint "$ckpt" --input "$heldout" \
    --train-input "$train" --vocab work/cmp/vocab.txt --model "$model" 2>/dev/null | tail -1)
  printf '%s\t%s\t%s\n' "$step" "$sec" "$result" >> "$d/curve.tsv"
done
cp "$d/curve.tsv" "eval/exploration/$name.tsv"
cat "$d/curve.tsv"
