#!/usr/bin/env bash
# The switch levers of issue 20, measured on steps (so a busy CPU does not change the figures):
#   eval/switch_levers.sh RELAXED_DIR N1 N2 [more core flags...]
# RELAXED_DIR holds a relaxed phase-1 run (checkpoint model.ckpt-N1, its bert_config.json and
# train_config.json, e.g. a core run's relaxed/). Each lever gets a copy of it and runs `core`'s
# surgery plus N2 phase-2 steps: plain (softmax at once), --fit-temperature, --blend-steps 1000.
# The softmax relaxation changes phase 1, so it trains N1 relaxed steps of its own. Settings are
# run C1's (bert-tiny, seq 64, batch 64, lr 1e-3, 1000 warm-up steps; data as in
# eval/exploration/README.md). Writes eval/exploration/levers/NAME.json: each run's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
relaxed=$1; n1=$2; n2=$3; shift 3
cfg=work/cmp/bert-tiny-v8000-nodrop.json
common=(--input 'work/cmp/seq64-d10/train/*.tfrecord' --relaxed-steps "$n1" --full-steps "$n2"
  --batch-size 64 --lr 1e-3 --warmup-steps 1000 --eval-input 'work/cmp/seq64/eval/*.tfrecord'
  --log-every 200 "$@")
mkdir -p eval/exploration/levers work/levers
run() { # NAME CONFIG [lever flags...]
  local name=$1 config=$2; shift 2
  bin/corebert core --config "$config" --output-dir "work/levers/$name" "${common[@]}" "$@" \
    2> "work/levers/$name.log" | tail -1 > "eval/exploration/levers/$name.json"
}
for lever in plain tau blend; do
  rm -rf "work/levers/$lever"; mkdir -p "work/levers/$lever/relaxed"
  cp "$relaxed"/model.ckpt-"$n1".* "$relaxed"/bert_config.json "$relaxed"/train_config.json \
    "work/levers/$lever/relaxed/"
  printf 'model_checkpoint_path: "model.ckpt-%s"\n' "$n1" > "work/levers/$lever/relaxed/checkpoint"
done
run plain "$cfg"
run tau "$cfg" --fit-temperature
run blend "$cfg" --blend-steps 1000
sed 's/"attention": "linear_elu"/"attention": "softmax"/' "$cfg" > work/levers/softmax.json
rm -rf work/levers/softmax
run softmax work/levers/softmax.json
