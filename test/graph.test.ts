import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../src/cfn/template';
import { CompileError } from '../src/errors';
import { findCycle, orderStages } from '../src/stages/graph';
import type { Stage } from '../src/stages/model';
import { provePrincipals } from '../src/stages/proof';
import { compileFile } from './helpers';

describe('stage graph of the example org', () => {
  const { rollout, stages } = compileFile('parameters/example.yaml');
  const wave = (id: string) => rollout.waveOf.get(id)!;

  it('orders the stages so every principal exists before a policy names it', () => {
    expect(wave('pipeline-identity')).toBe(1);
    expect(wave('source-identity-shared-services')).toBeGreaterThan(wave('pipeline-identity'));
    expect(wave('pipeline-foundation')).toBeGreaterThan(wave('source-identity-shared-services'));
    expect(wave('pipeline-web-app')).toBeGreaterThan(wave('pipeline-foundation'));
    // The source roles carry their grants (naming each key by account and alias), so no stage waits for the keys but the pipelines.
    expect(rollout.waves).toEqual([
      ['pipeline-identity', 'source-repositories-shared-services', 'ci-identity', 'ci-network'],
      ['source-identity-shared-services', 'access-roles-shared-services'],
      ['pipeline-foundation', 'source-events-shared-services'],
      ['pipeline-web-app', 'pipeline-payments-api'],
    ]);
  });

  it('wires every per-account parameter to the producing stage in the right account', () => {
    const foundation = stages.find((s) => s.id === 'pipeline-foundation')!;
    expect(foundation.inputs.get('333333333333')!.PipelineRoleArn).toEqual({
      kind: 'wired',
      refs: [{ stage: 'pipeline-identity', output: 'PipelineRoleArn', account: '333333333333' }],
    });
    // One source role per pipeline account, each trusting that account's pipeline role alone.
    const identity = stages.find((s) => s.id === 'source-identity-shared-services')!;
    const inputs = identity.inputs.get('111111111111')!;
    expect(Object.keys(inputs).sort()).toEqual(['PipelineRoleArn222222222222', 'PipelineRoleArn333333333333', 'PipelineRoleArn444444444444']);
    for (const [name, source] of Object.entries(inputs)) {
      expect(source).toEqual({ kind: 'wired', refs: [{ stage: 'pipeline-identity', output: 'PipelineRoleArn', account: name.slice(-12) }] });
    }
    expect(foundation.inputs.get('333333333333')!.SourceRoleArns).toEqual({
      kind: 'wired',
      refs: [{ stage: 'source-identity-shared-services', output: 'SourceRoleArn333333333333', account: '111111111111' }],
    });
    const payments = stages.find((s) => s.id === 'pipeline-payments-api')!;
    expect(payments.targets.map((a) => a.name)).toEqual(['dev', 'prod']);
    expect(payments.inputs.get('444444444444')!.BranchName).toEqual({ kind: 'value', value: 'main', origin: 'pipelines.payments-api.branches.prod' });
  });
});

const stage = (id: string, wiredFrom: string[], principal = false): Stage => ({
  id,
  module: 'test',
  notes: [],
  targets: [{ name: 'a', id: '111111111111', role: 'source' }],
  definition: {
    description: id,
    parameters: Object.fromEntries(wiredFrom.map((w) => [`From${w.replace(/\W/g, '')}`, { type: 'String' as const, description: 'x' }])),
    outputs: { RoleArn: { description: 'x', value: 'arn', ...(principal ? { principalOf: 'Role' } : {}) } },
    resources: {},
  },
  inputs: new Map([
    ['111111111111', Object.fromEntries(wiredFrom.map((w) => [`From${w.replace(/\W/g, '')}`, { kind: 'wired' as const, refs: [{ stage: w, output: 'RoleArn', account: '111111111111' }] }]))],
  ]),
});

describe('graph checks', () => {
  it('prints the cycle', () => {
    expect(() => orderStages([stage('a', ['c']), stage('b', ['a']), stage('c', ['b'])])).toThrowError(/Dependency cycle detected: a -> c -> b -> a/);
    expect(findCycle(['x', 'y'], new Map([['x', ['y']]]))).toBeUndefined();
  });

  it('rejects wiring to an output that does not exist, and parameters without a source', () => {
    const broken = stage('b', ['a']);
    const inputs = broken.inputs.get('111111111111')!;
    (broken.inputs as Map<string, unknown>).set('111111111111', { Froma: { kind: 'wired', refs: [{ stage: 'a', output: 'Nope', account: '111111111111' }] } });
    expect(inputs).toBeDefined();
    const missing = { ...stage('c', ['a']), inputs: new Map([['111111111111', {}]]) };
    try {
      orderStages([stage('a', []), broken, missing]);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CompileError);
      expect((error as CompileError).details).toEqual([
        'b @ 111111111111: Froma is wired to a.Nope, which template test does not output',
        'c @ 111111111111: parameter Froma has no source',
      ]);
    }
  });

  it('refuses a principal wired from an output that is not a role the producer creates', () => {
    const producer = stage('a', [], false);
    const consumer = stage('b', ['a']);
    const withPolicy: Stage = {
      ...consumer,
      definition: {
        ...consumer.definition,
        resources: {
          Key: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { Statement: [{ Sid: 'S', Effect: 'Allow', Principal: { AWS: { Ref: 'Froma' } }, Action: 'kms:Decrypt', Resource: '*' }] } } } as never,
        },
      },
    };
    const rollout = orderStages([producer, withPolicy]);
    const byId = new Map([producer, withPolicy].map((s) => [s.id, s]));
    expect(provePrincipals(withPolicy, renderTemplate(withPolicy.definition), rollout, byId)).toEqual([
      'b: Key statement S: principal parameter Froma comes from a.RoleArn, which is not a role ARN that stage creates',
    ]);
    const good = { ...producer, definition: { ...producer.definition, outputs: { RoleArn: { description: 'x', value: 'arn', principalOf: 'Role' } } } };
    const rollout2 = orderStages([good, withPolicy]);
    expect(provePrincipals(withPolicy, renderTemplate(withPolicy.definition), rollout2, new Map([[good.id, good], [withPolicy.id, withPolicy]]))).toEqual([]);
  });
});
