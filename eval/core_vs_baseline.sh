#!/usr/bin/env bash
# CoRe against tuned from-scratch BERTs on the Brown corpus, one command:
#   [OUT=eval/NAME] [DUPE=2] eval/core_vs_baseline.sh [BUDGET_SEC=600] [CONFIG=bert-mini] [SEQ=128] [more bench flags...]
# Fetches Brown, SpamAssassin and the Brown genre task, trains an 8000-token vocab on Brown's train
# split, makes TFRecords of the train (dupe factor DUPE) and held-out splits at sequence length SEQ
# (once; reused),
# then runs `bin/corebert bench core-vs-baseline`: the baselines' learning-rate sweep and the CoRe
# settings, every one with every seed, the same data, batch and budget; held-out MLM loss along
# the way; both best final models and a random initialisation fine-tuned on SpamAssassin and on
# Brown genres. Writes OUT.json and OUT.png (default eval/core-vs-baseline-CONFIG-SEQ). Every
# finished run and fine-tuning is stored in eval/core-vs-baseline-runs/CONFIG-SEQ/ (committed) and
# reused under the same settings, so an interrupted benchmark continues, on a fresh machine too;
# checkpoints stay in work/bench-CONFIG-SEQ.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-600}
model=${2:-bert-mini}
seq=${3:-128}
shift $(( $# < 3 ? $# : 3 ))
read -r config data < <(eval/prepare_brown.sh "$model" "$seq" "${DUPE:-2}")
tfrecords-tools/fetch_spam.sh data/spam >&2
tfrecords-tools/fetch_genre.sh data/genre >&2
bin/corebert bench core-vs-baseline --config "$config" --input "$data/train/*.tfrecord" \
  --eval-input "$data/eval/*.tfrecord" --time-budget "$budget" --vocab work/cmp/vocab.txt \
  --finetune-data data/spam --finetune-data data/genre --work-dir "work/bench-$model-$seq" \
  --run-store "eval/core-vs-baseline-runs/$model-$seq" \
  --output "${OUT:-eval/core-vs-baseline-$model-$seq}" "$@"
