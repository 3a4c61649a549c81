// Type-level search over the plaintext index: `_id`, `identifier` (token), `status`, reference
// parameters (`patient`, `subject`, …), Patient's `name`/`family`/`given` (string) and
// `birthdate` (date), then `_include` / `_revinclude` for a person's record.
import { sql, type ExpressionBuilder } from 'kysely';
import type { ContentKeyRing } from '../../adapters/store/crypto.js';
import { parseSearchToken, splitSearchValues, unescapeSearchValue } from '../../adapters/fhir/search-token.js';
import { blindVariants, MAX_PREFIX, MAX_TRIGRAM_TEXT, trigrams } from './blind-index.js';
import { badRequest, FhirError } from './outcome.js';
import { dateRange, foldText, nameParts } from './index-terms.js';
import { findReferences, literalTarget } from './references.js';
import { loadCurrentMany, type FhirKysely, type StoredVersion } from './rows.js';
import type { FhirDatabase } from './schema.js';
import { hasStatusParam, isDateParam, isStringParam, RESULT_PARAMS, referenceParam, type ReferenceParam } from './search-params.js';

export const DEFAULT_COUNT = 100;
export const MAX_COUNT = 1000;

export interface SearchResult {
  /** Matches, oldest first. */
  matches: StoredVersion[];
  /** Resources brought in by _include / _revinclude (not matches). */
  included: StoredVersion[];
  total: number;
}

type Token = ReturnType<typeof parseSearchToken>;

function referenceValue(text: string, param: ReferenceParam, name: string): string {
  const target = literalTarget(text);
  if (target) return target;
  if (param.target && /^[A-Za-z0-9\-.]{1,64}$/.test(text)) return `${param.target}/${text}`;
  throw badRequest(`search parameter "${name}" needs a reference such as Type/id`);
}

interface IncludeSpec {
  source: string;
  param: ReferenceParam;
  target?: string;
  iterate: boolean;
}

function parseIncludes(type: string, params: URLSearchParams, key: '_include' | '_revinclude'): IncludeSpec[] {
  const specs: IncludeSpec[] = [];
  for (const [k, raw] of params) {
    if (k !== key && k !== `${key}:iterate`) continue;
    const [source, name, target] = raw.split(':');
    const param = source && name ? referenceParam(source, name) : undefined;
    if (!param) throw badRequest(`${key} "${raw}" is not supported (use Type:parameter with a reference parameter)`);
    if (key === '_include' && source !== type && k === key) {
      // A non-iterating _include only applies to the matches, so the source must be the searched type.
      throw badRequest(`${key} "${raw}" must start with ${type} (or use ${key}:iterate)`);
    }
    specs.push({ source, param, target, iterate: k.endsWith(':iterate') });
  }
  return specs;
}

export function countOf(params: URLSearchParams): number {
  const raw = params.get('_count');
  if (raw === null) return DEFAULT_COUNT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw badRequest('_count must be a non-negative integer');
  return Math.min(n, MAX_COUNT);
}

type ResourceEb = ExpressionBuilder<FhirDatabase & { r: FhirDatabase['fhir_resources'] }, 'r'>;

/**
 * Ids of `type`'s resources with index rows (`i`) of one kind, for an `r.id in (…)` condition.
 * Not EXISTS correlated on `r`: SQLite runs that as a probe per resource of the type (every
 * Patient, each with dozens of name terms), while this subquery is driven by the lookup index
 * (kind, value, resource_type) from the value searched for.
 */
function indexIds(eb: ResourceEb, type: string, kind: FhirDatabase['fhir_index']['kind']) {
  return eb.selectFrom('fhir_index as i').select('i.id').where('i.resource_type', '=', type).where('i.kind', '=', kind);
}

/** Index rows (alias `i` or `j`) whose system and/or value match any of the tokens. */
function anyToken<A extends 'i' | 'j'>(alias: A, tokens: Token[]) {
  return (w: ExpressionBuilder<{ [K in A]: FhirDatabase['fhir_index'] }, A>) =>
    w.or(
      tokens.map((t) => {
        const ref = (column: 'system' | 'value') => sql.ref<string>(`${alias}.${column}`);
        return w.and([...(t.system !== undefined ? [w(ref('system'), '=', t.system)] : []), ...(t.value !== undefined ? [w(ref('value'), '=', t.value)] : [])]);
      }),
    );
}

