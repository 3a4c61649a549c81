// CLI actions in the audit trail: each `tramline messages|tokens|audit|notices …` run leaves one entry
// (OS user, host, command, arguments, options, outcome). Values are ids and settings typed by an
// operator; message content never passes through here.
import type { Command } from 'commander';
import os from 'node:os';
import { loadConfig } from '../../core/config.js';
import { loadAuditKey } from './key.js';
import type { AuditEntryInput, AuditOutcome } from './types.js';

const AUDITED = new Set(['messages', 'tokens', 'audit', 'notices']);
/** Options whose values may name a person (a notice answer's free text): recorded as given, not quoted. */
const UNQUOTED = new Set(['text']);
const MAX_VALUE = 200;

let pending: Omit<AuditEntryInput, 'outcome'> | undefined;

function commandPath(cmd: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names;
}

function optionValues(opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts)) {
    if (v === undefined || k === 'json') continue;
    if (UNQUOTED.has(k)) {
      out[k] = '(given)';
      continue;
    }
    const value = v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.map(String) : typeof v === 'object' ? String(v) : v;
    out[k] = typeof value === 'string' && value.length > MAX_VALUE ? value.slice(0, MAX_VALUE) : value;
  }
  return out;
}

async function write(entry: AuditEntryInput): Promise<void> {
  try {
    // Loaded here, not at CLI start: most commands are not audited.
    const { openDatabase } = await import('../../adapters/store/db.js');
    const { migrateToLatest } = await import('../../adapters/store/migrations/index.js');
    const { AuditTrail } = await import('./trail.js');
    const config = loadConfig();
    const key = loadAuditKey(config);
    const db = await openDatabase(config.dbUrl);
    try {
      await migrateToLatest(db.kysely, db.schema);
      await new AuditTrail(db, { key }).append(entry);
    } finally {
      await db.close();
    }
  } catch (err) {
    console.error(`tramline: warning: audit entry not written (${(err as Error).message})`);
  }
}

/** Record audited commands after they run (postAction); failures via `recordCliFailure`. */
export function installCliAudit(program: Command): void {
  program.hook('preAction', (_root, action) => {
    const path = commandPath(action);
    if (!AUDITED.has(path[0])) return;
    const args = action.args.filter((a) => typeof a === 'string').map((a) => a.slice(0, MAX_VALUE));
    const single = path[0] === 'messages' && args.length === 1 ? args[0] : undefined;
    pending = {
      category: 'cli',
      action: `cli.${path.join('.')}`,
      actor: { id: os.userInfo().username, kind: 'cli' },
      sourceIp: os.hostname(),
      ...(args.length ? { target: args.join(' ') } : {}),
      ...(single ? { messageId: single } : {}),
      detail: optionValues(action.opts()),
    };
  });
  program.hook('postAction', async () => {
    await finish(process.exitCode ? 'failure' : 'success');
  });
}

async function finish(outcome: AuditOutcome, reason?: string): Promise<void> {
  const entry = pending;
  pending = undefined;
  if (!entry) return;
  await write({ ...entry, outcome, ...(reason ? { detail: { ...entry.detail, reason: reason.slice(0, MAX_VALUE) } } : {}) });
}

/** Call when an audited command threw. */
export function recordCliFailure(err: unknown): Promise<void> {
  return finish('failure', (err as Error)?.message ?? String(err));
}
