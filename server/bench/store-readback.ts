// Reads a load run's messages back from the engine's store through the admin API
// (`GET /api/messages`, metadata only: needs `messages:read`, e.g. an operator token): how many
// were persisted and how fast, and when each was delivered to every destination (the time its
// last destination row turned `sent`). Times are the engine's clock against the sender's, so
// send→delivered is only as good as the two clocks' agreement (exact on one machine).
import { performance } from 'node:perf_hooks';
import { BenchError, type SentMessage } from './mllp-load.js';
import { summarise, type LatencySummary } from './stats.js';

export interface StoreReadbackOptions {
  /** Admin API base, e.g. http://127.0.0.1:8080 */
  api: string;
  token: string;
  /** Control-id prefix of the measured messages. */
  runTag: string;
  messages: SentMessage[];
  /** Longest wait for deliveries still pending after the last ACK. */
  drainTimeoutMs: number;
  progress?: (line: string) => void;
}

export interface StoreReadback {
  /** Measured messages found in the store. */
  persisted: number;
  persistedPerSec: number;
  /** Delivered to every destination (sent, or filtered out by a destination). */
  delivered: number;
  deliveredPerSec: number;
  /** Stored but not delivered when the wait ended, by message status (rejected, dead-lettered, queued …). */
  notDelivered: Record<string, number>;
  /** Seconds from the last ACK until every delivery settled (or the wait ran out). */
  drainSeconds: number;
  latencyMs: { sendToDelivered: LatencySummary };
  /** Per destination: deliveries sent, how many took more than one attempt, and send→sent. */
  destinations: Record<string, { sent: number; retried: number; sendToSentMs: LatencySummary }>;
}

interface ApiDestination {
  destination: string;
  status: string;
  attempts: number;
  updatedAt: string;
}
interface ApiMessage {
  id: string;
  channel: string;
  controlId?: string;
  receivedAt: string;
  status: string;
  destinations: ApiDestination[];
}

const PENDING = new Set(['queued', 'retrying', 'errored']);
const PAGE = 1000;

/** Still expecting a delivery: not yet queued, or a destination still to go. */
function pending(m: ApiMessage): boolean {
  return m.status === 'received' || m.status === 'transformed' || m.destinations.some((d) => PENDING.has(d.status));
}

function deliveredAt(m: ApiMessage): number | undefined {
  if (!m.destinations.length || !m.destinations.every((d) => d.status === 'sent' || d.status === 'filtered')) return undefined;
  return Math.max(...m.destinations.map((d) => Date.parse(d.updatedAt)));
}

async function getJson(api: string, token: string, pathAndQuery: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(pathAndQuery, api), { headers: { authorization: `Bearer ${token}` } });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new BenchError(`cannot reach the admin API at ${api}: ${cause} (set --api to the engine's HTTP address)`);
  }
  if (res.status === 401) throw new BenchError(`the admin API at ${api} refused the token (401): give a valid API token with --token or TRAMLINE_TOKEN`);
  if (res.status === 403) throw new BenchError(`the token may not read messages or channel counts (403): it needs messages:read and channels:read, e.g. \`tramline tokens create --name bench --role operator\``);
  if (!res.ok) throw new BenchError(`the admin API at ${api} answered ${res.status} to ${pathAndQuery.split('?')[0]}`);
  return res.json();
}

/** Every stored message received at or after `from` whose control id starts with `tag` (newest first, paged). */
async function listRun(o: StoreReadbackOptions, from: number): Promise<ApiMessage[]> {
  const found = new Map<string, ApiMessage>();
  let to: number | undefined;
  for (;;) {
    const query = new URLSearchParams({ from: new Date(from).toISOString(), limit: String(PAGE) });
    if (to !== undefined) query.set('to', new Date(to).toISOString());
    const page = ((await getJson(o.api, o.token, `/api/messages?${query}`)) as { messages: ApiMessage[] }).messages;
    let fresh = 0;
    for (const m of page) {
      if (found.has(m.id)) continue;
      fresh++;
      found.set(m.id, m);
    }
    if (page.length < PAGE) break;
    const oldest = Date.parse(page[page.length - 1].receivedAt);
    // `to` is exclusive: include the oldest millisecond again (ties), unless it held nothing new.
    to = fresh ? oldest + 1 : oldest;
  }
  return [...found.values()].filter((m) => m.controlId?.startsWith(o.runTag));
}

