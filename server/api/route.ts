// One admin API route: how it is mounted (method, path, permission) and how it is documented
// (summary, parameters, body, response) live together, so the OpenAPI document cannot drift
// from what is served.
import type { Request, Response } from 'express';
import type { AuditTrail } from '../audit/trail.js';
import type { Principal, Permission } from '../auth/roles.js';
import type { TokenStore } from '../auth/tokens.js';
import type { EngineFacade } from './facade.js';

export type JsonSchema = Record<string, unknown>;

export interface QueryParameter {
  name: string;
  description: string;
  schema: JsonSchema;
  required?: boolean;
}

export interface ApiServices {
  engine: EngineFacade;
  audit: Pick<AuditTrail, 'query' | 'verify'>;
  tokens: Pick<TokenStore, 'create' | 'list' | 'revoke'>;
  /** Dry-run a shipped mapping (optional: the route answers 501 without it). */
  runMapping?: (mappingId: string, input: string | unknown) => Promise<{ output: unknown; issues: unknown[] }> | { output: unknown; issues: unknown[] };
  listMappings?: () => string[];
}

export interface RouteContext extends ApiServices {
  principal: Principal;
}

export interface ApiRoute {
  method: 'get' | 'post' | 'delete';
  /** Express path under /api, e.g. `/channels/:id`. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  /** Null: any authenticated caller. */
  permission: Permission | null;
  /** Path parameters are documented from the path; these are the query parameters. */
  query?: QueryParameter[];
  body?: { contentTypes: string[]; schema: JsonSchema; required?: boolean };
  response: { description: string; schema: JsonSchema; contentType?: string };
  /** Returns the JSON body (status 200) or { status, body }. */
  handle(ctx: RouteContext, req: Request, res: Response): Promise<unknown>;
}

export interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
}

export function reply(status: number, body: unknown, contentType?: string): Reply {
  return { status, body, ...(contentType ? { contentType } : {}) };
}
