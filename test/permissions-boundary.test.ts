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
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { compileOrg } from '../src/compile';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { unboundedRoles } from '../src/iam/permissions-boundary';
import { formatProblem, OrgFileError } from '../src/errors';
import { parseOrg } from '../src/org/load';
import { tempDir } from './helpers';

const EXAMPLE = readFileSync('parameters/example.yaml', 'utf8');
const BOUNDARY = 'boundaries/workload-boundary';
const BOUNDARY_SUB = { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:policy/${BOUNDARY}` };

const compiled = (text: string, file = 'parameters/example.yaml') => compileOrg(parseOrg(text, file));
const templatesOf = (c: ReturnType<typeof compiled>): Map<string, CfnTemplate> => new Map(c.stages.map((s) => [s.id, renderTemplate(s.definition)]));
/** A template as plain data with every role's PermissionsBoundary taken out. */
const withoutBoundaries = (t: CfnTemplate): unknown =>
  JSON.parse(JSON.stringify(t), (key, value) => (value && typeof value === 'object' && value.Type === 'AWS::IAM::Role' && value.Properties ? { ...value, Properties: { ...value.Properties, PermissionsBoundary: undefined } } : value));

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
    expect(report).toContain('every path refused above stays refused');
    expect(plain.files.get('audit/report.md')).not.toContain('permissions boundary arn:');
    expect(plain.files.get('templates/pipelines.yaml')).not.toContain('PermissionsBoundary');
  });

  it('reaches the roles of every family part in an org of many teams, measured with it for packing', () => {
    const c = compiled(`${generateTeamsOrgYaml(30)}permissionsBoundary: ${BOUNDARY}\n`, 'teams-30.yaml');
    expect(c.stages.filter((s) => s.part).length).toBeGreaterThan(0);
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
