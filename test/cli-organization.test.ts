// SERVICE_MANAGED StackSets never deploy to the organization's management account (deployer.ts
// managementTargeted, README "management account"): what the CLI says about it, on stderr, word for word. The built
// CLI against the StackSets layer (test/support/stacksets-proxy.ts, which refuses Organizations calls as
// `denyOrganizations` cites) in front of moto's server, both on 127.0.0.1, stdin not a terminal.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateAccountCommand, CreateOrganizationalUnitCommand, CreateOrganizationCommand, DescribeOrganizationCommand, ListRootsCommand, MoveAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../src/deploy/local';
import { generateOrgYaml } from '../bench/generate-org.mjs';
import { useLocalAws } from './support/local-aws';
import { runCli } from './support/run-cli';
import { compileOrg } from '../src/compile';
import { parseOrg } from '../src/org/load';
import { tempDir } from './helpers';

const MUTATING = ['CreateStackSet', 'UpdateStackSet', 'DeleteStackSet', 'CreateStackInstances', 'UpdateStackInstances', 'DeleteStackInstances'];

const env = useLocalAws({ proxy: true, timeout: 60_000 });

const xstack = (args: string[]) => runCli(args, env.endpoint);
/** SERVICE_MANAGED: plan, deploy and destroy read the target accounts through a role in each (moto lets the caller assume any); verify takes none. */
const READER = ['--output-reader-role', 'xstack-output-reader'];
const mutatingCalls = () => env.proxy.requests.filter((r) => MUTATING.includes(r.action));

/**
 * An organization in moto (its caller the management account) with a source and two pipeline accounts, each in an
 * OU of its own, and a SERVICE_MANAGED org file of them; with `management`, the management account takes the second
 * pipeline account's place.
 */
async function orgFile(options: { management?: boolean } = {}): Promise<{ file: string; management: string; targeting: string[] }> {
  const organizations = new OrganizationsClient({ region: 'us-east-1', endpoint: env.local.endpoint, credentials: LOCAL_CREDENTIALS });
  await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const root = (await organizations.send(new ListRootsCommand({}))).Roots![0].Id!;
  const management = (await organizations.send(new DescribeOrganizationCommand({}))).Organization!.MasterAccountId!;
  const placed = async (name: string, account?: string) => {
    const id = account ?? (await organizations.send(new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }))).CreateAccountStatus!.AccountId!;
    const ou = (await organizations.send(new CreateOrganizationalUnitCommand({ ParentId: root, Name: name }))).OrganizationalUnit!.Id!;
    await organizations.send(new MoveAccountCommand({ AccountId: id, SourceParentId: root, DestinationParentId: ou }));
    return { id, ou };
  };
  const [source, first, second] = [await placed('source'), await placed('dev'), await placed('prod', options.management ? management : undefined)];
  let text = generateOrgYaml(2)
    .replace('repositories:', 'stackSets:\n  permissionModel: SERVICE_MANAGED\nrepositories:')
    .replace('id: "900000000000"\n    role: source', `id: "${source.id}"\n    role: source\n    organizationalUnit: ${source.ou}`);
  [first, second].forEach((a, i) => {
    text = text.replace(`id: "${100000000001 + i}"\n    role: pipeline`, `id: "${a.id}"\n    role: pipeline\n    organizationalUnit: ${a.ou}`);
  });
  const file = join(tempDir('management'), 'org.yaml');
  writeFileSync(file, text);
  const targeting = compileOrg(parseOrg(text, file)).stages.filter((st) => st.targets.some((a) => a.id === management)).map((st) => st.id);
  return { file, management, targeting };
}

describe('the management account, on the command line', { timeout: 240_000 }, () => {
  it('plan and deploy: an organization the caller may not read is one note on stderr, word for word, and the plan goes on', async () => {
    const { file } = await orgFile();
    env.proxy.denyOrganizations('DescribeOrganization');
    const note =
      "note: could not read the organization (AccessDeniedException: You don't have permissions to perform the requested operation (DescribeOrganization, refused by the test layer).), " +
      'so whether a stage targets its management account, where SERVICE_MANAGED StackSets never deploy, is not checked: a stage that targets it would create nothing there, and fail once its re-reads never show the instances\n';
    const planned = await xstack(['plan', file, ...READER]);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stderr.split(note)).toHaveLength(2);
    expect(planned.stdout).toMatch(/plan: \d+ to create, 0 to update, 0 to delete, 0 unchanged/);
    // An emulator's run records no home in the layout file: plan does not note it missing (review s43-plan m4, s44-mutations-6 CM4).
    expect(planned.stderr).not.toContain('does not record where the StackSets live');
    // deploy says it once, from the plan it shows before asking; without a terminal it asks no one, and nothing changes.
    const deployed = await xstack(['deploy', file, ...READER]);
    expect(deployed.code).toBe(1);
    expect(deployed.stderr.split(note)).toHaveLength(2);
    expect(deployed.stderr).toContain('there is no terminal to ask on, so nothing was changed: pass --yes');
    expect(mutatingCalls()).toEqual([]);
  });

  it('plan, deploy and verify refuse an org file whose stage targets the management account, in one line naming it, the stages and the way out; destroy notes it and goes on', async () => {
    const { file, management, targeting } = await orgFile({ management: true });
    expect(targeting.length).toBeGreaterThan(1);
    const stages = `stages ${targeting.join(', ')} target it`;
    const way =
      "move its role to a member account (leave the management account out of the org file's stages), or deploy the org SELF_MANAGED (stackSets.permissionModel: SELF_MANAGED), which reaches any account with the execution role";
    const account = `${file}: account env0002 (${management}) is the organization's management account; SERVICE_MANAGED StackSets never deploy there`;
    for (const command of ['plan', 'deploy']) {
      const run = await xstack([command, file, ...READER]);
      expect(run.code, command).toBe(1);
      expect(run.stderr, command).toBe(`xstack: nothing was changed: ${account}, and ${stages}: ${way}\n`);
    }
    const verified = await xstack(['verify', file]);
    expect(verified.code).toBe(1);
    expect(verified.stderr).toBe(
      `xstack: nothing was verified: ${account}, and ${stages}, so no deploy can create their instances there (plan and deploy refuse this org file) and verify would report them missing on every run: ${way}\n`,
    );
    expect(verified.stdout).not.toContain('missing');
    const destroyed = await xstack(['destroy', file, '--yes', ...READER]);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(destroyed.stderr).toBe(`note: ${account}, and ${stages}: no deploy created instances there, so destroy has none there to remove; it removes the instances each StackSet holds\n`);
    expect(mutatingCalls()).toEqual([]);
  });
});
