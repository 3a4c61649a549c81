// What every page module is handed.
import type { Request, Response } from 'express';
import type { EngineFacade } from '../../api/facade.js';
import type { AuditSink } from '../../http/request-audit.js';
import { locals, type Refusals } from '../access.js';
import type { PageContext, Renderer } from '../render.js';

export interface PageDeps {
  engine: EngineFacade;
  renderer: Renderer;
  refusals: Refusals;
  https: boolean;
  /** The request audit (console requests that write their own entry). */
  audit: AuditSink;
}

export function pageContext(deps: Pick<PageDeps, 'https'>, req: Request, res: Response): PageContext {
  return { session: locals(res).session, path: req.path, https: deps.https };
}

/** A one-off message for the next page the session sees ("Message queued again"). */
export function takeFlash(res: Response): { kind: 'success' | 'info'; text: string } | undefined {
  const session = locals(res).session;
  const flash = session?.flash;
  if (session) session.flash = undefined;
  return flash;
}

/** Items for a GOV.UK select of search filters: "any" first, then each value, the chosen one selected. */
export function selectItems(values: readonly string[], selected: string, anyText: string) {
  return [{ value: '', text: anyText }, ...values.map((v) => ({ value: v, text: v, selected: v === selected }))];
}
