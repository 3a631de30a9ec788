# The Brown corpus's POS-tagged tokens as plain words, for the scripts that read its documents.
# brown_line() returns the current line ($0) with each token's tag cut at its last '/'
# ("1/2/cd" -> "1/2") and the corpus's `` and '' quotes turned into ".
function brown_line(    i, j, word, slash, line) {
  line = ""
  for (i = 1; i <= NF; i++) {
    word = $i
    slash = 0
    for (j = length(word); j > 0; j--) if (substr(word, j, 1) == "/") { slash = j; break }
    if (slash > 0) word = substr(word, 1, slash - 1)
    if (word == "``" || word == "''") word = "\""
    line = (i == 1) ? word : line " " word
  }
  return line
}
