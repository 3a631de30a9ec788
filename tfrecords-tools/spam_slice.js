// Cuts the bundled fine-tuning slice from fetch_spam.sh's output: the first N train and M dev
// rows, each sentence cut to C characters (not bytes, so UTF-8 stays valid).
//   node spam_slice.js IN_DIR OUT_DIR N M C
'use strict';
const fs = require('fs');
const path = require('path');
const [inDir, outDir, n, m, c] = process.argv.slice(2);
fs.mkdirSync(outDir, { recursive: true });
for (const [name, rows] of [['train.tsv', Number(n)], ['dev.tsv', Number(m)]]) {
  const lines = fs.readFileSync(path.join(inDir, name), 'utf8').split('\n');
  const out = [lines[0]];
  for (const line of lines.slice(1, rows + 1)) {
    const tab = line.lastIndexOf('\t');
    out.push(Array.from(line.slice(0, tab)).slice(0, Number(c)).join('') + line.slice(tab));
  }
  fs.writeFileSync(path.join(outDir, name), out.join('\n') + '\n');
}
