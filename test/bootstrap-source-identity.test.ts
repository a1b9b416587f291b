/**
 * Bootstrap's roles (the reader and execution roles bootstrap writes, the setup template's access role) and a caller
 * whose session carries a source identity (review s57-bootstrap M1). moto does not model source identity, so this layer
 * models STS's rule, from IAM's page on source identity
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html): "The value that is
 * set persists when a role is used to assume another role" and "permissions for sts:SetSourceIdentity are required in
 * both the permissions policy of the principal who is assuming the role and in the role trust policy of the target
 * role. Otherwise, the assume role operation will fail". Each trust is asked through the proof's own IAM evaluator,
 * the caller's own policies taken as allowing (they are the caller's, outside the org file).
 */
import { UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { evaluate, GrantIndex } from '../src/audit/evaluate';
import { bootstrap, executionTrust } from '../src/deploy/bootstrap';
import { SOURCE_IDENTITY_ADVICE } from '../src/deploy/clients';
import { deploy, plan } from '../src/deploy/deployer';
import { Names } from '../src/naming';
import { setupTrust } from '../templates/bootstrap-access';
import { compileFile } from './helpers';
import { carriedSourceIdentity, trustGrants } from './support/iam-models';
import { useLocalAws } from './support/local-aws';
import { deploySetup } from './support/setup-stack';

const ADMIN = '111111111111';
const TARGET = '222222222222';
const ROLE = `arn:aws:iam::${TARGET}:role/acme-xstack-reader`;
const caller = (name: string) => `arn:aws:iam::${ADMIN}:role/${name}`;

interface PlainTrust {
  Statement: Array<{ Effect: string; Principal: { AWS: string | string[] }; Action: string | string[]; Condition?: Record<string, Record<string, string | string[]>> }>;
}

/**
 * The setup template's trust with its parameters given (AdministratorAccountId, TrustedRoleArns), as CloudFormation
 * resolves them in the account: the account root's Fn::Sub and the list's Ref are the two forms it holds.
 */
function setupTrustFor(trusted: string[]): PlainTrust {
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o['Fn::Sub'] === 'arn:${AWS::Partition}:iam::${AdministratorAccountId}:root') return `arn:aws:iam::${ADMIN}:root`;
      if (o.Ref === 'TrustedRoleArns') return trusted;
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolve(x)]));
    }
    return v;
  };
  // As written to the template: the intrinsics' JSON forms.
  return resolve(JSON.parse(JSON.stringify(setupTrust()))) as PlainTrust;
}

/** A chained sts:AssumeRole into ROLE, as STS decides it: the assumption, and the carried source identity where there is one. */
function assumes(trust: PlainTrust, principal: string, sourceIdentity?: string): boolean {
  const index = new GrantIndex(trustGrants(trust, ROLE));
  const ask = (action: string) =>
    evaluate(index, {
      principal: { kind: 'aws', arn: principal },
      action,
      resource: ROLE,
      resourceAccount: TARGET,
      identityManagedElsewhere: true,
      ...(sourceIdentity ? { context: { 'aws:sourceidentity': [sourceIdentity] } } : {}),
    }).allowed;
  return ask('sts:AssumeRole') && (sourceIdentity === undefined || ask('sts:SetSourceIdentity'));
}

/** Asking sts:SetSourceIdentity for an identity the caller picks now: its session carries none (no aws:SourceIdentity). */
function picksIdentity(trust: PlainTrust, principal: string): boolean {
  return evaluate(new GrantIndex(trustGrants(trust, ROLE)), { principal: { kind: 'aws', arn: principal }, action: 'sts:SetSourceIdentity', resource: ROLE, resourceAccount: TARGET, identityManagedElsewhere: true }).allowed;
}

const trusts: Array<[string, (trusted: string[]) => PlainTrust]> = [
  ['the reader and execution roles (executionTrust)', (trusted) => executionTrust('aws', ADMIN, trusted) as unknown as PlainTrust],
  ["the setup template's access role (setupTrust)", setupTrustFor],
];

