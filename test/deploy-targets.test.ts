/**
 * The deployment targets' instance roles: xstack's own by default, or
 * existing roles the org file names (deploymentTargets.instanceRoles), which
 * xstack only grants the artifact download and the key's use through S3.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyseAccess } from '../src/audit/paths';
import { renderTemplate } from '../src/cfn/template';
import { compileOrg } from '../src/compile';
import { executionPolicy, executionPolicyFor } from '../src/deploy/execution-policy';
import { readerPolicy } from '../src/deploy/reader-policy';
import { OrgFileError } from '../src/errors';
import { parseOrg } from '../src/org/load';
import { planStages } from '../src/stages/plan';
import { DEPLOY_TARGET_NEEDS } from '../src/services/needs';

const EXAMPLE = readFileSync('parameters/example.yaml', 'utf8');
const withRoles = `${EXAMPLE}deploymentTargets:\n  instanceRoles: [app-server, batch-worker]\n`;
const org = parseOrg(withRoles, 'parameters/example.yaml');

describe('existing instance roles named in the org file', () => {
  const compiled = compileOrg(org);
  const template = (id: string) => renderTemplate(compiled.stages.find((s) => s.id === id)!.definition);

  it('are granted, by name in each pipeline account, instead of a role and profile of xstack', () => {
    expect(Object.keys(template('pipeline-identity').Resources).filter((id) => id.startsWith('DeployTarget'))).toEqual([]);
    const foundation = template('pipeline-foundation');
    const key = foundation.Resources.ArtifactKey.Properties as { KeyPolicy: { Statement: Array<{ Sid: string; Principal: { AWS: unknown }; Condition: Record<string, Record<string, unknown>> }> } };
    // Roles the org re-creates on its own are admitted by ARN (aws:PrincipalArn), not as principals, which IAM stores
    // by unique id, so a re-created role would silently lose the key (review s21-tpl T4).
    const decrypt = key.KeyPolicy.Statement.find((s) => s.Sid === 'DeployTargetsDecryptViaS3')!;
    expect(decrypt.Principal.AWS).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' });
    expect(decrypt.Condition.ArnEquals['aws:PrincipalArn']).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/app-server' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/batch-worker' },
    ]);
    expect(decrypt.Condition.StringEquals).toEqual({ 'kms:ViaService': { 'Fn::Sub': 's3.${AWS::Region}.amazonaws.com' } });
    expect((foundation.Resources.DeployTargetArtifactsPolicy.Properties as { Roles: unknown }).Roles).toEqual(['app-server', 'batch-worker']);
  });

  it('each role gets the agent\'s download and decrypt paths, proved; their trust is the org\'s own and not claimed', () => {
    const purposes = compiled.access.results.map((r) => r.path.purpose);
    for (const name of ['app-server', 'batch-worker']) {
      expect(purposes).toContain(`the CodeDeploy agent downloads the revision as ${name} (web-app in prod)`);
      expect(purposes).toContain(`the CodeDeploy agent decrypts the revision through S3 as ${name} (web-app in prod)`);
    }
    expect(purposes.some((p) => p.startsWith('EC2 runs the deployment targets'))).toBe(false);
    expect(compiled.access.problems).toEqual([]);
  });

  it('their Systems Manager permissions are the org\'s own: the proof claims no Session Manager or agent-install path for them, and the report says so', () => {
    // xstack grants the named roles no Systems Manager action, so a path for them would be a claim it cannot prove.
    const systemsManager = new Set(DEPLOY_TARGET_NEEDS.map((n) => n.id));
    expect(compiled.access.paths.filter((p) => p.need !== undefined && systemsManager.has(p.need))).toEqual([]);
    const scope = compiled.files.get('audit/report.md')!.split('<a id="scope"></a>')[1].split('<a id=')[0];
    expect(scope).toContain("| The deployment targets' own instance roles (app-server, batch-worker) |");
    expect(scope).toContain('what Session Manager and the CodeDeploy agent\'s install through Systems Manager need of them');
    // With xstack's own role, the paths are proved and the row is not there.
    const own = compileOrg(parseOrg(EXAMPLE, 'parameters/example.yaml'));
    expect(own.access.paths.filter((p) => p.need === 'deploy-target-session-manager').length).toBe(3);
    expect(own.files.get('audit/report.md')).not.toContain("The deployment targets' own instance roles");
  });

  it('a role the key policy no longer names fails the proof, naming that role\'s path', () => {
    const stages = planStages(org);
    const foundation = stages.find((s) => s.id === 'pipeline-foundation')!;
    const key = (foundation.definition.resources as unknown as Record<string, { Properties: { KeyPolicy: { Statement: Array<{ Sid: string; Condition: { ArnEquals: Record<string, unknown[]> } }> } } }>).ArtifactKey;
    const statement = key.Properties.KeyPolicy.Statement.find((s) => s.Sid === 'DeployTargetsDecryptViaS3')!;
    statement.Condition.ArnEquals['aws:PrincipalArn'] = statement.Condition.ArnEquals['aws:PrincipalArn'].slice(0, 1);
    const problems = analyseAccess(org, stages).problems;
    expect(problems.some((p) => p.startsWith('the CodeDeploy agent decrypts the revision through S3 as batch-worker (web-app in prod)'))).toBe(true);
    expect(problems.some((p) => p.includes('as app-server'))).toBe(false);
  });

  it('the execution role may attach the policy to those roles, and to no other role outside the prefix', () => {
    // As bootstrap derives it: the org file's existing roles given (a role no template creates and the org file does not list
    // is granted only attach and detach, at any path: execution-policy.ts IamDetachFromUnlistedRoles).
    const statements = executionPolicyFor([...compiled.stages].map((s) => renderTemplate(s.definition)), org.prefix, org.bucketGeneration, org.deploymentTargets.instanceRoles ?? []);
    const attach = statements.filter((s) => [s.Action].flat().includes('iam:AttachRolePolicy')).flatMap((s) => [s.Resource].flat());
    expect(attach).toContain('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/app-server');
    expect(attach).toContain('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/batch-worker');
    // Every other role ARN it may attach to is one of xstack's (its prefix).
    const others = attach.filter((r) => r.includes(':role/') && !/role\/(app-server|batch-worker)$/.test(r));
    expect(others.every((r) => /:role\/acme-/.test(r))).toBe(true);
  });

  it('cloudWatchAgent with instanceRoles is an org-file error: the agent policy is the roles\' owner\'s to attach', () => {
    expect(() => parseOrg(`${EXAMPLE}deploymentTargets:\n  cloudWatchAgent: true\n  instanceRoles: [app-server]\n`, 'parameters/example.yaml')).toThrowError(OrgFileError);
    expect(() => parseOrg(`${EXAMPLE}deploymentTargets:\n  cloudWatchAgent: true\n  instanceRoles: [app-server]\n`, 'parameters/example.yaml')).toThrowError(/deploymentTargets\.cloudWatchAgent.*instanceRoles names existing ones/);
  });
});

/**
 * Existing roles with an IAM path: their ARN has the path (role/service-role/app-server), which every policy naming them
 * as principal or resource must write, while CloudFormation's Roles properties take the name alone (src/iam/role-path.ts).
 */
