// Deploys channels: opens each destination and its queue consumer, starts each source, and
// stops them in the safe order (sources first, so nothing new arrives; then the queue, which
// waits for in-flight deliveries; then destinations).
import type { WatermarkStore } from '../adapters/database/poll-source.js';
import type { Destination } from '../adapters/types.js';
import { loadMappingById } from '../mappings/index.js';
import { createBundleMapper, type BundleMapper } from '../mappings/map-pool.js';
import { log } from '../core/logger.js';
import type { MessageStore } from '../core/store.js';
import { BacklogPublisher } from './backlog.js';
import { DEFAULT_RETRY } from './channel-schema.js';
import { createDestination, startSource } from './construct.js';
import { destinationId, type ChannelDefinition, type DestinationConfig } from './definition.js';
import { destinationMapper } from './destination-map.js';
import { createDispatcher, type DispatchOptions } from './dispatch.js';
import { Hl7Intake, type Hl7IntakeOptions } from './hl7-intake.js';
import { MessageIntake } from './message-intake.js';
import { NoticeIntake } from './notice-intake.js';
import { NoticeService } from './notice-service.js';
import type { NoticeStore } from '../core/notices.js';
import { RecordIntake } from './record-intake.js';
import { recordFormatFor, recordMapperFor } from './record-formats.js';
import type { DeliveryHandler, DeliveryQueue } from '../core/queue.js';
import { subscriptionsOf } from './routing.js';
import { PendingReceives } from './stored-after-publish.js';

export interface DeployedChannel {
  definition: ChannelDefinition;
  /** HL7 v2 intake (MLLP sources) or record intake (file, http, database sources). */
  intake: Hl7Intake | RecordIntake | MessageIntake;
  /** Bound MLLP port (differs from the configured one when that was 0); 0 for other sources. */
  port: number;
  stop(): Promise<void>;
}

export interface EngineOptions {
  store: MessageStore;
  queue: DeliveryQueue;
  channels: ChannelDefinition[];
  /** False while the queue is unreachable (RabbitMQ); intake then stores and ACKs. */
  queueAvailable?: () => boolean;
  onOutcome?: DispatchOptions['onOutcome'];
  /** How often to look for stored-but-unqueued messages (default 5 s). */
  backlogIntervalMs?: number;
  /** Told of every HL7 acknowledgement sent (audit trail). */
  onAck?: Hl7IntakeOptions['onAck'];
  /**
   * For a queue outside the store (RabbitMQ): HL7 intake publishes a message while storing it
   * and ACKs once both are done (channels/stored-after-publish.ts). Default false: publish after
   * the store commit, as the other intakes do.
   */
  publishAhead?: boolean;
  /** Where database polling sources keep their position (the store). */
  watermarks?: WatermarkStore;
  /** Told of each MLLP connection closed because the channel's maxConnections were open. */
  onConnectionRefused?: (channel: string) => void;
  /** Where channels with a `notices` block keep their notices' state (needed by those channels). */
  notices?: NoticeStore;
  /** Where destination mappings run (default: the main thread). The engine closes it at stop. */
  mapper?: BundleMapper;
}

