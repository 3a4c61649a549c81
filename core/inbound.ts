// What a message source below the channel runtime (the MESH folder) hands to the channel's
// message intake: one whole message with its transport's metadata, stored raw and routed
// as it is. Sources depend on this contract rather than on the intake itself.

export interface InboundMessage {
  /** Who sent it (a MESH mailbox): with `controlId`, the duplicate key. */
  sender: string;
  /** The sender's id of the message (MESH LocalId, else DTSId). */
  controlId: string;
  /** e.g. `MESH^<WorkflowId>`, kept as the message's type. */
  messageType: string;
  /** Words of the routing key after `<channel>.` (e.g. `mesh`, the workflow, the sender). */
  routing: string[];
  /** The payload, stored as received and delivered as UTF-8 text. */
  body: Buffer;
  /** Transport metadata carried along to destinations (mailboxes, workflow, ids; no content). */
  headers: Record<string, string>;
  /** A transport report (not a message): stored, never routed; `error` marks a failed transfer. */
  report?: { error?: string };
}

export interface InboundResult {
  id: string;
  /** Already stored from this sender under this id: not routed again. */
  duplicate: boolean;
}

/** Stores the message durably (then routes it); rejects only when it could not be stored. */
export interface InboundIntake {
  accept(message: InboundMessage): Promise<InboundResult>;
}
