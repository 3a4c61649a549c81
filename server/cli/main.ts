// The `tramline` command line. Each command lives in its own module under commands/.
import { Command, CommanderError } from 'commander';
import { installCliAudit, recordCliFailure } from '../audit/cli-audit.js';
import { registerAuditCommand } from './commands/audit.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerDeadLettersCommand } from './commands/dead-letters.js';
import { registerMapCommand } from './commands/map.js';
import { registerMessagesCommand } from './commands/messages.js';
import { registerNoticesCommand } from './commands/notices.js';
import { registerSendCommand } from './commands/send.js';
import { registerStartCommand } from './commands/start.js';
import { registerTestCommand } from './commands/test-mappings.js';
import { registerTokensCommand } from './commands/tokens.js';
import { registerValidateCommand } from './commands/validate.js';

const program = new Command()
  .name('tramline')
  .description('Tramline health and social care integration engine')
  .version('0.1.0')
  .showHelpAfterError();

registerStartCommand(program);
registerValidateCommand(program);
registerSendCommand(program);
registerMapCommand(program);
registerTestCommand(program);
registerMessagesCommand(program);
registerDeadLettersCommand(program);
registerNoticesCommand(program);
registerAuditCommand(program);
registerTokensCommand(program);
registerBenchCommand(program);
installCliAudit(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) {
    console.error(`tramline: ${(err as Error).message}`);
    process.exitCode = 1;
    await recordCliFailure(err);
  }
}
