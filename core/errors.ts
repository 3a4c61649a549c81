// Typed failures of the message lifecycle. The class decides what happens next:
// parse/mapping/validation failures are permanent for that content; a DeliveryError says
// whether trying again can help.

export type ErrorKind = 'ParseError' | 'MappingError' | 'ValidationError' | 'DeliveryError' | 'ConfigError';

export abstract class TramlineError extends Error {
  abstract readonly kind: ErrorKind;
}

export class ParseError extends TramlineError {
  readonly kind = 'ParseError' as const;
  /**
   * location: HL7 location of the problem, e.g. `MSH-9`, when known. hl7ErrorCode: the HL7
   * table 0357 code an ACK should carry, when the location alone does not tell.
   */
  constructor(message: string, readonly location?: string, readonly hl7ErrorCode?: string) {
    super(message);
  }
}

export class MappingError extends TramlineError {
  readonly kind = 'MappingError' as const;
  constructor(message: string, readonly file?: string, readonly line?: number, readonly target?: string) {
    super(message);
  }
}

export class ValidationError extends TramlineError {
  readonly kind = 'ValidationError' as const;
  constructor(message: string, readonly issues: readonly string[] = []) {
    super(message);
  }
}

export class DeliveryError extends TramlineError {
  readonly kind = 'DeliveryError' as const;
  constructor(message: string, readonly retryable: boolean, readonly detail?: unknown, readonly retryAfterMs?: number) {
    super(message);
  }
}

export class ConfigError extends TramlineError {
  readonly kind = 'ConfigError' as const;
}

/** Short reason recorded with a failed step: `<kind>: <message>`; never message content. */
export function reasonOf(err: unknown): string {
  if (err instanceof TramlineError) return `${err.kind}: ${err.message}`;
  if (err instanceof Error) return `Error: ${err.message}`;
  return `Error: ${String(err)}`;
}

/** Mapping and store messages may quote a value ("code "X" is not in…"): reports never do. */
export function withoutValues(reason: string): string {
  return reason.replace(/\s*"[^"]*"/g, '');
}
