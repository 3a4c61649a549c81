// HL7 v2 escape sequences (v2.5 §2.7). Values are kept encoded in the message text and
// decoded only when read, so untouched fields cost nothing.

export interface Separators {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
  /** v2.7 truncation character (5th encoding character), when declared. */
  truncation?: string;
}

export const DEFAULT_SEPARATORS: Separators = { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' };

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function decodeHex(hex: string): string | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(hex)) return undefined;
  const bytes = Buffer.from(hex, 'hex');
  try {
    return utf8Strict.decode(bytes);
  } catch {
    // Not UTF-8: the bytes are most likely single-byte characters (Latin-1 senders).
    return bytes.toString('latin1');
  }
}

function decodeOne(code: string, seps: Separators): string | undefined {
  switch (code) {
    case 'F': return seps.field;
    case 'S': return seps.component;
    case 'T': return seps.subcomponent;
    case 'R': return seps.repetition;
    case 'E': return seps.escape;
    case 'P': return seps.truncation;
    case 'H': case 'N': return ''; // highlighting on/off: no meaning in plain text
  }
  const first = code.charAt(0);
  if (first === 'X') return decodeHex(code.slice(1));
  if (first === '.') {
    // Formatted-text commands: line breaks become newlines, layout hints are dropped.
    return code === '.br' || code.startsWith('.sp') ? '\n' : '';
  }
  if (first === 'C' || first === 'M') return ''; // character-set switches: already decoded from bytes
  return undefined;
}

/** Decode escape sequences in one leaf value; unknown or unterminated sequences stay literal. */
export function unescapeHl7(value: string, seps: Separators): string {
  const esc = seps.escape;
  let start = value.indexOf(esc);
  if (start < 0 || esc === '') return value;
  let out = '';
  let copied = 0;
  while (start >= 0) {
    const end = value.indexOf(esc, start + 1);
    if (end < 0) break;
    const decoded = decodeOne(value.slice(start + 1, end), seps);
    if (decoded === undefined) {
      // Keep the unknown sequence as written; its closing character may open the next one.
      start = value.indexOf(esc, start + 1);
      continue;
    }
    out += value.slice(copied, start) + decoded;
    copied = end + 1;
    start = value.indexOf(esc, copied);
  }
  return copied === 0 ? value : out + value.slice(copied);
}

/** Encode text so it can be placed in a single leaf (component/subcomponent) value. */
export function escapeHl7(value: string, seps: Separators = DEFAULT_SEPARATORS): string {
  let out = '';
  for (const ch of value) {
    if (ch === seps.escape) out += `${seps.escape}E${seps.escape}`;
    else if (ch === seps.field) out += `${seps.escape}F${seps.escape}`;
    else if (ch === seps.component) out += `${seps.escape}S${seps.escape}`;
    else if (ch === seps.subcomponent) out += `${seps.escape}T${seps.escape}`;
    else if (ch === seps.repetition) out += `${seps.escape}R${seps.escape}`;
    else if (seps.truncation !== undefined && ch === seps.truncation) out += `${seps.escape}P${seps.escape}`;
    else if (ch === '\r') out += `${seps.escape}X0D${seps.escape}`;
    else if (ch === '\n') out += `${seps.escape}.br${seps.escape}`;
    else out += ch;
  }
  return out;
}
