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
import { executionPolicyFor } from '../src/deploy/execution-policy';
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
    const key = foundation.Resources.ArtifactKey.Properties as { KeyPolicy: { Statement: Array<{ Sid: string; Principal: { AWS: unknown } }> } };
    expect(key.KeyPolicy.Statement.find((s) => s.Sid === 'DeployTargetsDecryptViaS3')!.Principal.AWS).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/app-server' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/batch-worker' },
    ]);
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
    const key = (foundation.definition.resources as unknown as Record<string, { Properties: { KeyPolicy: { Statement: Array<{ Sid: string; Principal: { AWS: unknown[] } }> } } }>).ArtifactKey;
    const statement = key.Properties.KeyPolicy.Statement.find((s) => s.Sid === 'DeployTargetsDecryptViaS3')!;
    statement.Principal.AWS = statement.Principal.AWS.slice(0, 1);
    const problems = analyseAccess(org, stages).problems;
    expect(problems.some((p) => p.startsWith('the CodeDeploy agent decrypts the revision through S3 as batch-worker (web-app in prod)'))).toBe(true);
    expect(problems.some((p) => p.includes('as app-server'))).toBe(false);
  });

  it('the execution role may attach the policy to those roles, and to no other role outside the prefix', () => {
    const statements = executionPolicyFor([...compiled.stages].map((s) => renderTemplate(s.definition)), org.prefix);
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
