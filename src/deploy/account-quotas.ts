/**
 * The IAM quotas an org file declares (`iamQuotas`), checked against each
 * target account's own before bootstrap writes anything. The compile holds
 * every account to the one value the org file gives; IAM holds each account
 * to the quota raised there, so an increase granted in some accounts and not
 * in others compiles, and then fails with LimitExceeded partway through a
 * rollout (review s27-bootstrap m5).
 *
 * GetAccountSummary "Retrieves information about IAM entity usage and IAM
 * quotas in the AWS account"; its SummaryMap's keys include
 * AssumeRolePolicySizeQuota, AttachedPoliciesPerRoleQuota, RolesQuota,
 * InstanceProfilesQuota and PoliciesQuota (the customer managed policies):
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html
 *
 * Only declared quotas are read: a quota the org file leaves out is IAM's
 * default, which the compile already holds every account to.
 */
import { GetAccountSummaryCommand, type IAMClient, type SummaryKeyType } from '@aws-sdk/client-iam';
import { ADJUSTABLE_IAM_QUOTAS, IAM_QUOTAS_DOC, type AdjustableIamQuota } from '../limits';

export { declaredQuotas } from '../limits';

/** Each adjustable quota's key in GetAccountSummary's SummaryMap (the API page above). */
const SUMMARY_KEYS: Readonly<Record<AdjustableIamQuota, SummaryKeyType>> = {
  rolesPerAccount: 'RolesQuota',
  instanceProfilesPerAccount: 'InstanceProfilesQuota',
  customerManagedPoliciesPerAccount: 'PoliciesQuota',
  managedPoliciesPerRole: 'AttachedPoliciesPerRoleQuota',
  roleTrustPolicyChars: 'AssumeRolePolicySizeQuota',
};

export interface QuotaCheck {
  /** Declared quotas the account holds, as `iamQuotas.<name> <declared> (IAM: <its value>)`. */
  readonly held: readonly string[];
  /** Declared quotas above the account's own, as advice naming both values. */
  readonly short: readonly string[];
}

/** The account's quotas (GetAccountSummary) against `declared`. A key the summary lacks is short: nothing says the account holds it. */
export async function checkAccountQuotas(iam: IAMClient, declared: ReadonlyArray<[AdjustableIamQuota, number]>): Promise<QuotaCheck> {
  const summary = (await iam.send(new GetAccountSummaryCommand({}))).SummaryMap ?? {};
  const held: string[] = [];
  const short: string[] = [];
  for (const [quota, value] of declared) {
    const key = SUMMARY_KEYS[quota];
    const own = summary[key];
    if (own !== undefined && own >= value) held.push(`iamQuotas.${quota} ${value} (IAM: ${own})`);
    else
      short.push(
        `the org file declares iamQuotas.${quota} ${value}, and IAM reports ${own === undefined ? `no ${key}` : `${key} ${own}`} for this account (GetAccountSummary): ${ADJUSTABLE_IAM_QUOTAS[quota].what} past ${own ?? 'its default'} would be refused here with LimitExceeded partway through a rollout (${IAM_QUOTAS_DOC}); request the increase for this account in Service Quotas, or declare ${own ?? ADJUSTABLE_IAM_QUOTAS[quota].default} in the org file`,
      );
  }
  return { held, short };
}
