// UK postcode normalisation shared by the postcode function and the address helper.

/** Upper case with one space before the inward code; text that is not a postcode is only upper-cased. */
export function postcodeOf(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const compact = raw.replace(/\s+/g, '').toUpperCase();
  if (compact === '') return undefined;
  if (!/^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$/.test(compact)) return raw.trim().toUpperCase();
  return `${compact.slice(0, -3)} ${compact.slice(-3)}`;
}
