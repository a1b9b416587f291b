/**
 * The rollout order, derived from the wiring alone (using another stage's
 * output is the dependency, never declared twice), and checked: every wired
 * parameter names an existing output of a stage that targets that account,
 * every parameter of every account has a source, and a cycle is an error that
 * prints the cycle.
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
  const targetsOf = new Map(stages.map((s) => [s.id, new Set(s.targets.map((a) => a.id))]));
  const problems: string[] = [];
  const dependsOn = new Map<string, string[]>();

  for (const stage of stages) {
    const producers = new Set<string>();
    const targetIds = targetsOf.get(stage.id)!;
    for (const accountId of stage.inputs.keys()) {
      if (!targetIds.has(accountId)) problems.push(`${stage.id}: has inputs for ${accountId}, which it does not target`);
    }
    for (const account of stage.targets) {
      const params = stage.inputs.get(account.id) ?? {};
      for (const name of Object.keys(stage.definition.parameters)) {
        if (!(name in params)) problems.push(`${stage.id} @ ${account.id}: parameter ${name} has no source`);
      }
      for (const [name, source] of Object.entries(params)) {
        const spec = stage.definition.parameters[name];
        if (!spec) {
          problems.push(`${stage.id} @ ${account.id}: ${name} is not a parameter of template ${stage.module}`);
          continue;
        }
        if (source.kind !== 'wired') continue;
        if (source.refs.length === 0) problems.push(`${stage.id} @ ${account.id}: ${name} is wired to no output`);
        if (spec.type === 'String' && source.refs.length > 1) problems.push(`${stage.id} @ ${account.id}: ${name} is a String wired to ${source.refs.length} outputs`);
        for (const ref of source.refs) {
          const producer = byId.get(ref.stage);
          if (!producer) {
            problems.push(`${stage.id} @ ${account.id}: ${name} is wired to unknown stage ${ref.stage}`);
            continue;
          }
          if (!(ref.output in producer.definition.outputs)) {
            problems.push(`${stage.id} @ ${account.id}: ${name} is wired to ${ref.stage}.${ref.output}, which template ${producer.module} does not output`);
          }
          if (!targetsOf.get(ref.stage)!.has(ref.account)) {
            problems.push(`${stage.id} @ ${account.id}: ${name} is wired to ${ref.stage} in account ${ref.account}, which that stage does not target`);
          }
          producers.add(ref.stage);
        }
      }
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
