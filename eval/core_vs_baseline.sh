#!/usr/bin/env bash
# CoRe against a from-scratch full BERT: the Brown corpus (train split), the same data, seed,
# batch size, learning rate and wall-clock budget, run one after the other on this machine.
# Both final checkpoints are evaluated on the held-out Brown documents; CoRe's relaxed and
# just-converted checkpoints too, which measures the loss jump at surgery.
#   eval/core_vs_baseline.sh [BUDGET_SEC=600] [CONFIG=bert-mini] [WORK=work/cmp-CONFIG]
# Writes eval/core-vs-baseline-CONFIG.json.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-600}
model=${2:-bert-mini}
work=${3:-work/cmp-$model}
mkdir -p "$work"
tfrecords-tools/fetch_brown.sh data/brown >&2
[[ -f $work/vocab.txt ]] || bin/corebert vocab --input data/brown/brown-train.txt --output "$work/vocab.txt" --size 8000 >&2
size=$(wc -l < "$work/vocab.txt")
[[ -d $work/train ]] || bin/corebert create-data --input data/brown/brown-train.txt --vocab "$work/vocab.txt" \
  --output "$work/train" --max-seq-length 128 --max-predictions 20 --dupe-factor 2 --shards 4 >&2
[[ -d $work/eval ]] || bin/corebert create-data --input data/brown/brown-eval.txt --vocab "$work/vocab.txt" \
  --output "$work/eval" --max-seq-length 128 --max-predictions 20 --dupe-factor 1 --shards 1 >&2
sed "s/\"vocab_size\": 30522/\"vocab_size\": $size/" "graphs/$model.json" > "$work/config.json"
common=(--config "$work/config.json" --input "$work/train/*.tfrecord" --time-budget "$budget"
        --batch-size 32 --lr 1e-3 --warmup-steps 200 --seed 12345 --log-every 50 --save-every 1000000)
bin/corebert pretrain "${common[@]}" --output-dir "$work/baseline" > "$work/baseline.json"
bin/corebert core "${common[@]}" --relaxed-fraction 0.5 --output-dir "$work/core" \
  --eval-input "$work/eval/*.tfrecord" > "$work/core.json"
baseline_eval=$(bin/corebert evaluate --config "$work/config.json" --checkpoint "$work/baseline" --input "$work/eval/*.tfrecord")
core_eval=$(bin/corebert evaluate --config "$work/config.json" --checkpoint "$work/core/full" --input "$work/eval/*.tfrecord")
cat > "eval/core-vs-baseline-$model.json" <<JSON
{
  "command": "eval/core_vs_baseline.sh $budget $model $work",
  "machine": {"cores": $(nproc), "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)", "tensorflow_java": "1.1.0", "xla": false},
  "config": "graphs/$model.json, vocab $size, seq 128, batch 32, lr 1e-3, warm-up 200",
  "budget_sec": $budget,
  "baseline": {"train": $(cat "$work/baseline.json"), "held_out": $baseline_eval},
  "core": {"train": $(cat "$work/core.json"), "held_out": $core_eval}
}
JSON
cat "eval/core-vs-baseline-$model.json"
