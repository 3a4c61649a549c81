// Child process for the audit tests: appends N entries to the audit trail of the database at
// argv[2] (already migrated), as a second engine or CLI process would.
import { AuditTrail } from '../../server/audit/trail.js';
import { openDatabase } from '../../server/store/db.js';

const [url, countText, label] = process.argv.slice(2);
const db = await openDatabase(url);
const trail = new AuditTrail(db);
await Promise.all(
  Array.from({ length: Number(countText) }, (_, i) =>
    trail.append({ category: 'message', action: 'message.received', outcome: 'success', messageId: `${label}-${i}`, target: 'adt-in' }),
  ),
);
await trail.flush();
await db.close();
