// Named prepared statements for PostgreSQL through Kysely, with supported APIs only: Kysely's
// PostgresDialect takes any object with the `PostgresPool` shape, and `pg` runs a query config
// `{ name, text, values }` as a named statement, parsed and planned once per connection.
// Kysely itself always calls `client.query(text, values)`, so the pool handed to it here gives
// out clients that turn a marked text into a query config.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

/**
 * Start a statement's text with this to have PostgreSQL prepare it once per connection (a named
 * statement, its plan reused). For the engine's hot writes in small batches, parsing and planning
 * cost PostgreSQL more than the writing. The text must stay the same from call to call (values go
 * in parameters, arrays for rows); each distinct text gets a statement of its own on every
 * connection, so keep the number of texts small. SQLite sees a comment.
 */
export const PREPARE = '/* prepare */ ';

const statementNames = new Map<string, string>();

/** The statement's name: derived from its text, so every connection prepares it under one name. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `tl_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    if (statementNames.size < 1000) statementNames.set(text, name);
  }
  return name;
}

/** `pool` for Kysely's PostgresDialect: queries whose text starts with PREPARE run as named statements. */
export function preparingPool(pool: pg.Pool): PostgresPool {
  // One wrapper per pg client: Kysely keeps one connection object per client it is given.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => ({
    query: ((textOrCursor: string | PostgresCursor<unknown>, values?: ReadonlyArray<unknown>) => {
      if (typeof textOrCursor !== 'string') return client.query(textOrCursor as unknown as pg.Submittable);
      const config: pg.QueryConfig = { text: textOrCursor, values: values as unknown[] };
      if (textOrCursor.startsWith(PREPARE)) config.name = statementName(textOrCursor);
      return client.query(config) as Promise<PostgresQueryResult<unknown>>;
    }) as PostgresPoolClient['query'],
    release: (destroy?: boolean) => client.release(destroy),
  });
  return {
    async connect() {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) wrappers.set(client, (wrapper = wrap(client)));
      return wrapper;
    },
    end: () => pool.end(),
  };
}
