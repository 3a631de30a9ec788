#!/usr/bin/env bash
# CoRe against a from-scratch full BERT on the Brown corpus, one command:
#   [OUT=eval/NAME] eval/core_vs_baseline.sh [BUDGET_SEC=600] [CONFIG=bert-mini] [more bench flags...]
# Fetches Brown and SpamAssassin, trains an 8000-token vocab on Brown's train split, makes seq-128
# TFRecords of the train and held-out splits (once; reused), then runs
# `bin/corebert bench core-vs-baseline`, which trains both with the same data, seed, batch and
# budget, evaluates held-out MLM loss along the way, fine-tunes both final models on SpamAssassin,
# and writes OUT.json and OUT.png (default eval/core-vs-baseline-CONFIG).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-600}
model=${2:-bert-mini}
shift $(( $# < 2 ? $# : 2 ))
work=work/cmp
mkdir -p "$work"
tfrecords-tools/fetch_brown.sh data/brown >&2
tfrecords-tools/fetch_spam.sh data/spam >&2
[[ -f $work/vocab.txt ]] || bin/corebert vocab --input data/brown/brown-train.txt --output "$work/vocab.txt" --size 8000 >&2
size=$(wc -l < "$work/vocab.txt")
[[ -d $work/train ]] || bin/corebert create-data --input data/brown/brown-train.txt --vocab "$work/vocab.txt" \
  --output "$work/train" --max-seq-length 128 --max-predictions 20 --dupe-factor 2 --shards 4 >&2
[[ -d $work/eval ]] || bin/corebert create-data --input data/brown/brown-eval.txt --vocab "$work/vocab.txt" \
  --output "$work/eval" --max-seq-length 128 --max-predictions 20 --dupe-factor 1 --shards 1 >&2
config=$work/$model-v$size.json
sed "s/\"vocab_size\": 30522/\"vocab_size\": $size/" "graphs/$model.json" > "$config"
bin/corebert bench core-vs-baseline --config "$config" --input "$work/train/*.tfrecord" \
  --eval-input "$work/eval/*.tfrecord" --time-budget "$budget" --vocab "$work/vocab.txt" \
  --finetune-data data/spam --work-dir "work/bench-$model" --output "${OUT:-eval/core-vs-baseline-$model}" "$@"
