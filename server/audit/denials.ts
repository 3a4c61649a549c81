// Repeated authentication denials (401, 429) become one audit entry per client and window with
// a count, instead of one entry per request: a client hammering bad tokens must not be able to
// flood the trail (and its disk). A client is its address plus the status and reason, so a
// different failure still shows. The first denial of a client in a window is written at once,
// so an attack is visible at once; the rest are counted and written as one entry when the
// window closes, and on `close()` at shutdown, so no count is lost.
import type { AuditTrail } from './trail.js';
import type { AuditEntryInput } from './types.js';

type AuditRecorder = Pick<AuditTrail, 'record'>;

interface Tally {
  first: AuditEntryInput;
  /** Denials after the first (which was written when it came), and when they came. */
  more: number;
  from: number;
  last: number;
}

/** Clients tracked per window; denials from further clients share one overflow tally. */
const MAX_CLIENTS = 10_000;
const OVERFLOW = 'other clients';

export class DenialAggregator {
  private tallies = new Map<string, Tally>();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly trail: AuditRecorder,
    private readonly windowMs: number,
  ) {}

  record(entry: AuditEntryInput): Promise<void> {
    if (entry.category !== 'auth' || this.closed) return this.trail.record(entry);
    const now = Date.now();
    let key = clientKey(entry);
    if (!this.tallies.has(key) && this.tallies.size >= MAX_CLIENTS) {
      key = OVERFLOW;
      entry = { ...entry, sourceIp: undefined, detail: { ...entry.detail, reason: `denials from more than ${MAX_CLIENTS} clients` } };
    }
    const tally = this.tallies.get(key);
    if (tally) {
      if (tally.more++ === 0) tally.from = now;
      tally.last = now;
      return Promise.resolve();
    }
    this.tallies.set(key, { first: entry, more: 0, from: now, last: now });
    this.timer ??= setTimeout(() => void this.flush(), this.windowMs).unref();
    return this.trail.record({ ...entry, detail: { ...entry.detail, count: 1 } });
  }

  /** Write the counts of the window so far and start a new one. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const tallies = [...this.tallies.values()];
    this.tallies = new Map();
    await Promise.all(tallies.filter((t) => t.more > 0).map((t) => this.trail.record(summaryOf(t))));
  }

  /** Flush, and from now on pass every entry straight through (shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}

function clientKey(entry: AuditEntryInput): string {
  return JSON.stringify([entry.sourceIp ?? null, entry.detail?.status ?? null, entry.detail?.reason ?? null]);
}

/** One entry for the denials after the first: how many, over which span of time. */
function summaryOf(t: Tally): AuditEntryInput {
  return {
    ...t.first,
    detail: { ...t.first.detail, count: t.more, aggregated: true, firstAt: new Date(t.from).toISOString(), lastAt: new Date(t.last).toISOString() },
  };
}
