// `tramline validate [paths…]`: check channel and mapping files and print every problem as
// file:line:column field: message. A channel's `pipeline.map` must name a mapping that exists
// and compiles. With no paths: the channel folder (TRAMLINE_CHANNELS) and the shipped mappings.
import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'yaml';
import path from 'node:path';
import type { ChannelDefinition } from '../../../channels/definition.js';
import type { Problem } from '../../../channels/load.js';
import { loadConfig } from '../../../core/config.js';

/** A YAML file with a top-level `source` is a channel; one with `input` (or under mappings/) a mapping. */
function kindOf(file: string): 'channel' | 'mapping' {
  if (/(^|\/)mappings\//.test(file)) return 'mapping';
  try {
    const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
    return doc && typeof doc === 'object' && 'input' in doc && !('source' in doc) ? 'mapping' : 'channel';
  } catch {
    return 'channel'; // the channel loader reports the YAML error with its position
  }
}

// The channel schema and mapping compiler load when the command runs, not on every CLI start.
const channelLoader = () => import('../../../channels/load.js');
const mappings = () => import('../../../mappings/index.js');

async function mappingProblems(file: string): Promise<Problem[]> {
  const { checkMappingFile } = await mappings();
  return checkMappingFile(file).map((p) => ({ file: p.file, line: p.line ?? 0, column: 1, field: p.target, message: p.message }));
}

async function alertProblems(paths: string[], alertFiles: string[], channels: ChannelDefinition[]): Promise<Problem[]> {
  const { alertsFileIn, checkAlertTargets, loadAlertsText } = await import('../../alerts/rules.js');
  const folders = paths.filter((p) => statSync(p, { throwIfNoEntry: false })?.isDirectory());
  const files = new Set([...alertFiles, ...folders.flatMap((d) => alertsFileIn(d) ?? [])]);
  const problems: Problem[] = [];
  for (const file of files) {
    const loaded = loadAlertsText(readFileSync(file, 'utf8'), file);
    problems.push(...loaded.problems);
    // Channels named by a rule must be among those validated with it.
    if (!loaded.problems.length && channels.length) problems.push(...checkAlertTargets(loaded, channels.map((c) => ({ id: c.id, destinations: c.destinations, notices: c.notices }))));
  }
  return problems;
}

export async function validatePaths(paths: string[]): Promise<{ problems: Problem[]; channels: number; mappings: number }> {
  const { ALERT_FILE, channelFiles, loadChannels } = await channelLoader();
  // Alert rules: alerts.yaml in a folder given, or given itself.
  const alertFiles = paths.filter((p) => ALERT_FILE.test(path.basename(p)));
  const files = paths.filter((p) => !alertFiles.includes(p)).flatMap((p) => (statSync(p, { throwIfNoEntry: false }) ? channelFiles(p) : [p]));
  const problems: Problem[] = paths
    .filter((p) => statSync(p, { throwIfNoEntry: false })?.isDirectory() && !channelFiles(p).length)
    .map((p) => ({ file: p, line: 0, column: 0, field: '', message: 'no channel or mapping files (*.yaml) found' }));
  const mappingFiles = new Set(files.filter((f) => kindOf(f) === 'mapping'));
  const loaded = loadChannels(files.filter((f) => !mappingFiles.has(f)));
  problems.push(...loaded.problems);
  // A channel's mapping must exist (and is checked with the rest).
  const { channelMappings } = await import('../../../channels/mapping-refs.js');
  const used = channelMappings(loaded.channels);
  problems.push(...used.problems);
  for (const f of used.files) mappingFiles.add(f);
  for (const f of mappingFiles) problems.push(...(await mappingProblems(f)));
  problems.push(...(await alertProblems(paths, alertFiles, loaded.channels)));
  return { problems, channels: loaded.channels.length, mappings: mappingFiles.size };
}

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('validate channel and mapping files; exit 0 only if all are valid')
    .argument('[paths...]', 'channel or mapping files or folders (default: TRAMLINE_CHANNELS and the shipped mappings)')
    .action(async (paths: string[]) => {
      const { formatProblem } = await channelLoader();
      const targets = paths.length ? paths : [loadConfig().channelsDir, ...(await mappings()).listMappings().values()];
      const { problems, channels, mappings: mappingCount } = await validatePaths(targets);
      for (const p of problems) console.error(formatProblem(p));
      if (problems.length) {
        console.error(`${problems.length} problem(s) found`);
        process.exitCode = 1;
      } else {
        console.log(`${channels} channel(s) and ${mappingCount} mapping(s) valid`);
      }
    });
}