describe('existing roles with an IAM path', () => {
  const pathedText = EXAMPLE.replace('keyAdministratorRoles:\n  - platform-admin\n', 'keyAdministratorRoles:\n  - admins/platform-admin\n  - aws-reserved/sso.amazonaws.com/*AWSReservedSSO_KeyAdmin_*\n')
    + 'deploymentTargets:\n  instanceRoles: [service-role/app-server, batch-worker]\n';
  const pathed = parseOrg(pathedText, 'parameters/example.yaml');
  const compiled = compileOrg(pathed);
  const foundation = renderTemplate(compiled.stages.find((s) => s.id === 'pipeline-foundation')!.definition);
  const keyPolicy = (foundation.Resources.ArtifactKey.Properties as { KeyPolicy: { Statement: Array<{ Sid: string; Principal: { AWS: unknown }; Condition?: Record<string, Record<string, unknown>> }> } }).KeyPolicy;
  const sid = (id: string) => keyPolicy.Statement.find((s) => s.Sid === id)!;

  it('are named by their ARN with the path in the key policy: ArnEquals and ArnLike alike', () => {
    expect(pathed.deploymentTargets.instanceRoles).toEqual(['service-role/app-server', 'batch-worker']);
    expect(sid('DeployTargetsDecryptViaS3').Condition!.ArnEquals['aws:PrincipalArn']).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/service-role/app-server' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/batch-worker' },
    ]);
    expect(sid('AdministerKey').Condition!.ArnLike['aws:PrincipalArn']).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/AWSCloudFormationStackSetExecutionRole' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/admins/platform-admin' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_KeyAdmin_*' },
    ]);
  });

  it('are attached the managed policy by name alone, as AWS::IAM::ManagedPolicy Roles takes it', () => {
    expect((foundation.Resources.DeployTargetArtifactsPolicy.Properties as { Roles: unknown }).Roles).toEqual(['app-server', 'batch-worker']);
    // xstack makes no instance profile for roles the org names (their profiles are the org's).
    expect(Object.values(renderTemplate(compiled.stages.find((s) => s.id === 'pipeline-identity')!.definition).Resources).some((r) => r.Type === 'AWS::IAM::InstanceProfile')).toBe(false);
  });

  it('the execution role may attach the policy to the role by its pathed ARN, not by a bare-name ARN that is another role', () => {
    for (const statements of [executionPolicyFor(compiled.stages.map((s) => renderTemplate(s.definition)), pathed.prefix, 1, pathed.deploymentTargets.instanceRoles), executionPolicy(compiled)]) {
      const attach = statements.filter((s) => s.Action.includes('iam:AttachRolePolicy')).flatMap((s) => s.Resource);
      expect(attach).toContain('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/service-role/app-server');
      expect(attach).toContain('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/batch-worker');
      expect(attach).not.toContain('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/app-server');
    }
  });

  it('the reader role may iam:GetRole exactly the named roles (pattern left out), in the pipeline accounts, as plan and deploy read them first; the execution role reads none of them (review s27-bootstrap M2)', () => {
    const see = readerPolicy(compiled, '222222222222').Statement.filter((s) => s.Sid === 'SeeExistingRoles');
    expect(see.map(({ Action, Resource }) => ({ Action, Resource }))).toEqual([
      {
        Action: ['iam:GetRole'],
        // Each name at any path: IAM authorizes GetRole against the role's real ARN, so a role on another path is read and named.
        Resource: ['app-server', 'batch-worker', 'platform-admin'].flatMap((name) => [`arn:aws:iam::222222222222:role/${name}`, `arn:aws:iam::222222222222:role/*/${name}`]),
      },
    ]);
    // Not in the source account, which holds no artifact key.
    expect(readerPolicy(compiled, '111111111111').Statement.some((s) => s.Sid === 'SeeExistingRoles')).toBe(false);
    // The execution role: the instance roles get attach and detach alone (IamAttachToInstanceRoles, not IamNamed's
    // writes on the roles the templates create), the key administrators nothing.
    const getRole = (arn: string) => executionPolicy(compiled).filter((s) => s.Action.includes('iam:GetRole') && s.Resource.includes(arn));
    expect(executionPolicy(compiled).some((s) => s.Sid === 'SeeExistingRoles')).toBe(false);
    expect(getRole('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/service-role/app-server')).toEqual([]);
    expect(getRole('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/admins/platform-admin')).toEqual([]);
    expect(getRole('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*/platform-admin')).toEqual([]);
    expect(executionPolicy(compiled).filter((s) => s.Resource.includes('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/service-role/app-server')).map((s) => [s.Sid, s.Action])).toEqual([
      ['IamAttachToInstanceRoles', ['iam:AttachRolePolicy', 'iam:DetachRolePolicy']],
    ]);
    // An org naming no existing role gets no such statement.
    expect(readerPolicy(compileOrg(parseOrg(EXAMPLE.replace('keyAdministratorRoles:\n  - platform-admin\n', ''), 'parameters/example.yaml')), '222222222222').Statement.some((s) => s.Sid === 'SeeExistingRoles')).toBe(false);
  });

  it('the proof reads the pathed role: its download and decrypt paths hold, and the order proof takes the principal as the existing role', () => {
    expect(compiled.access.problems).toEqual([]);
    const arns = compiled.access.results.filter((r) => r.path.purpose.includes('as service-role/app-server')).map((r) => JSON.stringify(r.path.principal));
    expect(arns.length).toBeGreaterThan(0);
    expect(arns.every((a) => a.includes(':role/service-role/app-server'))).toBe(true);
  });

  const problemsOf = (text: string): string => {
    try {
      parseOrg(text, 'parameters/example.yaml');
    } catch (error) {
      if (error instanceof OrgFileError) return error.message;
      throw error;
    }
    return '';
  };
  const instanceRoles = (roles: string) => `${EXAMPLE}deploymentTargets:\n  instanceRoles: ${roles}\n`;
  const keyAdministrators = (roles: string) => EXAMPLE.replace('keyAdministratorRoles:\n  - platform-admin\n', `keyAdministratorRoles: ${roles}\n`);
  it.each([
    ['a leading slash', instanceRoles('[/service-role/app-server]'), /deploymentTargets\.instanceRoles\[0\].*starts with '\/'; write the path without its leading slash.*'service-role\/app-server'/],
    ['an ARN', instanceRoles('["arn:aws:iam::222222222222:role/service-role/app-server"]'), /is an ARN; write the part after role\/: 'service-role\/app-server'/],
    ['a trailing slash', instanceRoles('[service-role/]'), /ends with '\/'; the role's name follows its path/],
    ['an empty path segment', instanceRoles('[service-role//app-server]'), /its path '\/service-role\/\/' has an empty segment/],
    ['a space in the path', instanceRoles('["service role/app-server"]'), /its path '\/service role\/' has a space or a character outside ASCII/],
    ['a name over 64 characters', instanceRoles(`[service-role/${'a'.repeat(65)}]`), /role name 'a{65}' is 65 characters; IAM allows 64/],
    ['a path over 512 characters', instanceRoles(`[${'p'.repeat(511)}/app-server]`), /is 513 characters with its slashes; IAM allows 512/],
    ['a wildcard where one role is named', instanceRoles('[service-role/app-*]'), /'service-role\/app-\*' is a pattern; a policy principal and a Roles entry name one role exactly/],
    ['${ in a path, which Fn::Sub would read', instanceRoles('["a${AWS::Region}/app-server"]'), /contains '\$\{', which CloudFormation's Fn::Sub would read as a variable/],
    ['one role under two paths', instanceRoles('[service-role/app-server, ec2/App-Server]'), /deploymentTargets\.instanceRoles.*'ec2\/App-Server' and 'service-role\/app-server' are one role: IAM role names are unique in an account whatever their path, and not by case/],
    ['a key administrator pattern matching every role', keyAdministrators('["admins/*"]'), /keyAdministratorRoles\[0\].*'admins\/\*' matches every role under its path/],
    ['a key administrator with a leading slash', keyAdministrators('[/admins/platform-admin]'), /keyAdministratorRoles\[0\].*starts with '\/'/],
  ])('refuses %s, saying what to write', (_name, text, message) => {
    expect(problemsOf(text)).toMatch(message);
  });

  it('accepts a path of exactly 512 characters with its slashes, and a key administrator pattern with a literal part', () => {
    expect(problemsOf(instanceRoles(`[${'p'.repeat(510)}/app-server]`))).toBe('');
    expect(problemsOf(keyAdministrators('["aws-reserved/sso.amazonaws.com/*AWSReservedSSO_KeyAdmin_*", "break-glass-?"]'))).toBe('');
  });
});
