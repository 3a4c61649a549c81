// What the viewer keeps in a signed-in session (server/console/sessions.ts holds it, in the
// engine's memory like the rest of the session): the purpose stated for each person whose record
// was opened, and the people the last search showed (to name them on the purpose page).
import type { PersonSummary } from './model.js';

export interface StatedPurpose {
  /** Which choice (purpose.ts PURPOSES[].value). */
  choice: string;
  /** Purpose of use as the audit trail records it, e.g. `direct care`. */
  purpose: string;
  /** The reason given for break-glass access. */
  breakGlass?: string;
}

export interface ViewerSessionState {
  /** Person id → purpose stated for them; kept until sign-out. */
  purposes: Map<string, StatedPurpose>;
  /** Person id → how the last search showed them. */
  shown: Map<string, PersonSummary>;
}

/** At most this many people's purposes per session (the oldest is forgotten first). */
export const MAX_PURPOSES = 200;
