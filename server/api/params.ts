// Reading query strings and JSON bodies strictly: a wrong value is a 400 naming the field.
import { HttpError } from '../http/errors.js';

type Source = Record<string, unknown>;

function single(source: Source, name: string): string | undefined {
  const v = source[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new HttpError(400, `${name} must be given once, as text`);
}

export function optionalString(source: Source, name: string, pattern?: RegExp): string | undefined {
  const v = single(source, name);
  if (v !== undefined && (v.length > 200 || (pattern && !pattern.test(v)))) throw new HttpError(400, `${name} is not valid`);
  return v;
}

export function requiredString(source: Source, name: string): string {
  const v = optionalString(source, name);
  if (v === undefined) throw new HttpError(400, `${name} is required`);
  return v;
}

export function optionalDate(source: Source, name: string): Date | undefined {
  const v = single(source, name);
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new HttpError(400, `${name} must be a date/time such as 2026-11-26T10:00:00Z`);
  return d;
}

export function optionalInt(source: Source, name: string, min: number, max: number): number | undefined {
  const v = single(source, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, `${name} must be a whole number from ${min} to ${max}`);
  return n;
}

export function optionalEnum<T extends string>(source: Source, name: string, values: readonly T[]): T | undefined {
  const v = single(source, name);
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) throw new HttpError(400, `${name} must be one of ${values.join(', ')}`);
  return v as T;
}

export function optionalBoolean(source: Source, name: string): boolean {
  const v = single(source, name);
  if (v === undefined) return false;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new HttpError(400, `${name} must be true or false`);
}

export function stringList(source: Source, name: string, required: boolean, max = 10_000): string[] | undefined {
  const v = source[name];
  if (v === undefined) {
    if (required) throw new HttpError(400, `${name} is required`);
    return undefined;
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.length > 200) || v.length > max) {
    throw new HttpError(400, `${name} must be an array of up to ${max} strings`);
  }
  return v as string[];
}

export function bodyObject(body: unknown): Source {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'request body must be a JSON object');
  return body as Source;
}
