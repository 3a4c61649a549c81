// How the engine sets up the viewer's data: the same shared care record, with the same
// authentication, as its channels' `fhir` destinations, and person ids sealed with a key
// derived from the store's content key (so record links survive a restart).
//
//   const data = await createViewerData(viewerOptionsForEngine({ channels, keys: opened.keys, env }));
import crypto from 'node:crypto';
import type { FhirAuth } from '../../adapters/fhir/config.js';
import type { ContentKeyRing } from '../../adapters/store/crypto.js';
import type { ChannelDefinition } from '../../channels/definition.js';
import { ConfigError } from '../../core/errors.js';
import type { ViewerDataOptions } from './record.js';

/** What the viewer asks a SMART token endpoint for: it only reads (the destination's default is system/*.write). */
export const VIEWER_SMART_SCOPE = 'system/*.read';

/**
 * The `auth` of the channels' `fhir` destinations that post to TRAMLINE_LPRES_URL (those with no
 * `url`), for reading the same server. None: `{ type: 'none' }`. Two different ones: a
 * ConfigError, since which one the viewer should use is not ours to guess. A SMART Backend
 * Services client asks for a read scope instead of the destination's.
 */
export function lpresAuthOf(channels: readonly ChannelDefinition[]): FhirAuth {
  const auths = channels
    .filter((c) => c.enabled !== false)
    .flatMap((c) => c.destinations)
    .flatMap((d) => (d.type === 'fhir' && !d.url ? [d.auth] : []));
  const distinct = [...new Map(auths.map((a) => [JSON.stringify(a), a])).values()];
  if (distinct.length > 1) throw new ConfigError('fhir destinations for TRAMLINE_LPRES_URL use different auth settings: the viewer cannot tell which to read with');
  const auth = distinct[0] ?? { type: 'none' };
  return auth.type === 'smart-backend' ? { ...auth, scope: VIEWER_SMART_SCOPE } : auth;
}

/** A 32-byte key for person ids, derived from the current content key (never the key itself). */
export function personIdKeyOf(keys: ContentKeyRing): Buffer {
  return crypto.createHmac('sha256', keys.keys.get(keys.currentId)!).update('tramline viewer person id v1').digest();
}

/** Options for createViewerData in the engine process. */
export function viewerOptionsForEngine(o: { channels: readonly ChannelDefinition[]; keys: ContentKeyRing; env?: NodeJS.ProcessEnv }): ViewerDataOptions {
  return { auth: lpresAuthOf(o.channels), personIdKey: personIdKeyOf(o.keys), ...(o.env ? { env: o.env } : {}) };
}
