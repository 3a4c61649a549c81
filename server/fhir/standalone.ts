// The sandbox shared care record on its own: a process serving only /fhir, for tests that
// need a FHIR server in another process and for trying the flow without the engine.
//   FHIR_SANDBOX_DB       database URL (default: sqlite in a fresh temp folder)
//   FHIR_SANDBOX_PORT     port (default 0: any free port); host is 127.0.0.1
//   FHIR_SANDBOX_TOKENS   comma-separated bearer tokens accepted (unset: no authentication)
//   FHIR_SANDBOX_CONTROL  1 → test controls under /__sandbox/ (faults, received requests, tokens)
//   TRAMLINE_PUBLIC_URL   base URL clients use (default http://127.0.0.1:<port>); /fhir is appended
//   TRAMLINE_CONTENT_KEY  content key (default: a random key for this process's life)
// Prints one JSON line {"port": n, "db": "..."} on stdout when listening; exits when stdin closes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { parseContentKeys } from '../../adapters/store/crypto.js';
import { openDatabase } from '../../adapters/store/db.js';
import { migrateToLatest } from '../../adapters/store/migrations/index.js';
import { createFhirRouter } from './router.js';
import { FhirStore } from './store.js';
import { SandboxControls } from './test-controls.js';
import { fhirIssues, warmFhirSchema } from '../../mappings/index.js';

const env = process.env;
const dbUrl = env.FHIR_SANDBOX_DB || `sqlite:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tramline-fhir-')), 'fhir.db')}`;
const keys = parseContentKeys(env.TRAMLINE_CONTENT_KEY || crypto.randomBytes(32).toString('base64'));
const db = await openDatabase(dbUrl);
await migrateToLatest(db.kysely, db.schema);
warmFhirSchema(['Bundle', 'Patient']);
// Also the all-errors validator built on the first invalid resource (seconds on a busy
// machine), so a test's first 422 is not slower than its client's timeout.
fhirIssues({ resourceType: 'Patient', gender: 'unknown-to-fhir' }, ['fhir-r4']);

const controls = new SandboxControls();
for (const t of (env.FHIR_SANDBOX_TOKENS ?? '').split(',').filter(Boolean)) controls.tokens.add(t);
const app = express();
app.disable('x-powered-by');
if (env.FHIR_SANDBOX_CONTROL === '1') app.use('/__sandbox', controls.router());
let publicBase = '';
const store = new FhirStore(db, keys);
await store.indexOlderResources();
app.use('/fhir', controls.faults, controls.auth, createFhirRouter(store, { publicBase: () => publicBase }));

const server = app.listen(Number(env.FHIR_SANDBOX_PORT || 0), '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  publicBase = `${(env.TRAMLINE_PUBLIC_URL || `http://127.0.0.1:${port}`).replace(/\/+$/, '')}/fhir`;
  process.stdout.write(`${JSON.stringify({ port, db: dbUrl.startsWith('sqlite:') ? dbUrl : 'postgres' })}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  void db.close().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