/** `family` etc.: `name` also searches given names, prefixes, suffixes and the text. */
const STRING_PATHS: Record<string, string[]> = { name: ['family', 'given', 'name'], family: ['family'], given: ['given'] };

/** A check on the unsealed resource for what the hashed index can only narrow down. */
type Verifier = (resource: Record<string, unknown>) => boolean;

/**
 * String search (FHIR): starts-with ignoring case and accents (default), `:contains` anywhere,
 * `:exact` the exact text. Each comma value becomes hashed terms that must all be indexed for
 * the resource: one for exact and starts-with, its trigrams for :contains (then verified).
 */
function stringSearch(keys: ContentKeyRing, name: string, modifier: string | undefined, values: string[]): { needs: string[][][]; verify?: Verifier } {
  if (modifier !== undefined && modifier !== 'exact' && modifier !== 'contains') throw badRequest(`modifier :${modifier} is not supported on "${name}" (use :exact or :contains)`);
  let verified = false;
  const needs = values.map((v) => {
    if (modifier === 'exact') return [blindVariants(keys, 'exact', v)];
    const folded = foldText(v);
    if (modifier === 'contains') {
      if ([...folded].length < 3) throw badRequest(`"${name}:contains" needs at least 3 characters`);
      if ([...folded].length > MAX_TRIGRAM_TEXT) throw badRequest(`"${name}:contains" takes at most ${MAX_TRIGRAM_TEXT} characters`);
      verified = true;
      return trigrams(folded).map((t) => blindVariants(keys, 'trigram', t));
    }
    if ([...folded].length > MAX_PREFIX) verified = true;
    return [blindVariants(keys, 'prefix', [...folded].slice(0, MAX_PREFIX).join(''))];
  });
  if (!verified) return { needs };
  const wanted = values.map(foldText);
  const paths = STRING_PATHS[name];
  return {
    needs,
    verify: (resource) =>
      nameParts(resource).some((part) => paths.includes(part.name) && wanted.some((w) => (modifier === 'contains' ? foldText(part.text).includes(w) : foldText(part.text).startsWith(w)))),
  };
}

const DATE_VALUE = /^(eq|ne|lt|gt|le|ge|sa|eb)?(.*)$/;

/** Date search (FHIR): the target's days (`i.system`..`i.value`, YYYYMMDD) against the searched days, by prefix. */
function dateCondition(name: string, values: string[]) {
  return (w: ExpressionBuilder<{ i: FhirDatabase['fhir_index'] }, 'i'>) =>
    w.or(
      values.map((v) => {
        const [, prefix = 'eq', date] = DATE_VALUE.exec(v)!;
        const range = dateRange(date);
        if (!range) throw badRequest(`search parameter "${name}" takes a date YYYY, YYYY-MM or YYYY-MM-DD with an optional prefix eq, ne, lt, gt, le, ge, sa or eb`);
        const within = w.and([w('i.system', '>=', range.first), w('i.value', '<=', range.last)]);
        switch (prefix) {
          case 'ne':
            return w.not(within);
          case 'lt':
            return w('i.system', '<', range.first);
          case 'gt':
            return w('i.value', '>', range.last);
          case 'le':
            return w.or([w('i.system', '<', range.first), within]);
          case 'ge':
            return w.or([w('i.value', '>', range.last), within]);
          case 'sa':
            return w('i.system', '>', range.last);
          case 'eb':
            return w('i.value', '<', range.first);
          default:
            return within;
        }
      }),
    );
}

