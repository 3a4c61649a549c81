// The case inbox's inserts into a SQLite file, run by a worker thread on a connection of its own.
// better-sqlite3 is synchronous: on the engine's thread each insert is a commit and an fsync
// that holds up everything behind it (intake, the ACKs). In the worker the engine's thread only
// posts the rows and is answered once they are committed, with synchronous=FULL as before, so a
// delivery still counts as done only when its row is on disk. The worker also runs the WAL
// checkpoints its commits call for (SQLite's default, every ~1,000 pages).
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

const WRITER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 5000');
db.pragma('temp_store = MEMORY');
const statements = new Map();
parentPort.on('message', (m) => {
  if (m === 'close') { db.close(); parentPort.close(); return; }
  try {
    let statement = statements.get(m.sql);
    if (!statement) {
      if (statements.size >= 256) statements.clear();
      statement = db.prepare(m.sql);
      statements.set(m.sql, statement);
    }
    statement.run(m.params);
    parentPort.postMessage({ id: m.id });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
});
`;

interface Waiting {
  resolve(): void;
  reject(err: Error): void;
}

export class SqliteInboxWriter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private failure?: Error;
  private readonly exited: Promise<void>;

  constructor(file: string) {
    this.worker = new Worker(WRITER, { eval: true, workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file: path.resolve(file) } });
    // Like the store's checkpointer, it does not keep the process alive by itself.
    this.worker.unref();
    this.worker.on('message', (m: { id: number; error?: string }) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error === undefined) w?.resolve();
      else w?.reject(new Error(m.error));
    });
    this.worker.on('error', (err) => this.fail(err));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    void this.exited.then(() => this.fail(new Error('case inbox writer stopped')));
  }

  /** Whether the worker can take more writes (it failed or stopped: the caller writes itself). */
  get usable(): boolean {
    return this.failure === undefined;
  }

  /** Runs one statement (its own transaction); resolves once it has committed. */
  run(sql: string, params: readonly unknown[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, sql, params });
    });
  }

  /** Finishes the writes posted so far, then closes the worker's connection. */
  async close(): Promise<void> {
    if (!this.failure) {
      // Referenced again: the process must not end while the last writes finish.
      this.worker.ref();
      this.worker.postMessage('close');
    }
    await this.exited;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
