/**
 * Proves the rollout order against IAM, KMS, S3 and EventBridge, which reject a
 * policy naming a principal that does not exist yet: every AWS principal a
 * policy names is a role of the same template, an output of an earlier stage
 * that is a role ARN that stage creates, an account root (conditioned; see the
 * rules), or `*` (conditioned).
 */
import type { CfnTemplate } from '../cfn/template';
import { awsPrincipals, policyDocuments } from '../checks/documents';
import type { Rollout } from './graph';
import type { Stage } from './model';

const ACCOUNT_ROOT = /^arn:\$\{AWS::Partition\}:iam::(\$\{AWS::AccountId\}|\d{12}):root$/;

export function provePrincipals(stage: Stage, template: CfnTemplate, rollout: Rollout, stages: ReadonlyMap<string, Stage>): string[] {
  const problems: string[] = [];
  const wave = rollout.waveOf.get(stage.id)!;
  for (const doc of policyDocuments(template)) {
    for (const s of doc.statements) {
      for (const principal of awsPrincipals(s.Principal)) {
        const where = `${stage.id}: ${doc.resource} statement ${s.Sid ?? '(no Sid)'}`;
        const problem = proveOne(principal, stage, template, wave, rollout, stages);
        if (problem) problems.push(`${where}: ${problem}`);
      }
    }
  }
  return problems;
}

function proveOne(principal: unknown, stage: Stage, template: CfnTemplate, wave: number, rollout: Rollout, stages: ReadonlyMap<string, Stage>): string | undefined {
  if (principal === '*') return undefined;
  if (typeof principal === 'object' && principal !== null) {
    const p = principal as Record<string, unknown>;
    if (typeof p['Fn::Sub'] === 'string' && ACCOUNT_ROOT.test(p['Fn::Sub'])) return undefined;
    if (Array.isArray(p['Fn::GetAtt'])) {
      const [id, attribute] = p['Fn::GetAtt'] as [string, string];
      return template.Resources[id]?.Type === 'AWS::IAM::Role' && attribute === 'Arn'
        ? undefined
        : `principal Fn::GetAtt ${id}.${attribute} is not the ARN of a role in this template`;
    }
    if (typeof p.Ref === 'string') {
      const name = p.Ref;
      for (const account of stage.targets) {
        const source = stage.inputs.get(account.id)?.[name];
        if (!source || source.kind !== 'wired') return `principal parameter ${name} in account ${account.id} is not wired from an earlier stage's role`;
        for (const ref of source.refs) {
          const producer = stages.get(ref.stage);
          const output = producer?.definition.outputs[ref.output];
          if (!producer || !output?.principalOf) return `principal parameter ${name} comes from ${ref.stage}.${ref.output}, which is not a role ARN that stage creates`;
          if ((rollout.waveOf.get(ref.stage) ?? Infinity) >= wave) return `principal parameter ${name} comes from ${ref.stage}, which is not rolled out before ${stage.id}`;
        }
      }
      return undefined;
    }
  }
  return `cannot prove that principal ${JSON.stringify(principal)} exists before ${stage.id}`;
}
