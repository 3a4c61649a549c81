// The running part of each source and destination type in channels/components.ts: how the
// engine builds a destination adapter, and starts a source, from its loaded settings. The maps
// are keyed by every `type` the specs declare, so a component without its constructor here
// does not compile.
import { CaseInboxDestination } from '../adapters/case-inbox/destination.js';
import { DatabasePollSource, type WatermarkStore } from '../adapters/database/poll-source.js';
import { FhirDestination } from '../adapters/fhir/destination.js';
import { FileDestination } from '../adapters/file/destination.js';
import { FileDropSource } from '../adapters/file-drop/source.js';
import { HttpDestination } from '../adapters/http/destination.js';
import { MeshFolderDestination } from '../adapters/mesh-folder/destination.js';
import { MeshFolderSource } from '../adapters/mesh-folder/source.js';
import { MllpDestination } from '../adapters/mllp/destination.js';
import { MllpServer } from '../adapters/mllp/server.js';
import type { Destination } from '../adapters/types.js';
import type { ChannelDefinition, DestinationConfig, MllpSourceConfig, SourceConfig } from './definition.js';
import type { Hl7Intake } from './hl7-intake.js';
import type { MessageIntake } from './message-intake.js';
import type { RecordIntake } from './record-intake.js';

type ByType<C extends { type: string }, R> = { [T in C['type']]: (config: Extract<C, { type: T }>) => R };

const DESTINATIONS: ByType<DestinationConfig, Destination> = {
  'case-inbox': (config) => new CaseInboxDestination(config),
  http: (config) => new HttpDestination(config),
  mllp: (config) => new MllpDestination(config),
  file: (config) => new FileDestination(config),
  fhir: (config) => new FhirDestination(config),
  'mesh-folder': (config) => new MeshFolderDestination(config),
};

/** The adapter for one destination block of a channel (not yet opened). */
export function createDestination(config: DestinationConfig): Destination {
  // The map's key and the config's type agree; TypeScript cannot follow that through a union.
  const create = DESTINATIONS[config.type] as (config: DestinationConfig) => Destination;
  return create(config);
}

/** What a source needs from the engine to start. */
export interface SourceContext {
  channel: ChannelDefinition;
  /** The channel's HL7 v2 intake (store, ACK, queue), for sources of HL7 v2 messages. */
  hl7Intake(source: MllpSourceConfig): Hl7Intake;
  /** The channel's record intake (rows → groups → mapped messages), for sources of records. */
  recordIntake(): RecordIntake;
  /** The channel's intake of whole messages with transport metadata (stored raw, routed as they are). */
  messageIntake(): MessageIntake;
  /** Where database polling sources keep their position (the store). */
  watermarks?: WatermarkStore;
  /** Told of each MLLP connection closed because the channel's maxConnections were open. */
  onConnectionRefused?: () => void;
}

export interface RunningSource {
  intake: Hl7Intake | RecordIntake | MessageIntake;
  /** Bound MLLP port (differs from the configured one when that was 0); 0 for other sources. */
  port: number;
  stop(): Promise<void>;
}

const SOURCES: { [T in SourceConfig['type']]: (config: Extract<SourceConfig, { type: T }>, ctx: SourceContext) => Promise<RunningSource> } = {
  async mllp(source, ctx) {
    const intake = ctx.hl7Intake(source);
    const server = new MllpServer({
      host: source.host,
      port: source.port,
      maxMessageBytes: source.maxMessageBytes,
      idleTimeoutMs: source.idleTimeoutMs,
      maxConnections: source.maxConnections,
      onRefused: () => ctx.onConnectionRefused?.(),
      onMessage: (raw, conn) => intake.handle(raw, conn.remoteAddress),
      onOversize: (prefix, conn) => intake.oversize(prefix, source.maxMessageBytes, conn.remoteAddress),
    });
    const port = await server.start().catch((err: unknown) => {
      throw (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? new Error(`channel ${ctx.channel.id} (${ctx.channel.file}): MLLP port ${source.port} in use (source.port)`)
        : err;
    });
    return { intake, port, stop: () => server.close() };
  },
  // Records arrive through the HTTP API (POST /inbound/<channel>), which finds this intake; a
  // notices channel's messages through POST /inbound/<channel>/notices.
  async http(_source, ctx) {
    return { intake: ctx.channel.notices ? ctx.messageIntake() : ctx.recordIntake(), port: 0, stop: async () => undefined };
  },
  async file(source, ctx) {
    const intake = ctx.recordIntake();
    const files = new FileDropSource(source, intake, ctx.channel.id);
    files.start();
    return { intake, port: 0, stop: () => files.close() };
  },
  async database(source, ctx) {
    if (!ctx.watermarks) throw new Error(`channel ${ctx.channel.id}: database sources need a watermark store`);
    const intake = ctx.recordIntake();
    const poller = new DatabasePollSource(ctx.channel.id, source, ctx.watermarks, (rows, origin) => intake.ingest(rows, origin));
    await poller.start();
    return { intake, port: 0, stop: () => poller.close() };
  },
  async 'mesh-folder'(source, ctx) {
    const intake = ctx.messageIntake();
    const inbox = new MeshFolderSource(source, intake, ctx.channel.id);
    await inbox.start();
    return { intake, port: 0, stop: () => inbox.close() };
  },
};

/** Start a channel's source. */
export function startSource(ctx: SourceContext): Promise<RunningSource> {
  // As above: the entry for the source's own type.
  const start = SOURCES[ctx.channel.source.type] as (config: SourceConfig, ctx: SourceContext) => Promise<RunningSource>;
  return start(ctx.channel.source, ctx);
}
