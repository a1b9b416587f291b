/**
 * CloudFormation's StackSets quotas, checked at compile time: an org that
 * compiles to more StackSets than its administrator account may hold, or to a
 * StackSet with more stack instances than one may have (or than StackSets
 * runs operations on at once, instanceOperationsProblem), fails the compile
 * naming the quota, its page and what to do, instead of a deploy that stops
 * at the first CreateStackSet AWS refuses, halfway through a rollout.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
 *
 * The first two are raised on request (Service Quotas); an org whose quota was
 * raised declares it in the org file (proposed key: `stackSetQuotas`).
 */
import { CompileError } from '../errors';
import { CLOUDFORMATION_QUOTAS_DOC, LIMITS } from '../limits';
import { grouped } from '../count';

/** The StackSets quotas AWS raises on request, by the org-file key that declares a raised one. */
export const STACKSET_QUOTAS = {
  stackSetsPerAdministrator: { what: 'StackSets per administrator account', default: LIMITS.stackSetsPerAdministrator },
  stackInstancesPerStackSet: { what: 'stack instances per StackSet', default: LIMITS.stackInstancesPerStackSet },
} as const;
export type StackSetQuota = keyof typeof STACKSET_QUOTAS;

/** What the check needs of an org: its file, and the quotas its file declares AWS raised. */
export interface StackSetQuotaOrg {
  readonly file: string;
  readonly stackSetQuotas?: Partial<Record<StackSetQuota, number>>;
}

/** The quota in force: what the org file declares, else AWS's default. */
export const stackSetQuotaOf = (org: StackSetQuotaOrg, quota: StackSetQuota): number => org.stackSetQuotas?.[quota] ?? STACKSET_QUOTAS[quota].default;


function assertQuota(quota: number): void {
  if (!Number.isInteger(quota) || quota < 1) throw new Error(`internal: a StackSets quota must be a positive integer, got ${quota}`);
}

/** Where the quota came from and how to raise it, the same for both quotas. */
function overQuota(file: string, quota: StackSetQuota, limit: number, needed: number, what: string): string {
  const { what: quotaName, default: awsDefault } = STACKSET_QUOTAS[quota];
  const source = limit === awsDefault ? "AWS's default" : `as the org file declares it (stackSetQuotas.${quota})`;
  return (
    `${file}: ${what}, over CloudFormation's quota of ${grouped(limit)} ${quotaName}, ${source} (${CLOUDFORMATION_QUOTAS_DOC}). ` +
    `Request an increase of that quota to at least ${grouped(needed)} in Service Quotas (AWS CloudFormation), ` +
    `then declare it in the org file: stackSetQuotas: { ${quota}: ${needed} }`
  );
}

/**
 * The problem with an org that compiles to `stackSets` StackSets, all in one
 * administrator account and Region, or undefined when they fit `quota`
 * (exactly `quota` fits: it is the most the account may hold).
 */
export function stackSetQuotaProblem(file: string, stackSets: number, quota: number = STACKSET_QUOTAS.stackSetsPerAdministrator.default): string | undefined {
  assertQuota(quota);
  if (stackSets <= quota) return undefined;
  return (
    overQuota(file, 'stackSetsPerAdministrator', quota, stackSets, `the org compiles to ${grouped(stackSets)} StackSets (one per template) in one administrator account`) +
    '. StackSets that other tools keep in the same administrator account and Region count against the quota too.'
  );
}

/** The problem with one StackSet of `instances` stack instances (target accounts × Regions), or undefined when they fit `quota`. */
export function stackInstanceQuotaProblem(
  file: string,
  stackSet: string,
  instances: number,
  quota: number = STACKSET_QUOTAS.stackInstancesPerStackSet.default,
): string | undefined {
  assertQuota(quota);
  if (instances <= quota) return undefined;
  return overQuota(file, 'stackInstancesPerStackSet', quota, instances, `StackSet '${stackSet}' has ${grouped(instances)} stack instances (target accounts × Regions)`);
}

/**
 * Throws CompileError LIMIT_EXCEEDED when the org's `stackSetCount` StackSets
 * are over the quota: `quota` if given, else the org file's declared one, else AWS's default.
 */
export function checkStackSetQuota(org: StackSetQuotaOrg, stackSetCount: number, quota?: number): void {
  const problem = stackSetQuotaProblem(org.file, stackSetCount, quota ?? stackSetQuotaOf(org, 'stackSetsPerAdministrator'));
  if (problem) throw new CompileError('LIMIT_EXCEEDED', [problem]);
}

/**
 * The problem with one StackSet of more stack instances than StackSets runs operations on at once: "StackSets instance
 * operations: The maximum number of stack instances, across all stack sets, that you can run operations on in each
 * Region at the same time, per administrator account. 10,000 operations ... It includes stack instances affected by
 * stack set creation and update operations" (the quotas page; it names no way to raise it). deploy sends a template
 * change as one UpdateStackSet over every instance, and a SERVICE_MANAGED StackSet's instance operations by OU, so a
 * StackSet over it would be refused on every template change (review s47-deploy-api 5). Undefined when it fits.
 */
export function instanceOperationsProblem(file: string, stackSet: string, instances: number, quota: number = LIMITS.concurrentStackInstanceOperationsPerRegion): string | undefined {
  assertQuota(quota);
  if (instances <= quota) return undefined;
  return (
    `${file}: StackSet '${stackSet}' has ${grouped(instances)} stack instances (target accounts × Regions), over the ${grouped(quota)} stack instances ` +
    `StackSets runs operations on at once in a Region (${CLOUDFORMATION_QUOTAS_DOC}): xstack updates a StackSet's template in one operation over every ` +
    `instance, which it reads that quota as refusing, and does not split one yet: a stage of more than ${grouped(quota)} target accounts is not supported`
  );
}

/**
 * Throws CompileError LIMIT_EXCEEDED naming every StackSet (id → its stack instances) over the stack-instances quota,
 * or over the instances StackSets runs operations on at once (instanceOperationsProblem).
 */
export function checkStackInstanceQuota(org: StackSetQuotaOrg, instancesByStackSet: Iterable<readonly [stackSet: string, instances: number]>, quota?: number): void {
  const limit = quota ?? stackSetQuotaOf(org, 'stackInstancesPerStackSet');
  const problems: string[] = [];
  for (const [stackSet, instances] of instancesByStackSet) {
    // The operations bound first: over it, raising the stack-instances quota would not help.
    const problem = instanceOperationsProblem(org.file, stackSet, instances) ?? stackInstanceQuotaProblem(org.file, stackSet, instances, limit);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) throw new CompileError('LIMIT_EXCEEDED', problems);
}
