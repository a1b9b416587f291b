// deploy and destroy ask before changing anything, as cdk does: the plan (or
// the list of StackSets to remove) with caller identity and region first;
// without a terminal, --yes / --require-approval never. The built CLI against
// moto's server on 127.0.0.1 (started here), stdin not a terminal.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateStackInstancesCommand, DeleteStackInstancesCommand, ListStackInstancesCommand, ListStackSetsCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { TagRoleCommand, UntagRoleCommand } from '@aws-sdk/client-iam';
import { Aws } from '../src/deploy/clients';
import { bootstrapDigest, bootstrapTag } from '../src/deploy/bootstrap';
import { createStackSetRoles } from './support/stackset-roles';
import { useLocalAws } from './support/local-aws';
import { CLI, runCli } from './support/run-cli';
import { compileFile } from './helpers';

const EXAMPLE = 'parameters/example.yaml';
const example = compileFile(EXAMPLE);

let aws: Aws;
let caller: string;
// Started once, never reset: the tests build on each other's StackSets.
const env = useLocalAws({
  timeout: 60_000,
  reset: false,
  beforeAll: async () => {
    aws = env.aws(example.org.region);
    const identity = await aws.sts().send(new GetCallerIdentityCommand({}));
    caller = identity.Arn!;
    await createStackSetRoles(example.org, aws, identity.Account!);
  },
});

/** The CLI with stdin a pipe (not a terminal), credentials for moto, nothing else of the user's environment. */
const xstack = (args: string[]) => runCli(args, env.endpoint, 'pipe');

/**
 * The CLI on a terminal (a pseudo-terminal from Python's pty module): waits
 * for the question, answers, returns everything the terminal showed and the
 * exit code.
 */
function xstackOnTerminal(args: string[], answer: string, columns = 200): { code: number; screen: string } {
  const driver = `
import os, pty, sys, json, fcntl, termios, struct
pid, fd = pty.fork()
if pid == 0:
    os.execvp('node', ['node'] + sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 50, ${columns}, 0, 0))
screen = b''
answered = False
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    screen += chunk
    if not answered and b"Type 'yes': " in screen:
        os.write(fd, ${JSON.stringify(`${answer}
`)}.encode())
        answered = True
_, status = os.waitpid(pid, 0)
print(json.dumps({'code': os.waitstatus_to_exitcode(status), 'screen': screen.decode('utf-8', 'replace')}))
`;
  const run = spawnSync('.venv/bin/python', ['-c', driver, CLI, ...args, '--endpoint', env.endpoint], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true' },
  });
  const result = JSON.parse(run.stdout) as { code: number; screen: string };
  // Cursor movements (readline places the echoed answer with one) out; the terminal's \r\n as \n.
  return { code: result.code, screen: result.screen.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r+\n/g, '\n') };
}

const stackSetNames = async () =>
  ((await aws.cloudFormation().send(new ListStackSetsCommand({ Status: 'ACTIVE' }))).Summaries ?? []).filter((s) => s.Status === 'ACTIVE').map((s) => s.StackSetName);

