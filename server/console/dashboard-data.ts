// What the dashboard shows, gathered through the API's facade (the same statistics the API
// serves): per channel its state, source, what became of the last hour's and day's messages,
// queue depth per destination, the newest error; and the engine's health.
import type { ChannelSummary, EngineFacade } from '../api/facade.js';
import type { ChannelActivity, LastError } from '../api/stats.js';
import type { HealthChecks, HealthItem } from './health.js';

export interface DashboardChannel {
  summary: ChannelSummary;
  source: string;
  hour: ChannelActivity;
  day: ChannelActivity;
  /** Stored, not yet handed to the queue. */
  backlog: number;
  destinations: { id: string; name: string; type: string; depth: number; deadLettered: number }[];
  lastError?: LastError;
  throughput: Sparkline;
}

/** Messages received per 15 minutes over the last 24 hours, drawn as an SVG polyline. */
export interface Sparkline {
  points: string;
  total: number;
  max: number;
  width: number;
  height: number;
}

const BUCKET_MS = 15 * 60_000;
const BUCKETS = 96;

export function sparkline(counts: number[], width = 192, height = 40): Sparkline {
  const max = Math.max(0, ...counts);
  const step = counts.length > 1 ? width / (counts.length - 1) : width;
  // 2 px inside top and bottom so the line's stroke is not clipped.
  const y = (n: number) => (max ? height - 2 - (n / max) * (height - 4) : height - 2);
  const points = counts.map((n, i) => `${+(i * step).toFixed(1)},${+y(n).toFixed(1)}`).join(' ');
  return { points, total: counts.reduce((t, n) => t + n, 0), max, width, height };
}

export interface Dashboard {
  at: Date;
  health: HealthItem[];
  healthy: boolean;
  channels: DashboardChannel[];
}

const HOUR_MS = 3_600_000;

/** e.g. `mllp 0.0.0.0:2575`, `http POST /inbound/cld-push`, `file`. */
export function sourceOf(c: ChannelSummary): string {
  if (c.source.type === 'http') return `http POST /inbound/${c.id}`;
  const where = c.source.port ? ` ${c.source.host ?? ''}:${c.source.port}` : '';
  return `${c.source.type}${where}`;
}

export async function gatherDashboard(engine: EngineFacade, health: HealthChecks): Promise<Dashboard> {
  const now = Date.now();
  const channels = await Promise.all(
    engine.channels().map(async (summary): Promise<DashboardChannel> => {
      // Whole buckets, the last one ending after now, so a message received now is drawn.
      const sparkStart = (Math.floor(now / BUCKET_MS) + 1) * BUCKET_MS - BUCKETS * BUCKET_MS;
      const [stats, hour, day, lastError, throughput] = await Promise.all([
        engine.channelStats(summary.id),
        engine.channelActivity(summary.id, new Date(now - HOUR_MS)),
        engine.channelActivity(summary.id, new Date(now - 24 * HOUR_MS)),
        engine.lastError(summary.id),
        engine.channelThroughput(summary.id, new Date(sparkStart), BUCKET_MS, BUCKETS),
      ]);
      return {
        summary,
        source: sourceOf(summary),
        hour,
        day,
        backlog: stats.backlog,
        destinations: summary.destinations.map((d) => ({ id: d.id, name: d.name, type: d.type, depth: stats.destinations[d.id]?.queued ?? 0, deadLettered: stats.destinations[d.id]?.deadLettered ?? 0 })),
        ...(lastError ? { lastError } : {}),
        throughput: sparkline(throughput),
      };
    }),
  );
  const items = await health.check();
  return { at: new Date(now), health: items, healthy: items.every((i) => i.ok), channels };
}
