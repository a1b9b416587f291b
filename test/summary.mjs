// Prints vitest's result as one plain line, `N passed, N failed[, N skipped]`,
// for CI logs that read the closing line. Exits non-zero when any test failed
// or none ran.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const passed = report.numPassedTests;
// A file that failed with no failed test (it did not load, or a hook threw) counts once; numFailedTestSuites would
// also count every describe block around a failed test, so one failed test printed as three.
const brokenFiles = (report.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')).length;
const failed = report.numFailedTests + brokenFiles;
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`vitest: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
