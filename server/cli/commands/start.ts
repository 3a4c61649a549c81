// `tramline start`: load and validate the channel folder, run the engine until SIGTERM/SIGINT,
// then stop gracefully (in-flight messages are stored and acknowledged before exit).
import type { Command } from 'commander';
import { loadConfig } from '../../../core/config.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the engine with the channels in TRAMLINE_CHANNELS (default channels/examples)')
    .action(async () => {
      // The engine and everything it runs load only for this command.
      const { formatProblem, loadChannelFolder } = await import('../../../channels/load.js');
      const { channelMappings } = await import('../../../channels/mapping-refs.js');
      const { runEngine } = await import('../../engine-process.js');
      const { log } = await import('../../../core/logger.js');
      const config = loadConfig();
      const { channels, problems } = loadChannelFolder(config.channelsDir);
      problems.push(...channelMappings(channels.filter((c) => c.enabled)).problems);
      if (problems.length) {
        for (const p of problems) console.error(formatProblem(p));
        throw new Error(`${problems.length} problem(s) in ${config.channelsDir}; nothing started`);
      }
      const running = await runEngine(config, channels);
      const store = running.opened.db.location;
      log.info(
        {
          http: running.httpPort,
          store: `${running.opened.db.dialect}:${store}`,
          queue: config.amqpUrl ? 'rabbitmq' : 'embedded',
          channels: running.engine.channels.map((c) => ({ id: c.definition.id, mllp: c.port })),
        },
        'tramline started',
      );
      let signals = 0;
      const shutdown = (signal: string) => {
        if (++signals > 1) process.exit(130); // a second Ctrl-C means now
        log.info({ signal }, 'stopping: finishing in-flight messages');
        running.stop().then(
          () => {
            log.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            log.error({ reason: (err as Error).message }, 'stop failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
    });
}
