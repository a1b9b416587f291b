/**
 * Mutation round s56-mutations-11 over the speed changes of session 55 (be807fe..f196eb5): each test here fails on a
 * mutant of those changes that the suite let through (the mutants, and why each is one a reader could make, are in
 * the round's report), and asserts what the changed code must answer: the fast path against the plain answer.
 */
import { describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../src/cfn/template';
import { alikeResources } from '../src/checks/alike';
import { literalValues } from '../src/checks/service-authorization';
import { findTeams } from '../src/audit/teams';
import { parseOrg } from '../src/org/load';
import { comparedItems, pathReads, statementReads } from '../src/audit/team-reads';
import type { ResolvedStatement } from '../src/audit/grants';
import type { AccessPath } from '../src/audit/paths';
import { nameTokenFor, tokenFor } from '../src/audit/symbolic';
import { executionPolicyFor } from '../src/deploy/execution-policy';
import { random } from './support/seeded-random';
import { keyTextsHeld, toYaml } from '../src/yaml';

describe('literalValues: a template checked without its org (service-authorization.ts)', () => {
  /** The answer before the change, a list made for each item (flatMap). */
  const plain = (e: unknown): string[] => (typeof e === 'string' ? [e] : Array.isArray(e) ? e.flatMap((x) => plain(x)) : e === undefined ? [] : ['{unknown}']);

  it('answers as the plain recursion does, for undefined, null, numbers, objects, nested lists and holes', () => {
    const next = random(11);
    const leaf = (): unknown => [undefined, null, 0, 7, true, '', 'arn:aws:s3:::b', '*', { Ref: 'X' }, { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::b' }][Math.floor(next() * 10)];
    const valueOf = (depth: number): unknown => {
      if (depth > 2 || next() < 0.5) return leaf();
      const list: unknown[] = Array.from({ length: Math.floor(next() * 4) }, () => valueOf(depth + 1));
      // A hole, which flatMap passes over as it does undefined.
      if (next() < 0.2) list.length += 1;
      return list;
    };
    let nested = 0;
    for (let n = 0; n < 3_000; n++) {
      const e = valueOf(0);
      if (Array.isArray(e) && e.some(Array.isArray)) nested++;
      expect(literalValues(e), JSON.stringify(e) ?? 'undefined').toEqual(plain(e));
    }
    expect(nested).toBeGreaterThan(200);
    // The cases by name: nothing for undefined, anywhere; '{unknown}' for null and any other value; a list in a list read through.
    expect(literalValues(undefined)).toEqual([]);
    expect(literalValues(null)).toEqual(['{unknown}']);
    expect(literalValues(['a', ['b', [undefined, null]], { Ref: 'X' }])).toEqual(['a', 'b', '{unknown}', '{unknown}']);
  });
});

describe("a team's values where a check reads text as a name (alike.ts onlyAsText, holdsAValue)", () => {
  /** Teams of one source account and one pipeline account each: accounts [source, pipeline]. */
  const KEYS = ['t01', 't02', 't03'];
  const sourceId = (i: number) => String(100000000001 + 2 * i);
  const pipelineId = (i: number) => String(100000000002 + 2 * i);
  const lines = ['organization: { partition: aws, region: eu-west-1 }', 'prefix: acme', 'accounts:'];
  KEYS.forEach((key, i) => lines.push(`  ${key}-source: { id: "${sourceId(i)}", role: source }`, `  ${key}-dev: { id: "${pipelineId(i)}", role: pipeline, environment: ${key}-dev }`));
  lines.push('repositories:', ...KEYS.map((key) => `  ${key}-app: { account: ${key}-source }`));
  lines.push('pipelines:', ...KEYS.map((key) => `  ${key}-app: { repository: ${key}-app, branches: { ${key}-dev: main }, deploy: { type: codedeploy } }`), '');
  const teams = findTeams(parseOrg(lines.join('\n'), 'teams.yaml'))!;
  const logicalForm = (key: string) => `${key[0].toUpperCase()}${key.slice(1)}`;
  /** A policy per team whose statement `statement` writes with the team's key and index. */
  const policies = (statement: (key: string, i: number) => object) =>
    ({
      AWSTemplateFormatVersion: '2010-09-09',
      Resources: Object.fromEntries(KEYS.map((key, i) => [`${logicalForm(key)}Reader`, { Type: 'AWS::IAM::ManagedPolicy', Properties: { ManagedPolicyName: `acme-${key}-reader`, PolicyDocument: { Version: '2012-10-17', Statement: [statement(key, i)] } } }])),
    }) as unknown as CfnTemplate;
  const reader = (key: string, action: string, conditionKey = 'aws:ResourceAccount') => ({
    Sid: 'Read',
    Effect: 'Allow',
    Action: action,
    Resource: `arn:aws:s3:::${key}-data/*`,
    Condition: { StringEquals: { [conditionKey]: '123456789012' } },
  });

  it('the logical-id form of the key (T01) in an action, or an account id of the team (its source, its pipeline account) in a condition key, is no class', () => {
    expect(teams.list.map((t) => t.key)).toEqual(KEYS);
    // Each team's value only where a check reads it as a name.
    const cases: Array<[string, CfnTemplate]> = [
      ['key id in Action', policies((key) => reader(key, `s3:GetObject${logicalForm(key)}`))],
      ['source account in a condition key', policies((key, i) => reader(key, 's3:GetObject', `aws:PrincipalTag/${sourceId(i)}`))],
      ['pipeline account in a condition key', policies((key, i) => reader(key, 's3:GetObject', `aws:PrincipalTag/${pipelineId(i)}`))],
    ];
    for (const [what, template] of cases) expect(alikeResources(template, undefined, teams).teamMembers, what).toBe(0);
    // The same statements with the values where no check reads them as names: a class of the three.
    expect(alikeResources(policies((key) => reader(key, 's3:GetObject')), undefined, teams).teamMembers).toBe(2);
  });
});

describe('a policy that refers by a name holding the id (alike.ts sameReferences)', () => {
  const IDS = ['100000000001', '100000000002', '100000000003'];
  const policyFor = (id: string, resource: unknown) => ({
    Type: 'AWS::IAM::ManagedPolicy',
    Properties: { ManagedPolicyName: `acme-source-${id}-source-action`, PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'S', Effect: 'Allow', Action: 'kms:Decrypt', Resource: resource }] } },
  });
  const policies = (resource: (id: string) => unknown) =>
    ({ AWSTemplateFormatVersion: '2010-09-09', Description: 't', Resources: Object.fromEntries(IDS.map((id) => [`SourceRole${id}SourceActionIn900000000000`, policyFor(id, resource(id))])) }) as unknown as CfnTemplate;

  it('Fn::GetAtt of a resource named by the id, or with an attribute that is no name (a Ref), is no class; of a name without it, a class', () => {
    expect(alikeResources(policies((id) => ({ 'Fn::GetAtt': [`Key${id}`, 'Arn'] }))).members).toBe(0);
    expect(alikeResources(policies(() => ({ 'Fn::GetAtt': ['Key', { Ref: 'Attribute' }] }))).members).toBe(0);
    expect(alikeResources(policies(() => ({ 'Fn::GetAtt': ['Key', 'Arn'] }))).members).toBe(IDS.length - 1);
  });
});

