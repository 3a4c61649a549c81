// A channel's `pipeline.map`, and a destination's own `map`, name a shipped mapping id or a
// mapping file. Checked when channels are validated or started, so a wrong name is reported at
// its `map:` line before anything runs. A destination's map takes the HL7 v2 message as it
// came, so it needs an MLLP channel whose pipeline has no map of its own.
import { statSync } from 'node:fs';
import { listMappings } from '../mappings/index.js';
import type { ChannelDefinition } from './definition.js';
import { problemAt, type Problem } from './load.js';

/** The mapping files the channels use, and a problem for each `map:` naming nothing. */
export function channelMappings(channels: readonly ChannelDefinition[]): { files: string[]; problems: Problem[] } {
  const files: string[] = [];
  const problems: Problem[] = [];
  const check = (c: ChannelDefinition, ref: string, at: (string | number)[]) => {
    const file = listMappings().get(ref) ?? ref;
    if (statSync(file, { throwIfNoEntry: false })?.isFile()) files.push(file);
    else problems.push(problemAt(c, at, `no mapping with id or path "${ref}"`));
  };
  for (const c of channels) {
    if (c.pipeline?.map) check(c, c.pipeline.map, ['pipeline', 'map']);
    c.destinations.forEach((d, i) => {
      if (!d.map) return;
      const at = ['destinations', i, 'map'];
      if (c.source.type !== 'mllp') problems.push(problemAt(c, at, 'a destination map is for HL7 v2 (mllp) channels; record channels use pipeline.map'));
      else if (c.pipeline?.map) problems.push(problemAt(c, at, 'the channel already maps every message (pipeline.map): a destination map would get the mapped Bundle'));
      else check(c, d.map, at);
    });
  }
  return { files: [...new Set(files)], problems };
}