function matchQuery(db: FhirKysely, keys: ContentKeyRing, type: string, params: URLSearchParams) {
  const verifiers: Verifier[] = [];
  let query = db.selectFrom('fhir_resources as r').where('r.resource_type', '=', type).where('r.deleted', '=', 0);
  for (const [name, raw] of params) {
    if (RESULT_PARAMS.has(name)) continue;
    // PostgreSQL refuses NUL in text: refuse it here, the same on every store (criteria of
    // conditional writes and If-None-Exist come through here too).
    if (name.includes('\u0000') || raw.includes('\u0000')) throw badRequest('NUL characters are not allowed in search parameters');
    const [base, modifier] = name.split(':', 2);
    // Commas are OR; backslash escapes (`\,` `\|`) are literal characters.
    const escaped = splitSearchValues(raw);
    if (!escaped.length) continue;
    const values = escaped.map(unescapeSearchValue);
    if (name === '_id') {
      query = query.where('r.id', 'in', values);
    } else if (name === 'identifier') {
      const tokens = escaped.map(parseSearchToken);
      query = query.where((eb) => eb('r.id', 'in', indexIds(eb, type, 'identifier').where(anyToken('i', tokens))));
    } else if (/^[a-z-]+\.identifier$/.test(name)) {
      // Chained: `patient.identifier=system|value` — resources whose reference points at a
      // resource with that identifier.
      const param = referenceParam(type, name.slice(0, -'.identifier'.length));
      if (!param) throw badRequest(`search parameter "${name}" is not supported on ${type}`);
      const target = param.target ?? 'Patient';
      const tokens = escaped.map(parseSearchToken);
      query = query.where((eb) =>
        eb(
          'r.id',
          'in',
          indexIds(eb, type, 'reference')
            .where('i.name', 'in', [...param.paths])
            .where('i.value', 'in', (sub) =>
              sub
                .selectFrom('fhir_index as j')
                .select(sql<string>`${`${target}/`} || ${sql.ref('j.id')}`.as('ref'))
                .where('j.resource_type', '=', target)
                .where('j.kind', '=', 'identifier')
                .where(anyToken('j', tokens)),
            ),
        ),
      );
    } else if (isStringParam(type, base)) {
      const { needs, verify } = stringSearch(keys, base, modifier, values);
      if (verify) verifiers.push(verify);
      query = query.where((eb) =>
        eb.or(needs.map((all) => eb.and(all.map((variants) => eb('r.id', 'in', indexIds(eb, type, 'string').where('i.name', 'in', STRING_PATHS[base]).where('i.value', 'in', variants)))))),
      );
    } else if (isDateParam(type, name)) {
      query = query.where((eb) => eb('r.id', 'in', indexIds(eb, type, 'date').where('i.name', '=', name).where(dateCondition(name, values))));
    } else if (name === 'status' && hasStatusParam(type)) {
      query = query.where((eb) => eb('r.id', 'in', indexIds(eb, type, 'token').where('i.name', '=', 'status').where('i.value', 'in', values)));
    } else {
      const param = referenceParam(type, name);
      if (!param) throw badRequest(`search parameter "${name}" is not supported on ${type}`);
      const targets = values.map((v) => referenceValue(v, param, name));
      query = query.where((eb) => eb('r.id', 'in', indexIds(eb, type, 'reference').where('i.name', 'in', [...param.paths]).where('i.value', 'in', targets)));
    }
  }
  return { query, verifiers };
}

/** Ids of current resources matching the criteria, at most `limit` (conditional operations ask for 2). */
export async function matchingIds(db: FhirKysely, keys: ContentKeyRing, type: string, params: URLSearchParams, limit: number): Promise<string[]> {
  if (![...params.keys()].some((k) => !RESULT_PARAMS.has(k))) throw badRequest(`a conditional operation on ${type} needs search criteria`);
  const { query, verifiers } = matchQuery(db, keys, type, params);
  if (verifiers.length) throw badRequest('a conditional operation cannot use :contains or a long starts-with string search');
  const rows = await query.select(['r.id']).orderBy('r.id').limit(limit).execute();
  return rows.map((r) => r.id);
}

/**
 * The tokens of a condition that is `identifier=…` alone, each with a code (what conditional
 * writes almost always are: `Patient?identifier=system|value`); undefined for anything else.
 */
