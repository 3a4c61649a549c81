// `tramline audit verify|list|export`: check the hash chain, its MACs and the published head,
// browse entries, and export them as a FHIR R4 Bundle of AuditEvents (e.g. a patient's access
// history on request).
import { InvalidArgumentError, type Command } from 'commander';
import { AUDIT_CATEGORIES, type AuditCategory, type AuditFilter, type AuditRecord, type VerifyResult } from '../../audit/types.js';
import { withStore } from '../context.js';

// The trail and its FHIR export load when a command runs, not on every CLI start.
const trail = () => import('../../audit/trail.js');

function date(value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('must be a date/time such as 2026-11-26T10:00:00Z');
  return d;
}

function knownHead(value: string): { seq: number; hash: string } {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be <seq>:<64 hex hash>, as printed by an earlier verify');
  return { seq: Number(m[1]), hash: m[2] };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

function category(value: string): AuditCategory {
  if (!(AUDIT_CATEGORIES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${AUDIT_CATEGORIES.join(', ')}`);
  return value as AuditCategory;
}

interface QueryOptions {
  patient?: string;
  from?: Date;
  to?: Date;
  category?: AuditCategory;
  actor?: string;
  messageId?: string;
  limit?: number;
}

function addQueryOptions(cmd: Command): Command {
  return cmd
    .option('--patient <nhs-number>', 'entries about this patient')
    .option('--from <time>', 'at or after', date)
    .option('--to <time>', 'before', date)
    .option('--category <category>', `one of ${AUDIT_CATEGORIES.join(', ')}`, category)
    .option('--actor <id>', 'user, token name or OS user')
    .option('--message-id <id>', 'entries about one message')
    .option('--limit <n>', 'most entries', positiveInt, 1000);
}

function filterOf(o: QueryOptions): AuditFilter {
  return { patient: o.patient, from: o.from, to: o.to, category: o.category, actor: o.actor, messageId: o.messageId, limit: o.limit };
}

function line(r: AuditRecord): string {
  const who = r.actor ? `${r.actor.id}${r.actor.role ? `(${r.actor.role})` : ''}` : '-';
  return [r.seq, r.at.toISOString(), r.category, r.action, r.outcome, who, r.target ?? r.messageId ?? '-', r.patient ?? ''].join('  ').trimEnd();
}

/** What an intact trail's check covered, in words. */
function intactReport(result: VerifyResult, headFile: string): string {
  const lines = [`audit trail intact: ${result.checked} entries, every MAC checks out`];
  if (result.unkeyed) lines.push(`  ${result.unkeyed.count} entries (${result.unkeyed.first}..${result.unkeyed.last}) were written before the audit key existed: their chain is checked, they carry no MAC`);
  const published = result.publishedHead;
  if (published?.missing) lines.push(`  no published head yet (${headFile}): cutting off the newest entries cannot be detected without --head`);
  else if (published) lines.push(`  published head entry ${published.seq} (${published.publishedAt}) is there unchanged; entries after it are covered by the chain and MACs only`);
  if (result.head) lines.push(`  head entry ${result.head.seq} hash ${result.head.hash} (note it: --head ${result.head.seq}:${result.head.hash})`);
  return lines.join('\n');
}

export function registerAuditCommand(program: Command): void {
  const audit = program.command('audit').description('check and read the audit trail');

  audit
    .command('verify')
    .description("check the audit trail's hash chain, each entry's MAC (audit key) and the published head; exit 1 and name the first broken entry if it does not hold")
    .option('--head <seq:hash>', 'an entry noted from an earlier verify: it must still be there unchanged (catches a trail cut short)', knownHead)
    .option('--head-file <file>', 'the published head to check (default <data dir>/audit-head.json; give a copy kept off this host)')
    .action(async (o: { head?: { seq: number; hash: string }; headFile?: string }) => {
      await withStore(async ({ db, audit }) => {
        const { AuditTrail } = await trail();
        const headFile = o.headFile ?? audit.headFile;
        const result = await new AuditTrail(db, { ...audit, headFile }).verify({ knownHead: o.head });
        if (result.ok) {
          console.log(intactReport(result, headFile));
          return;
        }
        const broken = result.broken!;
        const where = broken.reason.includes('published') ? ` [head file ${headFile}]` : '';
        console.error(`audit trail BROKEN at entry ${broken.seq}: ${broken.reason}${where} (${result.checked} entries before it check out)`);
        process.exitCode = 1;
      });
    });

  addQueryOptions(audit.command('list').description('list audit entries, oldest first'))
    .option('--json', 'print JSON')
    .action(async (o: QueryOptions & { json?: boolean }) => {
      await withStore(async ({ db, audit }) => {
        const { AuditTrail } = await trail();
        const records = await new AuditTrail(db, audit).query(filterOf(o));
        if (o.json) console.log(JSON.stringify(records, null, 2));
        else if (!records.length) console.log('no audit entries');
        else for (const r of records) console.log(line(r));
      });
    });

  addQueryOptions(audit.command('export').description('print matching entries as a FHIR R4 Bundle of AuditEvent resources')).action(async (o: QueryOptions) => {
    await withStore(async ({ db, audit }) => {
      const { AuditTrail } = await trail();
      const { auditBundle } = await import('../../audit/fhir.js');
      const records = await new AuditTrail(db, audit).query(filterOf(o));
      console.log(JSON.stringify(auditBundle(records), null, 2));
    });
  });
}
