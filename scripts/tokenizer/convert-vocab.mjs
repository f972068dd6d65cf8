// Converts the compact vocabularies shipped in npm tiktoken@1.0.22 (encoders/*.json, field bpe_ranks:
// lines of "! <offset> <base64> <base64> ...", rank = offset + position) into the standard .tiktoken
// format ("<base64> <rank>" per line), checks the SHA-256 published in issue #2 and writes gzip files
// that src/ConversationService.Tokenizers embeds. Run: npm ci && node convert-vocab.mjs
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '../../src/ConversationService.Tokenizers/Resources');

const expected = {
  o200k_base: '446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d',
  cl100k_base: '223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7',
};

const modules = join(here, 'node_modules');
const version = JSON.parse(readFileSync(join(modules, 'tiktoken/package.json'), 'utf8')).version;
if (version !== '1.0.22') throw new Error(`expected tiktoken 1.0.22, found ${version}`);

let failed = false;
for (const [name, sha] of Object.entries(expected)) {
  const { bpe_ranks: compact } = JSON.parse(readFileSync(join(modules, `tiktoken/encoders/${name}.json`), 'utf8'));
  const lines = [];
  for (const line of compact.split('\n')) {
    if (line === '') continue;
    const [bang, offset, ...tokens] = line.split(' ');
    if (bang !== '!') throw new Error(`${name}: unexpected line start ${bang}`);
    tokens.forEach((token, i) => lines.push(`${token} ${Number(offset) + i}`));
  }
  const text = lines.join('\n') + '\n';
  const actual = createHash('sha256').update(text).digest('hex');
  const ok = actual === sha;
  failed ||= !ok;
  console.log(`${name}: ${lines.length} tokens, sha256 ${actual} ${ok ? 'OK' : `MISMATCH (expected ${sha})`}`);
  if (ok) writeFileSync(join(outDir, `${name}.tiktoken.gz`), gzipSync(Buffer.from(text), { level: 9 }));
}
if (failed) process.exit(1);
