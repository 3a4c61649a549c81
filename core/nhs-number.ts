// NHS number: ten digits, the last a Modulus 11 check digit (weights 10..2; 11 → 0; 10 is
// never valid). Spaces and hyphens, as in the displayed `943 476 5919`, are removed.
// In core/ because both the mapping functions and the adapters (ADW notices) check it.

const WEIGHTS = [10, 9, 8, 7, 6, 5, 4, 3, 2];

/** Digits only, or undefined when what is left is not ten digits. */
export function normaliseNhsNumber(raw: string): string | undefined {
  const compact = raw.replace(/[\s-]/g, '');
  return /^\d{10}$/.test(compact) ? compact : undefined;
}

export function nhsNumberCheckDigit(firstNine: string): number | undefined {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (firstNine.charCodeAt(i) - 48) * WEIGHTS[i];
  const check = 11 - (sum % 11);
  if (check === 11) return 0;
  if (check === 10) return undefined;
  return check;
}

export function isValidNhsNumber(raw: string): boolean {
  const n = normaliseNhsNumber(raw);
  if (n === undefined) return false;
  return nhsNumberCheckDigit(n.slice(0, 9)) === n.charCodeAt(9) - 48;
}
