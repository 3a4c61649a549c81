// Typed shape of a channel file (schemas/channel.schema.json is the authority; these types
// mirror it after defaults are applied).

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
  ackMode: 'auto' | 'original' | 'enhanced';
  whenQueueDown: 'store-and-ack' | 'nak';
}

export type SourceConfig = MllpSourceConfig;

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

export type DestinationConfig = CaseInboxDestinationConfig;

export interface ChannelDefinition {
  id: string;
  name?: string;
  description?: string;
  enabled: boolean;
  source: SourceConfig;
  pipeline?: { filter?: MessageFilter; map?: string };
  destinations: DestinationConfig[];
  retention?: { contentDays?: number };
  /** File the channel was loaded from. */
  file: string;
}

/** Engine-wide destination id, also the queue name: `<channel>.<destination>`. */
export function destinationId(channel: string, destination: string): string {
  return `${channel}.${destination}`;
}