describe('team-reads: the first team\'s own items, and a principal changed in place', () => {
  const [A, B] = [tokenFor(300), nameTokenFor(40)];
  const compare = comparedItems(new Map([[A, 0], [B, 1]]));
  const values = ['111122223333', 't001'];
  const write = (text: string) => text.replaceAll(A, values[0]).replaceAll(B, values[1]);
  const first: ResolvedStatement = {
    stage: 's',
    account: A,
    policy: 'p',
    kind: 'trust',
    effect: 'Allow',
    principals: [
      { kind: 'aws', arn: `arn:aws:iam::${A}:role/${B}-a` },
      { kind: 'aws', arn: `arn:aws:iam::${A}:role/${B}-b` },
      { kind: 'service', service: 'ec2.amazonaws.com' },
    ],
    actions: ['sts:AssumeRole'],
    resources: [`arn:aws:iam::${A}:role/${B}-target`],
    conditions: { StringEquals: { [`aws:PrincipalTag/${B}`]: [A] } },
  };
  const path: AccessPath = { purpose: 'p', need: `${B} reads`, principal: { kind: 'aws', arn: `arn:aws:iam::${A}:role/${B}` }, actions: ['s3:GetObject'], resource: `arn:aws:s3:::${B}-data`, resourceAccount: A, context: { [`aws:PrincipalTag/${B}`]: [A] } };
  const own: ResolvedStatement = {
    ...first,
    account: write(first.account),
    principals: first.principals.map((p) => (p.kind === 'aws' ? { kind: 'aws', arn: write(p.arn) } : p)),
    resources: first.resources.map(write),
    conditions: { StringEquals: { [write(`aws:PrincipalTag/${B}`)]: [values[0]] } },
  };

  it('a text read as itself reads alike whatever the values (the plain question: the same text, or written with the values)', () => {
    expect(statementReads(compare.statement(first), own, values)).toBe(true);
    expect(statementReads(compare.statement(first), first, values)).toBe(true);
    expect(pathReads(compare.path(path), path, values)).toBe(true);
  });

  it('each principal is compared, the first too: one changed in place, at any place, reads otherwise', () => {
    for (let i = 0; i < own.principals.length; i++) {
      const changed = { ...own, principals: own.principals.map((p, k) => (k !== i ? p : p.kind === 'aws' ? { kind: 'aws' as const, arn: `${p.arn}x` } : { kind: 'service' as const, service: 'ecs-tasks.amazonaws.com' })) };
      expect(statementReads(compare.statement(first), changed, values), `principal ${i}`).toBe(false);
    }
  });
});

