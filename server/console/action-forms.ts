// The console's action forms read leniently: a wrong field comes back to the form as a GOV.UK
// error message, never a bare 400. Pure functions, so the rules are unit-tested on their own.
import { isRole, ROLES, type Role } from '../auth/roles.js';
import { expiryInDays, MAX_TOKEN_DAYS } from '../auth/tokens.js';

export interface FieldError<F extends string> {
  field: F;
  text: string;
}

const text = (v: unknown, max = 500) => (typeof v === 'string' ? v.trim().slice(0, max) : '');

/** Message ids as a form sends them (one field, or the same field repeated): unique, plausible, at most 1000. */
export function messageIdsOf(value: unknown): string[] {
  const all = Array.isArray(value) ? value : value === undefined ? [] : [value];
  const ids = all.filter((v): v is string => typeof v === 'string' && /^[A-Za-z0-9._:-]{1,100}$/.test(v));
  return [...new Set(ids)].slice(0, 1000);
}

export interface DiscardForm {
  destination: string;
  messageIds: string[];
  reason: string;
  errors: FieldError<'messageIds' | 'reason' | 'destination'>[];
}

/**
 * The discard form (and its confirmation page): a known destination, at least one message,
 * and — when `needReason` — a reason, kept in the message history and the audit trail.
 */
export function parseDiscardForm(fields: Record<string, unknown>, destinations: readonly string[], needReason: boolean): DiscardForm {
  const destination = text(fields.destination, 200);
  const messageIds = messageIdsOf(fields.messageId);
  const reason = text(fields.reason);
  const errors: DiscardForm['errors'] = [];
  if (!destinations.includes(destination)) errors.push({ field: 'destination', text: 'Choose a deployed destination' });
  if (!messageIds.length) errors.push({ field: 'messageIds', text: 'Select at least one dead letter to discard' });
  if (needReason && !reason) errors.push({ field: 'reason', text: 'Enter why these dead letters are discarded' });
  else if (needReason && reason.length < 5) errors.push({ field: 'reason', text: 'Enter a reason of at least 5 characters' });
  return { destination, messageIds, reason, errors };
}

export interface TokenForm {
  name: string;
  role: string;
  expiresInDays: string;
}

export interface ParsedTokenForm {
  form: TokenForm;
  request?: { name: string; roles: Role[]; expiresAt?: Date };
  errors: FieldError<keyof TokenForm>[];
}

/** The roles a token may be given (one from the console; the API and CLI allow several). */
export const TOKEN_ROLES: readonly Role[] = ROLES;

/** The new-token form: a name (as the token store allows), one role, an optional expiry in days. */
export function parseTokenForm(fields: Record<string, unknown>, now = Date.now()): ParsedTokenForm {
  const form: TokenForm = { name: text(fields.name, 200), role: text(fields.role, 50), expiresInDays: text(fields.expiresInDays, 10) };
  const errors: ParsedTokenForm['errors'] = [];
  if (!form.name) errors.push({ field: 'name', text: 'Enter a name for the token, for example case-system' });
  else if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/.test(form.name)) errors.push({ field: 'name', text: 'The name must start with a letter or digit and use only letters, digits and _ . @ - (up to 100)' });
  if (!isRole(form.role) || !TOKEN_ROLES.includes(form.role)) errors.push({ field: 'role', text: 'Choose the role the token acts with' });
  let expiresAt: Date | undefined;
  if (form.expiresInDays) {
    const days = /^\d{1,5}$/.test(form.expiresInDays) ? Number(form.expiresInDays) : NaN;
    if (!(days >= 1 && days <= MAX_TOKEN_DAYS)) errors.push({ field: 'expiresInDays', text: `Enter the days until it expires as a whole number from 1 to ${MAX_TOKEN_DAYS}` });
    else expiresAt = expiryInDays(days, now);
  }
  if (errors.length) return { form, errors };
  return { form, errors, request: { name: form.name, roles: [form.role as Role], ...(expiresAt ? { expiresAt } : {}) } };
}
