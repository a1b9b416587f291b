/**
 * The calls moto lacks, asked once at an emulator: DetectStackSetDrift (verify) and DescribeOrganizationsAccess
 * (a SERVICE_MANAGED bootstrap), which moto answers with HTTP 500 and a page that is no AWS error, the same on every
 * try. The SDK retried each 8 times with backoff (clients.ts oneAttempt). Not at an emulator, the run's clients keep
 * their attempts: a 500 from AWS is retried. Requests counted at a forwarder in front of moto (each attempt is one).
 */
import { readFileSync } from 'node:fs';
import { CreateStackSetCommand } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compileOrg } from '../src/compile';
import { Aws } from '../src/deploy/clients';
import { bootstrap } from '../src/deploy/bootstrap';
import { verify } from '../src/deploy/deployer';
import { LOCAL_CREDENTIALS } from '../src/deploy/local';
import { parseOrg } from '../src/org/load';
import { useLocalAws } from './support/local-aws';
import { startRequestCounter, type RequestCounter } from './support/request-counter';
import { runCli } from './support/run-cli';
import { SERVICE_ORG } from './support/service-managed-org';

const EXAMPLE = 'parameters/example.yaml';
const example = compileOrg(parseOrg(readFileSync(EXAMPLE, 'utf8'), EXAMPLE));
/** Two of the example's StackSets, made by hand: verify asks each for its drift unless the first says there is none to ask. */
const DEPLOYED = ['pipeline-identity', 'source-identity'];
/** More than one attempt and few enough to wait for: the SDK's backoff between them is up to 0.1, then 0.2 s. */
const ATTEMPTS = 3;


const env = useLocalAws();
let counter: RequestCounter;
beforeAll(async () => {
  counter = await startRequestCounter(env.local.endpoint);
});
afterAll(() => counter?.stop());
beforeEach(() => counter.reset());

/** Clients at the forwarder, trying each call `ATTEMPTS` times unless told once. */
const aws = () => new Aws({ region: example.org.region, endpoint: counter.endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: ATTEMPTS });

async function deployByHand(): Promise<void> {
  const cfn = env.aws(example.org.region).cloudFormation();
  for (const stage of DEPLOYED) {
    await cfn.send(new CreateStackSetCommand({ StackSetName: `acme-${stage}`, TemplateBody: example.files.get(`templates/${stage}.yaml`)! }));
  }
}

describe('an action the emulator lacks is asked once', () => {
  it('oneAttempt: the same options and call log, one attempt a call', () => {
    const run = aws();
    const once = run.oneAttempt();
    expect(once.options).toEqual({ ...run.options, maxAttempts: 1 });
    expect(once.log).toBe(run.log);
    // What the CLI makes for AWS's endpoints (no maxAttempts given) tries 8 times.
    expect(new Aws({ region: 'eu-west-1' }).clientConfig().maxAttempts).toBe(8);
  });

  it('verify at an emulator: one DetectStackSetDrift, then drift detection said unavailable for every StackSet', async () => {
    await deployByHand();
    const result = await verify(example, aws(), new Map(), { pollMs: 10, emulator: true });
    expect(result.drift).toEqual(['drift detection not available at this endpoint (DetectStackSetDrift answered HTTP 500 with no AWS error); skipped for every StackSet']);
    expect(counter.count('DetectStackSetDrift')).toBe(1);
    // The reads go on as before: each StackSet read with its client's attempts (moto answers them).
    expect(counter.count('DescribeStackSet')).toBeGreaterThanOrEqual(example.stages.length);
  });

  it('verify not at an emulator: each StackSet asked with the run client\'s attempts, its drift unknown', async () => {
    await deployByHand();
    const result = await verify(example, aws(), new Map(), { pollMs: 10 });
    expect(result.driftUnknown.sort()).toEqual(DEPLOYED.map((stage) => `acme-${stage}`).sort());
    expect(counter.count('DetectStackSetDrift')).toBe(DEPLOYED.length * ATTEMPTS);
  });

  it('verify --endpoint (not AWS\'s: an emulator), the CLI: one DetectStackSetDrift, its line on stdout', async () => {
    await deployByHand();
    const run = await runCli(['verify', EXAMPLE], counter.endpoint);
    expect(run.stdout, run.stderr).toContain('  drift: drift detection not available at this endpoint (DetectStackSetDrift answered HTTP 500 with no AWS error); skipped for every StackSet\n');
    expect(counter.count('DetectStackSetDrift')).toBe(1);
  });

  it("a SERVICE_MANAGED bootstrap at an emulator: one DescribeOrganizationsAccess, then Organizations' list; not at one, the client's attempts", async () => {
    const compiled = compileOrg(parseOrg(SERVICE_ORG, 'service.yaml'));
    const trusted = (steps: Awaited<ReturnType<typeof bootstrap>>) => steps.find((s) => s.what === 'trusted access for StackSets');
    const atEmulator = await bootstrap(compiled, aws(), { dryRun: true, emulator: true });
    expect(trusted(atEmulator)?.detail).toMatch(/^CloudFormation's DescribeOrganizationsAccess could not be read \(\w+\), so Organizations' list was read instead/);
    expect(counter.count('DescribeOrganizationsAccess')).toBe(1);
    counter.reset();
    const elsewhere = await bootstrap(compiled, aws(), { dryRun: true });
    expect(trusted(elsewhere)).toEqual(trusted(atEmulator));
    expect(counter.count('DescribeOrganizationsAccess')).toBe(ATTEMPTS);
  });
});
