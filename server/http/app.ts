// The engine's HTTP face. Health endpoints are open (load balancers and orchestrators probe
// them); everything else is mounted behind authentication as it is added.
import express, { type Express } from 'express';

export interface HealthSource {
  /** Null when ready, otherwise why not (e.g. "queue disconnected"). */
  notReadyReason(): string | null;
}

export function createApp(health: HealthSource): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const reason = health.notReadyReason();
    if (reason) res.status(503).json({ status: 'not ready', reason });
    else res.json({ status: 'ready' });
  });
  return app;
}
