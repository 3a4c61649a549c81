// `tramline audit verify` by default, on SQLite and PostgreSQL, after a real engine ran and
// stopped (publishing its head): an untouched trail passes; cutting entries off the end fails;
// editing an entry and recomputing the chain without the audit key fails.
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../../adapters/store/db.js';
import { dropAppendOnlyGuards, recomputeChainFrom, truncateAfter } from '../support/audit-tamper.js';
import { runCli } from '../support/engine.js';
import { BACKENDS, createBackend } from './store-backends.js';
import { startApiEngine } from './api-engine.js';

describe.each(BACKENDS)('audit verify with the audit key and published head (%s)', (name) => {
  test('untouched passes; a trail cut short fails; an edit with the chain recomputed fails', async () => {
    const e = await startApiEngine(name === 'postgres' ? { dbUrl: createBackend('postgres').url } : {});
    try {
      for (let i = 0; i < 5; i++) await e.running.instrumented.audit.append({ category: 'view', action: 'viewer.read', outcome: 'success', actor: { id: `dr.${i}`, kind: 'jwt', role: 'clinician' }, patient: '9434765919' });
      await e.running.stop();

      const headFile = path.join(e.config.dataDir, 'audit-head.json');
      const head = JSON.parse(fs.readFileSync(headFile, 'utf8')) as { seq: number };
      expect((fs.statSync(headFile).mode & 0o777).toString(8)).toBe('600');
      expect((fs.statSync(path.join(e.config.dataDir, 'audit.key')).mode & 0o777).toString(8)).toBe('600');

      const intact = await runCli(['audit', 'verify'], e.env, e.dir);
      expect(intact.stderr).toBe('');
      expect(intact.code).toBe(0);
      expect(intact.stdout).toMatch(/^audit trail intact: \d+ entries, every MAC checks out\n/);
      expect(intact.stdout).toContain(`published head entry ${head.seq} (`);

      const db = await openDatabase(e.config.dbUrl);
      try {
        await dropAppendOnlyGuards(db);
        await truncateAfter(db, head.seq - 3);
        const cut = await runCli(['audit', 'verify'], e.env, e.dir);
        expect(cut.code).toBe(1);
        expect(cut.stderr).toContain(`audit trail BROKEN at entry ${head.seq}: the head published at`);
        expect(cut.stderr).toContain(`the trail ends at entry ${head.seq - 3}, entries ${head.seq - 2}..${head.seq} were cut off (trail cut short)`);

        await recomputeChainFrom(db, 3, (row) => ({ ...row, actor: 'someone-else' }));
        const edited = await runCli(['audit', 'verify'], e.env, e.dir);
        expect(edited.code).toBe(1);
        expect(edited.stderr).toContain('audit trail BROKEN at entry 3: entry MAC does not match its hash (entry edited and the chain recomputed without the audit key)');
      } finally {
        await db.close();
      }
    } finally {
      await e.close();
    }
  }, 120_000);
});
