// FHIR search values as conditional upserts write them (`Patient?identifier=system|value`)
// and a server reads them. Inside a value FHIR escapes `\`, `,`, `$` and `|` with a
// backslash (a bare comma means OR, a bare bar separates system from code); the query
// string then percent-encodes what it cannot hold (`&`, `#`, `+`, `%`, `=`, spaces, non-ASCII).
// Without both, an identifier such as `A&E` or `3,East` would upsert a different resource.

import { remembered } from '../../mappings/engine/remembered.js';

/** Nothing to escape or encode: the common case, checked without allocating. */
const PLAIN = /^[A-Za-z0-9\-._~:/@!*'()]*$/;

/** A search value with FHIR's backslash escapes added. */
export function escapeSearchValue(value: string): string {
  return value.replace(/[\\,$|]/g, '\\$&');
}

/** One part of a token, escaped and percent-encoded for a query string (`:`, `/`, `@` kept readable). */
function queryPart(value: string): string {
  if (PLAIN.test(value)) return value;
  return encodeURIComponent(escapeSearchValue(value)).replace(/%3A/g, ':').replace(/%2F/g, '/').replace(/%40/g, '@');
}

/** A mapping writes a handful of systems, so each is encoded once (see remembered()). */
const systemPart = remembered(queryPart, 1000);

/** `identifier=system|value`, or `Type?identifier=system|value` when a type is given. */
export function identifierSearch(system: string, value: string, type?: string): string {
  const query = `identifier=${systemPart(system)}|${queryPart(value)}`;
  return type ? `${type}?${query}` : query;
}

/** Split a (percent-decoded) parameter value at its unescaped commas; escapes are kept. */
export function splitSearchValues(text: string): string[] {
  if (!text.includes('\\')) return text.includes(',') ? text.split(',').filter((v) => v !== '') : text === '' ? [] : [text];
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === ',') {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.filter((v) => v !== '');
}

/** A search value without its backslash escapes. */
export function unescapeSearchValue(text: string): string {
  return text.includes('\\') ? text.replace(/\\(.)/gs, '$1') : text;
}

/** `system|value`, `|value` or `value` (one value of a token parameter), unescaped. */
export function parseSearchToken(text: string): { system?: string; value?: string } {
  let bar = text.indexOf('|');
  if (bar > 0 && text.includes('\\')) {
    // Skip escaped bars: find the first bar not preceded by an escaping backslash.
    bar = -1;
    for (let i = 0; i < text.length && bar < 0; i++) {
      if (text[i] === '\\') i++;
      else if (text[i] === '|') bar = i;
    }
  }
  if (bar < 0) return { value: unescapeSearchValue(text) };
  const system = unescapeSearchValue(text.slice(0, bar));
  const value = unescapeSearchValue(text.slice(bar + 1));
  return value === '' ? { system } : { system, value };
}
