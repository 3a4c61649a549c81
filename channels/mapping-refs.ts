// A channel's `pipeline.map` names a shipped mapping id or a mapping file. Checked when channels
// are validated or started, so a wrong name is reported at its `map:` line before anything runs.
import { statSync } from 'node:fs';
import { listMappings } from '../mappings/index.js';
import type { ChannelDefinition } from './definition.js';
import { problemAt, type Problem } from './load.js';

/** The mapping files the channels use, and a problem for each `map:` naming nothing. */
export function channelMappings(channels: readonly ChannelDefinition[]): { files: string[]; problems: Problem[] } {
  const files: string[] = [];
  const problems: Problem[] = [];
  for (const c of channels) {
    const ref = c.pipeline?.map;
    if (!ref) continue;
    const file = listMappings().get(ref) ?? ref;
    if (statSync(file, { throwIfNoEntry: false })?.isFile()) files.push(file);
    else problems.push(problemAt(c, ['pipeline', 'map'], `no mapping with id or path "${ref}"`));
  }
  return { files, problems };
}
