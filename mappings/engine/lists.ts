// The list helper the compiler, its node builders and the HL7 path readers share (a leaf
// module: they import it, it imports nothing).

/**
 * Add `v` to a list that may not exist yet. Most lists a mapping builds hold one item, and
 * a `[v]` literal is sized for it where `[]` + push() reserves 17 slots.
 */
export function append(list: unknown[] | undefined, v: unknown): unknown[] {
  if (list === undefined) return [v];
  list.push(v);
  return list;
}
