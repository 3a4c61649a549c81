// MLLP destination: forwards the HL7 v2 message to a downstream system and reads its ACK.
// AA/CA delivered; AE/CE "try again" (the receiver had a problem); AR/CR "never" (the
// receiver rejects this message). One pipelined client per destination, reused.
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import type { MllpDestinationConfig } from './spec.js';
import { ConfigError, DeliveryError } from '../../core/errors.js';
import type { Envelope } from '../../core/queue.js';
import type { DeliveryReport, Destination } from '../types.js';
import { MllpClient, parseAckCode, type AckSummary } from './client.js';

export type MllpDestinationOptions = Pick<MllpDestinationConfig, 'host' | 'port' | 'responseTimeoutMs' | 'connectTimeoutMs' | 'tls'>;

async function pem(file: string | undefined, what: string): Promise<Buffer | undefined> {
  if (!file) return undefined;
  try {
    return await readFile(file);
  } catch (err) {
    throw new ConfigError(`MLLP destination ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** node:tls options from the channel's file names; read once at open(). */
export async function tlsOptions(tls: MllpDestinationOptions['tls']): Promise<ConnectionOptions | undefined> {
  if (!tls) return undefined;
  return {
    ca: await pem(tls.caFile, 'caFile'),
    cert: await pem(tls.certFile, 'certFile'),
    key: await pem(tls.keyFile, 'keyFile'),
    servername: tls.servername,
  };
}

const MAX_TEXT = 200;

/** ACK code and MSA-3/ERR-8 text, cut short: enough to act on, little room for content. */
function describeAck(ack: AckSummary): string {
  const text = ack.text.replace(/\s+/g, ' ').trim();
  const short = text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
  return short ? `${ack.code} (${short})` : ack.code;
}

/** The verdict on one ACK for the message with control id `controlId`; resolves nothing, throws on failure. */
export function checkAck(ack: AckSummary, controlId: string | undefined, target: string): void {
  if (!ack.code) throw new DeliveryError(`${target}: reply has no MSA acknowledgment code`, true);
  // Replies are matched by position; an ACK for another message means the peer is confused.
  if (controlId && ack.controlId && ack.controlId !== controlId) {
    throw new DeliveryError(`${target}: ACK is for control id ${ack.controlId}, not ${controlId}`, true);
  }
  switch (ack.code) {
    case 'AA':
    case 'CA':
      return;
    case 'AE':
    case 'CE':
      throw new DeliveryError(`${target}: ACK ${describeAck(ack)}`, true, { ack: ack.code });
    case 'AR':
    case 'CR':
      throw new DeliveryError(`${target}: ACK ${describeAck(ack)}`, false, { ack: ack.code });
    default:
      throw new DeliveryError(`${target}: unknown ACK code ${JSON.stringify(ack.code.slice(0, 8))}`, true);
  }
}

export class MllpDestination implements Destination {
  private client?: MllpClient;
  private readonly target: string;

  constructor(private readonly config: MllpDestinationOptions) {
    this.target = `MLLP ${config.host}:${config.port}`;
  }

  async open(): Promise<void> {
    // Connects on the first send, so a downstream that is down does not stop the engine.
    this.client = new MllpClient({
      host: this.config.host,
      port: this.config.port,
      responseTimeoutMs: this.config.responseTimeoutMs,
      connectTimeoutMs: this.config.connectTimeoutMs,
      tls: await tlsOptions(this.config.tls),
    });
  }

  /** Reports the ACK as the response; what was sent is the message itself. */
  async deliver(envelope: Envelope): Promise<DeliveryReport> {
    if (!this.client) throw new Error('MLLP destination used before open()');
    const reply = await this.client.send(envelope.body);
    checkAck(parseAckCode(reply), envelope.headers.controlId, this.target);
    return { response: reply };
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close();
  }
}
