/**
 * What the org should look like in AWS, from a compile: one StackSet per
 * stage, each account's full parameter set. Pure: no AWS calls.
 */
import { templatePath, type CompiledOrg } from '../compile';
import { XstackError } from '../errors';
import { sha256 } from '../hash';
import type { Stage } from '../stages/model';

export interface DesiredStackSet {
  stage: Stage;
  name: string;
  templateBody: string;
  templateSha: string;
  parameterNames: string[];
}

/** Outputs already read: stage id → account id → output name → value. */
export type Outputs = Map<string, Map<string, Record<string, string>>>;

/** Stands for a wired value whose producer has not been deployed yet (plan only). */
export const KNOWN_AFTER_DEPLOY = '(known after deploy)';

/** The stack set's own values; every instance overrides every parameter with its account's value. */
export const STACKSET_PLACEHOLDER = 'per-account';


/** One desired StackSet per stage, in rollout order (wave by wave). */
export function desiredStackSets(compiled: CompiledOrg): DesiredStackSet[] {
  const wave = (s: Stage) => compiled.rollout.waveOf.get(s.id)!;
  return [...compiled.stages].sort((a, b) => wave(a) - wave(b)).map((stage) => {
    const templateBody = compiled.files.get(templatePath(stage))!;
    return {
      stage,
      name: `${compiled.org.prefix}-${stage.id}`,
      templateBody,
      templateSha: sha256(templateBody),
      parameterNames: Object.keys(stage.definition.parameters).sort(),
    };
  });
}

export class MissingOutputError extends XstackError {
  constructor(stage: string, account: string, region: string, output: string, consumer: string) {
    super('OUTPUT_MISSING', `output ${output} of stage ${stage} in account ${account}, region ${region} is missing (needed by ${consumer})`);
  }
}

/**
 * The full parameter set of one account. A wired value is the producer's
 * output as read in that account; missing, it is an error (deploy) or
 * KNOWN_AFTER_DEPLOY (plan), never an empty string.
 */
export function parametersFor(desired: DesiredStackSet, accountId: string, outputs: Outputs, region: string, mode: 'deploy' | 'plan'): Record<string, string> {
  const sources = desired.stage.inputs.get(accountId) ?? {};
  const out: Record<string, string> = {};
  for (const name of desired.parameterNames) {
    const source = sources[name];
    if (source.kind === 'value') {
      out[name] = source.value;
      continue;
    }
    const values: string[] = [];
    for (const ref of source.refs) {
      const value = outputs.get(ref.stage)?.get(ref.account)?.[ref.output];
      if (value === undefined) {
        if (mode === 'plan') {
          values.length = 0;
          values.push(KNOWN_AFTER_DEPLOY);
          break;
        }
        throw new MissingOutputError(ref.stage, ref.account, region, ref.output, `${desired.stage.id} @ ${accountId}`);
      }
      values.push(value);
    }
    out[name] = values.join(',');
  }
  return out;
}
