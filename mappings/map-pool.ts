// Where destination mappings run: worker threads, so parsing, mapping and validating a message
// — the largest part of a FHIR delivery's CPU — use the machine's other cores instead of the
// engine's main thread, which keeps the sockets, the store and the queue. `threads: 0` maps on
// the calling thread.
//
// Hand-written rather than piscina: piscina spent ~100 µs of main-thread CPU per task (measured
// here on the ADT mapping: as much as mapping the message inline), because every task is its
// own message. Here every task queued in one turn of the event loop goes to a thread as one
// message and comes back as one (~15–30 µs per task), and a thread always has work queued.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { log } from '../core/logger.js';
import { DeliveryError, MappingError, ParseError, TramlineError, ValidationError } from '../core/errors.js';
import { mapHl7ToBundleJson } from './index.js';
import type { MapReply, MapTask } from './map-worker.js';

export interface BundleMapper {
  /** HL7 v2 text → the mapped, validated Bundle as JSON. Throws the mapping's typed error. */
  bundleJson(text: string, mapping: string): Promise<string>;
  close(): Promise<void>;
}

export function createBundleMapper(threads: number): BundleMapper {
  return threads > 0 ? new PooledMapper(threads) : new InlineMapper();
}

class InlineMapper implements BundleMapper {
  async bundleJson(text: string, mapping: string): Promise<string> {
    return mapHl7ToBundleJson(text, mapping);
  }
  async close(): Promise<void> {}
}

/** The worker's failure kind as the error the calling thread would have thrown. */
function failure(kind: TramlineError['kind'] | 'error', mapping: string): Error {
  const message = `mapping ${mapping} failed in a mapping thread`;
  if (kind === 'ParseError') return new ParseError(message);
  if (kind === 'ValidationError') return new ValidationError(message);
  if (kind === 'MappingError') return new MappingError(message);
  return new Error(message);
}

const WORKER_FILE = new URL(import.meta.url.endsWith('.ts') ? './map-worker.ts' : './map-worker.js', import.meta.url);
// From the TypeScript sources (tsx, jest) the thread loads map-worker.ts through tsx.
const FROM_SOURCES = WORKER_FILE.pathname.endsWith('.ts');
// tsx's ESM API (its export map's `import` file; require.resolve finds the CommonJS twin).
const TSX_API = FROM_SOURCES ? pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href : '';
const TSX_BOOT = new URL(
  `data:text/javascript,${encodeURIComponent("import { workerData } from 'node:worker_threads'; const { register } = await import(workerData.tsx); register(); await import(workerData.file);")}`,
);

interface Waiting {
  mapping: string;
  resolve(body: string): void;
  reject(err: Error): void;
}

class MappingThread {
  readonly worker: Worker;
  readonly waiting = new Map<number, Waiting>();

  constructor(onGone: (thread: MappingThread, err: Error) => void) {
    this.worker = FROM_SOURCES ? new Worker(TSX_BOOT, { workerData: { tsx: TSX_API, file: WORKER_FILE.href } }) : new Worker(WORKER_FILE);
    // The engine's servers keep the process alive; a thread alone must not.
    this.worker.unref();
    this.worker.on('message', (replies: MapReply[]) => {
      for (const [id, body, failed] of replies) {
        const w = this.waiting.get(id);
        if (!w) continue;
        this.waiting.delete(id);
        if (body !== undefined) w.resolve(body);
        else w.reject(failure(failed ?? 'error', w.mapping));
      }
    });
    this.worker.on('error', (err) => onGone(this, err));
    this.worker.on('exit', (code) => onGone(this, new Error(`mapping thread exited (${code})`)));
  }
}

class PooledMapper implements BundleMapper {
  private readonly pool: MappingThread[] = [];
  private queued: { thread: MappingThread; tasks: MapTask[] }[] = [];
  private flushing = false;
  private nextId = 0;
  private closed = false;

  constructor(private readonly threads: number) {}

  bundleJson(text: string, mapping: string): Promise<string> {
    if (this.closed) return Promise.reject(new DeliveryError('the mapping threads are closed (engine stopping)', true));
    const thread = this.leastBusy();
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      thread.waiting.set(id, { mapping, resolve, reject });
      let batch = this.queued.find((q) => q.thread === thread);
      if (!batch) this.queued.push((batch = { thread, tasks: [] }));
      batch.tasks.push([id, text, mapping]);
      if (!this.flushing) {
        this.flushing = true;
        // Everything queued in this turn of the event loop goes as one message per thread.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushing = false;
    const queued = this.queued;
    this.queued = [];
    for (const { thread, tasks } of queued) if (this.pool.includes(thread)) thread.worker.postMessage(tasks);
  }

  /** Threads start on first use: an engine whose channels map nothing starts none. */
  private leastBusy(): MappingThread {
    if (this.pool.length < this.threads) {
      const thread = new MappingThread((t, err) => this.gone(t, err));
      this.pool.push(thread);
      return thread;
    }
    return this.pool.reduce((a, b) => (b.waiting.size < a.waiting.size ? b : a));
  }

  /** A thread that failed or exited: its tasks fail as retryable (not the message's fault). */
  private gone(thread: MappingThread, err: Error): void {
    const i = this.pool.indexOf(thread);
    if (i >= 0) this.pool.splice(i, 1);
    const reason = this.closed ? 'the mapping threads are closed (engine stopping)' : `a mapping thread failed: ${err.message}`;
    if (!this.closed) log.warn({ tasks: thread.waiting.size, error: err.message }, 'mapping thread failed; its messages will be retried');
    for (const w of thread.waiting.values()) w.reject(new DeliveryError(reason, true));
    thread.waiting.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.pool.map((t) => t.worker.terminate()));
  }
}
