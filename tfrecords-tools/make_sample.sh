#!/usr/bin/env bash
# Regenerates the bundled sample corpus in data/sample/ from the full Brown split written by
# fetch_brown.sh: the first 60 training documents and the first 6 eval documents, unchanged.
#
#   tfrecords-tools/make_sample.sh [BROWN_DIR] [SAMPLE_DIR]    # defaults: data/brown data/sample
set -euo pipefail

readonly TRAIN_DOCS=60
readonly EVAL_DOCS=6

brown="${1:-data/brown}"
sample="${2:-data/sample}"

# Prints the first N documents (blank-line-separated paragraphs) of a file, in the same format.
first_docs() {
  awk -v n="$1" '
    BEGIN { RS = ""; ORS = "" }
    NR > n { exit }
    { print (NR > 1 ? "\n\n" : "") $0 }
    END { print "\n" }' "$2"
}

for f in "$brown/brown-train.txt" "$brown/brown-eval.txt"; do
  if [[ ! -s "$f" ]]; then
    echo "make_sample.sh: missing $f; run tfrecords-tools/fetch_brown.sh $brown first" >&2
    exit 1
  fi
done
mkdir -p "$sample"
first_docs "$TRAIN_DOCS" "$brown/brown-train.txt" > "$sample/brown-sample-train.txt"
first_docs "$EVAL_DOCS" "$brown/brown-eval.txt" > "$sample/brown-sample-eval.txt"
wc -c "$sample"/brown-sample-*.txt >&2
