// The OpenAPI document is true to the routes: every mounted route is documented (same method
// and path, with its permission) and nothing documented is missing from the router.
import { describe, expect, test } from '@jest/globals';
import type { Router } from 'express';
import { openApiDocument, openApiPath } from '../../server/api/openapi.js';
import { apiRoutes, createApiRouter } from '../../server/api/router.js';
import type { ApiServices } from '../../server/api/route.js';
import { authGate, Authenticator } from '../../server/auth/middleware.js';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

function mountedRoutes(router: Router): string[] {
  const out: string[] = [];
  for (const layer of (router as unknown as { stack: Layer[] }).stack) {
    if (!layer.route) continue;
    for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') out.push(`${method} ${openApiPath(layer.route.path)}`);
  }
  return out.sort();
}

describe('OpenAPI document', () => {
  const routes = apiRoutes();
  const doc = openApiDocument(routes) as { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>> };
  const documented = Object.entries(doc.paths)
    .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`))
    .sort();

  test('documents exactly the routes the router mounts', () => {
    const router = createApiRouter({
      services: {} as ApiServices,
      authenticate: authGate(new Authenticator({ verify: async () => undefined }), { failureLimit: 10, failureWindowMs: 1000 }),
      audit: { record: async () => undefined },
    });
    const mounted = mountedRoutes(router);
    expect(mounted.length).toBeGreaterThanOrEqual(20);
    expect(documented).toEqual(mounted);
  });

  test('covers the areas the issue lists', () => {
    for (const p of ['/channels', '/channels/{id}/stats', '/channels/validate', '/messages', '/messages/{id}', '/messages/{id}/reprocess', '/messages/reprocess', '/dead-letters', '/dead-letters/replay', '/dead-letters/discard', '/mappings/{id}/dry-run', '/audit', '/openapi.json']) {
      expect(doc.paths).toHaveProperty([p]);
    }
  });

  test('each operation names its permission, roles, path parameters and the 401/403 answers', () => {
    expect(doc.openapi).toBe('3.1.0');
    const ids = new Set<string>();
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops)) {
        expect(ids.has(op.operationId as string)).toBe(false);
        ids.add(op.operationId as string);
        expect(op).toHaveProperty('x-roles');
        expect(Object.keys(op.responses as object)).toEqual(expect.arrayContaining(['401', '403']));
        const pathParams = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const declared = ((op.parameters as { name: string; in: string }[] | undefined) ?? []).filter((x) => x.in === 'path').map((x) => x.name);
        expect(declared).toEqual(pathParams);
      }
    }
    expect(doc.paths['/audit'].get['x-roles']).toEqual(['admin', 'auditor']);
    expect(doc.paths['/messages/{id}/reprocess'].post['x-roles']).toEqual(['admin', 'engineer', 'operator']);
  });
});
