// `$upsert` on a bundle entry: the conditional upsert a transaction entry needs, from the
// business identifier its resource is keyed on.
//
//   - $upsert: { system: { $var: eventSystem }, value: { $var: eventRef } }
//     resource: { resourceType: EpisodeOfCare, … }
//
// writes the entry's `fullUrl` (the deterministic urn:uuid of the type and identifier, the one
// `{ urnUuid: Type }` gives for "system|value", so a `let` can compute the same urn for
// references) and its `request` (`PUT Type?identifier=system|value`, escaped as
// identifierSearch does; with `ifExists: keep`, `POST Type` with that search as ifNoneExist).
// Without a system or a value neither is written, as when the templates it replaces were empty.
import { identifierSearch } from '../../adapters/fhir/search-token.js';
import { identifierUrn } from '../functions/ids.js';
import { text } from '../functions/types.js';
import type { ExpressionCompiler, RunContext, Scope } from './compiled.js';
import { UPSERT_FIELDS, UPSERT_IF_EXISTS } from './keywords.js';
import { isMap, isScalar, mapEntries, resolve } from './source.js';

type Run = (ctx: RunContext) => unknown;

export interface CompiledUpsert {
  /** The entry's fullUrl, read from the key `around` worked out. */
  fullUrl: Run;
  /** The entry's request, likewise. */
  request: Run;
  /** What `request` writes: its constant keys and values, and the keys whose value varies (for planned checks). */
  requestShape: { constant: Readonly<Record<string, string>>; dynamic: readonly string[] };
  /** Runs the entry's builder after working out the key once (system and value, in that order). */
  around(build: Run): Run;
}

const RESOURCE_TYPE = /^[A-Z][A-Za-z]+$/;

/** The entry's literal `resource.resourceType`, if it has one. */
function resourceTypeOf(c: ExpressionCompiler, entries: [string, unknown, unknown][]): { type?: string; node?: unknown } {
  const resource = resolve(c.src, entries.find(([k]) => k === 'resource')?.[1]);
  if (!isMap(resource)) return {};
  const found = mapEntries(c.src, resource).find(([k]) => k === 'resourceType');
  if (!found) return {};
  const node = resolve(c.src, found[1]);
  return isScalar(node) && typeof node.value === 'string' ? { type: node.value, node } : { node };
}

export function compileUpsert(
  c: ExpressionCompiler,
  raw: unknown,
  entries: [string, unknown, unknown][],
  target: string,
  scope: Scope,
): CompiledUpsert {
  const at = target ? `${target}.$upsert` : '$upsert';
  const node = resolve(c.src, raw);
  if (!isMap(node)) c.fail(node, at, '$upsert is { system: …, value: … } (with type: and ifExists: update | keep if wanted)');
  const fields = new Map<string, { value: unknown; key: unknown }>();
  for (const [k, v, pair] of mapEntries(c.src, node)) {
    const key = (pair as { key?: unknown }).key ?? node;
    if (!(UPSERT_FIELDS as readonly string[]).includes(k)) c.fail(key, at, `unknown key "${k}" (allowed: ${UPSERT_FIELDS.join(', ')})`);
    fields.set(k, { value: v, key });
  }
  for (const required of ['system', 'value']) {
    if (!fields.has(required)) c.fail(node, at, `$upsert needs ${required}: the identifier the resource is keyed on`);
  }
  for (const [k, , pair] of entries) {
    if (k === 'fullUrl' || k === 'request') c.fail((pair as { key?: unknown }).key, target, `$upsert writes ${k}: leave it out`);
  }

  const resource = resourceTypeOf(c, entries);
  const typeField = fields.get('type');
  let type = resource.type;
  if (typeField) {
    const written = c.js(typeField.value);
    if (typeof written !== 'string' || !RESOURCE_TYPE.test(written)) c.fail(typeField.value, at, 'type must be a FHIR resource type, e.g. Patient');
    if (type !== undefined && written !== type) c.fail(typeField.value, at, `type ${written} does not match resource.resourceType ${type}`);
    type = written;
  }
  if (type === undefined) {
    c.fail(resource.node ?? node, at, '$upsert needs the resource type: write resource.resourceType as a constant, or type: in $upsert');
  }
  const ifExistsField = fields.get('ifExists');
  const ifExists = ifExistsField === undefined ? 'update' : c.js(ifExistsField.value);
  if (!(UPSERT_IF_EXISTS as readonly unknown[]).includes(ifExists)) {
    c.fail(ifExistsField?.value ?? node, at, `ifExists must be ${UPSERT_IF_EXISTS.join(' or ')}`);
  }

  const system = c.node(fields.get('system')?.value, `${at}.system`, scope).run;
  const value = c.node(fields.get('value')?.value, `${at}.value`, scope).run;
  const systemSlot = c.newSlot();
  const valueSlot = c.newSlot();
  const urnOf = identifierUrn(type);
  const resourceType = type;

  // The last key and its urn: entries keyed on the same organisation or ward message after
  // message reuse one string, already hashed for the id memos and sets that see it next.
  let lastSystem: string | undefined;
  let lastValue: string | undefined;
  let lastUrn = '';
  const fullUrl: Run = (ctx) => {
    const s = ctx.slots[systemSlot] as string | undefined;
    const v = ctx.slots[valueSlot] as string | undefined;
    if (s === undefined || v === undefined) return undefined;
    if (s !== lastSystem || v !== lastValue) {
      lastUrn = urnOf(s, v);
      lastSystem = s;
      lastValue = v;
    }
    return lastUrn;
  };
  const request: Run =
    ifExists === 'keep'
      ? (ctx) => {
          const s = ctx.slots[systemSlot] as string | undefined;
          const v = ctx.slots[valueSlot] as string | undefined;
          return s === undefined || v === undefined ? undefined : { method: 'POST', url: resourceType, ifNoneExist: identifierSearch(s, v) };
        }
      : (ctx) => {
          const s = ctx.slots[systemSlot] as string | undefined;
          const v = ctx.slots[valueSlot] as string | undefined;
          return s === undefined || v === undefined ? undefined : { method: 'PUT', url: identifierSearch(s, v, resourceType) };
        };
  return {
    fullUrl,
    request,
    requestShape: ifExists === 'keep' ? { constant: { method: 'POST', url: resourceType }, dynamic: ['ifNoneExist'] } : { constant: { method: 'PUT' }, dynamic: ['url'] },
    around: (build) => (ctx) => {
      ctx.slots[systemSlot] = text(system(ctx));
      ctx.slots[valueSlot] = text(value(ctx));
      return build(ctx);
    },
  };
}
