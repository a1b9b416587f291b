/**
 * IAM's quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)
 * are checked at compile time: an org past one fails naming the quota, and
 * declaring the raised quota in the org file lets it compile.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import ManagedPolicy from 'cloudform-types/types/iam/managedPolicy';
import Role from 'cloudform-types/types/iam/role';
import { parseOrg } from '../src/org/load';
import { planStages } from '../src/stages/plan';
import { renderTemplate } from '../src/cfn/template';
import { Resolver } from '../src/audit/resolve';
import { iamQuotaProblems, jsonLength } from '../src/checks/iam-quotas';
import { generateOrgYaml } from '../bench/generate-org.mjs';
import { compileProblems, tempDir } from './helpers';

/** One source account, one pipeline account running `pipelines` pipelines. */
function orgWith(pipelines: number, extra = ''): string {
  const lines = ['organization: { partition: aws, region: eu-west-1 }', 'prefix: acme', 'accounts:', '  src: { id: "111111111111", role: source }', '  dev: { id: "222222222222", role: pipeline, environment: dev }', 'repositories:'];
  for (let i = 1; i <= pipelines; i++) lines.push(`  app${i}: { account: src }`);
  lines.push('pipelines:');
  for (let i = 1; i <= pipelines; i++) lines.push(`  app${i}: { repository: app${i}, branches: { dev: main }, deploy: { type: codedeploy } }`);
  return `${lines.join('\n')}\n${extra}`;
}

const problemsOf = (text: string, file = 'quota.yaml'): string[] => compileProblems(text, file);

