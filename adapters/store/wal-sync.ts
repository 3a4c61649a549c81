// The fsync of a SQLite commit, taken off the event loop. A writer that commits with
// `synchronous = NORMAL` in WAL mode writes its frames to the WAL file without syncing it;
// syncing that file afterwards makes the commit as durable as `synchronous = FULL` would
// have, since fdatasync flushes every write to the file whichever descriptor made it.
// Here that sync runs on libuv's thread pool, so the engine's thread goes on parsing,
// ACKing and writing the next batch while the disk works; one sync serves every commit made
// before it started (group fsync).
import fs from 'node:fs';
import { CompiledQuery, type Kysely } from 'kysely';

const UNSYNCED = CompiledQuery.raw('pragma synchronous = NORMAL');
const SYNCED = CompiledQuery.raw('pragma synchronous = FULL');

/**
 * Runs `write` on the connection alone with its commits left unsynced (`synchronous = NORMAL`),
 * then restores `FULL`; the caller makes them durable with `WalSync.sync()` before it answers
 * anyone. Nothing else runs on the connection meanwhile, so other writers keep FULL.
 */
export function withUnsyncedCommits<DB, T>(kysely: Kysely<DB>, write: (conn: Kysely<DB>) => Promise<T>): Promise<T> {
  return kysely.connection().execute(async (conn) => {
    await conn.executeQuery(UNSYNCED);
    try {
      return await write(conn);
    } finally {
      await conn.executeQuery(SYNCED);
    }
  });
}

export class WalSync {
  private fd?: number;
  /** The sync under way, if any. */
  private running?: Promise<void>;
  /** The sync that starts once the running one is done: shared by every caller meanwhile. */
  private next?: Promise<void>;
  private synced = 0;

  constructor(private readonly walFile: string) {}

  /** Syncs completed so far: one serves every commit made before it started. */
  get syncCount(): number {
    return this.synced;
  }

  /** Resolves once every commit made before this call is on disk; rejects if the sync failed. */
  sync(): Promise<void> {
    if (!this.running) return this.start();
    // A sync under way may have started before the caller's commit: wait for the next one.
    this.next ??= this.running.then(
      () => this.startNext(),
      () => this.startNext(),
    );
    return this.next;
  }

  /**
   * The same sync on the calling thread: for a writer with nothing else waiting, to which the
   * thread pool's round trip would only add latency.
   */
  async syncHere(): Promise<void> {
    if (this.running) return this.sync();
    this.fd ??= fs.openSync(this.walFile, 'r+');
    fs.fdatasyncSync(this.fd);
    this.synced++;
  }

  private startNext(): Promise<void> {
    this.next = undefined;
    return this.start();
  }

  private start(): Promise<void> {
    const run = this.fdatasync().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async fdatasync(): Promise<void> {
    // Opened on first use: SQLite creates the WAL file with the first write. It keeps that file
    // (the same inode, reused from its start after a checkpoint) while any connection is open.
    this.fd ??= await new Promise<number>((resolve, reject) => fs.open(this.walFile, 'r+', (err, fd) => (err ? reject(err) : resolve(fd))));
    const fd = this.fd;
    await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
    this.synced++;
  }

  /** Waits for any sync under way, then closes the file. */
  async close(): Promise<void> {
    await Promise.allSettled([this.running, this.next]);
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
