// Wires one engine process: store, queue (embedded or RabbitMQ), channels, HTTP. This is
// what `tramline start` and `npm start` run.
import type { Server } from 'node:http';
import { EmbeddedQueue } from '../adapters/queue/embedded.js';
import { RabbitQueue } from '../adapters/queue/rabbitmq.js';
import type { DeliveryQueue } from '../core/queue.js';
import type { ChannelDefinition } from '../channels/definition.js';
import { Engine } from '../channels/engine.js';
import { createBundleMapper } from '../mappings/map-pool.js';
import { formatProblem, loadChannelFolder } from '../channels/load.js';
import { channelMappings } from '../channels/mapping-refs.js';
import { HttpError } from './http/errors.js';
import type { Config } from '../core/config.js';
import { AlertEvaluator, alertIntervalMs } from './alerts/evaluator.js';
import { checkAlertTargets, loadAlerts } from './alerts/rules.js';
import { createAdminParts } from './api/admin.js';
import { HeadPublisher, headIntervalMs } from './audit/head.js';
import { instrumentEngine, type Instrumented } from './audit/instrument.js';
import { ENGINE_ACTOR } from './audit/message-audit.js';
import { createConsole } from './console/index.js';
import { viewerOptionsForEngine } from './viewer/engine-options.js';
import type { ViewerData } from './viewer/model.js';
import { createViewerData } from './viewer/record.js';
import { ConfigError } from '../core/errors.js';
import { createApp } from './http/app.js';
import { createInboundRouter } from '../adapters/http/inbound.js';
import { SqlNoticeStore } from '../adapters/store/notice-store.js';
import { createNoticeInboundRouter } from './http/notice-inbound.js';
import { createSandboxFhirParts } from './fhir/engine-mount.js';
import { log } from '../core/logger.js';
import { publishUntilDisconnect } from './publish-until-disconnect.js';
import { scheduleRetention } from './retention/prune.js';
import { openStore, type OpenedStore } from './open-store.js';

export interface RunningEngine {
  engine: Engine;
  opened: OpenedStore;
  queue: DeliveryQueue;
  httpPort: number;
  /** Audit trail and metrics (server/audit/instrument.ts). */
  instrumented: Instrumented;
  stop(): Promise<void>;
}

function createQueue(config: Config, opened: OpenedStore): { queue: DeliveryQueue; rabbit?: RabbitQueue } {
  if (!config.amqpUrl) return { queue: new EmbeddedQueue(opened.db, { keys: opened.keys }) };
  const rabbit = new RabbitQueue({ url: config.amqpUrl, prefix: process.env.TRAMLINE_AMQP_PREFIX || 'tramline' });
  return { queue: rabbit, rabbit };
}

/** Express 5 hands a listen error to the callback rather than throwing it: a taken port must stop start-up. */
function listen(app: ReturnType<typeof createApp>, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, (err?: Error) => {
      if (!err) return resolve(server);
      reject((err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? new Error(`port ${port} in use (TRAMLINE_HTTP_PORT)`) : err);
    });
  });
}

