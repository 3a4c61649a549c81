// What counts as "no value" in a mapping, and the marker of a not-yet-computed `let`.

/** Marks a lazily computed `let` slot not read yet in this run. */
export const PENDING: unique symbol = Symbol('pending');

export function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') {
    for (const _k in v as object) return false;
    return true;
  }
  return false;
}
