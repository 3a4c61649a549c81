// A mapping thread of the pool (map-pool.ts): HL7 v2 text → the mapped Bundle as JSON. Parse,
// map and FHIR validation run here, off the engine's main thread; each thread compiles a
// mapping and its validators once (mappings/index.ts caches them). Tasks come in batches (all
// those one turn of the main thread's event loop produced) and go back in one reply.
import { parentPort } from 'node:worker_threads';
import { TramlineError } from '../core/errors.js';
import { mapHl7ToBundleJson } from './index.js';

/** [task id, HL7 v2 text, mapping id or path] */
export type MapTask = [id: number, text: string, mapping: string];

/** The Bundle's JSON, or the typed failure's kind (the reason recorded names no content). */
export type MapReply = [id: number, body: string, failed?: undefined] | [id: number, body: undefined, failed: TramlineError['kind'] | 'error'];

export function mapOne([id, text, mapping]: MapTask): MapReply {
  try {
    return [id, mapHl7ToBundleJson(text, mapping)];
  } catch (err) {
    // runMapping turns a mapping's own bugs into MappingError; anything else is ours.
    return [id, undefined, err instanceof TramlineError ? err.kind : 'error'];
  }
}

parentPort?.on('message', (tasks: MapTask[]) => parentPort!.postMessage(tasks.map(mapOne)));
