// Rollout-time model: bootstrap and first deploy of a generated org (pipeline
// accounts given as arguments, default 100 1000) against moto behind the
// StackSets layer (test/support/stacksets-proxy.ts), with the model clock of
// test/support/operation-time.ts recording every operation the deployer
// starts. Prints, per size and operation preferences, the StackSets, the
// operations by action, the modelled wall time (figures and sources in
// operation-time.ts) and the real time of the bench. Nothing sleeps for the
// model: the layer keeps its own 20 ms queued / 30 ms running.
// Usage: make bench-rollout-time, or node bench/rollout-time.cjs 100 300
// (XSTACK_BENCH_ONE_RUN=1: one deploy per size, see below; XSTACK_BENCH_EXTRAPOLATE=1000:
// the last size's operations scaled to 1,000 accounts, printed apart and labelled).
require('tsx/cjs');
const { compileOrg } = require('../.build/src/compile.js');
const { parseOrg } = require('../.build/src/org/load.js');
const { Aws } = require('../.build/src/deploy/clients.js');
const { deploy } = require('../.build/src/deploy/deployer.js');
const { bootstrap } = require('../.build/src/deploy/bootstrap.js');
const { startNewLocalAws, LOCAL_CREDENTIALS } = require('../.build/src/deploy/local.js');
const { startStackSetsProxy } = require('../test/support/stacksets-proxy.ts');
const { ModelClock, FIGURES } = require('../test/support/operation-time.ts');

// Deployed with each of these (the org file's stackSets.operationPreferences).
const RUNS = {
  'wide (100 %, tolerance 10 %, PARALLEL)': { maxConcurrentPercentage: 100, failureTolerancePercentage: 10, regionConcurrencyType: 'PARALLEL' },
  'cautious (example: 1 at a time, tolerance 0, SEQUENTIAL)': { maxConcurrentCount: 1, failureToleranceCount: 0, regionConcurrencyType: 'SEQUENTIAL' },
};
// The same operations re-evaluated under these (the deployer's operations do not depend on the preferences).
const REEVALUATED = {
  '100 %, tolerance 0 %, PARALLEL (default STRICT mode)': { MaxConcurrentPercentage: 100, FailureTolerancePercentage: 0, RegionConcurrencyType: 'PARALLEL' },
  '100 %, tolerance 20 %, PARALLEL (default STRICT mode)': { MaxConcurrentPercentage: 100, FailureTolerancePercentage: 20, RegionConcurrencyType: 'PARALLEL' },
  '100 %, tolerance 0 %, PARALLEL, SOFT_FAILURE_TOLERANCE': { MaxConcurrentPercentage: 100, FailureTolerancePercentage: 0, RegionConcurrencyType: 'PARALLEL', ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE' },
};
const API = { maxConcurrentCount: 'MaxConcurrentCount', maxConcurrentPercentage: 'MaxConcurrentPercentage', failureToleranceCount: 'FailureToleranceCount', failureTolerancePercentage: 'FailureTolerancePercentage', regionConcurrencyType: 'RegionConcurrencyType', concurrencyMode: 'ConcurrencyMode' };
const toApi = (p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [API[k], v]));

function orgYaml(generateOrgYaml, n, preferences) {
  const lines = ['stackSets:', '  operationPreferences:', ...Object.entries(preferences).map(([k, v]) => `    ${k}: ${v}`)];
  return `${generateOrgYaml(n)}${lines.join('\n')}\n`;
}

const hm = (ms) => {
  const minutes = Math.round(ms / 60_000);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
};

/** The same rollout with one operation per StackSet and action (all its accounts): what the deployer is being changed to. */
function oneOperationPerAction(clock) {
  const merged = new Map();
  for (const op of clock.operations) {
    const key = `${op.stackSet}\0${op.action}`;
    const m = merged.get(key);
    if (m) m.accounts += op.accounts;
    else merged.set(key, { ...op });
  }
  const projected = new ModelClock(clock.figures);
  for (const op of merged.values()) projected.record(op.stackSet, { action: op.action, accounts: op.accounts, regions: op.regions, preferences: op.preferences });
  return projected;
}

/**
 * The recorded operations of an n-account rollout scaled to N accounts, for
 * sizes too slow to run against moto: an operation that targeted all n
 * accounts targets N; a StackSet that made n one-account operations of an
 * action makes N. Every other operation is kept as it is. Valid while the
 * deployer keeps the structure it showed at n (checked by comparing two
 * measured sizes in bench/RESULTS.md).
 */
function extrapolate(clock, n, N) {
  const key = (op) => `${op.stackSet}\0${op.action}`;
  const singles = new Map();
  for (const op of clock.operations) if (op.accounts === 1) singles.set(key(op), (singles.get(key(op)) ?? 0) + 1);
  const out = new ModelClock(clock.figures);
  const done = new Set();
  for (const op of clock.operations) {
    const scaled = { action: op.action, accounts: op.accounts === n ? N : op.accounts, regions: op.regions, preferences: op.preferences };
    if (op.accounts === 1 && n > 1 && singles.get(key(op)) === n) {
      if (done.has(key(op))) continue;
      done.add(key(op));
      for (let i = 0; i < N; i++) out.record(op.stackSet, scaled);
    } else out.record(op.stackSet, scaled);
  }
  return out;
}

