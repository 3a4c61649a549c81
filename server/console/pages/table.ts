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
  audit: { method: 'GET', path: '/audit', permission: 'audit:read' },
  auditEntry: { method: 'GET', path: '/audit/entries/:seq', permission: 'audit:read' },
  auditVerify: { method: 'GET', path: '/audit/verify', permission: 'audit:read' },
  auditVerifyRun: { method: 'POST', path: '/audit/verify', permission: 'audit:read' },
  auditExport: { method: 'GET', path: '/audit/export', permission: 'audit:read' },
  breakGlass: { method: 'GET', path: '/audit/break-glass', permission: 'audit:read' },
  playground: { method: 'GET', path: '/mappings', permission: 'mappings:run' },
  playgroundRun: { method: 'POST', path: '/mappings/run', permission: 'mappings:run' },
  playgroundCases: { method: 'POST', path: '/mappings/cases', permission: 'mappings:run' },
  deadLetters: { method: 'GET', path: '/dead-letters', permission: 'dead-letters:read' },
  deadLetterReplay: { method: 'POST', path: '/dead-letters/replay', permission: 'dead-letters:replay' },
  deadLetterReplayAll: { method: 'GET', path: '/dead-letters/replay-all', permission: 'dead-letters:replay' },
  deadLetterDiscardConfirm: { method: 'GET', path: '/dead-letters/discard', permission: 'dead-letters:discard' },
  deadLetterDiscard: { method: 'POST', path: '/dead-letters/discard', permission: 'dead-letters:discard' },
  tokens: { method: 'GET', path: '/tokens', permission: 'tokens:manage' },
  tokenNew: { method: 'GET', path: '/tokens/new', permission: 'tokens:manage' },
  tokenCreate: { method: 'POST', path: '/tokens', permission: 'tokens:manage' },
  tokenRevokeConfirm: { method: 'GET', path: '/tokens/:id/revoke', permission: 'tokens:manage' },
  tokenRevoke: { method: 'POST', path: '/tokens/:id/revoke', permission: 'tokens:manage' },
  channelStartConfirm: { method: 'GET', path: '/channels/:id/start', permission: 'channels:manage' },
  channelStart: { method: 'POST', path: '/channels/:id/start', permission: 'channels:manage' },
  channelStopConfirm: { method: 'GET', path: '/channels/:id/stop', permission: 'channels:manage' },
  channelStop: { method: 'POST', path: '/channels/:id/stop', permission: 'channels:manage' },
  redeployConfirm: { method: 'GET', path: '/deploy', permission: 'channels:manage' },
  redeploy: { method: 'POST', path: '/deploy', permission: 'channels:manage' },
  alerts: { method: 'GET', path: '/alerts', permission: 'channels:read' },
  notices: { method: 'GET', path: '/notices', permission: 'notices:read' },
  notice: { method: 'GET', path: '/notices/:id', permission: 'notices:read' },
  noticeCheck: { method: 'POST', path: '/notices/:id/check', permission: 'notices:decide' },
  noticeAnswer: { method: 'POST', path: '/notices/:id/answer', permission: 'notices:decide' },
} as const satisfies Record<string, ConsolePage>;