describe("the execution role's named resources, each in the accounts of every template that names it (execution-policy.ts Scopes.ofOne)", () => {
  const role = (name: string) => ({ Type: 'AWS::IAM::Role', Properties: { RoleName: name, AssumeRolePolicyDocument: {} } });
  const given = (accounts: string[], resources: Record<string, unknown>) => ({ template: { Resources: resources } as unknown as CfnTemplate, accounts });
  const arn = (name: string) => `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${name}`;

  it('a name two templates give in other accounts is granted in both templates\' accounts; a name of one, in its own', () => {
    const statements = executionPolicyFor(
      [given(['111111111111', '222222222222'], { Shared: role('acme-shared'), Own: role('acme-first') }), given(['333333333333'], { Shared: role('acme-shared') }), given(['222222222222', '444444444444'], { Again: role('acme-shared') })],
      'acme',
    );
    const named = statements.find((s) => s.Sid === 'IamNamed')!;
    expect(named.Resource).toEqual(expect.arrayContaining([arn('acme-shared'), arn('acme-first')]));
    expect([...named.scope!.get(arn('acme-shared'))!].sort()).toEqual(['111111111111', '222222222222', '333333333333', '444444444444']);
    expect([...named.scope!.get(arn('acme-first'))!].sort()).toEqual(['111111111111', '222222222222']);
  });
});

describe("the writer's key texts (yaml.ts keyText), bounded", () => {
  it('holds at most 4,096 key texts however many distinct keys are written, and reaches that bound; a key is written the same after the texts are emptied', () => {
    // Keys of a map under the template's (the template's own keys are written as they stand, not through keyText).
    let most = 0;
    for (let i = 0; i < 10_000; i++) {
      expect(toYaml({ map: { [`Key${i}x`]: 1 } })).toBe(`map:\n  Key${i}x: 1\n`);
      most = Math.max(most, keyTextsHeld());
    }
    expect(most).toBe(4_096);
    expect(keyTextsHeld()).toBeLessThanOrEqual(4_096);
    // Quoted keys too, after many emptyings.
    expect(toYaml({ map: { yes: 'a', 'a: b': 'c', Key1x: 2 } })).toBe('map:\n  "yes": a\n  "a: b": c\n  Key1x: 2\n');
  });
});
