// The OpenAPI 3.1 document for /api, built from the same route table that mounts the routes.
import { ROLE_PERMISSIONS, ROLES } from '../auth/roles.js';
import type { ApiRoute, JsonSchema } from './route.js';

const errorSchema: JsonSchema = {
  type: 'object',
  properties: { error: { type: 'object', required: ['status', 'title', 'detail'], properties: { status: { type: 'integer' }, title: { type: 'string' }, detail: { type: 'string' } } } },
};

/** `/channels/:id` → `/channels/{id}` */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

function rolesWith(route: ApiRoute): string[] {
  if (!route.permission) return [...ROLES];
  return ROLES.filter((r) => ROLE_PERMISSIONS[r].includes(route.permission!));
}

function operation(route: ApiRoute): Record<string, unknown> {
  const pathParams = [...route.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
  const queryParams = (route.query ?? []).map((q) => ({ name: q.name, in: 'query', required: q.required ?? false, description: q.description, schema: q.schema }));
  const err = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    description: `Permission: ${route.permission ?? 'any authenticated caller'}. Roles: ${rolesWith(route).join(', ')}.`,
    'x-permission': route.permission,
    'x-roles': rolesWith(route),
    ...(pathParams.length || queryParams.length ? { parameters: [...pathParams, ...queryParams] } : {}),
    ...(route.body
      ? { requestBody: { required: route.body.required ?? false, content: Object.fromEntries(route.body.contentTypes.map((t) => [t, { schema: route.body!.schema }])) } }
      : {}),
    responses: {
      [route.method === 'post' && route.operationId === 'createToken' ? '201' : '200']: {
        description: route.response.description,
        content: { [route.response.contentType ?? 'application/json']: { schema: route.response.schema } },
      },
      '400': err('invalid parameters or body'),
      '401': err('no valid API token or JWT'),
      '403': err('authenticated, but the role does not allow this'),
      '404': err('not found'),
      '429': err('too many failed authentication attempts'),
    },
  };
}

export function openApiDocument(routes: ApiRoute[], version = '0.1.0'): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const p = openApiPath(route.path);
    paths[p] ??= {};
    paths[p][route.method] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tramline admin API',
      version,
      description:
        'Administration of the Tramline integration engine. Every endpoint needs `Authorization: Bearer <token>`: an API token (`tramline tokens create`) or a signed JWT. Errors are JSON `{ error: { status, title, detail } }`. Every request is audited.',
    },
    servers: [{ url: '/api' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API token (tl_…) or JWT' } },
      schemas: { Error: errorSchema },
    },
  };
}
