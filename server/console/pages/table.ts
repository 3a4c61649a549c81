// Every console page and action with the permission it asks for (server/auth/roles.ts), in one
// table: the routers mount from it, and docs/security.md's role × page table is checked against
// it (test/unit/console-parts.test.ts).
import type { Permission } from '../../auth/roles.js';

export interface ConsolePage {
  method: 'GET' | 'POST';
  /** Express path, e.g. `/messages/:id`. */
  path: string;
  permission: Permission;
}

export const CONSOLE_PAGES = {
  dashboard: { method: 'GET', path: '/', permission: 'channels:read' },
  liveDashboard: { method: 'GET', path: '/live/dashboard', permission: 'channels:read' },
  channel: { method: 'GET', path: '/channels/:id', permission: 'channels:read' },
  messages: { method: 'GET', path: '/messages', permission: 'messages:read' },
  message: { method: 'GET', path: '/messages/:id', permission: 'messages:read' },
  messageContent: { method: 'GET', path: '/messages/:id/content/:stage', permission: 'messages:content' },
  reprocess: { method: 'POST', path: '/messages/:id/reprocess', permission: 'messages:reprocess' },
  alerts: { method: 'GET', path: '/alerts', permission: 'channels:read' },
} as const satisfies Record<string, ConsolePage>;
