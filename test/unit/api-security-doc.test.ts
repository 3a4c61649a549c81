// docs/security.md's role × endpoint table says exactly what the route table enforces.
import { expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { apiRoutes } from '../../server/api/router.js';
import { allows, ROLES } from '../../server/auth/roles.js';

const doc = readFileSync(fileURLToPath(new URL('../../docs/security.md', import.meta.url)), 'utf8');

function row(endpoint: string): string[] {
  const line = doc.split('\n').find((l) => l.startsWith(`| \`${endpoint}\` |`));
  if (!line) throw new Error(`docs/security.md has no row for ${endpoint}`);
  return line.split('|').slice(1, -1).map((c) => c.trim());
}

test('every API route has a row whose permission and role marks match the code', () => {
  expect(row('GET /api/channels').slice(2)).toEqual([...ROLES].map(() => expect.any(String)));
  for (const route of apiRoutes()) {
    const cells = row(`${route.method.toUpperCase()} /api${route.path}`);
    expect(cells[1]).toBe(route.permission ? `\`${route.permission}\`` : 'any authenticated');
    expect(cells.slice(2)).toEqual(ROLES.map((r) => (route.permission === null || allows([r], route.permission) ? '✓' : '—')));
  }
  expect(row('GET /metrics').slice(2)).toEqual(ROLES.map((r) => (allows([r], 'metrics:read') ? '✓' : '—')));
});
