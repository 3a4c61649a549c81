// The one place Tramline depends on the shape of ajv's generated code (checked with ajv 8.20.0).
//
// ajv's `code.process` option (supported) hands over each validator's source before it is
// compiled; what this module does with it is not: it rewrites a snippet by regex. In the
// generated code every call into a nested definition passes a new context object holding the
// element's JSON path, `{instancePath:instancePath+"/identifier/" + i0,…,rootData}`: ~150 objects
// and strings per FHIR bundle (~9 KB), there only to describe errors. A validator whose errors are
// never shown (FHIR output is re-run on an all-errors validator when it fails) can share one empty
// context. No ajv option leaves the context out (standalone code generation emits the same code).
// FHIR's schema uses no $data, the only other reader of the context. Measured on the adt-mapping
// benchmark; see ARCHITECTURE.md. If ajv's code changes shape the regex matches nothing and
// validators run as ajv wrote them; test/unit/ajv-internals.test.ts fails on such an upgrade.
/** The ajv release whose generated code the rewrite was written against. */
export const AJV_CHECKED = '8.20.0';

const CALL_CONTEXT = /\{instancePath:instancePath\+[^{}]*?,rootData\}/g;
const SHARED = 'tramlineSharedContext';
let callContextsShared = 0;

/**
 * For ajv's `code.process` option: nested-definition calls share one empty context. Only for
 * validators whose errors are not read (their instancePath would be wrong).
 */
export function withSharedCallContext(code: string): string {
  const shared = code.replace(CALL_CONTEXT, () => {
    callContextsShared++;
    return SHARED;
  });
  return `const ${SHARED} = {};\n${shared}`;
}

/** How many call contexts the rewritten validators of this process share. */
export function sharedCallContexts(): number {
  return callContextsShared;
}
