// A readable structural diff for `tramline test`: one line per difference, addressed by
// output path (`entry[0].resource.birthDate: expected "1965-12-13", got "1965-12-14"`).

function show(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return 'nothing';
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function diffJson(expected: unknown, actual: unknown, path = '', out: string[] = [], limit = 40): string[] {
  if (out.length >= limit) return out;
  const where = path || '(root)';
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const n = Math.max(expected.length, actual.length);
    for (let i = 0; i < n && out.length < limit; i++) {
      if (i >= actual.length) out.push(`${path}[${i}]: missing, expected ${show(expected[i])}`);
      else if (i >= expected.length) out.push(`${path}[${i}]: unexpected ${show(actual[i])}`);
      else diffJson(expected[i], actual[i], `${path}[${i}]`, out, limit);
    }
    return out;
  }
  if (isObject(expected) && isObject(actual)) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const k of keys) {
      if (out.length >= limit) break;
      const p = path ? `${path}.${k}` : k;
      if (!(k in actual)) out.push(`${p}: missing, expected ${show(expected[k])}`);
      else if (!(k in expected)) out.push(`${p}: unexpected ${show(actual[k])}`);
      else diffJson(expected[k], actual[k], p, out, limit);
    }
    return out;
  }
  if (JSON.stringify(expected) !== JSON.stringify(actual)) out.push(`${where}: expected ${show(expected)}, got ${show(actual)}`);
  return out;
}
