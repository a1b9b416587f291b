/**
 * The rollout order, derived from what each stage uses of another (naming a
 * resource another stage creates is the dependency, never declared twice),
 * and checked: every used stage exists, no template takes a parameter (a
 * StackSet has one parameter set for every account: per-account values are
 * the template's own choice, src/cfn/account-switch.ts), and a cycle is an
 * error that prints the cycle.
 */
import { CompileError } from '../errors';
import type { Stage } from './model';

export interface Rollout {
  /** Stage ids, wave by wave; stages of one wave are independent. */
  readonly waves: readonly (readonly string[])[];
  readonly waveOf: ReadonlyMap<string, number>;
  /** Producer stage ids of each stage. */
  readonly dependsOn: ReadonlyMap<string, readonly string[]>;
}

export function orderStages(stages: readonly Stage[]): Rollout {
  const byId = new Map(stages.map((s) => [s.id, s]));
  const problems: string[] = [];
  const dependsOn = new Map<string, string[]>();

  for (const stage of stages) {
    for (const name of Object.keys(stage.definition.parameters)) {
      problems.push(
        `${stage.id}: template ${stage.module} takes parameter ${name}; a StackSet gives every account the same parameter values, so a value must be named, imported or chosen by the template's conditions`,
      );
    }
    const producers = new Set<string>();
    for (const use of stage.uses) {
      if (!byId.has(use.stage)) problems.push(`${stage.id}: uses ${use.what} of unknown stage ${use.stage}`);
      else if (use.stage === stage.id) problems.push(`${stage.id}: uses itself (${use.what})`);
      else producers.add(use.stage);
    }
    dependsOn.set(stage.id, [...producers].sort());
  }
  if (problems.length > 0) throw new CompileError('WIRING_INVALID', problems);

  const cycle = findCycle(stages.map((s) => s.id), dependsOn);
  if (cycle) throw new CompileError('DEPENDENCY_CYCLE', [`Dependency cycle detected: ${cycle.join(' -> ')}`]);

  const waveOf = new Map<string, number>();
  const waveFor = (id: string): number => {
    const known = waveOf.get(id);
    if (known !== undefined) return known;
    const wave = 1 + Math.max(0, ...(dependsOn.get(id) ?? []).map(waveFor));
    waveOf.set(id, wave);
    return wave;
  };
  stages.forEach((s) => waveFor(s.id));
  const waves: string[][] = [];
  for (const stage of stages) (waves[waveOf.get(stage.id)! - 1] ??= []).push(stage.id);
  return { waves, waveOf, dependsOn };
}

/** A cycle as a path that returns to its start (a -> b -> a), or undefined. */
export function findCycle(ids: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'open') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'open');
    path.push(id);
    for (const next of edges.get(id) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of ids) {
    const found = visit(id);
    if (found) return found;
  }
  return undefined;
}
