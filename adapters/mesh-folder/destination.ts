// The MESH client's outbox as a destination: each message becomes `<id>.dat` and `<id>.ctl`.
// Each file is written to a temporary name, fsynced and renamed, the .ctl last, and the folder
// fsynced: the MESH client picks a message up by its control file, so it never sees a control
// file without its whole data file. Names and LocalId are the store's message id, so a retry
// (at-least-once delivery) rewrites the same pair rather than sending a second message; once
// the client has sent and removed a pair, a late retry would send it again, which the
// recipient's own (mailbox, LocalId) duplicate check is there for.
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DeliveryError } from '../../core/errors.js';
import { log } from '../../core/logger.js';
import type { Envelope } from '../../core/queue.js';
import { writeFileAtomically } from '../file/atomic-write.js';
import { fsDeliveryError } from '../file/errors.js';
import type { DeliveryReport, Destination } from '../types.js';
import { writeControlFile, type ControlFile } from './control.js';
import type { MeshFolderDestinationConfig } from './spec.js';

export type MeshFolderDestinationOptions = Pick<MeshFolderDestinationConfig, 'outbox' | 'fromMailbox' | 'workflowId'> &
  Partial<Pick<MeshFolderDestinationConfig, 'toMailbox' | 'replyToSender' | 'subject' | 'createDirectory'>>;

const MAILBOX = /^[A-Za-z0-9]{1,20}$/;
const WORKFLOW = /^[A-Za-z0-9_.-]{1,100}$/;

/** The `meshReplyWorkflowId` header, when the message sets a valid one. */
function workflowOf(envelope: Envelope): string | undefined {
  const wf = envelope.headers.meshReplyWorkflowId;
  return wf && WORKFLOW.test(wf) ? wf : undefined;
}

export class MeshFolderDestination implements Destination {
  private readonly outbox: string;

  constructor(private readonly config: MeshFolderDestinationOptions) {
    this.outbox = path.resolve(config.outbox);
  }

  async open(): Promise<void> {
    if (this.config.createDirectory) await mkdir(this.outbox, { recursive: true });
    await access(this.outbox, constants.W_OK).catch((err: NodeJS.ErrnoException) => log.warn({ outbox: this.outbox, code: err.code }, 'MESH outbox not writable yet'));
  }

  /** The base name of an envelope's pair: its message id, reduced to safe characters. */
  baseNameFor(envelope: Envelope): string {
    return envelope.messageId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100);
  }

  /** The control file for an envelope: To_DTS from the settings or, replying, from its sender. */
  controlFor(envelope: Envelope): ControlFile {
    const to = this.config.replyToSender ? envelope.headers.meshFrom : this.config.toMailbox;
    if (!to || !MAILBOX.test(to)) {
      const why = this.config.replyToSender ? 'the message has no sending mailbox (meshFrom) to reply to' : 'no toMailbox set';
      throw new DeliveryError(`MESH outbox: ${why}`, false);
    }
    return {
      version: '1.0',
      addressType: 'DTS',
      messageType: 'Data',
      // An ADW answer names its own workflow (the channel's notices.responses); else the destination's.
      workflowId: workflowOf(envelope) ?? this.config.workflowId,
      fromDts: this.config.fromMailbox,
      toDts: to,
      ...(this.config.subject ? { subject: this.config.subject } : {}),
      localId: envelope.messageId,
      compress: false,
      encrypted: false,
    };
  }

  async deliver(envelope: Envelope): Promise<DeliveryReport | undefined> {
    const control = this.controlFor(envelope);
    const base = this.baseNameFor(envelope);
    if (this.config.createDirectory) await mkdir(this.outbox, { recursive: true }).catch((err) => Promise.reject(fsDeliveryError(err, `creating ${this.outbox}`)));
    await writeFileAtomically(this.outbox, `${base}.dat`, Buffer.from(envelope.body, 'utf8'), `MESH outbox ${this.outbox}: ${base}.dat`);
    await writeFileAtomically(this.outbox, `${base}.ctl`, Buffer.from(writeControlFile(control), 'utf8'), `MESH outbox ${this.outbox}: ${base}.ctl`);
    return undefined;
  }

  async close(): Promise<void> {}
}
