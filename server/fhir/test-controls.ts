// Test controls for the standalone sandbox (standalone.ts with FHIR_SANDBOX_CONTROL=1 only,
// never in the engine): scripted failures ("503 three times, then behave"), a record of what
// the server received, and the bearer tokens it accepts — driven over /__sandbox/.
import express, { type RequestHandler, type Router } from 'express';

export interface FaultStep {
  /** Answer with this status instead of handling the request; absent: only delay, then handle. */
  status?: number;
  /** How many matching requests this step answers (default 1). */
  times?: number;
  method?: string;
  /** Regular expression tested against the path below /fhir, e.g. `^/$` for transactions. */
  path?: string;
  delayMs?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ReceivedRequest {
  method: string;
  /** Path below /fhir with its query, e.g. `/` or `/EpisodeOfCare?identifier=…`. */
  url: string;
  status: number;
  authorization?: string;
  /** Parsed JSON body (null when a scripted fault answered before it was read). */
  body: unknown;
}

export class SandboxControls {
  private steps: { step: FaultStep; left: number }[] = [];
  readonly received: ReceivedRequest[] = [];
  /** Accepted bearer tokens; empty: no authentication. */
  tokens = new Set<string>();

  /** First middleware under /fhir: records, then answers scripted faults. */
  readonly faults: RequestHandler = (req, res, next) => {
    const url = req.url;
    res.on('finish', () => {
      this.received.push({ method: req.method, url, status: res.statusCode, authorization: req.get('authorization'), body: (req.body as unknown) ?? null });
    });
    const found = this.steps.find((s) => s.left > 0 && (!s.step.method || s.step.method === req.method) && (!s.step.path || new RegExp(s.step.path).test(req.path)));
    if (!found) return next();
    found.left--;
    const { status, delayMs, body, headers } = found.step;
    const answer = () => {
      if (res.destroyed) return;
      if (status === undefined) return next();
      res.status(status).set(headers ?? {});
      if (body === undefined) res.end();
      else res.set('content-type', typeof body === 'string' ? 'text/plain' : 'application/fhir+json').send(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (delayMs) setTimeout(answer, delayMs);
    else answer();
  };

  readonly auth: RequestHandler = (req, res, next) => {
    if (!this.tokens.size) return next();
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (match && this.tokens.has(match[1])) return next();
    res
      .status(401)
      .set('www-authenticate', 'Bearer')
      .set('content-type', 'application/fhir+json')
      .send(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: 'bearer token required' }] }));
  };

  router(): Router {
    const r = express.Router();
    r.use(express.json());
    r.put('/faults', (req, res) => {
      this.steps = (req.body as FaultStep[]).map((step) => ({ step, left: step.times ?? 1 }));
      res.status(204).end();
    });
    r.get('/requests', (_req, res) => {
      res.json(this.received);
    });
    r.delete('/requests', (_req, res) => {
      this.received.length = 0;
      res.status(204).end();
    });
    r.put('/tokens', (req, res) => {
      this.tokens = new Set(req.body as string[]);
      res.status(204).end();
    });
    return r;
  }
}
