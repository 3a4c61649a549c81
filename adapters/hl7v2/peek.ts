// Read MSH fields straight from bytes, before decoding or parsing: MSH is ASCII, and callers
// need MSH-18 to pick a decoder and MSH-10 to log a failure without logging content.

function startsWithUtf8Bom(buf: Buffer): boolean {
  return buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
}

/** MSH fields indexed by HL7 number (index 1 = field separator), or undefined if no MSH. */
export function peekMshFields(buf: Buffer, maxBytes = 4096): string[] | undefined {
  let start = startsWithUtf8Bom(buf) ? 3 : 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  if (buf.length < start + 4 || buf.toString('latin1', start, start + 3) !== 'MSH') return undefined;
  const fieldSep = String.fromCharCode(buf[start + 3]);
  const limit = Math.min(buf.length, start + maxBytes);
  let end = start;
  while (end < limit && buf[end] !== 0x0d && buf[end] !== 0x0a) end++;
  const parts = buf.toString('latin1', start, end).split(fieldSep);
  parts[0] = fieldSep;
  parts.unshift('MSH');
  return parts;
}

/** MSH-10 for logs: '' when absent; never longer than 64 characters. */
export function peekControlId(buf: Buffer): string {
  const id = peekMshFields(buf)?.[10] ?? '';
  return id.slice(0, 64).replace(/[^\x20-\x7e]/g, '?');
}