describe.each(trusts)('%s and a source identity (IAM: id_credentials_temp_control-access_monitor.html)', (_, trustFor) => {
  const trust = trustFor([caller('ops'), caller('ci/deployer')]);

  it('let a trusted caller in with the source identity its session carries, as without one', () => {
    expect(assumes(trust, caller('ops'))).toBe(true);
    expect(assumes(trust, caller('ops'), 'alice@example.com')).toBe(true);
    expect(assumes(trust, caller('ci/deployer'), 'build-42')).toBe(true);
  });

  it('let no one else in, whatever the identity: the source identity statement names no role but is asked only within the assumption', () => {
    expect(assumes(trust, caller('someone-else'))).toBe(false);
    expect(assumes(trust, caller('someone-else'), 'alice@example.com')).toBe(false);
    expect(assumes(trust, `arn:aws:iam::333333333333:role/ops`, 'alice@example.com')).toBe(false);
  });

  it('never take an identity the caller picks now (its session carries none)', () => {
    expect(picksIdentity(trust, caller('ops'))).toBe(false);
  });
});

describe("the trust bootstrap wrote before (one statement: sts:AssumeRole only)", () => {
  it('refuses the same caller once its session carries a source identity: the failure the second statement removes', () => {
    const before: PlainTrust = { Statement: [(executionTrust('aws', ADMIN, [caller('ops')]) as unknown as PlainTrust).Statement[0]] };
    expect(before.Statement[0].Action).toBe('sts:AssumeRole');
    expect(assumes(before, caller('ops'))).toBe(true);
    expect(assumes(before, caller('ops'), 'alice@example.com')).toBe(false);
  });
});

describe('on moto, a caller whose session carries a source identity (test/support/iam-models.ts carriedSourceIdentity)', () => {
  const env = useLocalAws({ maxAttempts: 1 });

  it("bootstraps through the setup template's role, deploys and plans; a reader role whose trust is the one written before is refused with the advice, and the next bootstrap brings it up to date", async () => {
    const compiled = compileFile('parameters/example.yaml');
    const admin = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Account!;
    const accounts = [...new Set(compiled.stages.flatMap((st) => st.targets.map((t) => t.id)))].sort();
    await deploySetup(env.aws(), compiled, accounts, admin);
    const refused: string[] = [];
    const asPerson = () => carriedSourceIdentity(env.aws(), 'alice@example.com', refused);
    const access = new Names(compiled.org.prefix).bootstrapAccessRole();

    // The setup role and every reader role (bootstrap ends by assuming each one it wrote) take the carried identity.
    const first = await bootstrap(compiled, asPerson(), { accessRoleName: access });
    expect(first.filter((st) => st.status === 'missing')).toEqual([]);
    expect((await deploy(compiled, asPerson(), { pollMs: 5 })).stages.filter((st) => st.result === 'failed')).toEqual([]);
    await plan(compiled, asPerson(), { pollMs: 5 });
    expect(refused).toEqual([]);

    // One account's reader role as an earlier bootstrap wrote it: sts:AssumeRole alone.
    const reader = new Names(compiled.org.prefix).outputReaderRole();
    const [account] = accounts;
    const readerArn = `arn:aws:iam::${account}:role/${reader}`;
    const before = { Version: '2012-10-17', Statement: [(executionTrust('aws', admin, [`arn:aws:iam::${admin}:role/xstack`]) as unknown as PlainTrust).Statement[0]] };
    const there = env.aws().iam(await env.aws().assume(`arn:aws:iam::${account}:role/${access}`));
    await there.send(new UpdateAssumeRolePolicyCommand({ RoleName: reader, PolicyDocument: JSON.stringify(before) }));
    // As plan, deploy and destroy assume it (deployer.ts accountCredentials).
    const assumeReader = () => asPerson().assumeRefreshing(readerArn, undefined, compiled.org.region)();
    const caller = (await env.aws().sts().send(new GetCallerIdentityCommand({}))).Arn!;
    await expect(assumeReader()).rejects.toThrow(`could not assume role ${readerArn}: AccessDenied: User: ${caller} is not authorized to perform: sts:SetSourceIdentity on resource: ${readerArn}; ${SOURCE_IDENTITY_ADVICE}`);
    expect(refused).toContain(`AssumeRoleCommand ${readerArn}`);

    refused.length = 0;
    const again = await bootstrap(compiled, asPerson(), { accessRoleName: access });
    expect(again.filter((st) => st.account === account && st.what === `role ${reader}`).map((st) => st.status)).toEqual(['change']);
    await expect(assumeReader()).resolves.toMatchObject({ accessKeyId: expect.any(String) });
    expect(refused).toEqual([]);
  });
});