describe('deploy and destroy ask first', { timeout: 240_000 }, () => {
  it('deploy on a terminal: shows the plan, asks naming caller and region; anything but yes changes nothing', async () => {
    const run = xstackOnTerminal(['deploy', EXAMPLE], 'no');
    expect(run.code).toBe(1);
    expect(run.screen).toContain(`+ ${example.org.prefix}-pipeline-identity: create`);
    expect(run.screen).toContain(`Deploy: change ${example.stages.length} StackSets of ${EXAMPLE} in ${example.org.accounts.length} accounts as ${caller} (account ${caller.split(':')[4]}), StackSets in ${example.org.region}? Type 'yes': no`);
    expect(run.screen).toContain('xstack: deploy was not confirmed; nothing was changed');
    expect(await stackSetNames()).toEqual([]);
  });

  it('deploy without a terminal: shows the plan and who/where, changes nothing, and says to pass --yes', async () => {
    const run = await xstack(['deploy', EXAMPLE]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`+ ${example.org.prefix}-pipeline-identity: create`);
    expect(run.stdout).toMatch(/plan: \d+ to create, 0 to update, 0 to delete, 0 unchanged/);
    expect(run.stderr).toBe(
      `xstack: deploy would change ${example.stages.length} StackSets of ${EXAMPLE} in ${example.org.accounts.length} accounts as ${caller} (account ${caller.split(':')[4]}), StackSets in ${example.org.region}; there is no terminal to ask on, so nothing was changed: pass --yes (or --require-approval never) to deploy without asking\n`,
    );
    expect(await stackSetNames()).toEqual([]);
  });

  it('deploy --require-approval never deploys; a deploy with nothing to change does not ask', async () => {
    const first = await xstack(['deploy', EXAMPLE, '--require-approval', 'never', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).stages).toHaveLength(example.stages.length);
    expect((await stackSetNames()).length).toBe(example.stages.length);
    const again = await xstack(['deploy', EXAMPLE]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toContain('plan:');
    expect(again.stdout).toMatch(/summary: \d+ unchanged/);
  });

  it('deploy with nothing to change but a stage it will fail shows the plan first, its ✗ lines counted, without asking (review s43-diff m2, s44-mutations-6 CM1)', async () => {
    // An instance by hand in another Region than the org file's: deploy leaves that StackSet alone and fails its stage.
    const cfn = aws.cloudFormation();
    // One whose template names nothing global (no IAM): moto creates its stack in the other Region too.
    const stackSet = `${example.org.prefix}-source-events`;
    const account = example.stages.find((st) => st.id === 'source-events')!.targets[0].id;
    const other = example.org.region === 'us-west-2' ? 'us-east-1' : 'us-west-2';
    const instances = async () => ((await cfn.send(new ListStackInstancesCommand({ StackSetName: stackSet }))).Summaries ?? []).filter((i) => i.Region === other).map((i) => i.Account);
    await cfn.send(new CreateStackInstancesCommand({ StackSetName: stackSet, Accounts: [account], Regions: [other] }));
    expect(await instances()).toEqual([account]);
    try {
      const run = await xstack(['deploy', EXAMPLE]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`= ${stackSet}: unchanged\n    ✗ deploy refuses: StackSet ${stackSet} has instances in Regions other than ${example.org.region}`);
      expect(run.stdout).toMatch(/plan: 0 to create, 0 to update, 0 to delete, \d+ unchanged — no changes; 1 stage fails \(✗ above\)\n/);
      expect(run.stderr).not.toContain('there is no terminal to ask on');
    } finally {
      await cfn.send(new DeleteStackInstancesCommand({ StackSetName: stackSet, Accounts: [account], Regions: [other], RetainStacks: false }));
    }
    expect(await instances()).toEqual([]);
  });

  it('deploy that would refuse before any operation gives the refusal, as deploy words it, instead of asking (review s43-plan m3, s44-mutations-6 CM2)', async () => {
    // A key administrator named on a path its role does not have: EXISTING_ROLES_NOT_FOUND.
    const dir = mkdtempSync(join(tmpdir(), 'xstack-refused-'));
    const edited = join(dir, 'example.yaml');
    writeFileSync(edited, readFileSync(EXAMPLE, 'utf8').replace('keyAdministratorRoles:\n  - platform-admin\n', 'keyAdministratorRoles:\n  - ops/platform-admin\n'));
    const before = await stackSetNames();
    const run = await xstack(['deploy', edited]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/plan: \d+ to create, \d+ to update/);
    expect(run.stderr).toMatch(/^xstack: nothing was changed: the org file names roles that are not there as named:\n {2}.*ops\/platform-admin/);
    expect(run.stderr).not.toContain('there is no terminal to ask on');
    expect(await stackSetNames()).toEqual(before);
  });

  it('destroy without a terminal: lists every StackSet with its accounts, who and where, and removes nothing', async () => {
    const run = await xstack(['destroy', EXAMPLE, '--delete-retained']);
    expect(run.code).toBe(1);
    const [header, ...lines] = run.stdout.trimEnd().split('\n');
    expect(header).toBe(`destroy would remove, in this order, as ${caller} (account ${caller.split(':')[4]}), StackSets in ${example.org.region}:`);
    // Every StackSet but the repositories', which destroy keeps (and says why), then what stays, then the CI host's warning.
    expect(lines).toHaveLength(example.stages.length + 2);
    expect(lines.filter((l) => l.startsWith('  - ')).map((l) => l.split(':')[0])).not.toContain(`  - ${example.org.prefix}-source-repositories`);
    expect(lines.at(-3)).toContain("DELETE the artifact and access-log buckets (emptied, every version) and the CI network's flow-log group");
    // A key stays while its bucket does; the next generation after it, as S3 may hold the names for days (review s31-destroy M1, M3).
    expect(lines.at(-3)).toContain('a key stays while its artifact bucket does');
    expect(lines.at(-3)).toContain(`a deploy after this should use 'bucketGeneration: ${example.org.bucketGeneration + 1}'`);
    expect(lines.at(-2)).toMatch(/^kept: acme-source-repositories: holds only repositories, which xstack never deletes/);
    expect(lines.at(-1)).toBe('terminate the CI host (and anything in the CI subnets) first: a security group in use cannot be deleted, and a deleted instance profile breaks a running host');
    expect(lines.at(-3)).toContain('schedule the artifact keys for deletion (7 days;');
    // The waiting period asked for reaches the run (review s31-destroy m1).
    const longer = await xstack(['destroy', EXAMPLE, '--delete-retained', '--key-deletion-days', '30']);
    expect(longer.stdout).toContain('schedule the artifact keys for deletion (30 days;');
    // A plain destroy keeps the buckets without their policies: the access logs stop (review s37-destroy-verify V7).
    const plain = await xstack(['destroy', EXAMPLE]);
    expect(plain.stdout).toContain(`stay (a deploy after this needs 'bucketGeneration: ${example.org.bucketGeneration + 1}' in ${example.org.file}), without their bucket policies, so the artifact buckets' access logs are no longer delivered; repositories stay.`);
    const pipelineIdentity = example.stages.find((s) => s.id === 'pipeline-identity')!;
    expect(lines).toContain(`  - ${example.org.prefix}-pipeline-identity: ${pipelineIdentity.targets.length} instances (${pipelineIdentity.targets.map((a) => `${a.name} (${a.id})`).join(', ')})`);
    expect(run.stderr).toBe('xstack: destroy needs confirmation and there is no terminal to ask on; nothing was changed: pass --yes\n');
    expect((await stackSetNames()).length).toBe(example.stages.length);
  });

  it('verify after a deploy of an edited org compares with the org as it is now, not a stale dist/ manifest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xstack-edited-'));
    const edited = join(dir, 'example.yaml');
    writeFileSync(edited, readFileSync(EXAMPLE, 'utf8').replace('description: Payments service', 'description: Payments service, edited'));
    // A template-only change: the question counts the accounts its update reaches, as it does those it adds to (review s43-plan).
    const repositories = example.stages.find((s) => s.id === 'source-repositories')!;
    const asked = await xstack(['deploy', edited]);
    expect(asked.stdout).toContain(`~ ${example.org.prefix}-source-repositories: update`);
    expect(asked.stderr).toContain(`xstack: deploy would change 1 StackSet of ${edited} in ${repositories.targets.length} account${repositories.targets.length === 1 ? '' : 's'} as ${caller}`);
    const deployed = await xstack(['deploy', edited, '--yes']);
    expect(deployed.code).toBe(0);
    // No compile before it: deploy records the layout it deploys, before its first operation.
    expect(deployed.stderr).toContain(`layout: wrote ${join(dir, 'example.layout.json')}`);
    expect(readFileSync(join(dir, 'example.layout.json'), 'utf8')).toBe(readFileSync('parameters/example.layout.json', 'utf8'));
    const run = await xstack(['verify', edited]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('verify: deployed StackSets match the manifest');
    expect(run.stderr).toContain(`note: dist/example/manifest.json is older than ${edited}`);
    // The committed manifest, asked for by name, does see the edit.
    const stale = await xstack(['verify', edited, '--manifest', 'dist/example/manifest.json']);
    expect(stale.code).toBe(2);
    expect(stale.stdout).toContain('source-repositories');
  });

  it('progress on a narrow terminal: every redrawn line fits its width', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xstack-narrow-'));
    const edited = join(dir, 'example.yaml');
    writeFileSync(edited, readFileSync(EXAMPLE, 'utf8').replace('description: Payments service', 'description: Payments service, edited again'));
    const run = xstackOnTerminal(['deploy', edited, '--yes'], 'unused', 40);
    expect(run.code, run.screen).toBe(0);
    const progress = run.screen.split('\n').filter((l) => /^(wave \d|  […+~=✗·-] )/.test(l));
    expect(progress.length).toBeGreaterThan(example.stages.length);
    expect(progress.filter((l) => [...l].length >= 40)).toEqual([]);
    expect(progress.some((l) => l.endsWith('…'))).toBe(true);
  });

  it('plan and deploy say, before any operation, when the last bootstrap set up another compile (its tag on the administration role), and which way round to run them', async () => {
    const role = example.org.stackSets.administrationRoleName;
    const BOOTSTRAP_TAG = bootstrapTag(example.org.prefix);
    await aws.iam().send(new TagRoleCommand({ RoleName: role, Tags: [{ Key: BOOTSTRAP_TAG, Value: '0'.repeat(64) }] }));
    try {
      const why = `note: the last xstack bootstrap (tag ${BOOTSTRAP_TAG} on role ${role}) set up the execution roles and their policies for another compile of ${EXAMPLE}.`;
      const planned = await xstack(['plan', EXAMPLE]);
      expect(planned.code, planned.stderr).toBe(0);
      expect(planned.stderr).toContain(why);
      expect(planned.stderr).toContain(`Run 'xstack bootstrap ${EXAMPLE}' before deploying`);
      expect(planned.stderr).toContain('it keeps what the StackSets deployed now create, so the deploy may still delete what it removes: run it again after a deploy that removed names or accounts, to drop them');
      // Never a refusal (a removal must deploy with the permissions the roles still hold): deploy says it, then asks as ever.
      const run = await xstack(['deploy', EXAMPLE]);
      expect(run.stderr).toContain(why);
      expect(run.stderr).toContain('there is no terminal to ask on, so nothing was changed: pass --yes');
      expect(run.stderr).not.toContain('BOOTSTRAP_STALE');
    } finally {
      await aws.iam().send(new UntagRoleCommand({ RoleName: role, TagKeys: [BOOTSTRAP_TAG] }));
    }
  });

  it("plan says when only the org file's tags differ from what the last bootstrap put on its roles and policies: a note to bootstrap, not a stale policy", async () => {
    const role = example.org.stackSets.administrationRoleName;
    const BOOTSTRAP_TAG = bootstrapTag(example.org.prefix);
    // This compile's policy, recorded with tags the org file no longer has.
    await aws.iam().send(new TagRoleCommand({ RoleName: role, Tags: [{ Key: BOOTSTRAP_TAG, Value: `${bootstrapDigest(example)}:tags-0123456789abcdef` }] }));
    try {
      const planned = await xstack(['plan', EXAMPLE]);
      expect(planned.code, planned.stderr).toBe(0);
      expect(planned.stderr).toContain(`note: the org file's tags have changed since the last xstack bootstrap, which puts them on the roles, managed policies and template bucket it makes (the StackSets get them with this deploy); run 'xstack bootstrap ${EXAMPLE}' to tag those too`);
      expect(planned.stderr).not.toContain('for another compile of');
    } finally {
      await aws.iam().send(new UntagRoleCommand({ RoleName: role, TagKeys: [BOOTSTRAP_TAG] }));
    }
  });

  it('verify --json and destroy --yes --json print one JSON document each, and destroy --yes does not ask', async () => {
    const verified = await xstack(['verify', EXAMPLE, '--json', '--manifest', 'dist/example/manifest.json']);
    expect(verified.code).toBe(2); // the edited org is deployed
    expect(JSON.parse(verified.stdout).differences.length).toBeGreaterThan(0);
    // The local AWS deletes a stack's managed policies and route tables as CloudFormation does (src/deploy/local.ts):
    // every StackSet goes but the repositories' one, which destroy keeps.
    const destroyed = await xstack(['destroy', EXAMPLE, '--yes', '--json']);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    const result = JSON.parse(destroyed.stdout) as { stages: Array<{ stage: string; result: string }> };
    expect(result.stages).toHaveLength(example.stages.length);
    expect(result.stages.filter((s) => s.result !== 'deleted').map((s) => [s.stage, s.result])).toEqual([['source-repositories', 'kept']]);
    expect(destroyed.stdout).not.toContain('destroy would remove');
  });
});
