/**
 * The StackSet execution role's managed policies, checked at compile time like
 * the templates' roles (iam-quotas.ts). SELF_MANAGED: `xstack bootstrap`
 * writes the role's derived policy (src/deploy/execution-policy.ts) as
 * managed policies of at most 6,144 characters each (`packPolicies`) and
 * attaches them all to the role, in every target account; IAM attaches at
 * most `managedPoliciesPerRole` managed policies to a role (its default and
 * what AWS raises it to: ADJUSTABLE_IAM_QUOTAS). Past that, bootstrap would
 * stop at AttachRolePolicy in the first account, after creating the policies
 * (moto enforces neither quota, so no local run shows it). Only this org's
 * policies are counted here: the role's others, in an account, are
 * bootstrap's to count before it writes (review s45-bootstrap B1). SERVICE_MANAGED execution roles are made by StackSets
 * or by the org's own template, not by bootstrap: nothing to check here.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
 */
import { accountPolicies, packedSizes, type ExecutionStatement } from '../deploy/execution-policy';
import { LIMITS, raiseAdvice } from '../limits';
import { XstackError } from '../errors';
import type { Org } from '../org/model';
import { IAM_QUOTAS_DOC, quotaOf } from './iam-quotas';

/**
 * The sizes of the managed policies bootstrap would write for `account` (`statements` as that account's, forAccount),
 * as IAM counts them, and the largest statement.
 */
export function executionPolicyPacks(org: Org, statements: readonly ExecutionStatement[], account: string): { packs: number[]; largest: { Sid: string; resources: number; chars: number } } {
  return packedSizes(statements, { partition: org.partition, account, region: org.region });
}

/**
 * The execution role's policy in each of `accounts` (each account's own, accountPolicies), against the quota: one
 * problem for the accounts whose policy needs the most managed policies, naming them.
 */
export function executionQuotaProblems(org: Org, statements: readonly ExecutionStatement[], accounts: readonly string[]): string[] {
  if (org.stackSets.permissionModel !== 'SELF_MANAGED') return [];
  let worst: { accounts: string[]; packs: number[]; largest: { Sid: string; resources: number; chars: number } } | undefined;
  for (const group of accountPolicies(statements, accounts)) {
    try {
      const { packs, largest } = executionPolicyPacks(org, group.statements, group.accounts[0]);
      if (!worst || packs.length > worst.packs.length) worst = { accounts: group.accounts, packs, largest };
    } catch (error) {
      // A statement whose actions and one resource alone are over a managed policy's size (packPolicies).
      if (error instanceof XstackError) return [`StackSet execution role ${org.stackSets.executionRoleName} in ${accountsText(group.accounts)}: ${error.message}`];
      throw error;
    }
  }
  const limit = quotaOf(org, 'managedPoliciesPerRole');
  if (!worst || worst.packs.length <= limit) return [];
  const { packs, largest } = worst;
  const raise = raiseAdvice('managedPoliciesPerRole', limit);
  return [
    `StackSet execution role ${org.stackSets.executionRoleName} in ${accountsText(worst.accounts)}: its derived policy needs ${packs.length} managed policies of up to ${LIMITS.managedPolicyChars} characters (largest ${Math.max(...packs)}), over IAM's quota of ${limit} managed policies attached to a role (${IAM_QUOTAS_DOC})${raise}; xstack bootstrap would stop at AttachRolePolicy. Its largest statement is ${largest.Sid}, ${largest.resources} resources in ${largest.chars} characters: ${grows()}`,
  ];
}

/** What makes the largest statement large, and the org-file field that changes it (review s22-names N4). */
function grows(): string {
  return "what grows with the org is the names xstack does not give, and so cannot name by pattern (repositories, the org file's existing roles)";
}

/** Accounts named in a problem: the first few, and how many more. */
const accountsText = (accounts: readonly string[]) =>
  `account${accounts.length > 1 ? 's' : ''} ${accounts.slice(0, 3).join(', ')}${accounts.length > 3 ? ` and ${accounts.length - 3} more alike` : ''}`;
