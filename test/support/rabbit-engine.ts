// Engine end-to-end helpers for RabbitMQ runs: a channel with a PostgreSQL case inbox and an
// HTTP destination (a peer process that records arrival order), and senders that keep each
// patient on one connection so arrival order per patient is the send order.
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import type { HttpPeer } from './http-peer.js';
import { adt } from './hl7.js';

export function rabbitChannelYaml(port: number, caseDbUrl: string, peerUrl: string): string {
  return `id: adt-rabbit
source:
  type: mllp
  host: 127.0.0.1
  port: ${port}
destinations:
  - name: inbox
    type: case-inbox
    database: ${caseDbUrl}
    concurrency: 32
    retry: { maxAttempts: 20, initialDelayMs: 100, maxDelayMs: 2000 }
  - name: case-api
    type: http
    url: ${peerUrl}/adt
    headers: { X-Engine: "\${ENGINE_NAME:-engine}" }
    concurrency: 32
    retry: { maxAttempts: 20, initialDelayMs: 100, maxDelayMs: 2000 }
`;
}

/** Control ids encode patient and sequence: `P<patient>S<seq>`. */
export const controlIdOf = (patient: number, seq: number): string => `P${patient}S${seq}`;

export interface SendResult {
  acked: Set<string>;
  failed: string[];
}

/**
 * Send `perPatient` messages for each of `patients` people over `senders` connections; each
 * patient stays on one connection, messages pipelined. `onAck` sees every AA (to kill mid-stream).
 */
export async function sendPatients(port: number, o: { patients: number; perPatient: number; senders: number; onAck?: (count: number) => void; firstPatient?: number }): Promise<SendResult> {
  const acked = new Set<string>();
  const failed: string[] = [];
  const clients = Array.from({ length: o.senders }, () => new MllpClient({ host: '127.0.0.1', port, responseTimeoutMs: 20000 }));
  try {
    await Promise.all(
      clients.map(async (client, s) => {
        // A window of messages in flight per connection, like a real sender: enough to
        // pipeline, not so many that the last one's ACK timer runs out while it queues.
        let window: Promise<void>[] = [];
        for (let seq = 0; seq < o.perPatient; seq++) {
          for (let p = (o.firstPatient ?? 0) + s; p < (o.firstPatient ?? 0) + o.patients; p += o.senders) {
            const id = controlIdOf(p, seq);
            window.push(
              client.send(adt({ controlId: id, mrn: `MRN${p}` })).then(
                (ack) => {
                  if (parseAckCode(ack).code === 'AA') {
                    acked.add(id);
                    o.onAck?.(acked.size);
                  } else failed.push(id);
                },
                () => void failed.push(id),
              ),
            );
            if (window.length >= 32) {
              await Promise.all(window);
              window = [];
            }
          }
        }
        await Promise.all(window);
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  return { acked, failed };
}

/** Per patient, the sequence numbers in the order the HTTP peer first received them. */
export async function arrivalOrder(peer: HttpPeer): Promise<Map<string, number[]>> {
  const order = new Map<string, number[]>();
  const seen = new Set<string>();
  for (const r of await peer.requests('/adt')) {
    if (r.status !== 200) continue;
    const doc = JSON.parse(Buffer.from(r.body, 'base64').toString('utf8')) as { controlId: string; hl7: string };
    if (seen.has(doc.controlId)) continue;
    seen.add(doc.controlId);
    const mrn = parseHl7(doc.hl7).get('PID-3[1].1') ?? '?';
    const seq = Number(/S(\d+)$/.exec(doc.controlId)?.[1]);
    const list = order.get(mrn) ?? [];
    list.push(seq);
    order.set(mrn, list);
  }
  return order;
}
