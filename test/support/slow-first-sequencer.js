// Jest runs the slowest test files first so that neither worker is left alone at the end with a
// long one. Jest does this by itself from the durations it cached on the last run; a clean clone
// (CI) has no cache, and jest then goes by file size, which puts a two-minute broker test behind
// dozens of quick ones. This list of known-slow files (seconds on a busy 2-core machine, as a
// rank, not a promise) stands in for the cache where it has no entry. A file missing from the
// list still runs, just after the listed ones; add it when it turns out slow.
import path from 'node:path';
import Sequencer from '@jest/test-sequencer';

const KNOWN_SECONDS = new Map([
  ['test/integration/rabbitmq-engine.test.ts', 54],
  ['test/integration/file-drop-extracts.test.ts', 54],
  ['test/integration/rabbitmq-engine-broker.test.ts', 45],
  ['test/integration/dead-letters-cli.test.ts', 40],
  ['test/integration/crash-recovery.test.ts', 26],
  ['test/integration/build.test.ts', 18],
  ['test/integration/console-browser.test.ts', 28],
  ['test/integration/console-oidc.test.ts', 12],
  ['test/integration/rabbitmq-reconnect.test.ts', 16],
  ['test/integration/fhir-destination.test.ts', 14],
  ['test/integration/audit-trail.test.ts', 14],
  ['test/integration/fuzz-engine.test.ts', 13],
  ['test/integration/file-drop-hostile.test.ts', 13],
  ['test/integration/http-source-e2e.test.ts', 13],
  ['test/unit/fhir-store-mapping-cases.test.ts', 12],
  ['test/integration/fhir-conformance.test.ts', 11],
  ['test/integration/social-care-e2e.test.ts', 11],
  ['test/integration/spine-e2e.test.ts', 11],
  ['test/unit/mapping-lazy-view.test.ts', 11],
  ['test/integration/message-status-e2e.test.ts', 10],
  ['test/integration/rabbitmq-queue.test.ts', 10],
  ['test/unit/fhir-validation.test.ts', 10],
  ['test/unit/mapping-cli.test.ts', 10],
  ['test/unit/fhir-store-patient-search.test.ts', 10],
  ['test/integration/rabbitmq-scale.test.ts', 9],
  ['test/integration/fhir-destination-dispatch.test.ts', 9],
  ['test/unit/layers.test.ts', 9],
  ['test/integration/audit-cli.test.ts', 8],
  ['test/integration/api-messages.test.ts', 7],
  ['test/integration/auth-cli.test.ts', 7],
  ['test/integration/embedded-queue.test.ts', 7],
  ['test/integration/hl7-mapping-e2e.test.ts', 7],
  ['test/unit/bench-data.test.ts', 7],
  ['test/integration/destination-http-e2e.test.ts', 7],
  ['test/unit/fhir-store-transaction.test.ts', 6],
  ['test/integration/mllp-connection-limit.test.ts', 6],
  ['test/integration/validate-cli.test.ts', 6],
  ['test/unit/mapping-cases.test.ts', 5],
  ['test/integration/audit-anchor.test.ts', 5],
  ['test/integration/fhir-view-audit.test.ts', 5],
  ['test/integration/api-no-patient-data.test.ts', 5],
  ['test/unit/mapping-functions.test.ts', 5],
  ['test/integration/destination-mllp-file-e2e.test.ts', 5],
  ['test/integration/auth-jwt.test.ts', 5],
  ['test/integration/fhir-sandbox-http.test.ts', 4],
  ['test/integration/fhir-engine.test.ts', 4],
  ['test/integration/auth-limit.test.ts', 4],
  ['test/unit/cld-mapping.test.ts', 4],
  ['test/integration/retention-prune.test.ts', 4],
  ['test/integration/hl7-intake-hostile.test.ts', 4],
  ['test/integration/engine-ports.test.ts', 4],
  ['test/integration/metrics-engine.test.ts', 4],
]);

export default class SlowFirstSequencer extends Sequencer {
  sort(tests) {
    for (const test of tests) {
      const known = KNOWN_SECONDS.get(path.relative(test.context.config.rootDir, test.path).split(path.sep).join('/'));
      test.duration = this.time(test) ?? (known === undefined ? undefined : known * 1000);
    }
    const size = (test) => test.context.hasteFS.getSize(test.path) ?? 0;
    return tests.sort((a, b) => {
      // A file that failed last time first, as jest does: its news matters most.
      const failed = Number(this.hasFailed(b)) - Number(this.hasFailed(a));
      if (failed !== 0) return failed;
      if ((a.duration === undefined) !== (b.duration === undefined)) return a.duration === undefined ? 1 : -1;
      return a.duration !== undefined ? b.duration - a.duration : size(b) - size(a);
    });
  }
}
