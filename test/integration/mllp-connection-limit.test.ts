// A flood of idle MLLP connections against the real engine process, run under a small file
// descriptor limit: without a per-listener cap the listener takes every descriptor and HTTP
// stops answering. With it, surplus connections are closed, /healthz answers, idle
// connections are closed after idleTimeoutMs, and new senders are served.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import net from 'node:net';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { encodeFrame, MllpDecoder } from '../../adapters/mllp/framing.js';
import { eventually, killAllEngines, prepareEngine, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { adt } from '../support/hl7.js';

const MAX_CONNECTIONS = 50;
const IDLE_MS = 5000;
// Well above what the engine needs for itself plus MAX_CONNECTIONS, well below the flood. The
// compiled engine's start-up alone needs some 300 at once (Node reads the files of the module
// graph side by side), so 256 would stop it before it listens.
const MAX_OPEN_FILES = 512;
const FLOOD = 800;

interface Peer {
  socket: net.Socket;
  closed: boolean;
  closedAt?: number;
  replies: string[];
}

function connect(port: number): Promise<Peer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const peer: Peer = { socket, closed: false, replies: [] };
    const decoder = new MllpDecoder({ maxFrameBytes: 1 << 20 });
    socket.on('data', (c: Buffer) => {
      for (const e of decoder.push(c)) if (e.type === 'frame') peer.replies.push(e.payload.toString('utf8'));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      peer.closed = true;
      peer.closedAt = Date.now();
      resolve(peer);
    });
    socket.on('connect', () => resolve(peer));
  });
}

describe('MLLP connection limit and idle timeout (engine process)', () => {
  let e: EngineEnv;
  let engine: EngineProcess;
  const peers: Peer[] = [];

  beforeAll(async () => {
    e = await prepareEngine({
      channelYaml: (port) => `id: adt-in
source:
  type: mllp
  host: 127.0.0.1
  port: ${port}
  maxConnections: ${MAX_CONNECTIONS}
  idleTimeoutMs: ${IDLE_MS}
destinations:
  - name: files
    type: file
    directory: ./out
`,
    });
    engine = await startEngine(e, 60000, { maxOpenFiles: MAX_OPEN_FILES });
  });

  afterAll(async () => {
    for (const p of peers) p.socket.destroy();
    await killAllEngines();
  });

  test('surplus connections are closed, HTTP answers, idle ones time out, new senders are served', async () => {
    for (let i = 0; i < FLOOD; i += 50) peers.push(...(await Promise.all(Array.from({ length: 50 }, () => connect(e.mllpPort)))));
    // With every descriptor taken, HTTP could not accept: it must still answer.
    const health = await fetch(`http://127.0.0.1:${e.httpPort}/healthz`, { signal: AbortSignal.timeout(5000) });
    expect(health.status).toBe(200);
    const open = await eventually(async () => {
      const stillOpen = peers.filter((p) => !p.closed);
      return stillOpen.length <= MAX_CONNECTIONS ? stillOpen : undefined;
      // Well before the idle timeout could be what closed them.
    }, IDLE_MS / 2, 'surplus connections closed');
    expect(open).toHaveLength(MAX_CONNECTIONS);

    // A connection within the cap is served.
    const sentAt = Date.now();
    open[0].socket.write(encodeFrame(adt({ controlId: 'KEPT1' })));
    await eventually(async () => open[0].replies.length === 1, 10000, 'ACK on a kept connection');
    expect(parseAckCode(open[0].replies[0])).toMatchObject({ code: 'AA', controlId: 'KEPT1' });

    // Idle connections are closed by the engine after idleTimeoutMs, not before.
    await eventually(async () => open.every((p) => p.closed), IDLE_MS + 10000, 'idle connections closed');
    expect(open[0].closedAt! - sentAt).toBeGreaterThanOrEqual(IDLE_MS - 200);

    const client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 10000 });
    try {
      expect(parseAckCode(await client.send(adt({ controlId: 'AFTER1' })))).toMatchObject({ code: 'AA', controlId: 'AFTER1' });
    } finally {
      await client.close();
    }
    const logs = engine.output();
    expect(logs).toContain('mllp connections refused: connection limit reached');
    expect(logs).not.toContain('TESTPERSON');
  });
});
