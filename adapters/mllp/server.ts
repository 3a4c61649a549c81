// MLLP listener on node:net (or node:tls). Each frame is handed to onMessage at once, so
// several messages on one connection are processed concurrently, but replies are written in
// arrival order, as MLLP senders match replies to requests by position.
import net from 'node:net';
import tls from 'node:tls';
import { log } from '../../core/logger.js';
import { peekControlId } from '../hl7v2/peek.js';
import { MllpDecoder, encodeFrame } from './framing.js';

export interface MllpConnectionInfo {
  remoteAddress: string;
  remotePort: number;
}

export type MllpReply = Buffer | string;

export interface MllpServerOptions {
  host?: string;
  /** 0 (default) picks a free port; start() returns the bound one. */
  port?: number;
  /** Largest accepted frame payload; default 10 MiB. */
  maxMessageBytes?: number;
  /** Close a connection idle this long with nothing in flight; default 0 = never. */
  idleTimeoutMs?: number;
  /**
   * Open connections allowed; further ones are closed as soon as they are accepted (before
   * any TLS handshake), so idle or hostile peers cannot use up the process's file descriptors.
   * Default 200.
   */
  maxConnections?: number;
  /** Told of each connection closed because maxConnections were open (e.g. for a metric). */
  onRefused?: (remoteAddress: string) => void;
  /** Pause reading from a connection with this many replies outstanding; default 64. */
  maxInFlightPerConnection?: number;
  /** Serve MLLP over TLS with these options (key/cert/ca/requestCert …). */
  tls?: tls.TlsOptions;
  /**
   * Handle one message; resolve with the reply (usually an ACK) to frame and send, or null to
   * send nothing (enhanced mode with MSH-15 = NE/ER/SU may call for no commit ACK).
   */
  onMessage: (raw: Buffer, conn: MllpConnectionInfo) => Promise<MllpReply | null>;
  /** onMessage threw: return a reply (e.g. an AE/AR ACK), or undefined to drop the connection. */
  onError?: (err: unknown, raw: Buffer, conn: MllpConnectionInfo) => MllpReply | undefined | Promise<MllpReply | undefined>;
  /** A frame exceeded maxMessageBytes: build the reply (e.g. an AR) from its first bytes. */
  onOversize?: (partialPrefix: Buffer, conn: MllpConnectionInfo) => MllpReply | undefined;
}

/** Per-connection state: replies are chained so they leave in arrival order. */
interface Connection {
  socket: net.Socket;
  info: MllpConnectionInfo;
  decoder: MllpDecoder;
  tail: Promise<void>;
  outstanding: number;
  closed: boolean;
}

const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
const DEFAULT_MAX_CONNECTIONS = 200;
/** At most one "connections refused" warning per this interval, with the count since the last. */
const REFUSED_LOG_INTERVAL_MS = 10_000;

export class MllpServer {
  private server?: net.Server;
  private readonly conns = new Set<Connection>();
  private closing = false;
  private inFlight = 0;
  private readonly maxBytes: number;
  private readonly maxInFlight: number;
  private refusedUnlogged = 0;
  private refusedLoggedAt = 0;

  constructor(private readonly options: MllpServerOptions) {
    this.maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_BYTES;
    this.maxInFlight = options.maxInFlightPerConnection ?? 64;
  }

  /** Open connections. */
  get connections(): number {
    return this.conns.size;
  }

  /** Messages received whose reply has not been written yet. */
  get pending(): number {
    return this.inFlight;
  }

