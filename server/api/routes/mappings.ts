// Mappings: list the shipped ones and dry-run one on a posted message (HL7 v2 text or a JSON
// record). Only shipped mapping ids are accepted — never a path on the server.
import { reasonOf, TramlineError } from '../../../core/errors.js';
import { HttpError } from '../../http/errors.js';
import type { ApiRoute } from '../route.js';

const MAPPING_ID = /^[a-z0-9][a-z0-9-]{0,99}$/;

/** Where the server keeps its files is not the caller's business: `/srv/…/mappings/x.yaml:80` becomes `x.yaml:80`. */
export function withoutServerPaths(text: string): string {
  return text.replace(/(^|[\s'"(])(?:[A-Za-z]:)?[\\/](?:[^\s\\/:]+[\\/])+([^\s\\/:'")]+)/g, '$1$2');
}

export const mappingRoutes: ApiRoute[] = [
  {
    method: 'get',
    path: '/mappings',
    operationId: 'listMappings',
    tag: 'mappings',
    summary: 'Ids of the shipped mappings',
    permission: 'mappings:run',
    response: { description: 'mapping ids', schema: { type: 'object', properties: { mappings: { type: 'array', items: { type: 'string' } } } } },
    handle: async (ctx) => {
      if (!ctx.listMappings) throw new HttpError(501, 'mappings are not available in this engine');
      return { mappings: ctx.listMappings() };
    },
  },
  {
    method: 'post',
    path: '/mappings/:id/dry-run',
    operationId: 'dryRunMapping',
    tag: 'mappings',
    summary: 'Run a shipped mapping on the posted message (HL7 v2 as text, or a JSON record) and return the output with its checks; nothing is stored or sent',
    permission: 'mappings:run',
    body: { contentTypes: ['text/plain', 'application/hl7-v2', 'application/json'], required: true, schema: { oneOf: [{ type: 'string' }, { type: 'object' }] } },
    response: { description: 'the mapped output (e.g. a FHIR Bundle) and any warnings', schema: { type: 'object', properties: { output: {}, issues: { type: 'array', items: {} } } } },
    handle: async (ctx, req) => {
      const id = String(req.params.id);
      if (!ctx.runMapping || !ctx.listMappings) throw new HttpError(501, 'mappings are not available in this engine');
      if (!MAPPING_ID.test(id) || !ctx.listMappings().includes(id)) throw new HttpError(404, `no shipped mapping ${id}`);
      if (req.body === undefined || (typeof req.body === 'string' && !req.body.trim())) throw new HttpError(400, 'post the message to map as the request body');
      try {
        return await ctx.runMapping(id, req.body as unknown);
      } catch (err) {
        // Parse, mapping and validation failures are the caller's input: 422 with the reason
        // and the issues (which name fields, not values).
        if (err instanceof TramlineError) {
          const issues = (err as { issues?: readonly string[] }).issues;
          throw new HttpError(422, withoutServerPaths(reasonOf(err)), { kind: err.kind, ...(issues ? { issues: issues.map(withoutServerPaths) } : {}) });
        }
        if (err instanceof SyntaxError) throw new HttpError(400, 'the body is not valid JSON for a JSON-input mapping');
        throw err;
      }
    },
  },
];
