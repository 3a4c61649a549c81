#!/usr/bin/env node
// `npm test`: runs npm scripts phase by phase, stopping after the first phase that fails (as
// `a && b` would), then prints how long each took, at the end of the log where a person looks.
// `a,b` is one phase of scripts run side by side (typecheck and lint each use one core); their
// output is held back and printed whole as each finishes, so it does not interleave.
// Arguments after `--` go to the last script (`npm test -- test/unit` runs only those tests).
//   node .ci/phases.js typecheck,lint,deps test:jest -- <jest args>
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import console from 'node:console';
import process from 'node:process';

const argv = process.argv.slice(2);
const dashes = argv.indexOf('--');
const phases = (dashes < 0 ? argv : argv.slice(0, dashes)).map((phase) => phase.split(','));
const extra = dashes < 0 ? [] : argv.slice(dashes + 1);

/** 75.4 s → "1m15s"; short phases keep a decimal. */
function duration(ms) {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** Run one npm script; `held`: collect its output and print it when it ends. */
function runScript(script, args, held) {
  const started = Date.now();
  // npm is npm.cmd on Windows, which only a shell runs.
  const child = spawn('npm', ['run', script, ...args], { stdio: held ? ['ignore', 'pipe', 'pipe'] : 'inherit', shell: process.platform === 'win32' });
  const output = [];
  child.stdout?.on('data', (chunk) => output.push(chunk));
  child.stderr?.on('data', (chunk) => output.push(chunk));
  return new Promise((resolve) => {
    child.on('close', (code) => {
      if (held) process.stdout.write(Buffer.concat(output));
      resolve({ script, ms: Date.now() - started, ok: code === 0 });
    });
  });
}

const times = [];
const startedAll = Date.now();
for (const [i, scripts] of phases.entries()) {
  const args = i === phases.length - 1 && extra.length > 0 ? ['--', ...extra] : [];
  const results = await Promise.all(scripts.map((script) => runScript(script, args, scripts.length > 1)));
  times.push(...results);
  if (results.some((r) => !r.ok)) break;
}

const all = phases.flat();
const width = Math.max(...all.map((s) => s.length), 'total'.length);
console.log('\nphase times:');
for (const { script, ms, ok } of times) console.log(`  ${script.padEnd(width)}  ${duration(ms).padStart(7)}${ok ? '' : '  FAILED'}`);
for (const script of all.slice(times.length)) console.log(`  ${script.padEnd(width)}  ${'-'.padStart(7)}  not run`);
console.log(`  ${'total'.padEnd(width)}  ${duration(Date.now() - startedAll).padStart(7)}${phases.some((p) => p.length > 1) ? '  (scripts joined by a comma ran side by side)' : ''}`);
process.exit(times.every((t) => t.ok) ? 0 : 1);
