// JSONPath for JSON inputs, always with script evaluation off. jsonpath-plus 10.4.0 (the
// version Node 20 gets) has a broken "safe" sandbox, so anything that could reach a script
// or an object's machinery is refused when the mapping is loaded, not when it runs.
import { JSONPath } from 'jsonpath-plus';

const FORBIDDEN_NAMES = /\b(constructor|__proto__|prototype|process|require|globalThis|global|eval|Function|this|import|module)\b/;

/** Throws an Error explaining why `path` is refused; returns the path to evaluate otherwise. */
export function checkJsonPath(path: string): { relative: boolean; path: string } {
  const p = path.trim();
  const relative = p.startsWith('@');
  const body = relative ? `$${p.slice(1)}` : p;
  if (!body.startsWith('$')) throw new Error(`JSONPath "${path}" must start with $ (the record) or @ (the loop item)`);
  if (/[?()]/.test(body) || body.includes('@')) {
    throw new Error(`JSONPath "${path}" uses a script or filter expression; mappings filter with $where instead`);
  }
  if (body.includes('`') || /[;=<>!&|{}+]/.test(body)) throw new Error(`JSONPath "${path}" contains characters that are not allowed in a path`);
  const name = FORBIDDEN_NAMES.exec(body);
  if (name) throw new Error(`JSONPath "${path}" reaches "${name[1]}", which mappings may not read`);
  return { relative, path: body };
}

const SIMPLE = /^\$((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\['[^'\\]+'\])*)$/;

function simpleSteps(body: string): (string | number)[] | undefined {
  const m = SIMPLE.exec(body);
  if (!m) return undefined;
  const steps: (string | number)[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['([^'\\]+)'\]/g;
  let s: RegExpExecArray | null;
  while ((s = re.exec(m[1])) !== null) steps.push(s[1] ?? (s[2] !== undefined ? Number(s[2]) : s[3]));
  return steps;
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '';
}

/** Compile a checked JSONPath into a function returning its (non-empty) matches. */
export function compileJsonPath(body: string): (json: unknown) => unknown[] {
  const steps = simpleSteps(body);
  if (steps) {
    // Plain property paths are walked directly: the common case, and much faster.
    return (json) => {
      let v: unknown = json;
      for (const step of steps) {
        if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, step)) return [];
        v = (v as Record<string | number, unknown>)[step];
      }
      if (isEmpty(v)) return [];
      return [v];
    };
  }
  return (json) => {
    if (json === null || typeof json !== 'object') return [];
    const found = JSONPath({ path: body, json: json as object, eval: false, wrap: true }) as unknown[];
    return found.filter((v) => !isEmpty(v));
  };
}

/** Where-keys for JSON items: a property name or dotted property path. */
export function compileJsonItemKey(key: string): (item: unknown) => string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(key) && key !== '@') {
    throw new Error(`where key "${key}" must be a property name or dotted property path`);
  }
  if (FORBIDDEN_NAMES.test(key)) throw new Error(`where key "${key}" reaches a name mappings may not read`);
  const steps = key === '@' ? [] : key.split('.');
  return (item) => {
    let v: unknown = item;
    for (const step of steps) {
      if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, step)) return '';
      v = (v as Record<string, unknown>)[step];
    }
    return v === undefined || v === null ? '' : typeof v === 'object' ? '' : String(v);
  };
}
