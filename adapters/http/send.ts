// One HTTP request with Node's own client over a keep-alive agent: what the FHIR and HTTP
// destinations send once a message. `fetch` (undici, with its Request, Headers, web streams
// and abort signals) cost ~470 µs of the engine's thread a request where this costs ~90
// (a 10-entry Bundle, 32 in flight, Node 20). Redirects are not followed.
import http from 'node:http';
import https from 'node:https';

export interface SendOptions {
  method: string;
  headers: Record<string, string>;
  body: string | Buffer;
  signal?: AbortSignal;
  /** Most bytes of the answer kept; the rest is not read (the connection is then closed). */
  maxBodyBytes: number;
}

export interface SendResult {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  /** The answer as UTF-8, at most maxBodyBytes of it. */
  body: string;
  /** False when the answer was longer than maxBodyBytes or its connection failed part-way. */
  complete: boolean;
}

/** A keep-alive agent for `url`'s scheme; the caller destroys it when done. */
export function keepAliveAgent(url: string): http.Agent {
  return new URL(url).protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
}

/**
 * Send one request; rejects only when no answer began (refused, reset, aborted, timed out). An
 * answer cut short resolves with what arrived and `complete: false`.
 */
export function send(url: string, agent: http.Agent, options: SendOptions): Promise<SendResult> {
  const request = agent instanceof https.Agent ? https.request : http.request;
  const headers = { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)) };
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method, agent, headers, signal: options.signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const settle = (complete: boolean) =>
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: res.headers,
          body: Buffer.concat(chunks).subarray(0, options.maxBodyBytes).toString('utf8'),
          complete,
        });
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size > options.maxBodyBytes) {
          settle(false);
          res.destroy();
        }
      });
      res.on('end', () => settle(true));
      res.on('error', () => settle(false));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
