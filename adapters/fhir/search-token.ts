// FHIR search values as conditional upserts write them (`Patient?identifier=system|value`)
// and a server reads them. Inside a value FHIR escapes `\`, `,`, `$` and `|` with a
// backslash (a bare comma means OR, a bare bar separates system from code); the query
// string then percent-encodes what it cannot hold (`&`, `#`, `+`, `%`, `=`, spaces, non-ASCII).
// Without both, an identifier such as `A&E` or `3,East` would upsert a different resource.

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

/** `identifier=system|value`, or `Type?identifier=system|value` when a type is given. */
export function identifierSearch(system: string, value: string, type?: string): string {
  const query = `identifier=${queryPart(system)}|${queryPart(value)}`;
  return type ? `${type}?${query}` : query;
}

/** Index of the first `ch` at or after `from` that no backslash escapes, or -1. */
function indexOfUnescaped(text: string, ch: string, from = 0): number {
  if (!text.includes('\\')) return text.indexOf(ch, from);
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === ch) return i;
  }
  return -1;
}

/** Split a (percent-decoded) parameter value at its unescaped commas; escapes are kept. */
export function splitSearchValues(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let comma = indexOfUnescaped(text, ','); comma >= 0; comma = indexOfUnescaped(text, ',', start)) {
    if (comma > start) out.push(text.slice(start, comma));
    start = comma + 1;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/** A search value without its backslash escapes. */
export function unescapeSearchValue(text: string): string {
  return text.includes('\\') ? text.replace(/\\(.)/gs, '$1') : text;
}

/** `system|value`, `|value` or `value` (one value of a token parameter), unescaped. */
export function parseSearchToken(text: string): { system?: string; value?: string } {
  const bar = indexOfUnescaped(text, '|');
  if (bar < 0) return { value: unescapeSearchValue(text) };
  const system = unescapeSearchValue(text.slice(0, bar));
  const value = unescapeSearchValue(text.slice(bar + 1));
  return value === '' ? { system } : { system, value };
}