export function identifierCondition(params: URLSearchParams): Token[] | undefined {
  const all = [...params];
  if (all.length !== 1 || all[0][0] !== 'identifier' || all[0][1].includes('\u0000')) return undefined;
  const tokens = splitSearchValues(all[0][1]).map(parseSearchToken);
  return tokens.length && tokens.every((t) => t.value !== undefined) ? tokens : undefined;
}

/**
 * `matchingIds` for many identifier conditions (identifierCondition) at once: for each, the
 * ids of current resources of its type with any of its tokens, sorted, at most `limit`. One
 * query per 500 identifier values (a transaction's conditional entries), not one per entry.
 */
export async function idsByIdentifiers(db: FhirKysely, lookups: readonly { type: string; tokens: Token[] }[], limit: number): Promise<string[][]> {
  const values = [...new Set(lookups.flatMap((l) => l.tokens.map((t) => t.value!)))];
  const types = [...new Set(lookups.map((l) => l.type))];
  const rows: { resource_type: string; id: string; system: string; value: string }[] = [];
  for (let i = 0; i < values.length; i += 500) {
    rows.push(
      ...(await db
        .selectFrom('fhir_index as i')
        .innerJoin('fhir_resources as r', (j) => j.onRef('r.resource_type', '=', 'i.resource_type').onRef('r.id', '=', 'i.id'))
        .select(['i.resource_type', 'i.id', 'i.system', 'i.value'])
        .where('i.kind', '=', 'identifier')
        .where('i.value', 'in', values.slice(i, i + 500))
        .where('i.resource_type', 'in', types)
        .where('r.deleted', '=', 0)
        .execute()),
    );
  }
  return lookups.map(({ type, tokens }) => {
    const ids = new Set<string>();
    for (const row of rows) {
      if (row.resource_type === type && tokens.some((t) => row.value === t.value && (t.system === undefined || row.system === t.system))) ids.add(row.id);
    }
    // Sorted as matchingIds orders them; which two come first only matters to a caller that refuses more than one.
    return [...ids].sort().slice(0, limit);
  });
}

/** Most candidates a verified string search (:contains) unseals before it refuses as too broad. */
export const MAX_VERIFIED_CANDIDATES = 5000;

async function loadInOrder(db: FhirKysely, keys: ContentKeyRing, type: string, ids: string[]): Promise<StoredVersion[]> {
  const byId = new Map((await loadCurrentMany(db, keys, type, ids)).map((v) => [v.id, v]));
  return ids.map((id) => byId.get(id)).filter((v): v is StoredVersion => v !== undefined);
}

export async function search(db: FhirKysely, keys: ContentKeyRing, type: string, params: URLSearchParams): Promise<SearchResult> {
  const { query, verifiers } = matchQuery(db, keys, type, params);
  const count = countOf(params);
  const ordered = query.select(['r.id']).orderBy('r.last_updated').orderBy('r.id');
  let matches: StoredVersion[];
  let total: number;
  if (verifiers.length) {
    const rows = await ordered.limit(MAX_VERIFIED_CANDIDATES + 1).execute();
    if (rows.length > MAX_VERIFIED_CANDIDATES) throw new FhirError(400, 'too-costly', 'the string search is too broad: give more characters or other criteria');
    const all = (await loadInOrder(db, keys, type, rows.map((r) => r.id))).filter((v) => verifiers.every((ok) => ok(v.resource as unknown as Record<string, unknown>)));
    total = all.length;
    matches = all.slice(0, count);
  } else {
    const totalRow = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    total = Number(totalRow?.n ?? 0);
    matches = count === 0 ? [] : await loadInOrder(db, keys, type, (await ordered.limit(count).execute()).map((r) => r.id));
  }
  const included = await collectIncludes(db, keys, type, params, matches);
  return { matches, included, total };
}

const keyOf = (v: { resourceType: string; id: string }) => `${v.resourceType}/${v.id}`;