  start(): Promise<number> {
    if (this.server) throw new Error('MllpServer already started');
    const onSocket = (socket: net.Socket): void => this.accept(socket);
    const server = this.options.tls ? tls.createServer(this.options.tls, onSocket) : net.createServer(onSocket);
    this.server = server;
    // Node counts and closes the surplus connections itself; 'drop' tells us about each one.
    server.maxConnections = this.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    server.on('drop', (data?: net.DropArgument) => this.refused(data?.remoteAddress ?? ''));
    server.on('tlsClientError', (err: Error) => log.warn({ err: err.message }, 'mllp tls handshake failed'));
    // Errors on the listening socket after start are logged rather than thrown.
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        server.on('error', (err) => log.error({ err: err.message }, 'mllp listener error'));
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : 0);
      });
    });
  }

  /** Stop accepting, finish and answer in-flight messages, then close every connection. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server || this.closing) return;
    this.closing = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    const conns = [...this.conns];
    // onData ignores new frames from now on; sockets keep reading so that closing them
    // later does not reset the connection and lose replies still in the kernel's buffers.
    for (const c of conns) c.socket.resume();
    await Promise.all(
      conns.map(async (c) => {
        await c.tail;
        await endSocket(c.socket);
      }),
    );
    await stopped;
  }

  private refused(remoteAddress: string): void {
    this.options.onRefused?.(remoteAddress);
    this.refusedUnlogged++;
    const now = Date.now();
    if (now - this.refusedLoggedAt < REFUSED_LOG_INTERVAL_MS) return;
    log.warn({ refused: this.refusedUnlogged, limit: this.server?.maxConnections, lastRemote: remoteAddress }, 'mllp connections refused: connection limit reached');
    this.refusedLoggedAt = now;
    this.refusedUnlogged = 0;
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const conn: Connection = {
      socket,
      info: { remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0 },
      decoder: new MllpDecoder({ maxFrameBytes: this.maxBytes, oversizePrefixBytes: 64 * 1024 }),
      tail: Promise.resolve(),
      outstanding: 0,
      closed: false,
    };
    this.conns.add(conn);
    socket.setNoDelay(true);
    if (this.options.idleTimeoutMs) {
      socket.setTimeout(this.options.idleTimeoutMs, () => {
        if (conn.outstanding === 0) socket.end();
      });
    }
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (err) => log.debug({ err: err.message, remote: conn.info.remoteAddress }, 'mllp connection error'));
    socket.on('close', () => {
      conn.closed = true;
      this.conns.delete(conn);
      if (conn.decoder.inFrame) log.warn({ remote: conn.info.remoteAddress }, 'mllp connection closed mid-frame');
    });
  }

  private onData(conn: Connection, chunk: Buffer): void {
    if (this.closing) return;
    for (const event of conn.decoder.push(chunk)) {
      if (event.type === 'frame') this.enqueue(conn, () => this.handle(conn, event.payload));
      else if (event.type === 'oversize') this.enqueue(conn, async () => this.oversize(conn, event.prefix));
      else log.warn({ remote: conn.info.remoteAddress, bytes: event.bytes, reason: event.reason }, 'mllp bytes outside a frame skipped');
    }
  }

  /** Start work now; write its reply once every earlier reply on this connection is written. */
  private enqueue(conn: Connection, work: () => Promise<MllpReply | null | undefined>): void {
    this.inFlight++;
    conn.outstanding++;
    if (conn.outstanding >= this.maxInFlight) conn.socket.pause();
    const result = work();
    conn.tail = conn.tail.then(async () => {
      try {
        const reply = await result;
        if (conn.closed || reply === null) return;
        if (reply === undefined) {
          conn.closed = true;
          conn.socket.destroy();
          return;
        }
        conn.socket.write(encodeFrame(reply));
      } finally {
        this.inFlight--;
        conn.outstanding--;
        if (!this.closing && conn.outstanding < this.maxInFlight && conn.socket.isPaused()) conn.socket.resume();
      }
    }).catch((err: unknown) => log.error({ err: err instanceof Error ? err.message : 'unknown' }, 'mllp reply write failed'));
  }

  private async handle(conn: Connection, raw: Buffer): Promise<MllpReply | null | undefined> {
    try {
      return await this.options.onMessage(raw, conn.info);
    } catch (err) {
      const controlId = peekControlId(raw);
      log.error({ controlId, remote: conn.info.remoteAddress, err: err instanceof Error ? err.name : 'unknown' }, 'mllp onMessage failed');
      if (!this.options.onError) return undefined;
      try {
        return await this.options.onError(err, raw, conn.info);
      } catch {
        log.error({ controlId }, 'mllp onError failed; dropping connection');
        return undefined;
      }
    }
  }

  private oversize(conn: Connection, prefix: Buffer): MllpReply | undefined {
    log.warn({ controlId: peekControlId(prefix), remote: conn.info.remoteAddress, limit: this.maxBytes }, 'mllp frame too large');
    try {
      return this.options.onOversize?.(prefix, conn.info);
    } catch {
      return undefined;
    }
  }
}

function endSocket(socket: net.Socket, graceMs = 2000): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), graceMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end();
  });
}
