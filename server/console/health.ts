// Engine health for the dashboard: the store answers, the message broker is connected, each
// FHIR destination's server answers. A remote FHIR server is asked for its CapabilityStatement
// (GET <base>/metadata, 3 s timeout) at most every 30 s: any HTTP answer below 500, 401
// included, means it is reachable; the console never sends it credentials.
import type { EngineFacade } from '../api/facade.js';

export interface HealthItem {
  name: string;
  ok: boolean;
  detail: string;
}

export interface HealthSources {
  engine: EngineFacade;
  /** `embedded`, `connected` or `disconnected`. */
  queue: () => 'embedded' | 'connected' | 'disconnected';
  /** TRAMLINE_LPRES_URL: where `fhir` destinations without a `url` send. */
  lpresUrl?: string;
}

const PROBE_EVERY_MS = 30_000;
const PROBE_TIMEOUT_MS = 3_000;

async function probe(base: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const res = await fetch(`${base.replace(/\/+$/, '')}/metadata`, { headers: { accept: 'application/fhir+json' }, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS), redirect: 'manual' });
    await res.body?.cancel();
    return res.status < 500 ? { ok: true, detail: `answers (HTTP ${res.status})` } : { ok: false, detail: `HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, detail: (err as Error).name === 'TimeoutError' ? 'no answer within 3 s' : 'not reachable' };
  }
}

export class HealthChecks {
  private readonly probes = new Map<string, { at: number; result: Promise<{ ok: boolean; detail: string }> }>();

  constructor(private readonly o: HealthSources) {}

  async check(): Promise<HealthItem[]> {
    const items: HealthItem[] = [];
    const started = Date.now();
    try {
      await this.o.engine.store.list({ limit: 1 });
      items.push({ name: 'Message store', ok: true, detail: `answers (${Date.now() - started} ms)` });
    } catch {
      items.push({ name: 'Message store', ok: false, detail: 'not answering' });
    }
    const queue = this.o.queue();
    items.push({ name: 'Message broker', ok: queue !== 'disconnected', detail: queue === 'embedded' ? 'embedded queue (in the store)' : queue === 'connected' ? 'RabbitMQ connected' : 'RabbitMQ disconnected' });
    for (const target of this.fhirTargets()) {
      if (!target.url) {
        items.push({ name: `FHIR: ${target.destinations.join(', ')}`, ok: true, detail: 'built-in sandbox (this engine)' });
        continue;
      }
      const { ok, detail } = await this.probeCached(target.url);
      items.push({ name: `FHIR: ${target.destinations.join(', ')}`, ok, detail: `${new URL(target.url).host}: ${detail}` });
    }
    return items;
  }

  /** FHIR destinations grouped by the server they send to (no `url`: TRAMLINE_LPRES_URL, else the sandbox). */
  private fhirTargets(): { url?: string; destinations: string[] }[] {
    const byUrl = new Map<string, string[]>();
    for (const c of this.o.engine.channels()) {
      const definition = this.o.engine.definition(c.id);
      for (const d of definition?.destinations ?? []) {
        if (d.type !== 'fhir') continue;
        const url = (d as { url?: string }).url ?? this.o.lpresUrl ?? '';
        byUrl.set(url, [...(byUrl.get(url) ?? []), `${c.id}.${d.name}`]);
      }
    }
    return [...byUrl].map(([url, destinations]) => ({ ...(url ? { url } : {}), destinations }));
  }

  private probeCached(url: string) {
    const cached = this.probes.get(url);
    if (cached && Date.now() - cached.at < PROBE_EVERY_MS) return cached.result;
    const result = probe(url);
    this.probes.set(url, { at: Date.now(), result });
    return result;
  }
}
