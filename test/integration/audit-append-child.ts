// Child process for the audit tests: appends N entries to the audit trail of the database at
// argv[2] (already migrated), signed with the audit key in argv[5] (hex), as a second engine or
// CLI process would.
import { AuditKey } from '../../server/audit/key.js';
import { AuditTrail } from '../../server/audit/trail.js';
import { openDatabase } from '../../adapters/store/db.js';

const [url, countText, label, keyHex] = process.argv.slice(2);
const db = await openDatabase(url);
const trail = new AuditTrail(db, { key: new AuditKey(Buffer.from(keyHex, 'hex')) });
await Promise.all(
  Array.from({ length: Number(countText) }, (_, i) =>
    trail.append({ category: 'message', action: 'message.received', outcome: 'success', messageId: `${label}-${i}`, target: 'adt-in' }),
  ),
);
await trail.flush();
await db.close();
