// Compares, in one run on this machine, how fast the npm tokenizers and ConversationService's CountTokens count
// the LoCoMo development turns one by one. MB/s = UTF-8 megabytes (10^6 bytes) of turn text per second, measured
// for about 3 s after one warm-up pass (so caches and JITs are warm for everyone), both per wall-clock second and
// per second of process CPU time (the latter is steadier when other work shares the machine).
// Usage: npm ci && node compare-speed.mjs [locomoDir]     (needs the .NET SDK for the last step)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const locomoDir = process.argv[2] ?? process.env.LOCOMO_DIR ?? [join(repo, '../shared/data/locomo'), '/work/shared/data/locomo'].find(existsSync);
if (!locomoDir || !existsSync(locomoDir)) throw new Error('LoCoMo data not found; pass its directory as the first argument');

const turns = [];
for (const file of readdirSync(locomoDir).filter(f => /^conv-.*\.json$/.test(f)).sort()) {
  const conversation = JSON.parse(readFileSync(join(locomoDir, file), 'utf8'));
  const sessions = Object.keys(conversation).filter(k => /^session_\d+$/.test(k)).sort((a, b) => a.split('_')[1] - b.split('_')[1]);
  for (const session of sessions) {
    for (const turn of conversation[session]) turns.push(turn.text + (turn.blip_caption ? ' [shares a photo: ' + turn.blip_caption + ']' : ''));
  }
}
const bytes = turns.reduce((sum, t) => sum + Buffer.byteLength(t, 'utf8'), 0);
console.log(`LoCoMo: ${turns.length} turns, ${(bytes / 1e6).toFixed(2)} MB UTF-8, node ${process.version}`);

function measure(label, count) {
  let tokens = 0;
  for (const turn of turns) tokens += count(turn);
  let passes = 0;
  const cpuBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 3) {
    for (const turn of turns) count(turn);
    passes++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  const cpu = process.cpuUsage(cpuBefore);
  const megabytes = (bytes * passes) / 1e6;
  const wall = (megabytes / elapsed).toFixed(1).padStart(7);
  const perCpu = (megabytes / ((cpu.user + cpu.system) / 1e6)).toFixed(1).padStart(7);
  console.log(`${label.padEnd(44)} ${wall} MB/s wall ${perCpu} MB/s CPU  (${tokens} tokens, ${passes} passes)`);
}

const versions = name => JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version;

const { get_encoding } = await import('tiktoken');
for (const name of ['o200k_base', 'cl100k_base']) {
  const encoding = get_encoding(name);
  measure(`tiktoken ${versions('tiktoken')} (WASM)`.padEnd(31) + ` ${name}`, t => encoding.encode(t, [], []).length);
  encoding.free();
}

for (const name of ['o200k_base', 'cl100k_base']) {
  const { countTokens } = await import(`gpt-tokenizer/encoding/${name}`);
  measure(`gpt-tokenizer ${versions('gpt-tokenizer')} (JS)`.padEnd(31) + ` ${name}`, t => countTokens(t));
}

try {
  const { getEncoding } = require('tiktoken-node');
  const encoding = getEncoding('cl100k_base');
  measure(`tiktoken-node ${versions('tiktoken-node')} (native)`.padEnd(31) + ' cl100k_base', t => encoding.encode(t).length);
  console.log('tiktoken-node: no o200k_base in this package (it offers gpt2, r50k, p50k, cl100k)');
} catch (error) {
  console.log(`tiktoken-node: not available (${error.message.split('\n')[0]})`);
}

const project = join(repo, 'bench/ConversationService.Benchmarks');
execFileSync('dotnet', ['build', '-c', 'Release', '--nologo', '-v', 'q', project], { stdio: ['ignore', 'ignore', 'inherit'] });
const dll = join(project, 'bin/Release/net10.0/ConversationService.Benchmarks.dll');
process.stdout.write(execFileSync('dotnet', [dll, '--compare', locomoDir], { encoding: 'utf8' }));
for (const tokenizer of ['Exact', 'ML.Tokenizers'])
  for (const name of ['o200k_base', 'cl100k_base']) process.stdout.write(execFileSync('dotnet', [dll, '--load', name, tokenizer], { encoding: 'utf8' }));
