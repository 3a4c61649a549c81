// Social care records end to end, one engine process (this one): a CLD extract dropped into a
// file-source channel → validated, grouped, mapped, stored, queued → FHIR transaction bundles
// into the engine's own sandbox store at /fhir over HTTP. Counts a person once its bundle is
// stored in the sandbox (destination status `sent`).
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadChannelText } from '../channels/load.js';
import { loadConfig } from '../core/config.js';
import { runEngine } from '../server/engine-process.js';
import { syntheticCldCsv } from './cld-mapping.js';

export async function benchRecordsEndToEnd(options: { people?: number } = {}): Promise<object> {
  const people = options.people ?? 2000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-bench-records-'));
  const drop = path.join(dir, 'extracts');
  mkdirSync(drop);
  const { channel, problems } = loadChannelText(
    `id: bench-cld
source: { type: file, directory: ${drop}, stableMs: 0, pollIntervalMs: 50 }
pipeline: { recordFormat: cld, map: social-care-cld-to-fhir }
destinations:
  - { name: lpres, type: fhir, concurrency: 16 }
`,
    'bench.yaml',
  );
  if (!channel) throw new Error(problems.map((p) => p.message).join('; '));
  const config = { ...loadConfig({}), dbUrl: `sqlite:${path.join(dir, 'store.db')}`, dataDir: dir, httpPort: 0 };
  const running = await runEngine(config, [channel], { env: {} });
  try {
    const { csv, rows } = syntheticCldCsv(people);
    writeFileSync(path.join(drop, '.extract.part'), csv);
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    renameSync(path.join(drop, '.extract.part'), path.join(drop, 'extract.csv'));
    let ingestedMs = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      if (!ingestedMs && (await running.opened.store.list({ channel: 'bench-cld', limit: people })).length >= people) ingestedMs = performance.now() - started;
      const sent = await running.opened.store.list({ channel: 'bench-cld', destinationStatus: 'sent', limit: people });
      if (sent.length >= people) break;
      if (performance.now() - started > 600_000) throw new Error(`only ${sent.length}/${people} delivered after 10 min`);
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      name: 'records-end-to-end',
      people,
      rows,
      store: 'sqlite',
      queue: 'embedded',
      fhir: 'sandbox (same process, over HTTP)',
      ingestSeconds: Number((ingestedMs / 1000).toFixed(2)),
      totalSeconds: Number(seconds.toFixed(2)),
      rowsPerSecond: Math.round(rows / seconds),
      bundlesPerSecond: Math.round(people / seconds),
      rssMB: { before: Math.round(rssBefore / 1e6), after: Math.round(process.memoryUsage().rss / 1e6) },
    };
  } finally {
    await running.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
