// HTTP record source: `POST /inbound/<channel>` with one JSON record or an array of them.
// Answers 202 with the batch report (rows rejected by row, field and reason; counts of
// excluded and queued); problems with the request itself get a FHIR OperationOutcome.
import express, { type RequestHandler, type Response, type Router } from 'express';

import { bodyErrorDetail, verifyJsonDepth } from './request-checks.js';
import type { BatchReport } from '../../core/records.js';

export interface InboundIntake {
  ingest(records: unknown[], origin: { source: string; firstRow?: number }): Promise<BatchReport>;
}

export interface InboundOptions {
  /** The record intake of an HTTP-source channel, with its record limit; undefined if none. */
  intakeFor(channelId: string): { intake: InboundIntake; maxRecords: number } | undefined;
  /** Authentication/permission guards run before the body is read. */
  guards?: RequestHandler[];
  /** Largest request body (default 10 MB). */
  maxBodyBytes?: number;
}

function outcome(res: Response, status: number, code: string, diagnostics: string): void {
  res
    .status(status)
    .type('application/fhir+json')
    .json({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] });
}

export function createInboundRouter(options: InboundOptions): Router {
  const router = express.Router();
  const json = express.json({ limit: options.maxBodyBytes ?? 10 * 1024 * 1024, type: ['application/json', 'application/*+json'], verify: verifyJsonDepth });
  router.post('/:channel', ...(options.guards ?? []), (req, res, next) => {
    if (!options.intakeFor(String(req.params.channel))) return outcome(res, 404, 'not-found', `no HTTP-source channel "${req.params.channel}"`);
    if (!req.is(['application/json', 'application/*+json'])) return outcome(res, 415, 'not-supported', 'send JSON (Content-Type: application/json)');
    json(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { type?: string; status?: number };
      if (e.type === 'entity.too.large') return outcome(res, 413, 'too-long', 'request body too large');
      return outcome(res, 400, 'structure', bodyErrorDetail(e));
    });
  }, async (req, res) => {
    const target = options.intakeFor(String(req.params.channel))!;
    const body: unknown = req.body;
    const records = Array.isArray(body) ? body : [body];
    if (!records.length) return outcome(res, 400, 'required', 'no records in the request');
    if (records.length > target.maxRecords) return outcome(res, 413, 'too-long', `at most ${target.maxRecords} records per request`);
    try {
      const report = await target.intake.ingest(records, { source: 'http' });
      if (report.accepted === 0 && report.rejected.length) {
        res.status(422).type('application/fhir+json').json({
          resourceType: 'OperationOutcome',
          issue: report.rejected.map((p) => ({ severity: 'error', code: 'invalid', diagnostics: `record ${p.row}: ${p.field} ${p.reason}`, expression: [`record[${p.row - 1}].${p.field}`] })),
        });
        return;
      }
      res.status(202).json(report);
    } catch {
      outcome(res, 503, 'transient', 'records could not be stored; send again later');
    }
  });
  return router;
}
