// MLLP framing (HL7 v2 MLLP release 2 transport): <VT> payload <FS><CR>. TCP delivers bytes
// in arbitrary chunks, so the decoder is incremental: frames may be split across chunks or
// several may arrive in one. Bytes outside a frame are junk and skipped; a frame longer than
// the limit is reported once and the rest of it discarded, so memory stays bounded.

export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;

export type FrameEvent =
  | { type: 'frame'; payload: Buffer }
  /** The frame exceeded maxFrameBytes; `prefix` holds its first bytes (enough for MSH). */
  | { type: 'oversize'; prefix: Buffer; limit: number }
  /** Bytes seen outside a frame, or a frame cut short by a new start block. */
  | { type: 'junk'; bytes: number; reason: 'outside-frame' | 'truncated-frame' };

export interface DecoderOptions {
  maxFrameBytes: number;
  /** How much of an oversize frame to keep for building the reply; default 64 KiB. */
  oversizePrefixBytes?: number;
}

type State = 'idle' | 'frame' | 'expectCr' | 'discard';

export function encodeFrame(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const out = Buffer.allocUnsafe(body.length + 3);
  out[0] = VT;
  body.copy(out, 1);
  out[body.length + 1] = FS;
  out[body.length + 2] = CR;
  return out;
}

export class MllpDecoder {
  private state: State = 'idle';
  private parts: Buffer[] = [];
  private size = 0;
  private junk = 0;
  private readonly prefixBytes: number;

  constructor(private readonly options: DecoderOptions) {
    this.prefixBytes = Math.min(options.oversizePrefixBytes ?? 64 * 1024, options.maxFrameBytes);
  }

  /** Bytes of an unfinished frame currently buffered. */
  get buffered(): number {
    return this.size;
  }

  /** True when a frame has started but not ended (e.g. the peer closed mid-frame). */
  get inFrame(): boolean {
    return this.state === 'frame' || this.state === 'discard';
  }

  /** Feed one chunk; returns the events it completes, in order. */
  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'expectCr':
          // FS is normally followed by CR (possibly in the next chunk); tolerate its absence.
          if (chunk[i] === CR) i++;
          this.state = 'idle';
          break;
        case 'idle': {
          const start = chunk.indexOf(VT, i);
          if (start < 0) {
            this.junk += chunk.length - i;
            i = chunk.length;
          } else {
            this.junk += start - i;
            this.flushJunk(events);
            this.state = 'frame';
            i = start + 1;
          }
          break;
        }
        case 'frame': {
          const end = chunk.indexOf(FS, i);
          const stop = end < 0 ? chunk.length : end;
          const restart = chunk.indexOf(VT, i);
          if (restart >= 0 && restart < stop) {
            // A new start block inside a frame: the sender gave up on the previous frame.
            events.push({ type: 'junk', bytes: this.size + (restart - i) + 1, reason: 'truncated-frame' });
            this.reset();
            i = restart + 1;
            break;
          }
          if (!this.append(chunk, i, stop, events)) {
            this.state = 'discard';
            i = stop;
          } else if (end < 0) {
            i = chunk.length;
          } else {
            events.push({ type: 'frame', payload: this.take() });
            this.state = 'expectCr';
            i = end + 1;
          }
          break;
        }
        case 'discard': {
          const end = chunk.indexOf(FS, i);
          if (end < 0) {
            i = chunk.length;
          } else {
            this.state = 'expectCr';
            i = end + 1;
          }
          break;
        }
      }
    }
    if (this.state === 'idle') this.flushJunk(events);
    return events;
  }

  /** Append bytes; false when the limit was crossed (oversize reported, now discarding). */
  private append(chunk: Buffer, from: number, to: number, events: FrameEvent[]): boolean {
    if (to <= from) return true;
    const n = to - from;
    if (this.size + n > this.options.maxFrameBytes) {
      const keep = Math.max(0, Math.min(n, this.prefixBytes - this.size));
      if (keep > 0) this.parts.push(chunk.subarray(from, from + keep));
      const prefix = Buffer.concat(this.parts).subarray(0, this.prefixBytes);
      events.push({ type: 'oversize', prefix, limit: this.options.maxFrameBytes });
      this.reset();
      return false;
    }
    // Copy: the socket may reuse its buffers, and views would pin large chunks.
    this.parts.push(Buffer.from(chunk.subarray(from, to)));
    this.size += n;
    return true;
  }

  private take(): Buffer {
    const payload = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return payload;
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
  }

  private flushJunk(events: FrameEvent[]): void {
    if (this.junk > 0) events.push({ type: 'junk', bytes: this.junk, reason: 'outside-frame' });
    this.junk = 0;
  }
}
