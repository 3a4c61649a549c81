// A scripted HTTP case-system endpoint, run as its own process (see http-peer.ts), so the
// destination under test talks to a real server over real TCP. Each path answers from its
// plan: steps are used in order, each `times` times; the last step repeats for ever.
// Control endpoints under /__peer/: PUT plan, GET requests, DELETE requests.
import http from 'node:http';

export interface PeerStep {
  status: number;
  times?: number;
  /** Response body: a string as is, anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering (to exceed a client timeout). */
  delayMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Body as base64 (bytes exactly as received). */
  body: string;
  /** Status answered. */
  status: number;
}

const plans = new Map<string, { steps: PeerStep[]; used: number[] }>();
const requests: RecordedRequest[] = [];

function nextStep(path: string): PeerStep {
  const plan = plans.get(path);
  if (!plan || !plan.steps.length) return { status: 200, body: { ok: true } };
  for (let i = 0; i < plan.steps.length; i++) {
    const times = plan.steps[i].times ?? 1;
    if (i === plan.steps.length - 1 || plan.used[i] < times) {
      plan.used[i]++;
      return plan.steps[i];
    }
  }
  return plan.steps[plan.steps.length - 1];
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://peer');
  const body = await readBody(req).catch(() => Buffer.alloc(0));
  if (url.pathname === '/__peer/plan' && req.method === 'PUT') {
    const update = JSON.parse(body.toString('utf8')) as Record<string, PeerStep[]>;
    for (const [path, steps] of Object.entries(update)) plans.set(path, { steps, used: steps.map(() => 0) });
    return json(res, 204, null);
  }
  if (url.pathname === '/__peer/requests') {
    if (req.method === 'DELETE') {
      requests.length = 0;
      return json(res, 204, null);
    }
    const path = url.searchParams.get('path');
    return json(res, 200, path ? requests.filter((r) => r.path === path) : requests);
  }

  const step = nextStep(url.pathname);
  requests.push({
    method: req.method ?? '',
    path: url.pathname,
    headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')])),
    body: body.toString('base64'),
    status: step.status,
  });
  if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
  if (res.destroyed) return;
  const text = step.body === undefined ? '' : typeof step.body === 'string' ? step.body : JSON.stringify(step.body);
  const type = typeof step.body === 'string' ? 'text/plain' : 'application/fhir+json';
  res.writeHead(step.status, { 'content-type': type, ...step.headers }).end(text);
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

// The parent going away (or closing our stdin) ends the peer.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
