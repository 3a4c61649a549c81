// Writing a file so that a reader never sees half of it and a crash leaves the whole file or
// none: a temp file in the same folder, fsync, rename over the target, fsync the folder (which
// makes the rename itself durable). Shared by the file and MESH outbox destinations.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fsDeliveryError } from './errors.js';

/** Temp files start with a dot and end in .tmp, which pick-up jobs conventionally ignore. */
export const TEMP_PREFIX = '.tramline-';

/**
 * Write `bytes` to `directory/name` atomically. A failure is a DeliveryError (from
 * fsDeliveryError) whose message is `<what>: <step>`, the temp file removed.
 */
export async function writeFileAtomically(directory: string, name: string, bytes: Buffer, what: string): Promise<void> {
  const temp = path.join(directory, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}.tmp`);
  let step = 'creating a temp file';
  try {
    const handle = await open(temp, 'wx', 0o640);
    try {
      step = 'writing';
      await handle.writeFile(bytes);
      step = 'fsync';
      await handle.sync();
    } finally {
      await handle.close();
    }
    step = 'rename';
    await rename(temp, path.join(directory, name));
    step = 'fsync of the folder';
    const dir = await open(directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw fsDeliveryError(err, `${what}: ${step}`);
  }
}
