// MLLP sender: one connection, opened on demand, messages pipelined and replies matched in
// order. A timeout or a broken connection fails every outstanding send (a late reply could
// otherwise be matched to the wrong message) and the next send reconnects.
import net from 'node:net';
import tls from 'node:tls';
import { DeliveryError } from '../../core/errors.js';
import { decodeHl7Bytes, encodeHl7Text, peekCharset } from '../hl7v2/charset.js';
import { unescapeHl7, DEFAULT_SEPARATORS, type Separators } from '../../core/hl7/escape.js';
import { MllpDecoder, encodeFrame } from './framing.js';

export interface MllpClientOptions {
  host: string;
  port: number;
  /** Time allowed for each reply, from when the message is written; default 30 s. */
  responseTimeoutMs?: number;
  connectTimeoutMs?: number;
  maxReplyBytes?: number;
  /** Connect with TLS using these options (servername, ca, cert, key …). */
  tls?: tls.ConnectionOptions;
}

interface Pending {
  resolve: (ack: string) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

export class MllpClient {
  private socket?: net.Socket;
  private connecting?: Promise<net.Socket>;
  private decoder?: MllpDecoder;
  private readonly pending: Pending[] = [];
  private closed = false;
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly options: MllpClientOptions) {}

  /**
   * Send one message and resolve with the reply text (decoded per its MSH-18). Strings are
   * encoded per their own MSH-18; pass a Buffer to send bytes unchanged.
   */
  async send(message: string | Buffer): Promise<string> {
    if (this.closed) throw new DeliveryError('MLLP client is closed', false);
    const frame = encodeFrame(typeof message === 'string' ? encodeText(message) : message);
    return new Promise<string>((resolve, reject) => {
      // Chained so frames go out in call order even while a connection is being opened.
      this.writes = this.writes.then(async () => {
        let socket: net.Socket;
        try {
          if (this.closed) throw new DeliveryError('MLLP client is closed', false);
          socket = await this.connect();
        } catch (err) {
          reject(err as Error);
          return;
        }
        const entry: Pending = { resolve, reject };
        this.pending.push(entry);
        const timeout = this.options.responseTimeoutMs ?? 30_000;
        entry.timer = setTimeout(() => {
          this.failAll(new DeliveryError(`No MLLP reply from ${this.address} within ${timeout} ms`, true));
        }, timeout);
        socket.write(frame);
      });
    });
  }

  /** Close the connection; sends still waiting for their reply fail (not retryable). */
  async close(): Promise<void> {
    this.closed = true;
    await this.writes;
    const socket = this.socket ?? (await this.connecting?.catch(() => undefined));
    this.failAll(new DeliveryError('MLLP client closed', false));
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      });
    }
  }

  private get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  private connect(): Promise<net.Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<net.Socket>((resolve, reject) => {
      const { host, port } = this.options;
      const socket = this.options.tls ? tls.connect({ host, port, ...this.options.tls }) : net.connect({ host, port });
      const ready = this.options.tls ? 'secureConnect' : 'connect';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DeliveryError(`MLLP connect to ${this.address} timed out`, true));
      }, this.options.connectTimeoutMs ?? 10_000);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new DeliveryError(`MLLP connect to ${this.address} failed: ${err.message}`, true));
      });
      socket.once(ready, () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        this.attach(socket);
        resolve(socket);
      });
    }).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private attach(socket: net.Socket): void {
    this.socket = socket;
    this.decoder = new MllpDecoder({ maxFrameBytes: this.options.maxReplyBytes ?? 10 * 1024 * 1024 });
    const decoder = this.decoder;
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      for (const event of decoder.push(chunk)) {
        if (event.type === 'frame') {
          const entry = this.pending.shift();
          if (!entry) continue; // unsolicited reply: nothing waits for it
          clearTimeout(entry.timer);
          entry.resolve(decodeHl7Bytes(event.payload).text);
        } else if (event.type === 'oversize') {
          this.failAll(new DeliveryError(`MLLP reply larger than ${event.limit} bytes`, true));
        }
      }
    });
    // Events from a socket we already gave up on must not fail sends on its successor.
    socket.on('error', (err) => {
      if (this.socket === socket) this.failAll(new DeliveryError(`MLLP connection to ${this.address} failed: ${err.message}`, true));
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.failAll(new DeliveryError(`MLLP connection to ${this.address} closed before the reply`, true));
    });
  }

  private failAll(err: Error): void {
    const entries = this.pending.splice(0);
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.reject(err);
    }
    if (entries.length > 0 && this.socket) {
      // Replies still on the way would be matched to later messages: start afresh.
      this.socket.destroy();
      this.socket = undefined;
    }
  }
}

/** Text → bytes in the character set its MSH-18 declares (UTF-8 by default). */
function encodeText(text: string): Buffer {
  return encodeHl7Text(text, peekCharset(Buffer.from(text.slice(0, 4096), 'latin1')));
}

export interface AckSummary {
  /** MSA-1, e.g. AA, AE, AR, CA; '' when there is no MSA. */
  code: string;
  /** MSA-2: the control id of the message acknowledged. */
  controlId: string;
  /** MSA-3, else ERR-8, decoded. */
  text: string;
}

/** Pull MSA-1/2/3 (and ERR-8) out of an ACK without a full parse; tolerant of odd ACKs. */
export function parseAckCode(ackText: string): AckSummary {
  const lines = ackText.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const msh = lines.find((l) => l.startsWith('MSH'));
  const fieldSep = msh?.charAt(3) || '|';
  const enc = msh?.split(fieldSep)[1] ?? '';
  const seps: Separators =
    enc.length >= 4
      ? { field: fieldSep, component: enc[0], repetition: enc[1], escape: enc[2], subcomponent: enc[3] }
      : { ...DEFAULT_SEPARATORS, field: fieldSep };
  const fieldsOf = (id: string): string[] => lines.find((l) => l.startsWith(id + fieldSep))?.split(fieldSep) ?? [];
  const first = (v: string | undefined): string => unescapeHl7((v ?? '').split(seps.component)[0], seps);
  const msa = fieldsOf('MSA');
  const err = fieldsOf('ERR');
  return { code: first(msa[1]).trim(), controlId: first(msa[2]), text: unescapeHl7(msa[3] ?? '', seps) || first(err[8]) };
}
