// Disk errors: which ones can clear by themselves and which need a person. Permanent
// failures dead-letter at once and are replayed once fixed; the rest back off and retry.
import { DeliveryError } from '../../core/errors.js';

/**
 * Permissions, a read-only file system, a path that is not a folder, a name the file system
 * refuses: none of these changes without someone acting.
 */
const PERMANENT = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'ENAMETOOLONG', 'EINVAL', 'ELOOP']);

/**
 * Everything else is retried: a full disk or quota (ENOSPC, EDQUOT), I/O errors and busy or
 * vanished network shares (EIO, EBUSY, ESTALE, ETIMEDOUT, ENOTCONN), a missing folder that is
 * usually an unmounted share (ENOENT), too many open files (EMFILE, ENFILE) — and unknown
 * codes, since the attempt limit still ends a hopeless case.
 */
export function isRetryableFsError(code: string | undefined): boolean {
  return code === undefined || !PERMANENT.has(code);
}

export function fsDeliveryError(err: unknown, what: string): DeliveryError {
  const code = (err as NodeJS.ErrnoException).code;
  return new DeliveryError(`${what} failed: ${code ?? (err as Error).message}`, isRetryableFsError(code), { code });
}
