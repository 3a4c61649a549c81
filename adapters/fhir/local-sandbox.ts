// Where the engine's own sandbox FHIR store (/fhir) listens, for FHIR destinations with no
// `url` while TRAMLINE_LPRES_URL is unset. The engine process sets it once its HTTP port is
// open, with a token only the engine knows; deliveries before that are retried.

export interface LocalSandbox {
  baseUrl: string;
  /** Bearer token the engine's /fhir accepts from its own destinations. */
  token: string;
}

let current: LocalSandbox | undefined;

export function setLocalSandbox(sandbox: LocalSandbox | undefined): void {
  current = sandbox;
}

export function localSandbox(): LocalSandbox | undefined {
  return current;
}