(async () => {
  const { generateOrgYaml } = await import('./generate-org.mjs');
  const sizes = process.argv.slice(2).map(Number);
  const local = await startNewLocalAws();
  const proxy = await startStackSetsProxy(local.endpoint);
  const rows = [];
  try {
    for (const n of sizes.length ? sizes : [100, 1000]) {
      // XSTACK_BENCH_ONE_RUN=1: deploy with the first set only (large sizes); the others are re-evaluated below.
      for (const [label, preferences] of Object.entries(RUNS).slice(0, process.env.XSTACK_BENCH_ONE_RUN ? 1 : undefined)) {
        await local.reset();
        proxy.reset({ seed: 1 });
        const clock = new ModelClock();
        proxy.clock = clock;
        const t = Date.now();
        const compiled = compileOrg(parseOrg(orgYaml(generateOrgYaml, n, preferences), `generated-${n}.yaml`));
        const aws = (endpoint) => new Aws({ region: compiled.org.region, endpoint, credentials: LOCAL_CREDENTIALS });
        await bootstrap(compiled, aws(local.endpoint));
        const summary = await deploy(compiled, aws(proxy.endpoint), { pollMs: 10 });
        const seconds = (Date.now() - t) / 1000;
        const failed = summary.stages.filter((s) => s.result === 'failed');
        if (failed.length > 0) throw new Error(JSON.stringify(failed));
        const waves = compiled.rollout.waves.map((w) => w.map((id) => `${compiled.org.prefix}-${id}`));
        const perStackSet = [...clock.perStackSet()].map(([s, ms]) => `${s.replace(`${compiled.org.prefix}-`, '')} ${clock.operations.filter((o) => o.stackSet === s).length} ops ${hm(ms)}`);
        rows.push({ n, label, stackSets: compiled.stages.length, counts: clock.countsByAction(), ops: clock.operations.length, wallMs: clock.wallMs(waves), seconds, clock, waves, api: toApi(preferences) });
        console.error(`${n} accounts, ${label}: ${clock.operations.length} operations, modelled ${hm(clock.wallMs(waves))}, real ${seconds.toFixed(1)} s; waves ${JSON.stringify(compiled.rollout.waves)}; ${perStackSet.join('; ')}`);
      }
    }
  } finally {
    proxy.clock = undefined;
    await proxy.stop();
    await local.stop();
  }
  const f = FIGURES;
  console.log(`Figures: per operation ${f.operationOverheadMs / 60_000} min; per batch CREATE ${f.instanceMs.CREATE / 60_000} min, UPDATE ${f.instanceMs.UPDATE / 60_000} min, DELETE ${f.instanceMs.DELETE / 60_000} min (test/support/operation-time.ts).\n`);
  const ops = (c) => Object.entries(c).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  console.log('| pipeline accounts | operation preferences | StackSets | operations (by action) | modelled wall time | real bench time (s) |\n|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.n} | ${r.label} | ${r.stackSets} | ${ops(r.counts)} | ${hm(r.wallMs)} | ${r.seconds.toFixed(1)} |`);
  console.log('\nThe same operations (from the first run of each size) re-evaluated under other preferences, and with one operation per StackSet and action (projection of the deployer change, not measured):');
  console.log('| pipeline accounts | operation preferences | modelled wall time, operations as made | modelled, one operation per StackSet and action |\n|---|---|---|---|');
  for (const n of [...new Set(rows.map((r) => r.n))]) {
    const first = rows.find((r) => r.n === n);
    const projected = oneOperationPerAction(first.clock);
    for (const [label, p] of [...Object.entries(RUNS).map(([l, v]) => [l, toApi(v)]), ...Object.entries(REEVALUATED)]) {
      console.log(`| ${n} | ${label} | ${hm(first.clock.wallMs(first.waves, p))} | ${hm(projected.wallMs(first.waves, p))} (${projected.operations.length} operations) |`);
    }
  }
  const N = Number(process.env.XSTACK_BENCH_EXTRAPOLATE ?? 0);
  if (N > 0) {
    const base = rows[rows.length - 1];
    const scaled = extrapolate(base.clock, base.n, N);
    const projected = oneOperationPerAction(scaled);
    console.log(`\nEXTRAPOLATED, not run: the ${base.n}-account run's operations scaled to ${N} accounts (${ops(scaled.countsByAction())} operations):`);
    console.log('| pipeline accounts | operation preferences | modelled wall time, operations as made | modelled, one operation per StackSet and action |\n|---|---|---|---|');
    for (const [label, p] of [...Object.entries(RUNS).map(([l, v]) => [l, toApi(v)]), ...Object.entries(REEVALUATED)]) {
      console.log(`| ${N} (extrapolated) | ${label} | ${hm(scaled.wallMs(base.waves, p))} | ${hm(projected.wallMs(base.waves, p))} (${projected.operations.length} operations) |`);
    }
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
