// `tramline messages prune`: delete message content past each channel's retention period
// (`retention.contentDays`), or past --older-than-days. Metadata, history and audit stay.
import { InvalidArgumentError, type Command } from 'commander';
import os from 'node:os';
import { loadChannelsOrThrow, withStore } from '../context.js';

function days(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of days (1 or more)');
  return n;
}

export function registerPruneCommand(messages: Command): void {
  messages
    .command('prune')
    .description("delete message content older than each channel's retention.contentDays (metadata and audit stay)")
    .option('--channel <id>', 'only this channel')
    .option('--older-than-days <n>', 'override the channel setting', days)
    .action(async (o: { channel?: string; olderThanDays?: number }) => {
      await withStore(async ({ store, db, audit: auditOptions }, config) => {
        let channels = (await loadChannelsOrThrow(config.channelsDir)).map((c) => ({ id: c.id, retention: c.retention }));
        if (o.channel) {
          channels = channels.filter((c) => c.id === o.channel);
          // A channel no longer deployed can still be pruned when the age is given.
          if (!channels.length && o.olderThanDays) channels = [{ id: o.channel, retention: undefined }];
          if (!channels.length) throw new Error(`no channel ${o.channel} in ${config.channelsDir} (give --older-than-days to prune it anyway)`);
        }
        const { AuditTrail } = await import('../../audit/trail.js');
        const { pruneContent } = await import('../../retention/prune.js');
        const audit = new AuditTrail(db, auditOptions);
        const results = await pruneContent({ store, channels, audit, days: o.olderThanDays, actor: { id: os.userInfo().username, kind: 'cli' } });
        await audit.flush();
        if (!results.length) console.log('no channel has a retention period (retention.contentDays); nothing pruned');
        for (const r of results) console.log(`${r.channel}: ${r.removed} content row(s) older than ${r.olderThan.toISOString()} removed`);
      });
    });
}
