/** What the deployer reports while it works; the CLI renders these, the deployer never prints. */
/**
 * `instances-removed`: only instances in accounts the org file no longer targets were deleted (the template and every
 * other instance as they were). `kept`: destroy left the StackSet in place (it holds only what xstack never deletes).
 */
export type StageResult = 'created' | 'updated' | 'instances-removed' | 'unchanged' | 'failed' | 'not-run' | 'deleted' | 'kept';

export type DeployEvent =
  | { type: 'wave'; wave: number; of: number; stages: readonly string[] }
  /** After every wave: the stages whose instances (or StackSet) are deleted, in that order. */
  | { type: 'removals'; stages: readonly string[] }
  | { type: 'operation'; stage: string; action: string; accounts: readonly string[]; operationId?: string }
  | { type: 'waiting'; stage: string; operationId: string; reason: string }
  | { type: 'stage-done'; stage: string; result: StageResult; accountsDone: number; accountsFailed: number; detail?: string };

export type Listener = (event: DeployEvent) => void;

export interface StageSummary {
  stage: string;
  stackSet: string;
  result: StageResult;
  reasons: string[];
  /**
   * What went through but needs a person: an instance a suspended account's
   * skip left behind, or a stack left in an account because StackSets could
   * not delete it.
   */
  warnings?: string[];
  /**
   * A failed removal that left only instances no operation reaches (an account gone from the organization, or moved out
   * of the OU the instance was created through), in these accounts: the run's other removals went on, sending nothing
   * there.
   */
  stranded?: string[];
}

export interface RunSummary {
  stages: StageSummary[];
  /** Calls by SDK command name, mutating and not. */
  calls: Record<string, number>;
  mutatingCalls: number;
  seconds: number;
}
