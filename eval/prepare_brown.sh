#!/usr/bin/env bash
# Brown pretraining data for the benchmarks, made once and reused:
#   eval/prepare_brown.sh [CONFIG=bert-mini] [SEQ=128] [DUPE=2]   prints: CONFIG_JSON DATA_DIR
# Fetches Brown, trains an 8000-token vocab on its train split (work/cmp/vocab.txt), writes
# TFRecords of the train (4 shards, dupe factor DUPE) and held-out splits at sequence length SEQ, and
# a copy of graphs/CONFIG.json with the vocab's size. A DUPE other than 2 gets its own DATA_DIR,
# suffixed -dDUPE (the context regime's seq 64, dupe 10: work/cmp/seq64-d10); the held-out split
# there is the same records as without the suffix (dupe factor 1, the same seed).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-bert-mini}
seq=${2:-128}
dupe=${3:-2}
work=work/cmp
mkdir -p "$work"
tfrecords-tools/fetch_brown.sh data/brown >&2
[[ -f $work/vocab.txt ]] || bin/corebert vocab --input data/brown/brown-train.txt --output "$work/vocab.txt" --size 8000 >&2
size=$(wc -l < "$work/vocab.txt")
data=$work/seq$seq
[[ $seq == 128 ]] && data=$work   # the layout of earlier runs
[[ $dupe == 2 ]] || data=$work/seq$seq-d$dupe
predictions=$(( seq * 20 / 128 ))  # 15% masking, as create_pretraining_data.py's defaults
[[ -d $data/train ]] || bin/corebert create-data --input data/brown/brown-train.txt --vocab "$work/vocab.txt" \
  --output "$data/train" --max-seq-length "$seq" --max-predictions "$predictions" --dupe-factor "$dupe" --shards 4 >&2
[[ -d $data/eval ]] || bin/corebert create-data --input data/brown/brown-eval.txt --vocab "$work/vocab.txt" \
  --output "$data/eval" --max-seq-length "$seq" --max-predictions "$predictions" --dupe-factor 1 --shards 1 >&2
config=$work/$model-v$size.json
sed "s/\"vocab_size\": 30522/\"vocab_size\": $size/" "graphs/$model.json" > "$config"
echo "$config $data"
