// Memory allocated by a compile, by function: what a change saves in allocation, measured the same on a loaded
// machine as on an idle one (the time of a run is not: on a shared machine two runs of one build differ by 20 %).
// V8's sampling heap profiler, keeping the samples of objects the collector has freed, so that every allocation
// counts, not only what is alive at the end: a sample every 4 KiB on average, totals within about 1 % run to run.
// Usage: node bench/allocation.mjs ORG.yaml [FUNCTION ...]   (after make build)
//   prints the MB allocated in all, within each FUNCTION named (inclusive; by default the compile's main steps),
//   and the functions that allocate most within the first one.
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const [orgFile, ...named] = process.argv.slice(2);
if (!orgFile) {
  process.stderr.write('usage: node bench/allocation.mjs ORG.yaml [FUNCTION ...]\n');
  process.exit(2);
}
const focus = named.length > 0 ? named : ['compileOrg', 'planStages', 'analyseAccess', 'auditBundle', 'buildReport', 'auditModel'];

// The compile writes the org's layout file beside it: a copy of both, in a folder of its own.
const work = mkdtempSync(join(tmpdir(), 'xstack-allocation-'));
const org = join(work, basename(orgFile));
copyFileSync(orgFile, org);
const layout = orgFile.replace(/\.ya?ml$/, '.layout.json');
if (layout !== orgFile && existsSync(layout)) copyFileSync(layout, join(work, basename(layout)));

const session = new Session();
session.connect();
const post = (method, params) => new Promise((done, fail) => session.post(method, params, (error, result) => (error ? fail(error) : done(result))));
await post('HeapProfiler.enable');
await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
const { main } = createRequire(import.meta.url)(resolve('.build/src/cli.js'));
// What the compile prints (its stages and notes) is not this report's.
const write = process.stdout.write;
process.stdout.write = () => true;
const code = await main(['compile', org, '--out', join(work, 'out')]).finally(() => (process.stdout.write = write));
const { profile } = await post('HeapProfiler.stopSampling');
rmSync(work, { recursive: true, force: true });
if (code !== 0) process.exit(code);

/** A frame as profiles name it: function, file (its last two parts) and line. */
const frameOf = (node) => `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber + 1}`;
let total = 0;
const within = new Map(focus.map((name) => [name, 0]));
const underFirst = new Map();
/** Each sample counted once for each function on its stack (inclusive), however deep the recursion. */
function walk(node, stack) {
  const frames = [...stack, node];
  if (node.selfSize > 0) {
    total += node.selfSize;
    const names = new Set(frames.map((f) => f.callFrame.functionName));
    for (const name of focus) if (names.has(name)) within.set(name, within.get(name) + node.selfSize);
    const first = frames.findIndex((f) => f.callFrame.functionName === focus[0]);
    if (first >= 0) for (const frame of new Set(frames.slice(first).map(frameOf))) underFirst.set(frame, (underFirst.get(frame) ?? 0) + node.selfSize);
  }
  for (const child of node.children) walk(child, frames);
}
walk(profile.head, []);

const mb = (bytes) => (bytes / 1048576).toFixed(1).padStart(8);
console.log(`${mb(total)} MB allocated in all`);
for (const [name, bytes] of within) console.log(`${mb(bytes)} MB within ${name}`);
console.log(`\nmost within ${focus[0]} (MB, inclusive):`);
for (const [frame, bytes] of [...underFirst].sort((a, b) => b[1] - a[1]).slice(1, 21)) console.log(`${mb(bytes)}  ${frame}`);
