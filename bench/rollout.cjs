// Rollout benchmark against moto: pipeline accounts given as arguments
// (default 3 100 500). Records wall time, API calls by operation and the
// mutating calls of a no-op re-run; then a seeded fault run through the
// StackSets layer (test/support/stacksets-proxy.ts): re-runs until the
// rollout converges, with the faults injected. Usage: make bench-rollout
// (XSTACK_BENCH_FAULTS_ONLY=1: the fault run only; XSTACK_BENCH_FAULTS=0:
// without it).
require('tsx/cjs');
const { compileOrg } = require('../.build/src/compile.js');
const { parseOrg } = require('../.build/src/org/load.js');
const { Aws } = require('../.build/src/deploy/clients.js');
const { deploy } = require('../.build/src/deploy/deployer.js');
const { bootstrap } = require('../.build/src/deploy/bootstrap.js');
const { startNewLocalAws, LOCAL_CREDENTIALS } = require('../.build/src/deploy/local.js');
const { startStackSetsProxy } = require('../test/support/stacksets-proxy.ts');
const { CreateAccountCommand, CreateOrganizationCommand, OrganizationsClient } = require('@aws-sdk/client-organizations');

const FAULTS = { accountFailure: 0.1, throttle: 0.05, serverError: 0.03, dropConnection: 0.05 };

/**
 * bootstrap, failing the bench when a step is missing: bootstrap reports a refusal (an IAM quota the org file declares
 * that the account does not hold, say) as a missing step and returns, before the template bucket, so the deploy after
 * it would fail for a reason that is the bench's. moto's IAM holds the default quotas (1,000 roles an account): an org
 * past about 990 pipeline accounts declares a raise moto cannot show, and is refused here.
 */
async function bootstrapped(compiled, aws) {
  const missing = (await bootstrap(compiled, aws)).filter((s) => s.status === 'missing');
  if (missing.length > 0) throw new Error(`bootstrap of ${compiled.org.file} left steps missing:\n${missing.map((s) => `  ${s.account}: ${s.what}: ${s.detail ?? ''}`).join('\n')}`);
}

/**
 * The generated org's accounts as members of an organization in moto, as they are in AWS: bootstrap holds the
 * administration role's policy to the organization's accounts (aws:ResourceOrgID) and names those outside it one by
 * one, which past about 140 accounts is over IAM's 10,240 characters for a role's inline policies. moto gives each
 * account it creates an id of its own: `ids` maps the generated org's ids to them (the same id, the same account, for
 * every org file of one size), and the org file's organization id is moto's.
 */
async function inOrganization(local, generateOrgYaml) {
  const organizations = new OrganizationsClient({ region: 'us-east-1', endpoint: local.endpoint, credentials: LOCAL_CREDENTIALS });
  const { Organization } = await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const ids = new Map();
  return async (size) => {
    const yaml = generateOrgYaml(size, { organizationId: Organization.Id });
    for (const [, generated] of yaml.matchAll(/^ {4}id: "(\d{12})"$/gm)) {
      if (ids.has(generated)) continue;
      const created = await organizations.send(new CreateAccountCommand({ AccountName: `bench-${generated}`, Email: `bench-${generated}@example.com` }));
      ids.set(generated, created.CreateAccountStatus.AccountId);
    }
    return yaml.replace(/^ {4}id: "(\d{12})"$/gm, (_, generated) => `    id: "${ids.get(generated)}"`);
  };
}