export async function runEngine(config: Config, channels: ChannelDefinition[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<RunningEngine> {
  const env = options.env ?? process.env;
  // Alert rules beside the channels (server/alerts/): a bad file stops start-up like a bad channel.
  const alertRules = loadAlerts(config.channelsDir, env);
  alertRules.problems.push(...checkAlertTargets(alertRules, channels));
  if (alertRules.problems.length) throw new Error(`${alertRules.problems.length} problem(s) in the alert rules:\n${alertRules.problems.map(formatProblem).join('\n')}`);
  const opened = await openStore(config);
  const created = createQueue(config, opened);
  const rabbit = created.rabbit;
  // The engine sees observed store and queue: audit trail and metrics without engine changes.
  const instrumented = instrumentEngine(opened, created.queue, channels);
  const { queue, audit } = instrumented;
  const engine = new Engine({
    store: instrumented.store,
    // A publish caught mid-flight by a broker outage must not hold the sender's ACK until it ends.
    queue: rabbit ? publishUntilDisconnect(queue, rabbit) : queue,
    channels,
    onOutcome: instrumented.metrics.onOutcome,
    onAck: instrumented.onAck,
    onConnectionRefused: (channel) => instrumented.metrics.connectionsRefused.inc({ channel }),
    queueAvailable: rabbit ? () => rabbit.connected : undefined,
    // RabbitMQ: the ACK waits for the slower of the store commit and the broker confirm, not both.
    publishAhead: rabbit !== undefined,
    notices: new SqlNoticeStore(opened.db, opened.keys),
    mapper: createBundleMapper(config.mapThreads),
  });
  const headInterval = headIntervalMs(options.env ?? process.env);
  // Built before start: a bad auth setting stops us before any port opens.
  const admin = await createAdminParts({
    db: opened.db,
    store: instrumented.store,
    queue,
    channels,
    runningPorts: () => new Map(engine.channels.map((c) => [c.definition.id, c.port])),
    control: {
      start: (id) => engine.startChannel(id),
      stop: (id) => engine.stopChannel(id),
      definitions: () => [...engine.deployed],
      redeploy: async () => {
        const { channels: next, problems } = loadChannelFolder(config.channelsDir);
        problems.push(...channelMappings(next.filter((c) => c.enabled)).problems);
        // alerts.yaml is deployed with the channels it watches.
        const nextAlerts = loadAlerts(config.channelsDir, env);
        problems.push(...nextAlerts.problems, ...checkAlertTargets(nextAlerts, next));
        if (problems.length) throw new HttpError(422, `${problems.length} problem(s) in the channel files; nothing deployed`, { problems: problems.map(formatProblem) });
        const result = await engine.redeploy(next);
        alerts.setRules(nextAlerts.rules);
        return result;
      },
    },
    audit,
    metrics: instrumented.metrics,
    env: options.env,
    dataDir: config.dataDir,
    ...(engine.notices ? { notices: engine.notices } : {}),
  });
  const publicUrl = config.publicUrl ?? `http://localhost:${config.httpPort}`;
  const alerts = new AlertEvaluator({ rules: alertRules.rules, engine: admin.engine, audit, env, consoleUrl: publicUrl, intervalMs: alertIntervalMs(env) });
  // The web console at `/` (server/console/), on the API's facade and audit; built before start, like the auth settings.
  // The clinicians' viewer reads the shared care record the fhir destinations write to (LPRES or
  // the sandbox), with their auth. A setting it cannot use leaves the viewer saying the record is
  // unavailable rather than stopping the engine.
  let viewerData: ViewerData | undefined;
  try {
    viewerData = await createViewerData(viewerOptionsForEngine({ channels, keys: opened.keys, env }));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.error({ reason: err.message }, 'viewer cannot read the shared care record');
  }
  const webConsole = createConsole({
    engine: admin.engine,
    trail: audit,
    requestAudit: admin.requestAudit,
    authSettings: admin.authSettings,
    tokens: admin.tokens,
    queue: () => (rabbit ? (rabbit.connected ? 'connected' : 'disconnected') : 'embedded'),
    env: options.env ?? process.env,
    publicUrl,
    alerts,
    viewerData,
  });
  // The sandbox shared care record at /fhir (the FHIR destinations' target when TRAMLINE_LPRES_URL is unset).
  // HTTP record sources: POST /inbound/<channel>.
  const inbound = createInboundRouter({
    guards: admin.guards('inbound:post'),
    intakeFor: (id) => {
      const intake = engine.httpIntake(id);
      const source = channels.find((c) => c.id === id)?.source;
      return intake && source?.type === 'http' ? { intake, maxRecords: source.maxRecords } : undefined;
    },
  });
  // ADW notices over HTTP: POST /inbound/<channel>/notices (channels with a notices block).
  const noticeInbound = createNoticeInboundRouter({
    guards: admin.guards('inbound:post'),
    intakeFor: (id) => {
      const intake = engine.noticeIntake(id);
      const max = engine.deployed.find((c) => c.id === id)?.notices?.maxBytes;
      return intake && max ? { intake, maxBytes: max } : undefined;
    },
  });
  const fhir = createSandboxFhirParts({ db: opened.db, keys: opened.keys, guards: admin.guards, audit, publicUrl: config.publicUrl });
  await fhir.store.indexOlderResources();
  try {
    await engine.start();
  } catch (err) {
    await engine.stop().catch(() => undefined);
    await opened.store.close();
    await opened.db.close();
    throw err;
  }
  // When the broker comes back, queue what was stored while it was away.
  rabbit?.onConnectionChange((connected) => {
    log.info({ connected }, 'queue connection changed');
    if (connected) void engine.flushBacklog().catch(() => undefined);
  });

  const mounts = [{ path: '/fhir', router: fhir.router }, { path: '/inbound', router: noticeInbound }, { path: '/inbound', router: inbound }, { path: '/', router: webConsole.router }];
  const app = createApp({ notReadyReason: () => (rabbit && !rabbit.connected ? 'message broker disconnected' : null) }, { ...admin, mounts });
  const retention = scheduleRetention({ store: opened.store, channels: channels.filter((c) => c.enabled), audit });
  const headPublisher = new HeadPublisher(audit, opened.audit.key, opened.audit.headFile);
  let http: Server;
  try {
    http = await listen(app, config.httpPort);
  } catch (err) {
    webConsole.close();
    await retention.stop();
    await engine.stop().catch(() => undefined);
    await admin.close();
    await opened.store.close();
    await opened.db.close();
    throw err;
  }
  const address = http.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;
  await audit.record({ category: 'system', action: 'engine.start', outcome: 'success', actor: ENGINE_ACTOR, detail: { channels: engine.channels.map((c) => c.definition.id) } });
  headPublisher.start(headInterval);
  alerts.start();
  fhir.announce(httpPort);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      http.close();
      await alerts.stop();
      webConsole.close();
      fhir.withdraw();
      await retention.stop();
      await engine.stop();
      await admin.close();
      await audit.record({ category: 'system', action: 'engine.stop', outcome: 'success', actor: ENGINE_ACTOR });
      await headPublisher.stop();
      await opened.store.close();
      await opened.db.close();
      http.closeAllConnections();
    })());
  return { engine, opened, queue, httpPort, instrumented, stop };
}
