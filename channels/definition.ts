// Typed shape of a channel file (schemas/channel.schema.json is the authority; these types
// mirror it after defaults are applied).

import type { FhirAuth } from '../adapters/fhir/config.js';
import type { Hl7Limits } from '../adapters/hl7v2/limits.js';

export interface MessageFilter {
  messageTypes?: string[];
  triggerEvents?: string[];
  sendingFacilities?: string[];
  wards?: string[];
}

export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
}

export interface MllpSourceConfig {
  type: 'mllp';
  host: string;
  port: number;
  maxMessageBytes: number;
  idleTimeoutMs: number;
  /** Open connections per listener; more are closed at once. */
  maxConnections: number;
  /** Character set (iconv-lite name) for messages that are not valid UTF-8 and declare no other. */
  charset?: string;
  /** Overrides of DEFAULT_HL7_LIMITS (adapters/hl7v2/limits.ts). */
  limits?: Partial<Hl7Limits>;
  ackMode: 'auto' | 'original' | 'enhanced';
  whenQueueDown: 'store-and-ack' | 'nak';
}

export interface FileSourceConfig {
  type: 'file';
  directory: string;
  formats: ('csv' | 'jsonl')[];
  pollIntervalMs: number;
  stableMs: number;
  csvDelimiter: string;
  /** How extract bytes are decoded; text that is not valid in it rejects its row. */
  charset: 'utf-8' | 'latin1' | 'windows-1252';
}

export interface HttpSourceConfig {
  type: 'http';
  maxRecords: number;
}

export interface DatabaseSourceConfig {
  type: 'database';
  url: string;
  view: string;
  watermark: string;
  key: string;
  pollIntervalMs: number;
  batchSize: number;
}

/** Sources that deliver records (rows) rather than HL7 v2 messages. */
export type RecordSourceConfig = FileSourceConfig | HttpSourceConfig | DatabaseSourceConfig;
export type SourceConfig = MllpSourceConfig | RecordSourceConfig;

export interface ExclusionRule {
  name?: string;
  field: string;
  in?: (string | number | boolean)[];
}

export interface PipelineConfig {
  filter?: MessageFilter;
  map?: string;
  recordFormat?: 'cld';
  recordSchema?: string;
  groupBy?: string;
  exclude?: ExclusionRule[];
  retract: 'entered-in-error' | 'delete';
  vars?: Record<string, string | number | boolean>;
}

interface DestinationBase {
  name: string;
  routes?: string[];
  filter?: MessageFilter;
  retry: RetryPolicy;
  concurrency: number;
}

export interface CaseInboxDestinationConfig extends DestinationBase {
  type: 'case-inbox';
  database: string;
  table: string;
}

export type HttpAuth =
  | { type: 'none' }
  | { type: 'basic'; username: string; /** Environment variable holding the password. */ passwordEnv: string }
  | { type: 'bearer'; /** Environment variable holding the token. */ tokenEnv: string };

export interface HttpDestinationConfig extends DestinationBase {
  type: 'http';
  url: string;
  method: 'POST' | 'PUT' | 'PATCH';
  /** `json`: the message wrapped with its metadata; `hl7`: the HL7 v2 text as is. */
  format: 'json' | 'hl7';
  headers: Record<string, string>;
  auth: HttpAuth;
  timeoutMs: number;
}

export interface MllpDestinationConfig extends DestinationBase {
  type: 'mllp';
  host: string;
  port: number;
  responseTimeoutMs: number;
  connectTimeoutMs: number;
  /** Present → connect with TLS; the server certificate is always verified. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string; servername?: string };
}

export interface FileDestinationConfig extends DestinationBase {
  type: 'file';
  directory: string;
  /** File name template: {messageId}, {controlId}, {messageType}, {receivedAt}. */
  fileName: string;
  /** Create the folder if it is missing (off by default: a missing mount must not become a local folder). */
  createDirectory: boolean;
}

export interface FhirDestinationConfig extends DestinationBase {
  type: 'fhir';
  /** FHIR base URL; unset → TRAMLINE_LPRES_URL, else the engine's own /fhir sandbox. */
  url?: string;
  auth: FhirAuth;
  timeoutMs: number;
}

export type DestinationConfig = CaseInboxDestinationConfig | HttpDestinationConfig | MllpDestinationConfig | FileDestinationConfig | FhirDestinationConfig;

export interface ChannelDefinition {
  id: string;
  name?: string;
  description?: string;
  enabled: boolean;
  source: SourceConfig;
  pipeline?: PipelineConfig;
  destinations: DestinationConfig[];
  retention?: { contentDays?: number };
  /** File the channel was loaded from. */
  file: string;
}

/** Engine-wide destination id, also the queue name: `<channel>.<destination>`. */
export function destinationId(channel: string, destination: string): string {
  return `${channel}.${destination}`;
}