async function cleanRollouts(local, generateOrgYaml, sizes) {
  const rows = [];
  const mutatingOf = (calls) => Object.fromEntries(Object.entries(calls).filter(([k]) => /^(Create|Update|Delete)Stack/.test(k)));
  for (const n of sizes) {
    await local.reset();
    const member = await inOrganization(local, generateOrgYaml);
    const compiled = compileOrg(parseOrg(await member(n), `generated-${n}.yaml`));
    const aws = () => new Aws({ region: compiled.org.region, endpoint: local.endpoint, credentials: LOCAL_CREDENTIALS });
    await bootstrapped(compiled, aws());
    let t = Date.now();
    const first = await deploy(compiled, aws(), { pollMs: 10 });
    const firstSeconds = (Date.now() - t) / 1000;
    if (first.stages.some((s) => s.result === 'failed')) throw new Error(JSON.stringify(first.stages.filter((s) => s.result === 'failed')));
    t = Date.now();
    const again = await deploy(compiled, aws(), { pollMs: 10 });
    const againSeconds = (Date.now() - t) / 1000;
    // One more pipeline account (it tracks main, as half the accounts do), then a template change (every pipeline's deployment config).
    const grown = compileOrg(parseOrg(await member(n + 1), `generated-${n + 1}.yaml`));
    await bootstrapped(grown, aws());
    const added = await deploy(grown, aws(), { pollMs: 10 });
    const changedText = (await member(n + 1)).replaceAll('      type: codedeploy\n', '      type: codedeploy\n      deploymentConfig: CodeDeployDefault.HalfAtATime\n');
    const changed = await deploy(compileOrg(parseOrg(changedText, `generated-${n + 1}.yaml`)), aws(), { pollMs: 10 });
    for (const r of [added, changed]) if (r.stages.some((s) => s.result === 'failed')) throw new Error(JSON.stringify(r.stages.filter((s) => s.result === 'failed')));
    rows.push({ n, stackSets: compiled.stages.length, firstSeconds, first: first.calls, againSeconds, again: again.calls, againMutating: again.mutatingCalls, added: mutatingOf(added.calls), changed: mutatingOf(changed.calls) });
    console.error(`${n} accounts: ${firstSeconds.toFixed(1)} s, re-run ${againSeconds.toFixed(1)} s, ${again.mutatingCalls} mutating`);
  }
  const list = (calls) => Object.entries(calls).sort().map(([k, v]) => `${k.replace(/Command$/, '')} ${v}`).join(', ');
  const total = (calls) => Object.values(calls).reduce((a, b) => a + b, 0);
  console.log('| pipeline accounts | StackSets | first deploy (s) | calls (first deploy) | no-op re-run (s) | calls of the no-op re-run (total) | mutating calls of re-run | one account added: mutating calls | then a template change: mutating calls |\n|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.n} | ${r.stackSets} | ${r.firstSeconds.toFixed(1)} | ${list(r.first)} | ${r.againSeconds.toFixed(1)} | ${list(r.again)} (${total(r.again)}) | ${r.againMutating} | ${list(r.added)} | ${list(r.changed)} |`);
  }
}

async function faultRuns(local, generateOrgYaml, n, seeds) {
  const proxy = await startStackSetsProxy(local.endpoint);
  const rows = [];
  try {
    for (const seed of seeds) {
      await local.reset();
      proxy.reset({ seed, ...FAULTS });
      const compiled = compileOrg(parseOrg(generateOrgYaml(n), `generated-${n}.yaml`));
      const aws = (endpoint) => new Aws({ region: compiled.org.region, endpoint, credentials: LOCAL_CREDENTIALS });
      await bootstrapped(compiled, aws(local.endpoint));
      const t = Date.now();
      let runs = 0;
      let mutating = 0;
      for (;;) {
        runs++;
        const s = await deploy(compiled, aws(proxy.endpoint), { pollMs: 10 });
        mutating += s.mutatingCalls;
        if (!s.stages.some((x) => x.result === 'failed')) break;
        if (runs > 50) throw new Error(`seed ${seed}: no convergence in 50 runs`);
      }
      const seconds = (Date.now() - t) / 1000;
      proxy.setFaults({ seed });
      const after = await deploy(compiled, aws(proxy.endpoint), { pollMs: 10 });
      const c = proxy.counts;
      rows.push({ seed, runs, seconds, mutating, c, duplicates: proxy.creations.length - new Set(proxy.creations).size, afterMutating: after.mutatingCalls });
      console.error(`seed ${seed}: ${runs} runs, ${seconds.toFixed(1)} s`);
    }
  } finally {
    await proxy.stop();
  }
  console.log(`\nFault run: ${n} pipeline accounts, faults ${JSON.stringify(FAULTS)}`);
  console.log('| seed | deploy runs to converge | failed accounts | throttled | 5xx | dropped (before / after handling) | invalid principals | time (s) | mutating calls (all runs) | stacks created twice | mutating calls of a clean re-run |\n|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.seed} | ${r.runs} | ${r.c.failedAccounts} | ${r.c.throttled} | ${r.c.serverErrors} | ${r.c.droppedBefore} / ${r.c.droppedAfter} | ${r.c.invalidPrincipals} | ${r.seconds.toFixed(1)} | ${r.mutating} | ${r.duplicates} | ${r.afterMutating} |`);
  }
}

(async () => {
  const { generateOrgYaml } = await import('./generate-org.mjs');
  const sizes = process.argv.slice(2).map(Number);
  const local = await startNewLocalAws();
  try {
    if (!process.env.XSTACK_BENCH_FAULTS_ONLY) await cleanRollouts(local, generateOrgYaml, sizes.length ? sizes : [3, 100, 500]);
    if (process.env.XSTACK_BENCH_FAULTS !== '0') await faultRuns(local, generateOrgYaml, 5, [1, 2, 3, 4, 5]);
  } finally {
    await local.stop();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
