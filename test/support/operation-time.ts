/**
 * A rollout-time model for StackSet operations: how long CloudFormation would
 * take to run an operation, from its action, the number of target accounts
 * and Regions and the operation preferences. Pure: no clock, no I/O. The
 * StackSets test layer (stacksets-proxy.ts) records each operation it runs
 * into a ModelClock; bench/rollout-time.cjs turns the records into a
 * modelled wall time. Nothing here sleeps.
 *
 * Model of one operation:
 *
 *   duration = OPERATION_OVERHEAD + rounds × batches × instanceTime(action)
 *   batches  = ceil(accounts / concurrency)                      (per Region)
 *   rounds   = regions (RegionConcurrencyType SEQUENTIAL) or 1 (PARALLEL)
 *
 * A batch lasts as long as one stack operation in one account (all accounts
 * of a batch run together; the model gives every account the same time and
 * no failures, so STRICT_FAILURE_TOLERANCE never lowers the concurrency
 * further).
 *
 * Concurrency, per API_StackSetOperationPreferences
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html):
 * - MaxConcurrentCount: "The maximum number of accounts in which to perform
 *   this operation at one time"; by default 1.
 * - MaxConcurrentPercentage: "CloudFormation rounds down to the next whole
 *   number. This is true except in cases where rounding down would result is
 *   zero. In this case, CloudFormation sets the number as one instead."
 * - FailureToleranceCount / FailureTolerancePercentage: per Region; the
 *   percentage rounds down; by default 0.
 * - ConcurrencyMode STRICT_FAILURE_TOLERANCE (the default): "The initial
 *   actual concurrency is set to the lower of either the value of the
 *   MaxConcurrentCount, or the value of FailureToleranceCount +1" ("If failure
 *   tolerance or Maximum concurrent accounts are set to percentages, the
 *   behavior is similar"). SOFT_FAILURE_TOLERANCE: "run at the concurrency
 *   level set by the MaxConcurrentCount value, or MaxConcurrentPercentage,
 *   regardless of the number of failures."
 *   So maxConcurrentPercentage 100 with failure tolerance 0 and the default
 *   mode runs ONE account at a time.
 * - RegionConcurrencyType: SEQUENTIAL (default) one Region at a time, or
 *   PARALLEL; concurrency and failure tolerance are per Region
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-concepts.html#stackset-ops-options).
 * - Not modelled: "For large deployments, under certain circumstances the
 *   actual number of accounts acted upon concurrently may be lower due to
 *   service throttling" (same page, MaxConcurrentCount): no figure is
 *   published, so the model takes the preferences at their word.
 * - Not modelled: ManagedExecution Active (several non-conflicting operations
 *   of one StackSet at once, https://aws.amazon.com/about-aws/whats-new/2021/11/aws-cloudformation-stacksets-operations-execution/):
 *   xstack does not set it, and the test layer runs one operation per
 *   StackSet at a time, as CloudFormation does without it.
 */

export type StackSetAction = 'CREATE' | 'UPDATE' | 'DELETE';

/** StackSetOperationPreferences as the API spells them (RegionOrder does not change the time). */
export interface OperationPreferences {
  MaxConcurrentCount?: number;
  MaxConcurrentPercentage?: number;
  FailureToleranceCount?: number;
  FailureTolerancePercentage?: number;
  RegionConcurrencyType?: 'SEQUENTIAL' | 'PARALLEL';
  ConcurrencyMode?: 'STRICT_FAILURE_TOLERANCE' | 'SOFT_FAILURE_TOLERANCE';
}

export interface ModelledOperation {
  action: StackSetAction;
  /** Target accounts of the operation (per Region). */
  accounts: number;
  regions: number;
  preferences: OperationPreferences;
}

/** The figures of the model, in milliseconds. */
export interface Figures {
  /** Per operation, whatever its size: from the call to the first batch, and from the last batch to SUCCEEDED. */
  operationOverheadMs: number;
  /** One batch: the stack operation in each of its accounts, by action. */
  instanceMs: Record<StackSetAction, number>;
}

const MINUTE = 60_000;

/**
 * ASSUMPTION (no public figure found): 1 minute per operation for StackSets
 * to queue it, assume the administration role and record the results, on
 * top of its batches.
 */
