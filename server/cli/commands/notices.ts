// `tramline notices list|show|accept|reject`: hospital-to-social-care notices (ADW) kept by the
// channels with a `notices` block, on the engine's store and queue. An answer is built, stored
// and queued exactly as through the API (the running engine's MESH outbox destination writes
// it); the notice's history and the audit trail record who decided (`user <OS user> via CLI`).
// `show` prints the person's details: that view is recorded too.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { NoticeService } from '../../../channels/notice-service.js';
import { NOTICE_STATES } from '../../../core/notices.js';
import { loadChannelsOrThrow, openPublisher, withStore } from '../context.js';

const TYPES = ['assessment', 'discharge', 'withdrawal', 'admission'] as const;

const by = () => `user ${os.userInfo().username} via CLI`;

async function withNotices<T>(fn: (service: NoticeService) => Promise<T>): Promise<T> {
  return withStore(async (opened, config) => {
    const channels = await loadChannelsOrThrow(config.channelsDir);
    const { messageAuditObserver } = await import('../../audit/message-audit.js');
    const { observeStore } = await import('../../audit/store-observer.js');
    const { AuditTrail } = await import('../../audit/trail.js');
    const { SqlNoticeStore } = await import('../../../adapters/store/notice-store.js');
    const { NoticeService } = await import('../../../channels/notice-service.js');
    const audit = new AuditTrail(opened.db, opened.audit);
    const store = observeStore(opened.store, [messageAuditObserver(audit)]);
    const queue = await openPublisher(opened, config, channels);
    try {
      const service = new NoticeService({ store, queue, notices: new SqlNoticeStore(opened.db, opened.keys), channels: () => channels.filter((c) => c.enabled) });
      return await fn(service);
    } finally {
      await queue.close();
      await audit.flush();
    }
  });
}

function line(n: Awaited<ReturnType<NoticeService['list']>>[number]): string {
  const state = n.overdue ? 'overdue' : n.state;
  return [n.id, n.receivedAt.toISOString(), n.channel, n.type + (n.withdraws ? `(${n.withdraws})` : ''), state, n.hospitalOds ?? '-', n.ward ?? '-', n.dueAt ? `due ${n.dueAt.toISOString()}` : '-'].join('  ');
}

/** MIME types of letter files by extension (override with --letter-type). */
const LETTER_EXTENSIONS: Record<string, string> = {
  '.pdf': 'application/pdf', '.txt': 'text/plain', '.html': 'text/html', '.htm': 'text/html', '.rtf': 'application/rtf', '.png': 'image/png', '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg', '.tif': 'image/tiff', '.tiff': 'image/tiff', '.doc': 'application/msword', '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
};

interface DecideOptions { reason: string; text?: string; json?: boolean; letter?: string; letterType?: string }

async function decide(id: string, answer: 'accept' | 'reject', o: DecideOptions): Promise<void> {
  let letter: { content: Buffer; contentType: string } | undefined;
  if (o.letter) {
    const contentType = o.letterType ?? LETTER_EXTENSIONS[path.extname(o.letter).toLowerCase()];
    if (!contentType) throw new Error(`--letter-type is needed: the type of ${path.basename(o.letter)} is not known from its name`);
    letter = { content: readFileSync(o.letter), contentType };
  }
  await withNotices(async (service) => {
    const { NoticeDecisionError, noticeToJson } = await import('../../../channels/notice-service.js');
    try {
      const n = await service.decide(id, { answer, reasonCode: o.reason, ...(o.text ? { text: o.text } : {}), ...(letter ? { letter } : {}), by: by() });
      if (o.json) console.log(JSON.stringify(noticeToJson(n), null, 2));
      else console.log(`notice ${id} ${n.state}; response ${n.responseMessageId ?? '-'} queued for the hospital`);
    } catch (err) {
      if (err instanceof NoticeDecisionError) throw new Error(err.message);
      throw err;
    }
  });
}

export function registerNoticesCommand(program: Command): void {
  const notices = program.command('notices').description('hospital notices (ADW): list, show, accept or reject');

  notices
    .command('list')
    .description('notices newest first, with their state (no person details)')
    .addOption(new Option('--state <state>', 'a state, or overdue').choices([...NOTICE_STATES, 'overdue']))
    .addOption(new Option('--type <type>', 'notice type').choices([...TYPES]))
    .option('--channel <id>', 'channel id')
    .option('--limit <n>', 'most notices', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new Error('--limit must be a whole number from 1 to 10000');
      return n;
    }, 100)
    .option('--json', 'print JSON (one array)')
    .action(async (o: { state?: (typeof NOTICE_STATES)[number] | 'overdue'; type?: (typeof TYPES)[number]; channel?: string; limit: number; json?: boolean }) => {
      await withNotices(async (service) => {
        const { noticeToJson } = await import('../../../channels/notice-service.js');
        const list = await service.list({ ...(o.state ? { state: o.state } : {}), ...(o.type ? { type: o.type } : {}), ...(o.channel ? { channel: o.channel } : {}), limit: o.limit });
        if (o.json) console.log(JSON.stringify(list.map(noticeToJson), null, 2));
        else if (!list.length) console.log('no notices');
        else for (const n of list) console.log(line(n));
      });
    });

  notices
    .command('show')
    .description("one notice with the person's details, hospital, ward, contacts and expected discharge (recorded in the audit trail)")
    .argument('<id>', 'notice id (MessageHeader id)')
    .action(async (id: string) => {
      await withNotices(async (service) => {
        const { noticeToJson } = await import('../../../channels/notice-service.js');
        const shown = await service.show(id, by());
        if (!shown) throw new Error(`no notice ${id}`);
        console.log(JSON.stringify({ notice: noticeToJson(shown.notice), ...(shown.content ? { content: shown.content } : {}) }, null, 2));
      });
    });

  for (const answer of ['accept', 'reject'] as const) {
    notices
      .command(answer)
      .description(`${answer} a notice: the response is stored and queued back to the hospital`)
      .argument('<id>', 'notice id (MessageHeader id)')
      .requiredOption('--reason <code>', 'reason code, e.g. OFT (Other - Free Text), or one the channel lists')
      .option('--text <text>', 'free text (needed with OFT)')
      .option('--json', 'print the answered notice as JSON')
      .option('--letter <file>', 'accept of a discharge notice: a letter sent with the discharge agreement (PDF, text, RTF, Word, image)')
      .option('--letter-type <mime>', 'the letter\'s MIME type, when its file name does not say')
      .action((id: string, o: DecideOptions) => decide(id, answer, o));
  }
}
