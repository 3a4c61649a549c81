// The published head: the newest audit entry's seq and hash, signed with the audit key and
// written to <dataDir>/audit-head.json and to the log, on an interval and at shutdown. A hash
// chain alone cannot show that its newest entries were cut off; a head published earlier can
// (`tramline audit verify` checks it by default). Copies kept elsewhere (the log shipped
// off-host, the file copied away) also survive someone who can rewrite this host's files.
import fs from 'node:fs';
import path from 'node:path';
import { log } from '../../core/logger.js';
import { canonicalJson } from './chain.js';
import type { AuditKey } from './key.js';
import type { AuditLogTable } from './schema.js';

export interface PublishedHead {
  /** The newest entry when published. */
  seq: number;
  hash: string;
  publishedAt: string;
  /** The first entry with a MAC: every entry from it on must have one (null: none yet). */
  keyedFrom: number | null;
  /** Signature over the fields above (`AuditKey.sign`). */
  signature: string;
}

/** TRAMLINE_AUDIT_HEAD_SECONDS: how often the head is published (default 60). */
export function headIntervalMs(env: NodeJS.ProcessEnv): number {
  const raw = env.TRAMLINE_AUDIT_HEAD_SECONDS;
  const seconds = Number(raw || 60);
  if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`TRAMLINE_AUDIT_HEAD_SECONDS must be a positive whole number of seconds, got "${raw}"`);
  return seconds * 1000;
}

export function auditHeadFile(dataDir: string): string {
  return path.join(dataDir, 'audit-head.json');
}

function signedText(head: Omit<PublishedHead, 'signature'>): string {
  return canonicalJson({ seq: head.seq, hash: head.hash, publishedAt: head.publishedAt, keyedFrom: head.keyedFrom });
}

/** The head in `file`: undefined when there is none, `problem` (no path in it) when it cannot be trusted. */
export function readPublishedHead(file: string, key: AuditKey): { head: PublishedHead } | { problem: string } | undefined {
  let parsed: PublishedHead;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as PublishedHead;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { problem: `the published head cannot be read (${(err as NodeJS.ErrnoException).code ?? 'not JSON'})` };
  }
  const wellFormed =
    Number.isSafeInteger(parsed?.seq) && typeof parsed.hash === 'string' && typeof parsed.publishedAt === 'string' && typeof parsed.signature === 'string' && (parsed.keyedFrom === null || Number.isSafeInteger(parsed.keyedFrom));
  if (!wellFormed) return { problem: 'the published head is not a Tramline audit head' };
  const check = key.checkSignature(signedText(parsed), parsed.signature);
  if (check === 'other-key') return { problem: `the published head was signed with another audit key than this one (${key.id})` };
  if (check === 'mismatch') return { problem: 'the published head does not match its signature (edited)' };
  return { head: parsed };
}

/** What the publisher needs of the trail. */
export interface HeadSource {
  flush(): Promise<void>;
  newestEntry(): Promise<AuditLogTable | undefined>;
  firstKeyedSeq(): Promise<number | null>;
}

export class HeadPublisher {
  private timer?: NodeJS.Timeout;
  private publishing?: Promise<void>;

  constructor(
    private readonly trail: HeadSource,
    private readonly key: AuditKey,
    private readonly file: string,
  ) {}

  /** Publish now and then every `intervalMs`. */
  start(intervalMs: number): void {
    void this.publish();
    this.timer = setInterval(() => void this.publish(), intervalMs).unref();
  }

  /** Stop the interval and publish a last time (shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.publish();
  }

  /** Never throws: a failed publication is logged and tried again next time. */
  publish(): Promise<void> {
    this.publishing ??= this.publishOnce()
      .catch((err: unknown) => log.error({ file: this.file, reason: (err as Error).message }, 'audit head not published'))
      .finally(() => (this.publishing = undefined));
    return this.publishing;
  }

  private async publishOnce(): Promise<void> {
    await this.trail.flush();
    const newest = await this.trail.newestEntry();
    if (!newest) return;
    const seq = Number(newest.seq);
    // Sign only what this key wrote: never vouch for an entry someone put there without it.
    if (!newest.mac || this.key.checkEntry(newest.hash, newest.mac) !== 'ok') {
      log.error({ seq }, 'audit head not published: the newest entry has no valid MAC (run tramline audit verify)');
      return;
    }
    const previous = readPublishedHead(this.file, this.key);
    if (previous && 'problem' in previous) log.warn({ reason: previous.problem }, 'replacing a published audit head that does not check out');
    const before = previous && 'head' in previous ? previous.head : undefined;
    if (before && before.seq > seq) {
      log.error({ seq, publishedSeq: before.seq }, 'audit head not published: the trail is shorter than its published head (cut short? run tramline audit verify)');
      return;
    }
    if (before && before.seq === seq && before.hash === newest.hash) return;
    const unsigned = { seq, hash: newest.hash, publishedAt: new Date().toISOString(), keyedFrom: before?.keyedFrom ?? (await this.trail.firstKeyedSeq()) };
    const head: PublishedHead = { ...unsigned, signature: this.key.sign(signedText(unsigned)) };
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(head, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, this.file);
    log.info({ auditHead: head }, 'audit head published');
  }
}
