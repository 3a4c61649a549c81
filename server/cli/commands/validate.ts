// `tramline validate [paths…]`: check channel files (and mapping files, once the mapping
// compiler is wired in) and print every problem as file:line:column field: message.
import type { Command } from 'commander';
import { formatProblem, loadChannelFolder, type Problem } from '../../../channels/load.js';
import { loadConfig } from '../../config.js';

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('validate channel files; exit 0 only if all are valid')
    .argument('[paths...]', 'channel files or folders (default: TRAMLINE_CHANNELS)')
    .action((paths: string[]) => {
      const targets = paths.length ? paths : [loadConfig().channelsDir];
      const problems: Problem[] = [];
      let count = 0;
      for (const target of targets) {
        const result = loadChannelFolder(target);
        count += result.channels.length;
        problems.push(...result.problems);
      }
      for (const p of problems) console.error(formatProblem(p));
      if (problems.length) {
        console.error(`${problems.length} problem(s) found`);
        process.exitCode = 1;
      } else {
        console.log(`${count} channel(s) valid`);
      }
    });
}
