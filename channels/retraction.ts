// Retraction: when records already sent are withdrawn or sealed, the resources published
// for them must come out of the shared care record. We compare the bundle last sent for the
// person with the one built now (without the excluded rows): every conditional entry in the
// old bundle that the new one no longer has is retracted. With no new bundle (everything
// excluded) the whole previous bundle is retracted.

export interface Retraction {
  mode: 'entered-in-error' | 'delete';
  /** Conditional references such as `EpisodeOfCare?identifier=https://…|EV123`. */
  references: string[];
}

interface BundleLike {
  entry?: { request?: { method?: string; url?: string } }[];
}

/** The conditional-upsert URLs of a transaction bundle's entries. */
export function conditionalUrls(bundle: unknown): string[] {
  const entries = (bundle as BundleLike | undefined)?.entry ?? [];
  return entries
    .filter((e) => e.request?.method === 'PUT' && e.request.url?.includes('?'))
    .map((e) => e.request!.url!);
}

/** Reference data other people's records point at too: never retracted with one person. */
const SHARED_TYPES = new Set(['Organization', 'Practitioner', 'PractitionerRole', 'Location', 'HealthcareService']);

export function retractionFor(previous: unknown, next: unknown, mode: Retraction['mode']): Retraction {
  const keep = new Set(conditionalUrls(next));
  const references = conditionalUrls(previous).filter((u) => !keep.has(u) && !SHARED_TYPES.has(u.slice(0, u.indexOf('?'))));
  // Retract dependants before the resources they point to (Patient last).
  references.sort((a, b) => Number(a.startsWith('Patient?')) - Number(b.startsWith('Patient?')));
  return { mode, references };
}
