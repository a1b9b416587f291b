import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../src/cfn/template';
import { CompileError } from '../src/errors';
import { findCycle, orderStages } from '../src/stages/graph';
import type { Stage } from '../src/stages/model';
import { provePrincipals, roleIndex } from '../src/stages/proof';
import { Resolver } from '../src/audit/resolve';
import { loadOrgFile } from '../src/org/load';
import { compileFile } from './helpers';
import { rolloutSvg } from '../src/audit/svg';

describe('stage graph of the example org', () => {
  const { rollout, stages } = compileFile('parameters/example.yaml');
  const wave = (id: string) => rollout.waveOf.get(id)!;

  it('orders the stages so every principal exists before a policy names it', () => {
    expect(wave('pipeline-identity')).toBe(1);
    expect(wave('source-identity')).toBeGreaterThan(wave('pipeline-identity'));
    expect(wave('pipeline-foundation')).toBeGreaterThan(wave('source-identity'));
    expect(wave('pipelines')).toBeGreaterThan(wave('pipeline-foundation'));
    // The forwarding rules after the bus policies that admit their forwarder (AWS's cross-account order, review s16-events M1).
    expect(wave('source-events')).toBeGreaterThan(wave('pipeline-foundation'));
    // The source roles carry their grants (naming each key by account and alias), so no stage waits for the keys but the pipelines.
    expect(rollout.waves).toEqual([
      ['pipeline-identity', 'source-repositories', 'ci-identity', 'ci-network', 'access-callers'],
      ['source-identity', 'access-roles'],
      ['pipeline-foundation'],
      ['source-events', 'pipelines'],
    ]);
  });

  it('gives every StackSet one parameter set: no template takes a parameter, each account\'s values are the template\'s choice', () => {
    for (const s of stages) expect(Object.keys(s.definition.parameters), s.id).toEqual([]);
    const foundation = stages.find((s) => s.id === 'pipeline-foundation')!;
    expect(foundation.uses.map((u) => u.stage).sort()).toEqual(['pipeline-identity', 'source-identity']);
    // One StackSet for both pipelines: each pipeline's resources exist where it runs.
    const pipelines = stages.find((s) => s.id === 'pipelines')!;
    expect(pipelines.targets.map((a) => a.name)).toEqual(['dev', 'staging', 'prod']);
    const branch = pipelines.accountValues.find((v) => v.name === 'payments-api branch')!;
    expect(branch.byAccount.get('444444444444')).toEqual({ value: 'main', origin: 'pipelines.payments-api.branches.prod' });
    expect(branch.byAccount.has('333333333333')).toBe(false);
    // The template chooses it: a condition per account, one Fn::If per value.
    const template = renderTemplate(pipelines.definition);
    expect(template.Conditions?.AccountProd).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '444444444444'] });
    expect(template.Conditions?.RunsPaymentsApi).toEqual({ 'Fn::Or': [{ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '222222222222'] }, { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '444444444444'] }] });
    expect(template.Resources.PaymentsApiPipeline.Condition).toBe('RunsPaymentsApi');
    expect(template.Resources.WebAppPipeline.Condition).toBeUndefined();
    expect(JSON.stringify(template.Resources.PaymentsApiPipeline)).toContain('{"Fn::If":["AccountProd","main",""]}');
  });

  it("the report's rollout graph draws one arrow for each stage a stage uses, from the producer's box to the user's (review s42-mutations-4 SV1)", () => {
    const svg = rolloutSvg(stages, rollout);
    const boxes = new Map([...svg.matchAll(/<title>([^:<]+):[^<]*<\/title><rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"/g)].map((m) => [m[1], m.slice(2).map(Number)]));
    expect([...boxes.keys()].sort()).toEqual(stages.map((s) => s.id).sort());
    const arrows = [...svg.matchAll(/<path d="M(\d+),(\d+) C[^"]* (\d+),(\d+)" class="edge"/g)].map((m) => m.slice(1).map(Number));
    const expected = stages.flatMap((s) => (rollout.dependsOn.get(s.id) ?? []).map((producer) => [producer, s.id]));
    expect(expected.length).toBeGreaterThan(5);
    // Each arrow leaves the middle of its producer's right side and ends (its head) at the middle of the user's left side.
    const drawn = arrows.map(([x1, y1, x2, y2]) => {
      const at = (x: number, y: number) => [...boxes].find(([, [bx, by, , h]]) => x === bx && y === by + h / 2)?.[0];
      const from = [...boxes].find(([, [bx, by, w, h]]) => x1 === bx + w && y1 === by + h / 2)?.[0];
      return [from, at(x2 + 6, y2)];
    });
    expect(drawn.map((a) => a.join(' -> ')).sort()).toEqual(expected.map((a) => a.join(' -> ')).sort());
  });
});

const stage = (id: string, uses: string[], resources: Stage['definition']['resources'] = {}): Stage => ({
  id,
  module: 'test',
  notes: [],
  targets: [{ name: 'a', id: '111111111111', role: 'source' }],
  definition: { description: id, parameters: {}, outputs: {}, resources },
  accountValues: [],
  uses: uses.map((u) => ({ stage: u, what: 'something' })),
});

describe('graph checks', () => {
  it('prints the cycle', () => {
    expect(() => orderStages([stage('a', ['c']), stage('b', ['a']), stage('c', ['b'])])).toThrowError(/Dependency cycle detected: a -> c -> b -> a/);
    expect(findCycle(['x', 'y'], new Map([['x', ['y']]]))).toBeUndefined();
  });

  it('rejects a use of an unknown stage, and a template that takes a parameter', () => {
    const withParameter: Stage = { ...stage('c', ['a']), definition: { ...stage('c', []).definition, parameters: { Branch: { type: 'String', description: 'x' } } } };
    try {
      orderStages([stage('a', []), stage('b', ['nope']), withParameter]);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CompileError);
      expect((error as CompileError).details).toEqual([
        'b: uses something of unknown stage nope',
        "c: template test takes parameter Branch; a StackSet gives every account the same parameter values, so a value must be named, imported or chosen by the template's conditions",
      ]);
    }
  });

  const org = loadOrgFile('parameters/example.yaml');
  const role = (name: string, condition?: string) => ({ Type: 'AWS::IAM::Role', ...(condition ? { Condition: condition } : {}), Properties: { RoleName: name, AssumeRolePolicyDocument: { Statement: [] } } }) as never;
  const keyNaming = (principal: string) => ({
    Key: {
      Type: 'AWS::KMS::Key',
      Properties: { KeyPolicy: { Statement: [{ Sid: 'S', Effect: 'Allow', Principal: { AWS: { 'Fn::Sub': principal } }, Action: 'kms:Decrypt', Resource: '*' }] } },
    } as never,
  });
  const key = keyNaming('arn:${AWS::Partition}:iam::111111111111:role/reader');
  /** The problems of stage b's principals. */
  const check = (stages: Stage[]) => {
    const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const resolver = new Resolver(org, stages, templates);
    const consumer = stages.find((s) => s.id === 'b')!;
    return provePrincipals(consumer, templates.get('b')!, orderStages(stages), resolver, roleIndex(stages, templates, resolver));
  };

  it('refuses a principal that no earlier stage creates, and accepts it once one does', () => {
    expect(check([stage('a', []), stage('b', [], key)])).toEqual(['b: Key statement S: principal arn:aws:iam::111111111111:role/reader is a role no stage creates in account 111111111111']);
    // Created in the same wave: not yet there when the key policy is written.
    expect(check([stage('a', [], { Reader: role('reader') }), stage('b', [], key)])).toEqual([
      'b: Key statement S: principal arn:aws:iam::111111111111:role/reader is created by a, which is not rolled out before b',
    ]);
    expect(check([stage('a', [], { Reader: role('reader') }), stage('b', ['a'], key)])).toEqual([]);
  });

  it('proves a principal in the account its ARN names (review s41-mutations-3 P1b, P3b, P4b)', () => {
    // Stages of two accounts: the key policy is written in both, naming the role of 111111111111.
    const inBoth = (s: Stage, conditions?: Record<string, unknown>): Stage => ({
      ...s,
      targets: [...s.targets, { name: 'b', id: '222222222222', role: 'source' }],
      definition: { ...s.definition, ...(conditions ? { conditions } : {}) },
    });
    // The same stage makes the role in each account: in 222222222222 the key policy may be written before 111111111111's stack makes it.
    expect(check([inBoth(stage('b', [], { ...key, Reader: role('reader') }))])).toEqual([
      'b: Key statement S: principal arn:aws:iam::111111111111:role/reader is created by b, which is not rolled out before b',
    ]);
    // An earlier stage makes the role only where its Condition holds: not in 111111111111.
    const onlyIn222 = { InB: { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '222222222222'] } };
    expect(check([inBoth(stage('a', [], { Reader: role('reader', 'InB') }), onlyIn222), stage('b', ['a'], key)])).toEqual([
      'b: Key statement S: principal arn:aws:iam::111111111111:role/reader is a role no stage creates in account 111111111111',
    ]);
    expect(check([inBoth(stage('a', [], { Reader: role('reader') })), stage('b', ['a'], key)])).toEqual([]);
    // An ARN of no role (a user) is nothing a stage creates.
    expect(check([stage('a', []), stage('b', [], keyNaming('arn:${AWS::Partition}:iam::111111111111:user/alice'))])).toEqual([
      'b: Key statement S: cannot prove that principal arn:aws:iam::111111111111:user/alice exists before b',
    ]);
  });
});
