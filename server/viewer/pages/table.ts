// Every page of the clinicians' viewer with the permission it asks for, as the console's page
// table (server/console/pages/table.ts) does for the console: the routers mount from it, and
// docs/security.md's role × page table is checked against both (test/unit/console-parts.test.ts).
import type { ConsolePage } from '../../console/pages/table.js';

export const VIEWER_PAGES = {
  find: { method: 'GET', path: '/viewer', permission: 'viewer:read' },
  search: { method: 'POST', path: '/viewer/search', permission: 'viewer:read' },
  purpose: { method: 'GET', path: '/viewer/people/:id/purpose', permission: 'viewer:read' },
  statePurpose: { method: 'POST', path: '/viewer/people/:id/purpose', permission: 'viewer:read' },
  record: { method: 'GET', path: '/viewer/people/:id', permission: 'viewer:read' },
} as const satisfies Record<string, ConsolePage>;
