// The MESH client's inbox as a source. The client writes each received message as `<id>.dat`
// and its control file `<id>.ctl`; a pair is taken once both are there and neither has changed
// for `stableMs`. Order of work, which is the crash-safety property: read both → check → hand
// to the intake, which stores it durably → only then move both files to processed/. A kill at
// any point before the move leaves the pair in the inbox, and the next start takes it again;
// the store's duplicate key (mailbox, LocalId) makes that second take a no-op. A pair the
// intake cannot store (the database is down) stays where it is and is tried on the next poll.
//
// Refused pairs (bad control file, unknown workflow, too large, not UTF-8) move to failed/ with
// a `<name>.error.txt` reason that names what is wrong, never a value from the message.
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { reasonOf, withoutValues } from '../../core/errors.js';
import { log } from '../../core/logger.js';
import type { InboundIntake, InboundMessage } from '../../core/inbound.js';
import { ControlFileError, isFailureReport, MAX_CONTROL_BYTES, parseControlFile, type ControlFile } from './control.js';
import type { MeshFolderSourceConfig } from './spec.js';

/** A pair we will not take; the message is the reason written beside it in failed/. */
export class Refused extends Error {}

/** A data message's control file whose .dat is not there yet: looked at again on the next poll. */
class NotYet extends Error {}

export type MeshFolderSourceOptions = Pick<MeshFolderSourceConfig, 'inbox' | 'pollIntervalMs' | 'stableMs' | 'maxMessageBytes'> &
  Partial<Pick<MeshFolderSourceConfig, 'processedDir' | 'failedDir' | 'workflowIds'>>;

const CONTROL = '.ctl';
const DATA = '.dat';

export class MeshFolderSource {
  private timer?: NodeJS.Timeout;
  private busy?: Promise<void>;
  private closed = false;
  /** Base name → identity of the pair when first seen unchanged, and since when. */
  private readonly seen = new Map<string, { identity: string; since: number }>();
  /**
   * Pairs stored whose move failed (base name → identity): the move is retried on later polls
   * without storing them again, so a stuck processed/ does not add a duplicate event per poll.
   */
  private readonly storedNotMoved = new Map<string, string>();
  /** Pairs whose last attempt failed, with the cause already logged. */
  private readonly failing = new Map<string, string>();
  private readonly processedDir: string;
  private readonly failedDir: string;

  constructor(
    private readonly config: MeshFolderSourceOptions,
    private readonly intake: InboundIntake,
    private readonly channel = '',
  ) {
    this.processedDir = config.processedDir ?? path.join(config.inbox, 'processed');
    this.failedDir = config.failedDir ?? path.join(config.inbox, 'failed');
  }

  async start(): Promise<void> {
    await mkdir(this.processedDir, { recursive: true });
    await mkdir(this.failedDir, { recursive: true });
    this.timer = setInterval(() => void this.poll(), this.config.pollIntervalMs);
    void this.poll();
  }

  /** One scan of the inbox. Resolves when done; never rejects. */
  poll(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.busy ??= this.scan()
      .catch((err: unknown) => log.error({ channel: this.channel, code: codeOf(err) }, 'MESH inbox scan failed'))
      .finally(() => (this.busy = undefined));
    return this.busy;
  }

  private async scan(): Promise<void> {
    const names = new Set(await readdir(this.config.inbox));
    // A pair is named by its control file: the MESH client writes the .ctl as its signal.
    const bases = [...names].filter((n) => n.endsWith(CONTROL) && !n.startsWith('.')).map((n) => n.slice(0, -CONTROL.length));
    for (const memo of [this.seen, this.storedNotMoved, this.failing]) for (const base of memo.keys()) if (!names.has(base + CONTROL)) memo.delete(base);
    const now = Date.now();
    for (const base of bases.sort()) {
      if (this.closed) return;
      // A .ctl whose .dat has not arrived yet waits (reports alone come with an empty .dat or none).
      try {
        await this.consider(base, names.has(base + DATA), now);
        this.failing.delete(base);
      } catch (err) {
        // Once per pair and cause, not on every poll while it lasts.
        const code = codeOf(err);
        if (this.failing.get(base) !== code) log.error({ channel: this.channel, file: base, code }, 'MESH message could not be handled; tried again on every poll');
        this.failing.set(base, code);
      }
    }
  }

  private async consider(base: string, hasData: boolean, now: number): Promise<void> {
    const ctl = await lstat(this.pathOf(base + CONTROL), { bigint: false }).catch(() => undefined);
    const dat = hasData ? await lstat(this.pathOf(base + DATA)).catch(() => undefined) : undefined;
    if (!ctl) return;
    const identity = [ctl, dat].map((s) => (s ? `${s.ino}:${s.size}:${s.mtimeMs}` : '-')).join('|');
    const prev = this.seen.get(base);
    if (prev?.identity !== identity) {
      this.seen.set(base, { identity, since: now });
      if (this.config.stableMs > 0) return;
    } else if (now - prev.since < this.config.stableMs) return;
    if (this.storedNotMoved.get(base) === identity) return this.moveStored(base);
    // A control file alone is a report (MESH writes reports without data, or with an empty
    // .dat), or a data message whose .dat is still to come, which waits.
    return this.take(base, dat?.size, identity);
  }

