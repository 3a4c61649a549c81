// Live dashboard updates with Server-Sent Events. One ticker for every open dashboard: while
// anyone is watching, the dashboard is gathered once per interval, rendered once, and sent to
// each watcher as an HTML fragment (event `dashboard`) that console.js swaps in. A watcher's
// stream ends when its session does (sign-out or idle timeout): live updates do not count as
// activity, so an unattended dashboard still times out.
import type { Response } from 'express';
import { log } from '../../core/logger.js';

interface Watcher {
  res: Response;
  sessionId: string;
}

export interface LiveOptions {
  /** The fragment to send (the dashboard body). */
  render: () => Promise<string>;
  isLive: (sessionId: string) => boolean;
  intervalMs: number;
}

/** One SSE event; every line of the payload gets its own `data:` prefix. */
export function sseEvent(event: string, payload: string): string {
  return `event: ${event}\n${payload.split(/\r?\n/).map((line) => `data: ${line}`).join('\n')}\n\n`;
}

export class LiveDashboard {
  private readonly watchers = new Set<Watcher>();
  private timer?: NodeJS.Timeout;
  private ticking = false;

  constructor(private readonly o: LiveOptions) {}

  watch(res: Response, sessionId: string): void {
    res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    // Reconnect after 5 s if the connection drops (the browser's EventSource does this itself).
    res.write('retry: 5000\n\n');
    const watcher = { res, sessionId };
    this.watchers.add(watcher);
    res.on('close', () => this.watchers.delete(watcher));
    this.timer ??= setInterval(() => void this.tick(), this.o.intervalMs).unref();
  }

  get watching(): number {
    return this.watchers.size;
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  private async tick(): Promise<void> {
    for (const w of this.watchers) {
      if (this.o.isLive(w.sessionId)) continue;
      this.watchers.delete(w);
      w.res.end();
    }
    if (!this.watchers.size) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.ticking) return;
    this.ticking = true;
    try {
      const event = sseEvent('dashboard', await this.o.render());
      for (const w of this.watchers) w.res.write(event);
    } catch (err) {
      log.warn({ reason: (err as Error).message }, 'live dashboard update failed');
    } finally {
      this.ticking = false;
    }
  }
}
