// V8 keeps a string one byte per character only when every character fits; a slice of a
// text holding any other character (a mapping file with an arrow in a comment) is stored two
// bytes per character. Such constants then slow down everything the engine does with its
// output: every comparison with a one-byte string, every hash, pattern check and JSON write,
// and every template result they are part of. Mapping constants are copied out compactly.

/** `s`, stored one byte per character when its characters allow (a copy only if needed). */
export function compactString(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return s;
  return Buffer.from(s, 'latin1').toString('latin1');
}

/** A JSON-like value with every string (and object key) made compact. */
export function compactStrings<T>(value: T): T {
  if (typeof value === 'string') return compactString(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => compactStrings(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // An own `__proto__` key (YAML and JSON allow it) stays a key; assigned, it would be lost.
      if (k === '__proto__') Object.defineProperty(out, k, { value: compactStrings(v), enumerable: true, writable: true, configurable: true });
      else out[compactString(k)] = compactStrings(v);
    }
    return out as T;
  }
  return value;
}