/** Same settings: deep equality of the JSON form (definitions come from YAML, so plain data). */
function sameSettings(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class Engine {
  readonly channels: DeployedChannel[] = [];
  /** Destination adapters by destination id, with the settings they were built from. */
  private readonly destinations = new Map<string, { config: DestinationConfig; destination: Destination }>();
  /** The current handler per destination: the queue consumer calls through it, so a redeploy can swap it. */
  private readonly handlers = new Map<string, DeliveryHandler>();
  /** Channel definitions as deployed now (a redeploy replaces them). */
  private definitions: ChannelDefinition[];
  private backlog?: BacklogPublisher;
  private backlogTimer?: NodeJS.Timeout;
  private recoverTimer?: NodeJS.Timeout;
  private stopping?: Promise<void>;
  private readonly pendingReceives?: PendingReceives;
  /** Lists, shows and decides notices (with a notice store): the API, CLI and console use it. */
  readonly notices?: NoticeService;
  private readonly mapper: BundleMapper;

  constructor(private readonly options: EngineOptions) {
    this.definitions = options.channels;
    // A queue outside the store (RabbitMQ): HL7 intake publishes while it stores (hl7-intake.ts).
    if (options.publishAhead && !options.queue.publishWithReceive) this.pendingReceives = new PendingReceives();
    this.mapper = options.mapper ?? createBundleMapper(0);
    if (options.notices) {
      this.notices = new NoticeService({
        store: options.store,
        queue: options.queue,
        notices: options.notices,
        channels: () => this.definitions.filter((c) => c.enabled),
        queueAvailable: options.queueAvailable,
      });
    }
  }

  /** The channel definitions currently deployed. */
  get deployed(): readonly ChannelDefinition[] {
    return this.definitions;
  }

  /** Build (or rebuild, when its settings changed) one destination and make sure it is consumed. */
  private async deployDestination(channel: ChannelDefinition, config: DestinationConfig): Promise<void> {
    const id = destinationId(channel.id, config.name);
    const existing = this.destinations.get(id);
    if (existing && sameSettings(existing.config, config)) return;
    const destination = createDestination(config);
    await destination.open();
    this.handlers.set(
      id,
      createDispatcher({
        destinationId: id,
        destination,
        store: this.options.store,
        retry: config.retry ?? DEFAULT_RETRY,
        filter: config.filter,
        ...(config.map ? { map: destinationMapper(config.map, this.mapper) } : {}),
        onOutcome: this.options.onOutcome,
        pendingReceives: this.pendingReceives,
      }),
    );
    this.destinations.set(id, { config, destination });
    // A replaced adapter is closed; a delivery still running on it fails and is retried.
    if (existing) await existing.destination.close();
    else await this.options.queue.consume(id, (delivery) => this.handlers.get(id)!(delivery));
  }

  /**
   * Deploy a new set of channel definitions (e.g. re-read from the folder) without a restart:
   * new channels start; changed ones restart their source with the new settings and rebuild
   * the destinations whose settings changed; removed ones stop their source (what is queued
   * for their destinations is still delivered). Removing a destination needs a restart.
   */
  async redeploy(next: ChannelDefinition[]): Promise<{ added: string[]; changed: string[]; removed: string[]; unchanged: string[] }> {
    const report = { added: [] as string[], changed: [] as string[], removed: [] as string[], unchanged: [] as string[] };
    const before = new Map(this.definitions.filter((c) => c.enabled).map((c) => [c.id, c]));
    const enabled = next.filter((c) => c.enabled);
    await this.options.queue.start(enabled.flatMap(subscriptionsOf));
    for (const id of before.keys()) {
      if (enabled.some((c) => c.id === id)) continue;
      await this.stopChannel(id);
      report.removed.push(id);
    }
    this.definitions = next;
    for (const channel of enabled) {
      const old = before.get(channel.id);
      if (old && sameSettings({ ...old, file: '' }, { ...channel, file: '' })) {
        report.unchanged.push(channel.id);
        continue;
      }
      await this.stopChannel(channel.id);
      for (const config of channel.destinations) await this.deployDestination(channel, config);
      await this.startChannel(channel.id);
      (old ? report.changed : report.added).push(channel.id);
    }
    this.backlog?.setChannels(new Map(enabled.map((c) => [c.id, c])));
    log.info(report, 'channels redeployed');
    return report;
  }

  async start(): Promise<void> {
    const { store, queue } = this.options;
    const enabled = this.definitions.filter((c) => c.enabled);
    await queue.start(enabled.flatMap(subscriptionsOf));

    for (const channel of enabled) {
      for (const config of channel.destinations) await this.deployDestination(channel, config);
    }

    // Answers held when the process stopped are released (or marked never sent) first; then
    // anything stored but not queued before a crash goes out before new traffic.
    await this.notices?.recover();
    this.backlog = new BacklogPublisher(store, queue, new Map(enabled.map((c) => [c.id, c])));
    await this.backlog.run();
    const interval = this.options.backlogIntervalMs ?? 5000;
    this.backlogTimer = setInterval(() => {
      if (this.options.queueAvailable?.() === false) return;
      // Leave fresh messages to the intake that is queueing them right now.
      void this.backlog?.run(new Date(Date.now() - interval)).catch(() => undefined);
    }, interval);
    this.backlogTimer.unref();
    // Answers held by a CLI that stopped mid-answer (the engine's own are released above).
    this.recoverTimer = setInterval(() => void this.notices?.recover().catch(() => undefined), 60_000);
    this.recoverTimer.unref();

    for (const channel of enabled) {
      const deployed = await this.startSource(channel);
      this.channels.push(deployed);
      log.info({ channel: channel.id, source: channel.source.type, ...(deployed.port ? { port: deployed.port } : {}) }, 'channel started');
    }
  }

  /** Stop one channel's source (its queued deliveries go on). False if it was not running. */
  async stopChannel(id: string): Promise<boolean> {
    const i = this.channels.findIndex((c) => c.definition.id === id);
    if (i < 0) return false;
    const [deployed] = this.channels.splice(i, 1);
    await deployed.stop();
    log.info({ channel: id }, 'channel stopped');
    return true;
  }

  /** Start a deployed channel's source again. False if it is unknown or already running. */
  async startChannel(id: string): Promise<boolean> {
    if (this.stopping || this.channels.some((c) => c.definition.id === id)) return false;
    const channel = this.definitions.find((c) => c.id === id && c.enabled);
    if (!channel) return false;
    const deployed = await this.startSource(channel);
    this.channels.push(deployed);
    log.info({ channel: id, source: channel.source.type }, 'channel started');
    return true;
  }

  /** The notice intake of a running channel with a `notices` block (for POST /inbound/<channel>/notices). */
  noticeIntake(channelId: string): NoticeIntake | undefined {
    const c = this.channels.find((d) => d.definition.id === channelId);
    return c?.intake instanceof NoticeIntake ? c.intake : undefined;
  }

  /** The record intake of an HTTP-source channel (for POST /inbound/<channel>). */
  httpIntake(channelId: string): RecordIntake | undefined {
    const c = this.channels.find((d) => d.definition.id === channelId && d.definition.source.type === 'http');
    return c?.intake instanceof RecordIntake ? c.intake : undefined;
  }

  private async startSource(channel: ChannelDefinition): Promise<DeployedChannel> {
    const { store, queue } = this.options;
    // Compile the mapping (and its FHIR validator) now, not on the first message: a broken
    // mapping stops the deploy, and the first sender does not wait seconds for its ACK.
    if (channel.pipeline?.map) loadMappingById(channel.pipeline.map);
    const running = await startSource({
      channel,
      hl7Intake: (source) =>
        new Hl7Intake({
          channel: { ...channel, source },
          store,
          queue,
          queueAvailable: this.options.queueAvailable,
          onAck: this.options.onAck,
          ...(this.pendingReceives ? { publishAhead: this.pendingReceives } : {}),
        }),
      recordIntake: () =>
        new RecordIntake({
          channel,
          store,
          queue,
          format: recordFormatFor(channel),
          map: recordMapperFor(channel),
          // A progress line every 500 people on long batches (ids and counts only).
          onProgress: (done, total) => {
            if (total >= 1000 && (done % 500 === 0 || done === total)) log.info({ channel: channel.id, done, total }, 'batch progress');
          },
        }),
      messageIntake: () => {
        if (!channel.notices) return new MessageIntake({ channel, store, queue, queueAvailable: this.options.queueAvailable });
        if (!this.options.notices || !this.notices) throw new Error(`channel ${channel.id} (${channel.file}): a notices channel needs the engine's notice store`);
        return new NoticeIntake({ channel, store, queue, queueAvailable: this.options.queueAvailable, notices: this.options.notices, service: this.notices });
      },
      watermarks: this.options.watermarks,
      onConnectionRefused: () => this.options.onConnectionRefused?.(channel.id),
    });
    return { definition: channel, ...running };
  }

  /** Queue the backlog now (e.g. when the broker comes back). */
  flushBacklog(): Promise<number> {
    return this.backlog?.run() ?? Promise.resolve(0);
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    clearInterval(this.backlogTimer);
    clearInterval(this.recoverTimer);
    // Sources first: they stop accepting and finish the messages in flight (store + ACK).
    await Promise.all(this.channels.map((c) => c.stop()));
    await this.options.queue.close();
    await Promise.all([...this.destinations.values()].map((d) => d.destination.close()));
    await this.mapper.close();
    log.info({ channels: this.channels.length }, 'channels stopped');
  }
}
