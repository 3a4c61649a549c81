#!/usr/bin/env node
// `npm test`: runs npm scripts one after another, stopping at the first that fails (as `a && b`
// would), then prints how long each took, at the end of the log where a person looks for it.
// Arguments after `--` go to the last script (`npm test -- test/unit` runs only those tests).
//   node .ci/phases.js typecheck lint test:jest -- <jest args>
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import process from 'node:process';

const argv = process.argv.slice(2);
const dashes = argv.indexOf('--');
const scripts = dashes < 0 ? argv : argv.slice(0, dashes);
const extra = dashes < 0 ? [] : argv.slice(dashes + 1);

/** 75.4 s → "1m15s"; short phases keep a decimal. */
function duration(ms) {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

const times = [];
let status = 0;
for (const [i, script] of scripts.entries()) {
  const args = ['run', script, ...(i === scripts.length - 1 && extra.length > 0 ? ['--', ...extra] : [])];
  const started = Date.now();
  // npm is npm.cmd on Windows, which only a shell runs.
  const result = spawnSync('npm', args, { stdio: 'inherit', shell: process.platform === 'win32' });
  status = result.status ?? 1;
  times.push({ script, ms: Date.now() - started, ok: status === 0 });
  if (status !== 0) break;
}

const width = Math.max(...scripts.map((s) => s.length), 'total'.length);
console.log('\nphase times:');
for (const { script, ms, ok } of times) console.log(`  ${script.padEnd(width)}  ${duration(ms).padStart(7)}${ok ? '' : '  FAILED'}`);
for (const script of scripts.slice(times.length)) console.log(`  ${script.padEnd(width)}  ${'-'.padStart(7)}  not run`);
console.log(`  ${'total'.padEnd(width)}  ${duration(times.reduce((sum, t) => sum + t.ms, 0)).padStart(7)}`);
process.exit(status);
