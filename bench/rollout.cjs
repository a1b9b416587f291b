// Rollout benchmark against moto: pipeline accounts given as arguments
// (default 3 100 500). Records wall time, API calls by operation and the
// mutating calls of a no-op re-run. Usage: make bench-rollout
const { GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
const { compileOrg } = require('../.build/src/compile.js');
const { parseOrg } = require('../.build/src/org/load.js');
const { Aws } = require('../.build/src/deploy/clients.js');
const { deploy } = require('../.build/src/deploy/deployer.js');
const { startLocalAws, prepareLocalOrg, LOCAL_CREDENTIALS } = require('../.build/src/deploy/local.js');

(async () => {
  const { generateOrgYaml } = await import('./generate-org.mjs');
  const sizes = process.argv.slice(2).map(Number);
  const local = await startLocalAws();
  const rows = [];
  try {
    for (const n of sizes.length ? sizes : [3, 100, 500]) {
      await local.reset();
      const compiled = compileOrg(parseOrg(generateOrgYaml(n), `generated-${n}.yaml`));
      const aws = () => new Aws({ region: compiled.org.region, endpoint: local.endpoint, credentials: LOCAL_CREDENTIALS });
      const setup = aws();
      await prepareLocalOrg(compiled.org, setup, (await setup.sts().send(new GetCallerIdentityCommand({}))).Account);
      let t = Date.now();
      const first = await deploy(compiled, aws(), { pollMs: 10 });
      const firstSeconds = (Date.now() - t) / 1000;
      if (first.stages.some((s) => s.result === 'failed')) throw new Error(JSON.stringify(first.stages.filter((s) => s.result === 'failed')));
      t = Date.now();
      const again = await deploy(compiled, aws(), { pollMs: 10 });
      rows.push({ n, stackSets: compiled.stages.length, firstSeconds, first: first.calls, againSeconds: (Date.now() - t) / 1000, againMutating: again.mutatingCalls });
      console.error(`${n} accounts: ${firstSeconds.toFixed(1)} s, re-run ${((Date.now() - t) / 1000).toFixed(1)} s, ${again.mutatingCalls} mutating`);
    }
  } finally {
    await local.stop();
  }
  console.log('| pipeline accounts | StackSets | first deploy (s) | calls (first deploy) | no-op re-run (s) | mutating calls of re-run |\n|---|---|---|---|---|---|');
  for (const r of rows) {
    const calls = Object.entries(r.first).sort().map(([k, v]) => `${k.replace(/Command$/, '')} ${v}`).join(', ');
    console.log(`| ${r.n} | ${r.stackSets} | ${r.firstSeconds.toFixed(1)} | ${calls} | ${r.againSeconds.toFixed(1)} | ${r.againMutating} |`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
