// `tramline tokens create|list|revoke|dev-jwt`: API tokens for systems (shown once, stored as
// SHA-256 hashes) and, for local development, JWTs from the built-in dev issuer.
import { InvalidArgumentError, type Command } from 'commander';
import { isRole, ROLES, type Role } from '../../auth/roles.js';
import { expiryInDays, InvalidTokenRequest, MAX_TOKEN_DAYS, TokenStore } from '../../auth/tokens.js';
import { loadConfig } from '../../../core/config.js';
import { withStore } from '../context.js';

function roles(value: string, previous: Role[] = []): Role[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const r of list) if (!isRole(r)) throw new InvalidArgumentError(`must be one of ${ROLES.join(', ')}`);
  return [...previous, ...(list as Role[])];
}

/** Checked when the option is read, so the error names `--expires-in-days`. */
function expiry(value: string): Date {
  try {
    return expiryInDays(/^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN);
  } catch (err) {
    if (err instanceof InvalidTokenRequest) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

export function registerTokensCommand(program: Command): void {
  const tokens = program.command('tokens').description('API tokens for systems; development JWTs for people');

  tokens
    .command('create')
    .description('create an API token and print it once (only its hash is stored)')
    .requiredOption('--name <name>', 'who or what uses it, e.g. prometheus or case-system-sync')
    .requiredOption('--role <role>', `role (repeat or comma-separate): ${ROLES.join(', ')}`, roles)
    .option('--org <ods-code>', 'organisation the token acts for')
    .option('--expires-in-days <n>', `expire after this many days (1 to ${MAX_TOKEN_DAYS})`, expiry)
    .option('--json', 'print JSON')
    .action(async (o: { name: string; role: Role[]; org?: string; expiresInDays?: Date; json?: boolean }) => {
      await withStore(async ({ db }) => {
        const created = await new TokenStore(db).create({ name: o.name, roles: o.role, organisation: o.org, expiresAt: o.expiresInDays });
        if (o.json) {
          console.log(JSON.stringify(created, null, 2));
          return;
        }
        console.log(created.token);
        console.error(`token "${created.name}" (${created.roles.join(', ')}) id ${created.id}: copy it now, it cannot be shown again`);
      });
    });

  tokens
    .command('list')
    .description('list tokens (names, roles, dates — never the tokens)')
    .option('--all', 'include revoked tokens')
    .option('--json', 'print JSON')
    .action(async (o: { all?: boolean; json?: boolean }) => {
      await withStore(async ({ db }) => {
        const list = await new TokenStore(db).list({ includeRevoked: o.all });
        if (o.json) return console.log(JSON.stringify(list, null, 2));
        if (!list.length) return console.log('no tokens');
        for (const t of list) {
          const state = t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : t.expiresAt ? `expires ${t.expiresAt.toISOString()}` : 'no expiry';
          console.log([t.id, t.name, t.roles.join(','), t.organisation ?? '-', `created ${t.createdAt.toISOString()}`, state, t.lastUsedAt ? `used ${t.lastUsedAt.toISOString()}` : 'never used'].join('  '));
        }
      });
    });

  tokens
    .command('revoke')
    .description('revoke a token by id or name; it stops working at once')
    .argument('<id-or-name>')
    .action(async (idOrName: string) => {
      await withStore(async ({ db }) => {
        const n = await new TokenStore(db).revoke(idOrName);
        if (!n) throw new Error(`no live token with id or name ${idOrName}`);
        console.log(`${n} token(s) revoked`);
      });
    });

  tokens
    .command('dev-jwt')
    .description('print a JWT from the built-in development issuer (trusted only with TRAMLINE_AUTH_DEV_ISSUER=true)')
    .requiredOption('--user <id>', 'user id (JWT sub)')
    .requiredOption('--role <role>', `role (repeat or comma-separate): ${ROLES.join(', ')}`, roles)
    .option('--org <ods-code>', 'organisation (ODS code)')
    .option('--name <display name>', 'display name')
    .option('--ttl <seconds>', 'lifetime in seconds', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
      return n;
    }, 3600)
    .action(async (o: { user: string; role: Role[]; org?: string; name?: string; ttl: number }) => {
      const { loadAuthSettings } = await import('../../auth/settings.js');
      const { signDevJwt } = await import('../../auth/dev-issuer.js');
      const config = loadConfig();
      const settings = loadAuthSettings(process.env, config.dataDir);
      const jwt = await signDevJwt(settings.devKeyFile, {
        user: o.user,
        roles: o.role,
        organisation: o.org,
        name: o.name,
        audience: settings.audience,
        rolesClaim: settings.rolesClaim,
        orgClaim: settings.orgClaim,
        ttlSeconds: o.ttl,
      });
      console.log(jwt);
      if (!settings.devIssuer) console.error('note: the engine trusts this only when started with TRAMLINE_AUTH_DEV_ISSUER=true (development only)');
    });
}
