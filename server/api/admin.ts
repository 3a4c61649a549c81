// Builds the authenticated HTTP parts for an engine process: the admin API router and the
// /metrics handlers, sharing one authenticator (API tokens + JWT) and the audit trail.
import type { Router, RequestHandler } from 'express';
import type { ChannelDefinition } from '../../channels/definition.js';
import type { NoticeService } from '../../channels/notice-service.js';
import type { DeliveryQueue } from '../../core/queue.js';
import { listMappings, loadMappingById, runMapping, hl7Input, jsonInput } from '../../mappings/index.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { DenialAggregator } from '../audit/denials.js';
import type { AuditTrail } from '../audit/trail.js';
import { JwtVerifier } from '../auth/jwt.js';
import { authGate, Authenticator, requirePermission } from '../auth/middleware.js';
import type { Permission } from '../auth/roles.js';
import { auditRequests, type AuditSink } from '../http/request-audit.js';
import { loadAuthSettings, type AuthSettings } from '../auth/settings.js';
import { TokenStore } from '../auth/tokens.js';
import { metricsHandlers } from '../http/metrics-route.js';
import type { EngineMetrics } from '../metrics.js';
import type { Db } from '../../adapters/store/db.js';
import type { MessageStore } from '../../core/store.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { createEngineFacade, type EngineControl, type EngineFacade } from './facade.js';
import { createApiRouter } from './router.js';

export interface AdminPartsOptions {
  db: Db<StoreDatabase>;
  store: MessageStore;
  queue: DeliveryQueue;
  channels: ChannelDefinition[];
  runningPorts: () => ReadonlyMap<string, number>;
  control?: EngineControl;
  audit: AuditTrail;
  metrics: EngineMetrics;
  env?: NodeJS.ProcessEnv;
  dataDir: string;
  /** The engine's notice service (channels with a `notices` block). */
  notices?: NoticeService;
}

/** Shipped mapping dry-run: HL7 v2 text or a JSON record in, mapped and checked output back. */
function dryRun(mappingId: string, input: unknown) {
  const mapping = loadMappingById(mappingId);
  const prepared = mapping.input === 'hl7v2' ? hl7Input(parseHl7(String(input))) : jsonInput(typeof input === 'string' ? (JSON.parse(input) as unknown) : input);
  const result = runMapping(mapping, prepared);
  return { output: result.output, issues: result.issues };
}

/** TRAMLINE_TRUST_PROXY: `true`, a hop count, or addresses/subnets (express `trust proxy`). */
export function trustProxyOf(value: string | undefined): boolean | number | string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  return /^\d+$/.test(value) ? Number(value) : value;
}

export interface AdminParts {
  api: Router;
  metrics: RequestHandler[];
  trustProxy?: boolean | number | string;
  /**
   * Guards for other authenticated routes (e.g. `/inbound`, `/viewer`): request audit, failed-auth
   * limit, authentication, then the permission (null: any authenticated caller). Run them before
   * the body is read.
   */
  guards(permission: Permission | null): RequestHandler[];
  /** Writes the denial counts not yet written: call before the audit trail closes. */
  close(): Promise<void>;
  /** What the API acts on: the web console (server/console/) uses the same facade. */
  engine: EngineFacade;
  /** The request audit (repeated denials of one client become one entry with a count). */
  requestAudit: AuditSink;
  authSettings: AuthSettings;
  /** API tokens: the web console's token pages use the same store as the API. */
  tokens: TokenStore;
}

export async function createAdminParts(o: AdminPartsOptions): Promise<AdminParts> {
  const authSettings = loadAuthSettings(o.env ?? process.env, o.dataDir);
  const tokens = new TokenStore(o.db);
  const authenticator = new Authenticator(tokens, await JwtVerifier.create(authSettings));
  // One gate and one denial count for every mount: the failure limit is per address, and a
  // flood of bad credentials becomes a few audit entries with counts.
  const authenticate = authGate(authenticator, authSettings);
  const requestAudit = new DenialAggregator(o.audit, authSettings.denialAuditWindowMs);
  const engine = createEngineFacade({ definitions: o.channels.filter((c) => c.enabled), runningPorts: o.runningPorts, control: o.control, store: o.store, queue: o.queue, db: o.db, ...(o.notices ? { notices: o.notices } : {}) });
  const api = createApiRouter({
    services: { engine, audit: o.audit, tokens, runMapping: dryRun, listMappings: () => [...listMappings().keys()].sort() },
    authenticate,
    audit: requestAudit,
  });
  const trustProxy = trustProxyOf((o.env ?? process.env).TRAMLINE_TRUST_PROXY);
  const guards = (permission: Permission | null): RequestHandler[] => [
    auditRequests(requestAudit),
    ...authenticate,
    ...(permission ? [requirePermission(permission)] : []),
  ];
  return {
    api,
    metrics: metricsHandlers({ metrics: o.metrics, authenticate, audit: requestAudit }),
    guards,
    close: () => requestAudit.close(),
    engine,
    requestAudit,
    authSettings,
    tokens,
    ...(trustProxy !== undefined ? { trustProxy } : {}),
  };
}
