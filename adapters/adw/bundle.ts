// Reading a parsed ADW Bundle: its entries, references between them, and small typed getters
// over DSTU2 JSON. Shared by the checks, the notice and the responses.
import type { Json, JsonObject } from './fhir-dstu2.js';

export function isObject(v: Json | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function list(v: Json | undefined): Json[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

export function objects(v: Json | undefined): JsonObject[] {
  return list(v).filter(isObject);
}

export interface Entry {
  index: number;
  fullUrl?: string;
  resource: JsonObject;
}

export function entries(bundle: JsonObject): Entry[] {
  return objects(bundle.entry).flatMap((e, index) =>
    isObject(e.resource) ? [{ index, fullUrl: str(e.fullUrl), resource: e.resource }] : [],
  );
}

export function ofType(bundle: JsonObject, type: string): Entry[] {
  return entries(bundle).filter((e) => e.resource.resourceType === type);
}

/** The entry a Reference points at: by fullUrl (urn:uuid:…), or by Type/id. */
export function resolve(bundle: JsonObject, ref: Json | undefined): Entry | undefined {
  const reference = isObject(ref) ? str(ref.reference) : undefined;
  if (!reference) return undefined;
  return entries(bundle).find(
    (e) => e.fullUrl === reference || `${String(e.resource.resourceType)}/${String(e.resource.id)}` === reference,
  );
}

export function messageHeader(bundle: JsonObject): JsonObject | undefined {
  const first = entries(bundle)[0];
  return first?.resource.resourceType === 'MessageHeader' ? first.resource : undefined;
}

/** The ReferralRequest the MessageHeader's data points at, else the first in the Bundle. */
export function referralRequest(bundle: JsonObject): Entry | undefined {
  const header = messageHeader(bundle);
  for (const d of list(header?.data)) {
    const hit = resolve(bundle, d);
    if (hit?.resource.resourceType === 'ReferralRequest') return hit;
  }
  return ofType(bundle, 'ReferralRequest')[0];
}
