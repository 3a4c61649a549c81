// Distinct patients for the mapping benchmark. The 15 shipped ADT cases (adt-cases.ts), replayed, would let
// every per-value memo (UUID v5 ids, templates, code lookups) answer from memory; a trust's
// feed names a new person in most messages. Each variant of a case gets its own NHS numbers,
// MRNs, family names, message control id and visit number, so the Patient's identifiers,
// fullUrl, upsert URL and name are new strings, while wards, GPs and consultants repeat as
// they do in real traffic. Works on the standard separators the shipped cases use.
import { isValidNhsNumber } from '../mappings/functions/nhs-number.js';
import { letters, syntheticNhsNumber } from '../server/bench/synthetic-adt.js';

// Shared with the MLLP load generator (server/bench/), which the `tramline bench` command ships.
export { letters, syntheticNhsNumber };

/** A CX list (PID-3, MRG-1) with each valid NHS number replaced and each other id suffixed. */
function renumber(cxList: string, variant: number, slot: number): string {
  return cxList
    .split('~')
    .map((cx, r) => {
      const parts = cx.split('^');
      const id = parts[0];
      // An invalid NHS number stays invalid: the case is about reporting it.
      if (isValidNhsNumber(id)) parts[0] = syntheticNhsNumber((variant * 2 + slot) * 4 + r);
      else if (id !== '' && !/^\d{10}$/.test(id)) parts[0] = `${id}-${variant}`;
      return parts.join('^');
    })
    .join('~');
}

/** Suffix the family name (XPN.1, before any subcomponent) of every repetition. */
function rename(xpnList: string, variant: number): string {
  const suffix = letters(variant);
  return xpnList
    .split('~')
    .map((xpn) => {
      if (xpn === '' || xpn.startsWith('^')) return xpn;
      const end = xpn.search(/[\^&]/);
      return end < 0 ? xpn + suffix : xpn.slice(0, end) + suffix + xpn.slice(end);
    })
    .join('~');
}

/** `message` as the `variant`-th distinct patient (variants below 125,000 never share an NHS number). */
export function patientVariant(message: string, variant: number): string {
  return message
    .split('\r')
    .map((segment) => {
      const f = segment.split('|');
      switch (f[0]) {
        case 'MSH': // f[9] is MSH-10: MSH-1 is the field separator itself.
          if (f[9]) f[9] = `${f[9]}-${variant}`;
          break;
        case 'PID':
          if (f[3]) f[3] = renumber(f[3], variant, 0);
          if (f[5]) f[5] = rename(f[5], variant);
          break;
        case 'MRG':
          if (f[1]) f[1] = renumber(f[1], variant, 1);
          if (f[7]) f[7] = rename(f[7], variant);
          break;
        case 'PV1':
          if (f[19]) f[19] = f[19].replace(/^[^^~]*/, (id) => `${id}-${variant}`);
          break;
      }
      return f.join('|');
    })
    .join('\r');
}

/**
 * `perCase` distinct patients of each message, interleaved (variant 1 of each, then 2 …).
 * Every message gets a variant number of its own, so no two share a person.
 */
export function distinctPatients(messages: readonly string[], perCase: number): string[] {
  const out: string[] = [];
  for (let v = 0; v < perCase; v++) messages.forEach((m, i) => out.push(patientVariant(m, v * messages.length + i)));
  return out;
}
