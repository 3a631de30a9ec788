#!/usr/bin/env bash
# `corebert run` on the Brown corpus as a user's corpus usually arrives: gzipped JSON Lines, one
# document per line in a "text" field. Writes work/run-brown/ (the run) and copies its report into
# eval/run-brown/.
#   eval/run_brown.sh [RUN FLAGS...]      e.g. eval/run_brown.sh --steps 3000
set -euo pipefail
cd "$(dirname "$0")/.."
tfrecords-tools/fetch_brown.sh data/brown >&2
work=work/run-brown
mkdir -p "$work" eval/run-brown
corpus=$work/brown.jsonl.gz
if [[ ! -f $corpus ]]; then
  # Both of fetch_brown's splits, 500 documents: run holds out its own documents.
  cat data/brown/brown-train.txt data/brown/brown-eval.txt |
    awk 'BEGIN { RS = "" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\n/, " ");
                             print "{\"text\": \"" $0 "\"}" }' | gzip > "$corpus.tmp"
  mv "$corpus.tmp" "$corpus"
fi
bin/corebert run --text "$corpus" --output-dir "$work/run" --heldout 0.04 "$@"
cp "$work/run/report.json" "$work/run/report.png" eval/run-brown/
