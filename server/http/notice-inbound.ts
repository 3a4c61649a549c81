// HTTP transport for ADW notices: `POST /inbound/<channel>/notices` with one FHIR message Bundle
// (XML or JSON by Content-Type) to a channel with a `notices` block. Answered once the message
// is stored, with the infrastructure outcome as a FHIR OperationOutcome: 201 for a new notice or
// answer, 200 for a repeat (says duplicate), 422 with one issue per problem (path and reason)
// for a message that fails the checks (it is stored as rejected), 413 when too large.
import { randomUUID } from 'node:crypto';
import express, { type RequestHandler, type Response, type Router } from 'express';
import type { NoticeIntake, NoticeOutcome } from '../../channels/notice-intake.js';
import type { Principal } from '../auth/roles.js';

export interface NoticeInboundOptions {
  /** The notice intake and its size limit for a running channel with a `notices` block. */
  intakeFor(channelId: string): { intake: Pick<NoticeIntake, 'take'>; maxBytes: number } | undefined;
  guards?: RequestHandler[];
}

const XML = ['application/fhir+xml', 'application/xml', 'text/xml'];
const JSON_TYPES = ['application/fhir+json', 'application/json'];

function outcome(res: Response, status: number, issues: { severity: string; code: string; diagnostics: string; location?: string[] }[]): void {
  res.status(status).type('application/fhir+json').json({ resourceType: 'OperationOutcome', issue: issues });
}

function answer(res: Response, o: NoticeOutcome): void {
  res.setHeader('x-tramline-message-id', o.messageId);
  if (o.kind === 'rejected') {
    if (o.duplicate) res.setHeader('x-tramline-duplicate', 'true');
    return outcome(
      res,
      422,
      o.issues.map((i) => ({ severity: 'error', code: i.path.endsWith('event.code') ? 'not-supported' : i.path ? 'invalid' : 'structure', diagnostics: i.reason, ...(i.path ? { location: [i.path] } : {}) })),
    );
  }
  const what = o.kind === 'notice' ? `${o.notice.type} notice ${o.notice.id}` : `response to ${o.answers ?? 'an unknown notice'}${o.correlated ? '' : ' (no such notice here)'}`;
  outcome(res, o.duplicate ? 200 : 201, [
    { severity: 'information', code: o.duplicate ? 'duplicate' : 'informational', diagnostics: o.duplicate ? `duplicate: ${what} was already received as message ${o.messageId}; not processed again` : `stored: ${what} as message ${o.messageId}` },
  ]);
}

export function createNoticeInboundRouter(options: NoticeInboundOptions): Router {
  const router = express.Router();
  router.post('/:channel/notices', ...(options.guards ?? []), (req, res, next) => {
    const target = options.intakeFor(String(req.params.channel));
    if (!target) return outcome(res, 404, [{ severity: 'error', code: 'not-found', diagnostics: `no running notice channel "${req.params.channel}"` }]);
    if (!req.is([...XML, ...JSON_TYPES])) return outcome(res, 415, [{ severity: 'error', code: 'not-supported', diagnostics: 'send a FHIR message Bundle as application/fhir+xml or application/fhir+json' }]);
    express.raw({ type: () => true, limit: target.maxBytes })(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { type?: string };
      if (e.type === 'entity.too.large') return outcome(res, 413, [{ severity: 'error', code: 'too-long', diagnostics: `message larger than ${target.maxBytes} bytes` }]);
      return outcome(res, 400, [{ severity: 'error', code: 'structure', diagnostics: 'the request body could not be read' }]);
    });
  }, async (req, res) => {
    const target = options.intakeFor(String(req.params.channel))!;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!body.length) return outcome(res, 400, [{ severity: 'error', code: 'required', diagnostics: 'empty request body' }]);
    const principal = res.locals.principal as Principal | undefined;
    try {
      const result = await target.intake.take({ body, sender: `http:${principal?.id ?? 'unknown'}`, transportId: `http:${randomUUID()}`, transport: 'http' });
      answer(res, result);
    } catch {
      outcome(res, 503, [{ severity: 'error', code: 'transient', diagnostics: 'the message could not be stored; send it again later' }]);
    }
  });
  return router;
}