/** Until no destination of `channels` has anything queued or waiting to be queued (or the wait runs out). */
async function untilQuiet(o: StoreReadbackOptions, channels: Set<string>, waitStart: number): Promise<void> {
  do {
    await new Promise((r) => setTimeout(r, 1000));
    let busy = 0;
    for (const channel of channels) {
      const stats = (await getJson(o.api, o.token, `/api/channels/${encodeURIComponent(channel)}/stats`)) as { backlog?: number; queued?: number };
      busy += (stats.backlog ?? 0) + (stats.queued ?? 0);
    }
    if (busy === 0) return;
    o.progress?.(`store: ${busy} deliveries still queued`);
  } while (performance.now() - waitStart <= o.drainTimeoutMs);
}

/** Wait for the run's deliveries to settle, then summarise what the store holds. */
export async function readBackFromStore(o: StoreReadbackOptions): Promise<StoreReadback> {
  if (!o.messages.length) throw new BenchError('no message was sent, so there is nothing to read back from the store');
  const firstSend = o.messages.reduce((t, m) => Math.min(t, m.sentAt), Infinity);
  // Every ACKed message was stored before its ACK; one without an ACK may or may not have been.
  const expected = o.messages.filter((m) => !Number.isNaN(m.ackMs)).length;
  const sentAt = new Map(o.messages.map((m) => [m.controlId, m.sentAt]));
  const settled = new Map<string, ApiMessage>();
  // A minute of slack for the engine's clock being behind the sender's.
  let from = firstSend - 60_000;
  const waitStart = performance.now();
  let open: ApiMessage[] = [];
  for (;;) {
    const listed = await listRun(o, from);
    open = [];
    for (const m of listed) {
      if (!sentAt.has(m.controlId!)) continue; // a resend or a warm-up message
      if (pending(m)) open.push(m);
      else settled.set(m.controlId!, m);
    }
    const stored = settled.size + open.length;
    if ((open.length === 0 && stored >= expected) || performance.now() - waitStart > o.drainTimeoutMs) break;
    if (open.length) from = open.reduce((t, m) => Math.min(t, Date.parse(m.receivedAt)), Infinity);
    o.progress?.(`store: ${settled.size}/${o.messages.length} messages settled`);
    // Listing thousands of messages every second would cost the engine as much as delivering
    // them: wait on the channels' counts (one grouped query each) until nothing is queued.
    await untilQuiet(o, new Set(open.map((m) => m.channel)), waitStart);
  }
  const all = [...settled.values(), ...open];
  const notDelivered: Record<string, number> = {};
  const latencies: number[] = [];
  let lastReceived = firstSend;
  let lastDelivered = firstSend;
  const perDestination = new Map<string, { sent: number; retried: number; ms: number[] }>();
  for (const m of all) {
    lastReceived = Math.max(lastReceived, Date.parse(m.receivedAt));
    for (const d of m.destinations) {
      if (d.status !== 'sent') continue;
      let entry = perDestination.get(d.destination);
      if (!entry) perDestination.set(d.destination, (entry = { sent: 0, retried: 0, ms: [] }));
      entry.sent++;
      if (d.attempts > 1) entry.retried++;
      entry.ms.push(Date.parse(d.updatedAt) - sentAt.get(m.controlId!)!);
    }
    const at = deliveredAt(m);
    if (at === undefined) {
      notDelivered[m.status] = (notDelivered[m.status] ?? 0) + 1;
      continue;
    }
    lastDelivered = Math.max(lastDelivered, at);
    latencies.push(at - sentAt.get(m.controlId!)!);
  }
  const perSec = (n: number, until: number) => (until > firstSend ? Math.round((n * 1000) / (until - firstSend)) : 0);
  return {
    persisted: all.length,
    persistedPerSec: perSec(all.length, lastReceived),
    delivered: latencies.length,
    deliveredPerSec: perSec(latencies.length, lastDelivered),
    notDelivered,
    drainSeconds: Math.round((performance.now() - waitStart) / 100) / 10,
    latencyMs: { sendToDelivered: summarise(latencies) },
    destinations: Object.fromEntries([...perDestination].map(([name, d]) => [name, { sent: d.sent, retried: d.retried, sendToSentMs: summarise(d.ms) }])),
  };
}
