// A person's shared care record: the patient banner, then social care, hospital and a timeline
// of both. Opens only with a purpose stated for this person in this session (else the purpose
// page); each view is written to the audit trail (`viewer.read`, with purpose and any
// break-glass reason) before the record leaves the engine.
import express, { type Router } from 'express';
import { log } from '../../../core/logger.js';
import { recordView } from '../../audit/views.js';
import { locals, page } from '../../console/access.js';
import { PURPOSES } from '../purpose.js';
import { dataOf, PERSON_ID, recordFailed, unavailable, viewerContext, viewerState, withinTime, type ViewerDeps } from './context.js';
import { VIEWER_PAGES } from './table.js';
import type { PersonRecord } from '../model.js';
import type { StatedPurpose } from '../session-state.js';

export const RECORD_TEMPLATE = 'record.njk';

/** What record.njk is given for a person's record (also what the viewer benchmark renders). */
export function recordPageData(id: string, record: PersonRecord, stated: StatedPurpose): Record<string, unknown> {
  const hospital = record.hospital.encounters;
  const social = record.socialCare;
  const socialProblems = record.problems.filter((p) => p.area === 'social care');
  const hospitalProblems = record.problems.filter((p) => p.area === 'hospital');
  return {
    title: record.banner.name,
    id,
    record,
    stated,
    statedText: PURPOSES.find((p) => p.value === stated.choice)?.text ?? stated.purpose,
    currentServices: social.services.filter((s) => s.current),
    pastServices: social.services.filter((s) => !s.current),
    // Split here, not in the template: Nunjucks 3's selectattr takes no test, so it cannot filter by value.
    socialProblems,
    hospitalProblems,
    socialCareEmpty: !social.services.length && !social.events.length && !social.allocated.length && !social.carers.length && !socialProblems.length,
    hospitalEmpty: !hospital.length && !hospitalProblems.length,
  };
}

export function recordRouter(deps: ViewerDeps): Router {
  const router = express.Router();

  router.get(VIEWER_PAGES.record.path, page(VIEWER_PAGES.record, deps.refusals), async (req, res, next) => {
    const l = locals(res);
    const id = String(req.params.id);
    if (!PERSON_ID.test(id)) {
      return deps.renderer.page(res, viewerContext(deps, res), 'error.njk', { title: 'Page not found', paragraphs: ['If you typed the web address, check it is correct.'], findAgain: true }, 404);
    }
    const state = viewerState(res);
    const stated = state.purposes.get(id);
    if (!stated) return res.redirect(303, `/viewer/people/${encodeURIComponent(id)}/purpose`);
    const view = { principal: l.principal!, purpose: stated.purpose, breakGlass: stated.breakGlass, sourceIp: req.ip ?? req.socket.remoteAddress, section: 'record' };
    const known = state.shown.get(id)?.nhsNumber ?? `Patient/${id}`;
    let record;
    try {
      record = await withinTime(deps, () => dataOf(deps).record(id));
    } catch (err) {
      const reason = recordFailed(err);
      if (!reason) return next(err);
      log.warn({ reason, detail: (err as Error).message }, 'viewer record failed');
      l.audited = false;
      await recordView(deps.trail, { ...view, patient: known, outcome: 'failure', reason });
      return unavailable(deps, req, res);
    }
    l.audited = false;
    if (!record) {
      await recordView(deps.trail, { ...view, patient: known, outcome: 'failure', reason: 'no such person' });
      return deps.renderer.page(res, viewerContext(deps, res), 'error.njk', {
        title: 'No record found',
        paragraphs: ['The shared care record has nothing for this person. Their record may have been withdrawn or merged with another.'],
        findAgain: true,
      }, 404);
    }
    await recordView(deps.trail, { ...view, patient: record.banner.nhsNumber ?? known });
    deps.renderer.page(res, viewerContext(deps, res), RECORD_TEMPLATE, recordPageData(id, record, stated));
  });

  return router;
}