export const OPERATION_OVERHEAD_MS = 1 * MINUTE;

/**
 * UPDATE, 3 minutes per batch: derived from a public report. Customizations
 * for Control Tower (CfCT) runs every StackSet with MaxConcurrentPercentage
 * 100, FailureTolerancePercentage 10, RegionConcurrencyType PARALLEL and the
 * default (STRICT) concurrency mode (source/src/cfct/aws/services/cloudformation.py
 * in aws-solutions/aws-control-tower-customizations), so 800 accounts run 81
 * at a time: 10 batches per Region. At "800+ accounts with 8+ regions" a
 * release without template changes "would take approximately 30 mins per
 * stackset" (https://github.com/aws-solutions/aws-control-tower-customizations/issues/174):
 * about 3 minutes a batch, CfCT's own steps included. That release changed no
 * template, so it bounds a no-op update; the same reporter gives both ends
 * for real ones (issue #177): 5–6 hours for 50+ StackSets after fixes (about
 * 40 s a batch), and "If there are several template updates it takes more than
 * a day" (about 3 minutes a batch or more). So 3 minutes is the lower end for
 * an update that changes templates, not an upper figure (review s16-models F3).
 * One caveat the other way: issue #73 of the same repository reports CfCT's
 * operations running "one StackInstance at a time" (its failure tolerance read
 * as 0); had #174's reporter run such a version, its 30 minutes would be 800
 * one-account batches, about 2 s each, and 3 minutes a batch far too high for a
 * no-op update. #174 is labelled a CfCT bug and counts CfCT's own calls too;
 * AWS publishes no figure (review s24-models m10).
 */
export const STACK_UPDATE_MS = 3 * MINUTE;

/**
 * CREATE, 3 minutes per batch: ASSUMPTION, no published measurement of a
 * stack like xstack's (IAM roles and managed policies; a KMS key, then the
 * S3 buckets encrypted with it and their policies; CodePipeline, CodeDeploy,
 * EventBridge). What is published bounds parts of it: the AWS::KMS::Key
 * handler waits for propagation after creating a key, 2 minutes in all
 * until 2024 (aws-cloudformation/aws-cloudformation-resource-providers-kms
 * pull 5) and 15 s since (pull 61); IAM changes take seconds to propagate
 * ("changes usually propagate within ~2 seconds", pulumi/pulumi-aws#2411;
 * "a few seconds (usually) to a minute (rare)", DataDog/stratus-red-team#358).
 * Taken equal to the update figure, which is derived from a report.
 */
export const STACK_CREATE_MS = 3 * MINUTE;

/**
 * DELETE, 2 minutes per batch: ASSUMPTION. The KMS key handler waits 15 s
 * after scheduling deletion (kms provider pull 61); roles, policies and rules
 * go in seconds each.
 */
export const STACK_DELETE_MS = 2 * MINUTE;

export const FIGURES: Figures = {
  operationOverheadMs: OPERATION_OVERHEAD_MS,
  instanceMs: { CREATE: STACK_CREATE_MS, UPDATE: STACK_UPDATE_MS, DELETE: STACK_DELETE_MS },
};

const percentOf = (percent: number, n: number) => Math.floor((percent * n) / 100);

/** MaxConcurrentCount, or MaxConcurrentPercentage of `accounts` rounded down but at least 1; by default 1. */
export function maxConcurrency(accounts: number, p: OperationPreferences): number {
  return p.MaxConcurrentCount ?? (p.MaxConcurrentPercentage !== undefined ? Math.max(1, percentOf(p.MaxConcurrentPercentage, accounts)) : 1);
}

/** FailureToleranceCount, or FailureTolerancePercentage of `accounts` (one Region's) rounded down; by default 0. */
export function failureTolerance(accounts: number, p: OperationPreferences): number {
  return p.FailureToleranceCount ?? (p.FailureTolerancePercentage !== undefined ? percentOf(p.FailureTolerancePercentage, accounts) : 0);
}

export const strictMode = (p: OperationPreferences) => (p.ConcurrencyMode ?? 'STRICT_FAILURE_TOLERANCE') === 'STRICT_FAILURE_TOLERANCE';