describe('IAM quotas at compile time', () => {
  it('10 pipelines in one account fit the pipeline role; the 11th is over the managed policies a role may have, unless the raised quota is declared', () => {
    expect(problemsOf(orgWith(10))).toEqual([]);
    const problems = problemsOf(orgWith(11));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^account dev \(222222222222\): role acme-pipeline: 11 managed policies attached to a role \(pipelines\/App10PipelinePolicy, .*pipelines\/App9PipelinePolicy\), over IAM's quota of 10 \(https:\/\/docs\.aws\.amazon\.com\/IAM\/latest\/UserGuide\/reference_iam-quotas\.html\); AWS raises it up to 25 on request \(then set iamQuotas\.managedPoliciesPerRole in the org file\)$/,
    );
    expect(problemsOf(orgWith(11, 'iamQuotas: { managedPoliciesPerRole: 20 }\n'))).toEqual([]);
    expect(problemsOf(orgWith(21, 'iamQuotas: { managedPoliciesPerRole: 20 }\n'))[0]).toMatch(/21 managed policies attached to a role .*over IAM's quota of 20 .*; AWS raises it up to 25 on request/);
    // AWS's quotas page approves 25 automatically (review s21-quota Q1): 21 pipelines in an account compile when declared.
    expect(problemsOf(orgWith(21, 'iamQuotas: { managedPoliciesPerRole: 25 }\n'))).toEqual([]);
    expect(problemsOf(orgWith(26, 'iamQuotas: { managedPoliciesPerRole: 25 }\n'))[0]).toMatch(
      /26 managed policies attached to a role .*over IAM's quota of 25 .*; AWS's page lists 25 as the most it approves automatically: ask AWS for more through Service Quotas, then set iamQuotas\.managedPoliciesPerRole to what it grants$/,
    );
  });

  it('alike accounts over a quota are each named, in the order of the org file (one of them counted stands for the others only where none is over)', () => {
    const lines = ['organization: { partition: aws, region: eu-west-1 }', 'prefix: acme', 'accounts:', '  src: { id: "111111111111", role: source }'];
    for (const n of [1, 2, 3]) lines.push(`  dev${n}: { id: "22222222222${n}", role: pipeline, environment: dev${n} }`);
    const org = (pipelines: number) => {
      const out = [...lines, 'repositories:'];
      for (let i = 1; i <= pipelines; i++) out.push(`  app${i}: { account: src }`);
      out.push('pipelines:');
      for (let i = 1; i <= pipelines; i++) out.push(`  app${i}: { repository: app${i}, branches: { dev1: main, dev2: main, dev3: main }, deploy: { type: codedeploy } }`);
      return `${out.join('\n')}\n`;
    };
    expect(problemsOf(org(10))).toEqual([]);
    const problems = problemsOf(org(11));
    expect(problems).toHaveLength(3);
    problems.forEach((problem, i) => expect(problem).toMatch(new RegExp(`^account dev${i + 1} \\(22222222222${i + 1}\\): role acme-pipeline: 11 managed policies attached to a role `)));
  });

  it('two generated names that meet in an account (whatever their case) fail the compile, naming both resources and the accounts (review s22-names N3)', () => {
    // Pipeline app1's trigger role holds the policy acme-app1-trigger-start-pipeline, which is also the pipeline policy
    // of a pipeline named app1-trigger-start.
    const clash = orgWith(1).replace('pipelines:\n', 'pipelines:\n  app1-trigger-start: { repository: app1, branches: { dev: main }, deploy: { type: codedeploy } }\n');
    const problems = problemsOf(clash);
    expect(problems).toEqual([
      expect.stringMatching(/^pipelines\/\w+ and pipelines\/\w+ are both the managed policy acme-app1-trigger-start-pipeline in account dev \(222222222222\): IAM names are unique in an account whatever their case .*rename one of the pipelines/),
    ]);
  });

  it('the org file takes a raised quota from AWS\'s default up, past what AWS approves automatically (Service Quotas is the authority), and refuses one below the default', () => {
    const example = readFileSync('parameters/example.yaml', 'utf8');
    expect(parseOrg(`${example}iamQuotas: { managedPoliciesPerRole: 25, roleTrustPolicyChars: 8192, rolesPerAccount: 10000 }\n`, 'parameters/example.yaml').iamQuotas).toEqual({
      managedPoliciesPerRole: 25,
      roleTrustPolicyChars: 8192,
      rolesPerAccount: 10000,
    });
    expect(() => parseOrg(`${example}iamQuotas: { managedPoliciesPerRole: 9 }\n`, 'parameters/example.yaml')).toThrowError(/iamQuotas\.managedPoliciesPerRole: 9 is out of range.*a whole number of at least 10/s);
  });

  it('1,000 pipeline accounts put 1,001 roles into the source account (a source role each, and the forwarder): a clear error, unless the raised quota is declared', () => {
    const declared = generateOrgYaml(1000);
    expect(declared).toContain('rolesPerAccount: 2000');
    const problems = problemsOf(declared.replace(/iamQuotas:\n  rolesPerAccount: 2000\n/, ''), 'generated-1000.yaml');
    expect(problems).toEqual([
      "account source (900000000000): 1001 IAM roles in an account made by xstack, beside any the account already has, over IAM's quota of 1000 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html); AWS raises it up to 5000 on request (then set iamQuotas.rolesPerAccount in the org file)",
    ]);
  });

  it('a developer trust listing many role patterns is over the trust-policy size; the raised quota lets it compile', () => {
    // 20 patterns: the trust lists them twice (sts:AssumeRole, and sts:SetSourceIdentity held to a carried identity).
    const patterns = Array.from({ length: 20 }, (_, i) => `"team-${String(i).padStart(2, '0')}-developer-role-with-a-long-name"`).join(', ');
    const text = orgWith(1, `access:\n  developers:\n    assumedBy:\n      - account: src\n        roleNames: [${patterns}]\n`);
    // On disk, so that the refusal can say the line of the field that grows the trust (review s39-fuzz 5).
    const file = join(tempDir('trust-size'), 'org.yaml');
    writeFileSync(file, text);
    const line = text.split('\n').indexOf('    assumedBy:') + 1;
    const problems = problemsOf(text, file);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^access-roles @ 111111111111: DeveloperRoleIn111111111111: \d{4} characters of a role trust policy \(the roles of (.*), over IAM's quota of 2048 .*iamQuotas\.roleTrustPolicyChars/);
    expect(problems[0]).toContain(` (the roles of ${file}:${line}:5: access.developers.assumedBy), over`);
    expect(problemsOf(`${text}iamQuotas: { roleTrustPolicyChars: 4096 }\n`)).toEqual([]);
  });

  it('inline policies of a role count together, resolved with the account\'s values', () => {
    const org = parseOrg(orgWith(1), 'quota.yaml');
    const stages = planStages(org);
    const identity = stages.find((s) => s.id === 'pipeline-identity')!;
    const statement = (i: number) => ({ Sid: `S${i}`, Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::bucket-\${AWS::AccountId}-${'x'.repeat(400)}/${i}` } });
    const big = new Role({
      RoleName: 'acme-big',
      AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [] },
      Policies: [0, 1].map((p) => new Role.Policy({ PolicyName: `p${p}`, PolicyDocument: { Version: '2012-10-17', Statement: Array.from({ length: 12 }, (_, i) => statement(p * 100 + i)) } })),
    });
    const changed = stages.map((s) => (s === identity ? { ...s, definition: { ...s.definition, resources: { ...s.definition.resources, Big: big } } } : s));
    const templates = new Map(changed.map((s) => [s.id, renderTemplate(s.definition)]));
    const problems = iamQuotaProblems(org, changed, templates, new Resolver(org, changed, templates));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^account dev \(222222222222\): role acme-big: 1\d{4} characters of all inline policies of a role together, over IAM's quota of 10240/);
  });

  it("the fixed quotas hold a policy at their limit and refuse one character past it: 10,240 for a role's inline policies together, 6,144 for a managed policy (review s40-mutations 9)", () => {
    const org = parseOrg(orgWith(1), 'quota.yaml');
    const stages = planStages(org);
    const identity = stages.find((s) => s.id === 'pipeline-identity')!;
    // A document of exactly `chars` characters as IAM counts them (its JSON without white space, jsonLength): one
    // literal resource, padded. The limits are written out, not read from FIXED_IAM_QUOTAS, so a changed limit fails here.
    const documentOf = (chars: number) => {
      // With a Condition: an object inside the statement, which the message's statement sizes count as IAM does too.
      const document = (pad: number) => ({ Version: '2012-10-17', Statement: [{ Sid: 'S', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::bucket/${'x'.repeat(pad)}`, Condition: { StringEquals: { 'aws:ResourceAccount': '222222222222' } } }] });
      const padded = document(chars - jsonLength(document(0)));
      expect(JSON.stringify(padded)).toHaveLength(chars);
      return padded;
    };
    const problemsWith = (resource: Role | ManagedPolicy) => {
      const changed = stages.map((s) => (s === identity ? { ...s, definition: { ...s.definition, resources: { ...s.definition.resources, Big: resource } } } : s));
      const templates = new Map(changed.map((s) => [s.id, renderTemplate(s.definition)]));
      return iamQuotaProblems(org, changed, templates, new Resolver(org, changed, templates));
    };
    // Two inline policies, counted together.
    const role = (chars: number) =>
      new Role({
        RoleName: 'acme-big',
        AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [] },
        Policies: [4_000, chars - 4_000].map((n, p) => new Role.Policy({ PolicyName: `p${p}`, PolicyDocument: documentOf(n) })),
      });
    expect(problemsWith(role(10_240))).toEqual([]);
    expect(problemsWith(role(10_241))).toEqual([
      "account dev (222222222222): role acme-big: 10241 characters of all inline policies of a role together, over IAM's quota of 10240 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html); its inline policies: pipeline-identity/Big p1 (6241 characters), pipeline-identity/Big p0 (4000 characters)",
    ]);
    const managed = (chars: number) => new ManagedPolicy({ PolicyDocument: documentOf(chars) });
    expect(problemsWith(managed(6_144))).toEqual([]);
    expect(problemsWith(managed(6_145))).toEqual([
      "pipeline-identity @ 222222222222: Big: 6145 characters of a managed policy, over IAM's quota of 6144 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html); its largest statements: S (6106 characters)",
    ]);
  });
});

describe('policy sizes', () => {
  it('counts a value as JSON.stringify writes it, escapes, surrogates and nulls included', () => {
    const texts = ['', 'arn:aws:iam::111111111111:role/x', 'a"b\\c', '\b\t\n\f\r', '\u0000NoValue', '\u001f\u007f', 'é€😀', '\ud800', 'x\udc00y', '\ud83d\ude00\ud83d'];
    const values: unknown[] = [...texts, texts, [texts, [], ['a', [['b']]]], [undefined, null, 'x'], [, 'hole'], 42, true, null, { a: ['b'] }];
    for (const v of values) expect(jsonLength(v), JSON.stringify(v)).toBe(JSON.stringify(v).length);
  });
});
