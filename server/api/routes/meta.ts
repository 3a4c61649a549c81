// About the API itself: the caller's identity and permissions, and the OpenAPI document.
import { PERMISSIONS, allows } from '../../auth/roles.js';
import type { ApiRoute } from '../route.js';

/** Routes that need the finished route table (the OpenAPI document describes all of them). */
export function metaRoutes(document: () => Record<string, unknown>): ApiRoute[] {
  return [
    {
      method: 'get',
      path: '/me',
      operationId: 'whoAmI',
      tag: 'meta',
      summary: "The caller's identity, roles and permissions",
      permission: null,
      response: {
        description: 'the caller',
        schema: { type: 'object', properties: { id: { type: 'string' }, kind: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } }, organisation: { type: 'string' }, permissions: { type: 'array', items: { type: 'string' } } } },
      },
      handle: async (ctx) => ({ ...ctx.principal, permissions: PERMISSIONS.filter((p) => allows(ctx.principal.roles, p)) }),
    },
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'openApi',
      tag: 'meta',
      summary: 'This OpenAPI document',
      permission: null,
      response: { description: 'OpenAPI 3.1 document', schema: { type: 'object' } },
      handle: async () => document(),
    },
  ];
}