/** Accounts one batch runs in each Region (at least 1, at most the target count). */
export function concurrency(accounts: number, p: OperationPreferences): number {
  const max = maxConcurrency(accounts, p);
  const level = strictMode(p) ? Math.min(max, failureTolerance(accounts, p) + 1) : max;
  return Math.max(1, Math.min(level, accounts));
}

/** Batches in one Region: 0 for an operation without instances (an UpdateStackSet of an empty StackSet). */
export function batches(accounts: number, p: OperationPreferences): number {
  return accounts === 0 ? 0 : Math.ceil(accounts / concurrency(accounts, p));
}

export function operationMs(op: ModelledOperation, figures: Figures = FIGURES): number {
  const rounds = (op.preferences.RegionConcurrencyType ?? 'SEQUENTIAL') === 'PARALLEL' ? 1 : Math.max(1, op.regions);
  return figures.operationOverheadMs + rounds * batches(op.accounts, op.preferences) * figures.instanceMs[op.action];
}

/** OperationPreferences.* of a CloudFormation Query request (what the test layer sees). */
export function preferencesFromQuery(params: URLSearchParams): OperationPreferences {
  const int = (k: string) => (params.has(`OperationPreferences.${k}`) ? Number(params.get(`OperationPreferences.${k}`)) : undefined);
  const str = <T extends string>(k: string) => (params.get(`OperationPreferences.${k}`) ?? undefined) as T | undefined;
  const p: OperationPreferences = {
    MaxConcurrentCount: int('MaxConcurrentCount'),
    MaxConcurrentPercentage: int('MaxConcurrentPercentage'),
    FailureToleranceCount: int('FailureToleranceCount'),
    FailureTolerancePercentage: int('FailureTolerancePercentage'),
    RegionConcurrencyType: str('RegionConcurrencyType'),
    ConcurrencyMode: str('ConcurrencyMode'),
  };
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as OperationPreferences;
}

export interface RecordedOperation extends ModelledOperation {
  stackSet: string;
  /** Modelled duration with the figures and preferences it was recorded with. */
  ms: number;
}

/**
 * Accounting of modelled time over a rollout: every operation the test layer
 * runs is recorded with its StackSet. Wall time follows the deployer's
 * structure (src/deploy/deployer.ts): waves one after the other; the stages
 * of a wave at once (Promise.allSettled); a stage's operations one after the
 * other (one operation per StackSet at a time). So:
 *
 *   wall = Σ over waves ( max over the wave's StackSets ( Σ its operations ) )
 *
 * StackSets that ran but are in no wave given are counted one after the
 * other, after the waves (never hidden).
 */
export class ModelClock {
  readonly operations: RecordedOperation[] = [];

  constructor(readonly figures: Figures = FIGURES) {}

  record(stackSet: string, op: ModelledOperation): RecordedOperation {
    const recorded = { stackSet, ...op, ms: operationMs(op, this.figures) };
    this.operations.push(recorded);
    return recorded;
  }

  reset(): void {
    this.operations.length = 0;
  }

  /**
   * Each StackSet's modelled time: the sum of its operations. `preferences`
   * re-evaluates the same operations under other preferences (the
   * operations the deployer makes do not depend on them).
   */
  perStackSet(preferences?: OperationPreferences): Map<string, number> {
    const out = new Map<string, number>();
    for (const op of this.operations) {
      const ms = preferences ? operationMs({ ...op, preferences }, this.figures) : op.ms;
      out.set(op.stackSet, (out.get(op.stackSet) ?? 0) + ms);
    }
    return out;
  }

  wallMs(waves: readonly (readonly string[])[], preferences?: OperationPreferences): number {
    const per = this.perStackSet(preferences);
    const placed = new Set(waves.flat());
    let total = 0;
    for (const wave of waves) total += Math.max(0, ...wave.map((s) => per.get(s) ?? 0));
    for (const [stackSet, ms] of per) if (!placed.has(stackSet)) total += ms;
    return total;
  }

  countsByAction(): Record<StackSetAction, number> {
    const out: Record<StackSetAction, number> = { CREATE: 0, UPDATE: 0, DELETE: 0 };
    for (const op of this.operations) out[op.action]++;
    return out;
  }
}
