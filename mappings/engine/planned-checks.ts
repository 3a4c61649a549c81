// The mapping compiler's side of the FHIR R4 check planned at load (mappings/validate/plan.ts
// is the schema's side): pending checks run around a value or inside a builder, the checks
// an object makes of itself, and the checks of values known when the mapping loads.
import type { ObjectChecks } from './builders.js';
import type { Compiled, OutputAt, OutputPlanner, PlannedObject, ValueCheck } from './compiled.js';
import { isEmpty } from './values.js';

/** A key the output may not have: any value written there fails the planned check. */
export const NOT_ALLOWED = Symbol('not allowed');
export const NEVER: ValueCheck = () => false;

/**
 * `c` with its pending check (Compiled.check) run as part of it: a value that fails makes the
 * run not proven. Empty values are skipped: whatever holds them leaves them out of the output.
 */
export function withCheck(c: Compiled): Compiled {
  const check = c.check;
  if (check === undefined) return c;
  const run = c.run;
  const clean = c.clean === true;
  return {
    ...c,
    check: undefined,
    run: (ctx) => {
      const v = run(ctx);
      const plan = ctx.plan;
      if (v !== undefined && plan !== undefined && (clean || !isEmpty(v)) && !check(v, plan.references)) plan.ok = false;
      return v;
    },
  };
}

/**
 * An object written in the template, planned: its keys were checked at load, its values are
 * checked where they are computed; what remains per run, in its builder, is that each required
 * key is there (unless its value is a constant, always there) and, for a Reference, collecting
 * `reference`.
 */
export function ownChecks(planned: PlannedObject, fields: readonly { key: string; c: Compiled }[]): ObjectChecks {
  const always = new Set(fields.filter((f) => !f.c.dynamic && f.c.clean === true).map((f) => f.key));
  return { required: planned.required.filter((k) => !always.has(k)), collectsReference: planned.collectsReference };
}

/**
 * A node whose value is the same every run, checked at load against its place in the
 * output. A run that writes a value failing it is not proven; References inside it are
 * collected each run (the whole check would meet them in every output).
 */
export function constantChecked(planner: OutputPlanner | undefined, compiled: Compiled, value: unknown, at: OutputAt | undefined): Compiled {
  // An empty constant is left out by whatever holds it.
  if (at === undefined || isEmpty(value) || planner === undefined) return compiled;
  const references: string[] = [];
  const ok = planner.checkAt(at)(value, references);
  if (ok && references.length === 0) return compiled;
  const run = compiled.run;
  return {
    ...compiled,
    run: (ctx) => {
      const v = run(ctx);
      const plan = ctx.plan;
      if (v !== undefined && plan !== undefined) {
        if (!ok) plan.ok = false;
        else for (let i = 0; i < references.length; i++) plan.references.push(references[i]);
      }
      return v;
    },
  };
}

/**
 * The check of an object Tramline itself writes (an upsert's request), whose keys and
 * constant values are known now: those checked here, the varying values each run.
 */
export function shapeCheck(planner: OutputPlanner, at: OutputAt, shape: { constant: Readonly<Record<string, unknown>>; dynamic: readonly string[] }): ValueCheck {
  const planned = planner.objectAt(at, undefined);
  if (planned === undefined) return planner.checkAt(at);
  const keys = [...Object.keys(shape.constant), ...shape.dynamic];
  const fits =
    keys.every((k) => planned.child(k) !== undefined) &&
    planned.required.every((k) => keys.includes(k)) &&
    Object.entries(shape.constant).every(([k, v]) => planner.checkAt(planned.child(k) as OutputAt)(v, undefined));
  if (!fits) return NEVER;
  const varying = shape.dynamic.map((k) => ({ key: k, check: planner.checkAt(planned.child(k) as OutputAt) }));
  return (value, references) => {
    const object = value as Record<string, unknown>;
    for (const { key, check } of varying) if (!check(object[key], references)) return false;
    return true;
  };
}
