/**
 * What the org should look like in AWS, from a compile: one StackSet per
 * stage, its template and its target accounts (no parameters: a template
 * chooses each account's values itself). Pure: no AWS calls.
 */
import { templatePath, type CompiledOrg } from '../compile';
import { sha256 } from '../hash';
import type { Stage } from '../stages/model';

export interface DesiredStackSet {
  stage: Stage;
  name: string;
  templateBody: string;
  templateSha: string;
}

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
    };
  });
}