async function loadTargets(db: FhirKysely, keys: ContentKeyRing, targets: Iterable<string>): Promise<StoredVersion[]> {
  const byType = new Map<string, string[]>();
  for (const t of targets) {
    const [type, id] = t.split('/');
    byType.set(type, [...(byType.get(type) ?? []), id]);
  }
  const out: StoredVersion[] = [];
  for (const [type, ids] of byType) out.push(...(await loadCurrentMany(db, keys, type, ids)));
  return out;
}

/** Forward references of `from` along one include spec, as `Type/id`. */
function includeTargets(from: StoredVersion[], spec: IncludeSpec): Set<string> {
  const out = new Set<string>();
  for (const v of from) {
    if (v.resourceType !== spec.source || !v.resource) continue;
    for (const ref of findReferences(v.resource)) {
      if (!spec.param.paths.includes(ref.path)) continue;
      const target = literalTarget(ref.reference);
      if (!target) continue;
      const targetType = target.split('/')[0];
      if ((spec.param.target && targetType !== spec.param.target) || (spec.target && targetType !== spec.target)) continue;
      out.add(target);
    }
  }
  return out;
}

/** Resources of `spec.source` whose reference parameter points at any of `to`. */
async function revincludeIds(db: FhirKysely, to: StoredVersion[], spec: IncludeSpec): Promise<string[]> {
  const targets = to
    .map(keyOf)
    .filter((k) => (!spec.param.target || k.startsWith(`${spec.param.target}/`)) && (!spec.target || k.startsWith(`${spec.target}/`)));
  // Duplicates are dropped here, not with SELECT DISTINCT: for DISTINCT, SQLite would walk the
  // (resource_type, id) index through every index row of the type (~100 ms a type with 10,000
  // people) instead of looking the targets up in (kind, value, resource_type) (~0.2 ms).
  const ids = new Set<string>();
  for (let i = 0; i < targets.length; i += 500) {
    const rows = await db
      .selectFrom('fhir_index')
      .select('id')
      .where('resource_type', '=', spec.source)
      .where('kind', '=', 'reference')
      .where('name', 'in', [...spec.param.paths])
      .where('value', 'in', targets.slice(i, i + 500))
      .execute();
    for (const r of rows) ids.add(r.id);
  }
  return [...ids];
}

async function collectIncludes(db: FhirKysely, keys: ContentKeyRing, type: string, params: URLSearchParams, matches: StoredVersion[]): Promise<StoredVersion[]> {
  const includes = parseIncludes(type, params, '_include');
  const revincludes = parseIncludes(type, params, '_revinclude');
  if (!includes.length && !revincludes.length) return [];
  const seen = new Set(matches.map(keyOf));
  const included: StoredVersion[] = [];
  const add = (versions: StoredVersion[]): StoredVersion[] => {
    const fresh = versions.filter((v) => !seen.has(keyOf(v)));
    for (const v of fresh) seen.add(keyOf(v));
    included.push(...fresh);
    return fresh;
  };
  const round = async (from: StoredVersion[], iterateOnly: boolean): Promise<StoredVersion[]> => {
    const fresh: StoredVersion[] = [];
    for (const spec of includes) {
      if (iterateOnly && !spec.iterate) continue;
      const targets = [...includeTargets(from, spec)].filter((t) => !seen.has(t));
      fresh.push(...add(await loadTargets(db, keys, targets)));
    }
    for (const spec of revincludes) {
      if (iterateOnly && !spec.iterate) continue;
      const ids = (await revincludeIds(db, from, spec)).filter((id) => !seen.has(`${spec.source}/${id}`));
      fresh.push(...add(await loadCurrentMany(db, keys, spec.source, ids)));
    }
    return fresh;
  };
  // Non-iterating specs apply to the matches; :iterate ones also to what was included, a few rounds deep.
  let frontier = await round(matches, false);
  let all = [...matches, ...frontier];
  if (includes.some((s) => s.iterate) || revincludes.some((s) => s.iterate)) {
    frontier = await round(all, true);
    for (let depth = 0; depth < 3 && frontier.length; depth++) {
      all = [...all, ...frontier];
      frontier = await round(frontier, true);
    }
  }
  return included;
}
