// API tokens over HTTP for admins (the CLI `tramline tokens` does the same locally).
import { isRole, ROLES, type Role } from '../../auth/roles.js';
import { expiryInDays, InvalidTokenRequest, MAX_TOKEN_DAYS } from '../../auth/tokens.js';
import { HttpError } from '../../http/errors.js';
import { bodyObject, optionalDate, optionalInt, optionalString, requiredString, stringList } from '../params.js';
import { reply, type ApiRoute } from '../route.js';

const CREATE_FIELDS = ['name', 'roles', 'organisation', 'expiresAt', 'expiresInDays'];

/** `expiresAt` or `expiresInDays` (not both); a field we do not know is refused, not ignored. */
function expiryOf(body: Record<string, unknown>): Date | undefined {
  const unknown = Object.keys(body).filter((k) => !CREATE_FIELDS.includes(k));
  if (unknown.length) throw new HttpError(400, `unknown field(s) ${unknown.join(', ')}; expected ${CREATE_FIELDS.join(', ')}`);
  const days = optionalInt(body, 'expiresInDays', 1, MAX_TOKEN_DAYS);
  const at = optionalDate(body, 'expiresAt');
  if (days !== undefined && at !== undefined) throw new HttpError(400, 'give expiresAt or expiresInDays, not both');
  return days !== undefined ? expiryInDays(days) : at;
}

const tokenSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    roles: { type: 'array', items: { type: 'string', enum: [...ROLES] } },
    organisation: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: 'string', format: 'date-time' },
    lastUsedAt: { type: 'string', format: 'date-time' },
  },
};

export const tokenRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/tokens',
    operationId: 'listTokens',
    tag: 'tokens',
    summary: 'Live API tokens (names and roles; the secrets are never stored)',
    permission: 'tokens:manage',
    response: { description: 'tokens', schema: { type: 'object', properties: { tokens: { type: 'array', items: tokenSchema } } } },
    handle: async (ctx) => ({ tokens: await ctx.tokens.list() }),
  },
  {
    method: 'post',
    path: '/tokens',
    operationId: 'createToken',
    tag: 'tokens',
    summary: 'Create an API token; the response carries the token once',
    permission: 'tokens:manage',
    body: {
      contentTypes: ['application/json'],
      required: true,
      schema: { type: 'object', required: ['name', 'roles'], properties: { name: { type: 'string' }, roles: { type: 'array', items: { type: 'string', enum: [...ROLES] } }, organisation: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' }, expiresInDays: { type: 'integer', minimum: 1, maximum: MAX_TOKEN_DAYS } }, additionalProperties: false },
    },
    response: { description: 'the new token (shown once)', schema: { ...tokenSchema, properties: { ...tokenSchema.properties, token: { type: 'string' } } } },
    handle: async (ctx, req, res) => {
      const body = bodyObject(req.body);
      const roles = stringList(body, 'roles', true)!;
      if (!roles.length || !roles.every(isRole)) throw new HttpError(400, `roles must be some of ${ROLES.join(', ')}`);
      const expiresAt = expiryOf(body);
      try {
        const created = await ctx.tokens.create({ name: requiredString(body, 'name'), roles: roles as Role[], organisation: optionalString(body, 'organisation'), expiresAt });
        res.locals.auditDetail = { name: created.name, roles: created.roles };
        return reply(201, created);
      } catch (err) {
        if (err instanceof InvalidTokenRequest) throw new HttpError(400, err.message);
        throw err;
      }
    },
  },
  {
    method: 'delete',
    path: '/tokens/:id',
    operationId: 'revokeToken',
    tag: 'tokens',
    summary: 'Revoke a token (by id or name); it stops working at once',
    permission: 'tokens:manage',
    response: { description: 'how many were revoked', schema: { type: 'object', properties: { revoked: { type: 'integer' } } } },
    handle: async (ctx, req) => {
      const revoked = await ctx.tokens.revoke(String(req.params.id));
      if (!revoked) throw new HttpError(404, 'no live token with that id or name');
      return { revoked };
    },
  },
];
