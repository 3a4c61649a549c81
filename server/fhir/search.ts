// Type-level search over the plaintext index: `_id`, `identifier` (token), `status`, reference
// parameters (`patient`, `subject`, …), then `_include` / `_revinclude` for a person's record.
import { sql, type ExpressionBuilder } from 'kysely';
import type { ContentKeyRing } from '../store/crypto.js';
import { parseSearchToken, splitSearchValues, unescapeSearchValue } from '../../adapters/fhir/search-token.js';
import { badRequest } from './outcome.js';
import { findReferences, literalTarget } from './references.js';
import { loadCurrentMany, type FhirKysely, type StoredVersion } from './rows.js';
import type { FhirDatabase } from './schema.js';
import { RESULT_PARAMS, referenceParam, type ReferenceParam } from './search-params.js';

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

function countOf(params: URLSearchParams): number {
  const raw = params.get('_count');
  if (raw === null) return DEFAULT_COUNT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw badRequest('_count must be a non-negative integer');
  return Math.min(n, MAX_COUNT);
}

type ResourceEb = ExpressionBuilder<FhirDatabase & { r: FhirDatabase['fhir_resources'] }, 'r'>;

/** The searched resource's own index rows (`i`) of one kind, for an EXISTS condition. */
function indexRows(eb: ResourceEb, kind: FhirDatabase['fhir_index']['kind']) {
  return eb
    .selectFrom('fhir_index as i')
    .select(sql<number>`1`.as('one'))
    .whereRef('i.resource_type', '=', 'r.resource_type')
    .whereRef('i.id', '=', 'r.id')
    .where('i.kind', '=', kind);
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

function matchQuery(db: FhirKysely, type: string, params: URLSearchParams) {
  let query = db.selectFrom('fhir_resources as r').where('r.resource_type', '=', type).where('r.deleted', '=', 0);
  for (const [name, raw] of params) {
    if (RESULT_PARAMS.has(name)) continue;
    // Commas are OR; backslash escapes (`\,` `\|`) are literal characters.
    const escaped = splitSearchValues(raw);
    if (!escaped.length) continue;
    const values = escaped.map(unescapeSearchValue);
    if (name === '_id') {
      query = query.where('r.id', 'in', values);
    } else if (name === 'identifier') {
      const tokens = escaped.map(parseSearchToken);
      query = query.where((eb) => eb.exists(indexRows(eb, 'identifier').where(anyToken('i', tokens))));
    } else if (/^[a-z-]+\.identifier$/.test(name)) {
      // Chained: `patient.identifier=system|value` — resources whose reference points at a
      // resource with that identifier.
      const param = referenceParam(type, name.slice(0, -'.identifier'.length));
      if (!param) throw badRequest(`search parameter "${name}" is not supported on ${type}`);
      const target = param.target ?? 'Patient';
      const tokens = escaped.map(parseSearchToken);
      query = query.where((eb) =>
        eb.exists(
          indexRows(eb, 'reference')
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
    } else if (name === 'status') {
      query = query.where((eb) => eb.exists(indexRows(eb, 'token').where('i.name', '=', 'status').where('i.value', 'in', values)));
    } else {
      const param = referenceParam(type, name);
      if (!param) throw badRequest(`search parameter "${name}" is not supported on ${type}`);
      const targets = values.map((v) => referenceValue(v, param, name));
      query = query.where((eb) => eb.exists(indexRows(eb, 'reference').where('i.name', 'in', [...param.paths]).where('i.value', 'in', targets)));
    }
  }
  return query;
}

/** Ids of current resources matching the criteria, at most `limit` (conditional operations ask for 2). */
export async function matchingIds(db: FhirKysely, type: string, params: URLSearchParams, limit: number): Promise<string[]> {
  if (![...params.keys()].some((k) => !RESULT_PARAMS.has(k))) throw badRequest(`a conditional operation on ${type} needs search criteria`);
  const rows = await matchQuery(db, type, params).select(['r.id']).orderBy('r.id').limit(limit).execute();
  return rows.map((r) => r.id);
}

export async function search(db: FhirKysely, keys: ContentKeyRing, type: string, params: URLSearchParams): Promise<SearchResult> {
  const query = matchQuery(db, type, params);
  const count = countOf(params);
  const totalRow = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  const total = Number(totalRow?.n ?? 0);
  const rows = count === 0 ? [] : await query.select(['r.id']).orderBy('r.last_updated').orderBy('r.id').limit(count).execute();
  const byId = new Map((await loadCurrentMany(db, keys, type, rows.map((r) => r.id))).map((v) => [v.id, v]));
  const matches = rows.map((r) => byId.get(r.id)).filter((v): v is StoredVersion => v !== undefined);
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
  const ids = new Set<string>();
  for (let i = 0; i < targets.length; i += 500) {
    const rows = await db
      .selectFrom('fhir_index')
      .select('id')
      .distinct()
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
