// File destination: each message becomes one file in a folder a case system picks up from.
// Written atomically — temp file in the same folder, fsync, rename, fsync the folder — so a
// reader never sees half a file and a crash leaves either the whole file or none. The name
// depends only on the message, so a redelivery rewrites the same file with the same bytes.
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { FileDestinationConfig } from './spec.js';
import type { Envelope } from '../../core/queue.js';
import { log } from '../../core/logger.js';
import { encodeHl7Text, peekCharset } from '../hl7v2/charset.js';
import type { DeliveryReport, Destination } from '../types.js';
import { writeFileAtomically } from './atomic-write.js';
import { fsDeliveryError } from './errors.js';
import { DEFAULT_FILE_NAME, fileNameFor } from './name.js';

export type FileDestinationOptions = Pick<FileDestinationConfig, 'directory'> & Partial<Pick<FileDestinationConfig, 'fileName' | 'createDirectory'>>;

export { TEMP_PREFIX } from './atomic-write.js';

export class FileDestination implements Destination {
  private readonly directory: string;
  private readonly template: string;

  constructor(private readonly config: FileDestinationOptions) {
    this.directory = path.resolve(config.directory);
    this.template = config.fileName ?? DEFAULT_FILE_NAME;
  }

  async open(): Promise<void> {
    if (this.config.createDirectory) await mkdir(this.directory, { recursive: true });
    // Only a warning: an unmounted share may come back, and deliveries retry meanwhile.
    await access(this.directory, constants.W_OK).catch((err: NodeJS.ErrnoException) =>
      log.warn({ directory: this.directory, code: err.code }, 'file destination folder not writable yet'),
    );
  }

  /** Full path of the file for one envelope. */
  pathFor(envelope: Envelope): string {
    return path.join(this.directory, fileNameFor(this.template, envelope));
  }

  /** Reports nothing: the file holds the message as it is, and nothing comes back. */
  async deliver(envelope: Envelope): Promise<DeliveryReport | undefined> {
    const target = this.pathFor(envelope);
    const bytes = encodeHl7Text(envelope.body, peekCharset(Buffer.from(envelope.body.slice(0, 4096), 'latin1')));
    if (this.config.createDirectory) {
      await mkdir(this.directory, { recursive: true }).catch((err) => {
        throw fsDeliveryError(err, `creating ${this.directory}`);
      });
    }
    await writeFileAtomically(this.directory, path.basename(target), bytes, `file destination ${this.directory}`);
    return undefined;
  }

  async close(): Promise<void> {}
}
