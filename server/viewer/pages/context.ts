// What every viewer page module is handed, and what they share: the session's viewer state,
// the NHS.UK refusal and error pages, and a time limit on the shared care record.
import type { Request, Response } from 'express';
import type { AuditWriter } from '../../audit/trail.js';
import { locals, type Refusals } from '../../console/access.js';
import { RecordRequestError, RecordUnavailableError, type ViewerData } from '../model.js';
import type { ViewerRenderer } from '../render.js';
import { MAX_PURPOSES, type StatedPurpose, type ViewerSessionState } from '../session-state.js';

export interface ViewerDeps {
  /** The shared care record (record.ts); absent: the viewer answers that it is not available. */
  data?: ViewerData;
  /** Searches and record views are appended (durable) before the page answers. */
  trail: AuditWriter;
  renderer: ViewerRenderer;
  refusals: Refusals;
  https: boolean;
  /** How long a search or record may take before the page says the record is unavailable. */
  timeoutMs: number;
}

export function viewerContext(deps: Pick<ViewerDeps, 'https'>, res: Response) {
  return { session: locals(res).session, https: deps.https };
}

/** The session's viewer state (created on first use). Only signed-in sessions reach the pages. */
export function viewerState(res: Response): ViewerSessionState {
  const session = locals(res).session!;
  session.viewer ??= { purposes: new Map(), shown: new Map() };
  return session.viewer;
}

export function rememberPurpose(res: Response, personId: string, stated: StatedPurpose): void {
  const { purposes } = viewerState(res);
  purposes.delete(personId);
  purposes.set(personId, stated);
  while (purposes.size > MAX_PURPOSES) purposes.delete(purposes.keys().next().value!);
}

/** A person id as the record module makes them (FHIR ids, possibly several joined). */
export const PERSON_ID = /^[A-Za-z0-9._,:+-]{1,2000}$/;

/** The shared care record's answer, or RecordUnavailableError once `timeoutMs` has passed. */
export async function withinTime<T>(deps: Pick<ViewerDeps, 'timeoutMs'>, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RecordUnavailableError(`no answer within ${deps.timeoutMs} ms`)), deps.timeoutMs);
  });
  try {
    return await Promise.race([work(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The data source, or RecordUnavailableError when the engine has none. */
export function dataOf(deps: Pick<ViewerDeps, 'data'>): ViewerData {
  if (!deps.data) throw new RecordUnavailableError('no shared care record is configured for the viewer');
  return deps.data;
}

/**
 * The shared care record could not answer: unreachable, too slow, a server error — or it refused
 * the viewer's request (RecordRequestError: its configuration, not the clinician's doing).
 * Either way the clinician is told the record is not available, and the reason is logged.
 */
export function recordFailed(err: unknown): string | undefined {
  if (err instanceof RecordUnavailableError) return 'shared care record unavailable';
  if (err instanceof RecordRequestError) return 'shared care record refused the request';
  return undefined;
}

/** The 503 page: the shared care record could not be reached (never a stack trace). */
export function unavailable(deps: ViewerDeps, req: Request, res: Response): void {
  deps.renderer.page(res, viewerContext(deps, res), 'error.njk', {
    title: 'Sorry, the shared care record is not available',
    paragraphs: [
      'The shared care record could not be reached, so no one could be searched for and no record could be shown.',
      'Try again in a few minutes. If you need information about a person urgently, contact their GP practice, hospital ward or social care team directly.',
    ],
    retry: req.method === 'GET' ? req.originalUrl : '/viewer',
  }, 503);
}