  private async take(base: string, dataBytes: number | undefined, identity: string): Promise<void> {
    let message: InboundMessage;
    try {
      message = await this.read(base, dataBytes);
    } catch (err) {
      if (err instanceof NotYet) return;
      if (!(err instanceof Refused || err instanceof ControlFileError)) throw err;
      log.warn({ channel: this.channel, file: base, reason: err.message }, 'MESH message refused');
      return this.move(base, this.failedDir, err.message);
    }
    // Store first (durable); a failure here throws and leaves the pair for the next poll.
    const stored = await this.intake.accept(message);
    log.info({ channel: this.channel, file: base, messageId: stored.id, duplicate: stored.duplicate, report: Boolean(message.report) }, 'MESH message taken');
    this.storedNotMoved.set(base, identity);
    await this.moveStored(base);
  }

  private async moveStored(base: string): Promise<void> {
    await this.move(base, this.processedDir);
    this.storedNotMoved.delete(base);
    this.seen.delete(base);
  }

  private async read(base: string, dataBytes: number | undefined): Promise<InboundMessage> {
    const control = parseControlFile(await readRegularFile(this.pathOf(base + CONTROL), MAX_CONTROL_BYTES));
    if (control.messageType === 'Data' && dataBytes === undefined) throw new NotYet();
    if (dataBytes !== undefined && dataBytes > this.config.maxMessageBytes) throw new Refused(`payload larger than maxMessageBytes (${this.config.maxMessageBytes})`);
    const allowed = this.config.workflowIds;
    if (control.messageType === 'Data' && allowed && !allowed.includes(control.workflowId)) {
      throw new Refused(`WorkflowId ${safeWord(control.workflowId)} is not one this channel accepts (workflowIds)`);
    }
    if (control.isCompressed || control.encrypted) throw new Refused('payload is compressed or encrypted (IsCompressed/Encrypted Y): not supported');
    const body = dataBytes === undefined ? Buffer.alloc(0) : await readRegularFile(this.pathOf(base + DATA), this.config.maxMessageBytes);
    if (control.messageType === 'Data') {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(body);
      } catch {
        throw new Refused('payload is not UTF-8 text');
      }
    }
    return toInbound(control, body, base);
  }

  /** Move the pair (and write the reason beside it, for failed/). A clash gets a numbered name. */
  private async move(base: string, dir: string, reason?: string): Promise<void> {
    let target = base;
    for (let n = 1; await exists(path.join(dir, target + CONTROL)); n++) target = `${base}.${n}`;
    if (reason !== undefined) await writeFile(path.join(dir, `${target}.error.txt`), reason + '\n');
    // The .dat first: a .ctl left behind alone is taken again (and is a duplicate), never lost.
    await rename(this.pathOf(base + DATA), path.join(dir, target + DATA)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await rename(this.pathOf(base + CONTROL), path.join(dir, target + CONTROL));
  }

  private pathOf(name: string): string {
    return path.join(this.config.inbox, name);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.busy;
  }
}

/** The intake's view of a control file and its payload. */
export function toInbound(control: ControlFile, body: Buffer, base: string): InboundMessage {
  const controlId = control.localId ?? control.dtsId ?? base;
  const headers: Record<string, string> = {
    kind: 'mesh',
    meshFrom: control.fromDts,
    meshTo: control.toDts,
    meshWorkflowId: control.workflowId,
    meshLocalId: controlId,
    ...(control.dtsId ? { meshDtsId: control.dtsId } : {}),
    ...(control.subject ? { meshSubject: control.subject } : {}),
  };
  if (control.messageType === 'Report') {
    const sr = control.statusRecord ?? {};
    const failed = isFailureReport(control);
    const what = [sr.event, sr.status, sr.statusCode].filter(Boolean).join(' ');
    return {
      sender: control.fromDts || control.toDts,
      // A report is about a transfer: its own key, so it never shadows the message it reports on.
      controlId: `report:${control.dtsId ?? controlId}:${sr.event ?? ''}:${sr.statusCode ?? ''}`,
      messageType: 'MESH-REPORT',
      routing: ['mesh-report'],
      body,
      headers,
      report: failed ? { error: `MESH delivery report: ${what || 'no status record'}${sr.description ? ` (${sr.description})` : ''}` } : {},
    };
  }
  return {
    sender: control.fromDts,
    controlId,
    messageType: `MESH^${control.workflowId}`,
    routing: ['mesh', control.workflowId, control.fromDts],
    body,
    headers,
  };
}

/** Open without following a link, check it is a regular file, read at most `limit` bytes. */
async function readRegularFile(file: string, limit: number): Promise<Buffer> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP') throw new Refused(`${path.basename(file)} is a symbolic link: refused, not read`);
    throw err;
  });
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Refused(`${path.basename(file)} is not a regular file: refused, not read`);
    if (st.size > limit) throw new Refused(`${path.basename(file)} is larger than ${limit} bytes`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}

/** A workflow id as it may appear in a reason: the id's own safe characters only. */
function safeWord(value: string): string {
  return value.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100);
}

/** An error code, or the reason without quoted values: never message content in the log. */
function codeOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : withoutValues(reasonOf(err));
}
