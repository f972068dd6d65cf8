// Writes the parity golden corpus read by tests/ConversationService.Tokenizers.Tests, using npm tiktoken@1.0.22
// with encode(text, [], []) (special-token strings are ordinary text, as tiktoken's
// encode(text, allowed_special=set(), disallowed_special=())).
// Golden/tiktoken-golden.json (the test suite) is built from the texts of golden-texts.mjs alone.
// Golden/tiktoken-locomo.json (the LoCoMo gate of scripts/eval/run.sh) is written only when the LoCoMo data is found.
// LoCoMo turns are NOT copied: that file holds only references (file, session, dia_id, field), each turn's token
// counts and one SHA-256 of the ids per session and encoding; the gate rebuilds the texts from the data folder.
// Usage: npm ci && node make-golden.mjs [locomoDir]   (default: $LOCOMO_DIR or <repo>/../shared/data/locomo)
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { get_encoding } from 'tiktoken';
import { handWrittenTexts, loneSurrogateTexts, fuzzTexts, chats, conversationTurns } from './golden-texts.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const goldenDir = join(repo, 'tests/ConversationService.Tokenizers.Tests/Golden');
const locomoDir = process.argv[2] ?? process.env.LOCOMO_DIR ?? [join(repo, '../shared/data/locomo'), '/work/shared/data/locomo'].find(existsSync);
if (process.argv[2] && !existsSync(process.argv[2])) throw new Error(`LoCoMo data not found at ${process.argv[2]}`);

const version = JSON.parse(readFileSync(join(here, 'node_modules/tiktoken/package.json'), 'utf8')).version;
if (version !== '1.0.22') throw new Error(`expected tiktoken 1.0.22, found ${version}`);

const names = ['o200k_base', 'cl100k_base'];
const encodings = Object.fromEntries(names.map(n => [n, get_encoding(n)]));
const encode = (name, text) => Array.from(encodings[name].encode(text, [], []));
const idsOf = text => Object.fromEntries(names.map(n => [n, encode(n, text)]));
const sha = ids => createHash('sha256').update(ids.join(',')).digest('hex');

export const locomoContent = turn => turn.text + (turn.blip_caption ? ' [shares a photo: ' + turn.blip_caption + ']' : '');

const hashed = text => Object.fromEntries(names.map(n => {
  const ids = encode(n, text);
  return [n, { count: ids.length, sha256: sha(ids) }];
}));

// One entry per LoCoMo session: each turn's reference and token counts, and one id hash over the whole session
// (the turns' ids, each joined by ",", the turns joined by "\n"). A hash per turn could be reversed by brute force
// for the shortest turns (1-3 tokens); a session holds at least 13 turns.
const locomo = [];
if (locomoDir && existsSync(locomoDir)) {
  for (const file of readdirSync(locomoDir).filter(f => f.endsWith('.json')).sort()) {
    const conversation = JSON.parse(readFileSync(join(locomoDir, file), 'utf8'));
    const sessions = Object.keys(conversation).filter(k => /^session_\d+$/.test(k)).sort((a, b) => a.split('_')[1] - b.split('_')[1]);
    for (const session of sessions) {
      const ids = Object.fromEntries(names.map(n => [n, conversation[session].map(turn => encode(n, locomoContent(turn)))]));
      locomo.push({
        file,
        session,
        turns: conversation[session].map((turn, i) => ({
          dia_id: turn.dia_id,
          field: turn.blip_caption ? 'text+blip_caption' : 'text',
          ...Object.fromEntries(names.map(n => [n, ids[n][i].length])),
        })),
        ...Object.fromEntries(names.map(n => [n, createHash('sha256').update(ids[n].map(t => t.join(',')).join('\n')).digest('hex')])),
      });
    }
  }
}

// Every code point (surrogates aside) in contexts that expose its class to the split pattern, in chunks of 4,096
// code points; only count and id hash are stored. Catches Unicode-version differences between .NET and the regex
// crate inside tiktoken. Planes 4-13 are skipped: nothing is assigned there. The test builds the same text.
const sweepChunk = 4096;
const sweepText = from => {
  let text = '';
  for (let cp = from; cp < from + sweepChunk; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    text += `${c}a${c}A${c}1 ${c}'s${c}\n`;
  }
  return text;
};
const unicodeSweep = [];
for (let from = 0; from < 0x110000; from += sweepChunk) {
  if (from >= 0x40000 && from < 0xe0000) continue;
  unicodeSweep.push({ from, ...hashed(sweepText(from)) });
}

const chatCount = (name, messages) => 3 + messages.reduce((sum, m) => sum + 3 + encode(name, m.role).length
  + encode(name, m.content).length + (m.name === undefined ? 0 : encode(name, m.name).length + 1), 0);

const golden = {
  source: `npm tiktoken@${version}, encode(text, [], [])`,
  idsHash: 'sha256 of the decimal ids joined by ","',
  texts: [...handWrittenTexts, ...fuzzTexts()].map(text => ({ text, ...idsOf(text) })),
  // Lone surrogates cannot travel safely through JSON readers, so these texts are given as UTF-16 code units.
  loneSurrogates: loneSurrogateTexts.map(text => ({ utf16: Array.from({ length: text.length }, (_, i) => text.charCodeAt(i)), ...idsOf(text) })),
  chats: chats.map(messages => ({ messages, ...Object.fromEntries(names.map(n => [n, chatCount(n, messages)])) })),
  unicodeSweep: { chunk: sweepChunk, context: '${c}a${c}A${c}1 ${c}\'s${c}\\n for every code point c of the chunk except surrogates', chunks: unicodeSweep },
  // Seeded chat turns of LoCoMo's length and character, written for this project: count and id hash per encoding.
  conversation: conversationTurns().map(text => ({ text, ...hashed(text) })),
};

// One entry per line keeps diffs readable.
const write = (file, content) => {
  const lines = ['{'];
  const keys = Object.keys(content);
  keys.forEach((key, i) => {
    const value = content[key];
    const last = i === keys.length - 1 ? '' : ',';
    if (Array.isArray(value)) {
      lines.push(`  ${JSON.stringify(key)}: [`);
      value.forEach((item, j) => lines.push(`    ${JSON.stringify(item)}${j === value.length - 1 ? '' : ','}`));
      lines.push(`  ]${last}`);
    } else {
      lines.push(`  ${JSON.stringify(key)}: ${JSON.stringify(value)}${last}`);
    }
  });
  lines.push('}');
  writeFileSync(join(goldenDir, file), lines.join('\n') + '\n');
};

write('tiktoken-golden.json', golden);
console.log(`${unicodeSweep.length} Unicode sweep chunks, ${golden.texts.length} texts, ${golden.loneSurrogates.length} lone-surrogate texts, `
  + `${golden.chats.length} chats, ${golden.conversation.length} conversation turns -> ${join(goldenDir, 'tiktoken-golden.json')}`);
if (locomo.length > 0) {
  write('tiktoken-locomo.json', {
    source: golden.source,
    locomoText: 'text + (blip_caption ? " [shares a photo: " + blip_caption + "]" : "")',
    sessionHash: 'sha256 of the turns\' ids, each turn\'s joined by ",", the turns joined by "\\n"',
    sessions: locomo,
  });
  console.log(`${locomo.length} LoCoMo sessions, ${locomo.reduce((n, s) => n + s.turns.length, 0)} turns (references, counts and session hashes only) -> ${join(goldenDir, 'tiktoken-locomo.json')}`);
} else {
  console.log('LoCoMo data not found: tiktoken-locomo.json left as it is (pass the data folder or set LOCOMO_DIR)');
}
