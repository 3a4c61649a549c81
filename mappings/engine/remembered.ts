// A bounded memo for per-message work on values that repeat across messages (the same
// organisations, wards, profiles): a Map lookup on a string whose hash V8 has cached is far
// cheaper than hashing, formatting or even prefix-testing the string again.

/** `compute`, remembering up to `limit` answers (then starting afresh). */
export function remembered<T>(compute: (key: string) => T, limit = 50_000): (key: string) => T {
  const memo = new Map<string, T>();
  return (key) => {
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const value = compute(key);
    if (memo.size >= limit) memo.clear();
    memo.set(key, value);
    return value;
  };
}
