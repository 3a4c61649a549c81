// A per-user disk cache of generated validator code. Compiling the FHIR R4 schema blocks the
// event loop for seconds in every process (engines, workers, each test file); ajv's standalone
// code generation writes the same validators out as source, which the next process evaluates in
// milliseconds. The code is run, so it is only read from a directory this user owns and nobody
// else can write (and from files likewise), written whole (temp file + rename), and keyed by a
// hash of everything it was generated from: a stale or foreign file is never loaded.
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** TRAMLINE_CACHE_DIR, else $XDG_CACHE_HOME/tramline, else ~/.cache/tramline. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRAMLINE_CACHE_DIR) return env.TRAMLINE_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tramline');
}

/** Why `path` may not hold code this process runs, or undefined if it may. */
function unsafe(path: string, kind: 'directory' | 'file'): string | undefined {
  const st = lstatSync(path);
  if (kind === 'directory' ? !st.isDirectory() : !st.isFile()) return `${path} is not a plain ${kind}`;
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return `${path} belongs to another user`;
  if ((st.mode & 0o022) !== 0) return `${path} is writable by others`;
  return undefined;
}

export interface CachedCode {
  /** The code; none when the cache cannot be used (then compiling only what is needed costs less). */
  source?: string;
  /** Read from the cache, generated and written to it, generated but not written, or not usable. */
  origin: 'cache' | 'written' | 'generated' | 'unusable';
  /** Why the cache was not used, when it was not. */
  problem?: string;
}

/**
 * The code cached under `<name>-<key>.cjs`, or `generate()`'s, which is then written there
 * (other keys' files stay: checkouts of different versions may share the cache). Never throws
 * for the cache: an unusable one is named in `problem`.
 */
export function cachedCode(name: string, key: string, generate: () => string, dir = cacheDir()): CachedCode {
  const file = join(dir, `${name}-${key}.cjs`);
  let problem: string | undefined;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    problem = unsafe(dir, 'directory');
  } catch (e) {
    problem = `cannot create ${dir}: ${(e as Error).message}`;
  }
  if (problem !== undefined) return { origin: 'unusable', problem };
  try {
    problem = unsafe(file, 'file');
    if (problem === undefined) return { source: readFileSync(file, 'utf8'), origin: 'cache' };
  } catch {
    // No file yet: generate and write it below.
  }
  if (problem !== undefined) return { origin: 'unusable', problem };
  const source = generate();
  try {
    const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(temp, source, { mode: 0o600, flag: 'wx' });
    renameSync(temp, file);
    return { source, origin: 'written' };
  } catch (e) {
    return { source, origin: 'generated', problem: `cannot write ${dir}: ${(e as Error).message}` };
  }
}
