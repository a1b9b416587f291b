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
 * The same summary holds the account's use of the quotas of entities (review s45-bootstrap B3): "Roles: The number of
 * IAM roles in the AWS account", "Policies: The number of customer managed policies in the AWS account",
 * "InstanceProfiles: The number of instance profiles in the AWS account" (same page). The compile counts only what
 * xstack makes; an account that already holds others (another tool's, a team's own) can have too little room left for
 * it, and IAM refuses the create past its quota with LimitExceeded (CreateRole, CreatePolicy, CreateInstanceProfile:
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html), in the middle of a rollout. `checkRoom`
 * compares the room with what the compile makes there that is not there yet.
 */
import {
  GetAccountSummaryCommand,
  GetInstanceProfileCommand,
  GetPolicyCommand,
  GetRoleCommand,
  type IAMClient,
  type SummaryKeyType,
} from '@aws-sdk/client-iam';
import { ADJUSTABLE_IAM_QUOTAS, IAM_QUOTAS_DOC, type AdjustableIamQuota } from '../limits';
import type { IamEntities } from './iam-entities';
import { isNoSuchEntity } from './existing-roles';

export type AccountSummary = Partial<Record<SummaryKeyType, number>>;

/** The account's IAM usage and quotas (GetAccountSummary's SummaryMap). */
export const readAccountSummary = async (iam: IAMClient): Promise<AccountSummary> => (await iam.send(new GetAccountSummaryCommand({}))).SummaryMap ?? {};

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
export async function checkAccountQuotas(iam: IAMClient, declared: ReadonlyArray<[AdjustableIamQuota, number]>, summary?: AccountSummary): Promise<QuotaCheck> {
  return declaredAgainst(summary ?? (await readAccountSummary(iam)), declared);
}

function declaredAgainst(summary: AccountSummary, declared: ReadonlyArray<[AdjustableIamQuota, number]>): QuotaCheck {
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

/** Each kind of entity the compile makes: its count and quota in the summary, and the read that says whether one exists. */
const ENTITIES: ReadonlyArray<{
  kind: keyof IamEntities;
  what: string;
  used: SummaryKeyType;
  quota: SummaryKeyType;
  /** IAM's read of one entity by name (its API page: a missing one is NoSuchEntity). */
  read: (iam: IAMClient, name: string, at: { partition: string; account: string }) => Promise<unknown>;
}> = [
  { kind: 'roles', what: 'roles', used: 'Roles', quota: 'RolesQuota', read: (iam, RoleName) => iam.send(new GetRoleCommand({ RoleName })) },
  {
    kind: 'policies',
    what: 'customer managed policies',
    used: 'Policies',
    quota: 'PoliciesQuota',
    // The templates' managed policies have no Path: their ARN is policy/<name> (IAM identifiers,
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns).
    read: (iam, name, { partition, account }) => iam.send(new GetPolicyCommand({ PolicyArn: `arn:${partition}:iam::${account}:policy/${name}` })),
  },
  { kind: 'instanceProfiles', what: 'instance profiles', used: 'InstanceProfiles', quota: 'InstanceProfilesQuota', read: (iam, InstanceProfileName) => iam.send(new GetInstanceProfileCommand({ InstanceProfileName })) },
];

export interface RoomCheck {
  /** Each kind with room, as `roles 37 + 12 of 1000`: in the account, to make (at most: those read and found missing), the quota. */
  readonly room: readonly string[];
  /** Each kind the account has no room for, as advice naming the figures: the run is refused. */
  readonly short: readonly string[];
}

/**
 * Whether the account has room under IAM's quotas for the entities `made` there (the compile's, and bootstrap's own in
 * SELF_MANAGED). Those that exist already are counted in the summary: only when the account's count and all of
 * `made` are past the quota are they read by name (GetRole, GetPolicy, GetInstanceProfile), and only the missing ones
 * count. A kind the summary does not count is not checked. A read IAM refuses is thrown, as the summary's is: the setup
 * templates' roles may make them (templates/bootstrap-access.ts readOrgEntities), and a refusal through one is told
 * as any other (bootstrap.ts setupRoleRefused).
 */
export async function checkRoom(iam: IAMClient, summary: AccountSummary, made: IamEntities, at: { partition: string; account: string }): Promise<RoomCheck> {
  const room: string[] = [];
  const short: string[] = [];
  for (const e of ENTITIES) {
    const used = summary[e.used];
    const quota = summary[e.quota];
    const names = [...made[e.kind]];
    if (used === undefined || quota === undefined || names.length === 0) continue;
    if (used + names.length <= quota) {
      room.push(`${e.what} ${used} + ${names.length} of ${quota}`);
      continue;
    }
    const missing: string[] = [];
    for (const name of names) {
      try {
        await e.read(iam, name, at);
      } catch (error) {
        if (!isNoSuchEntity(error)) throw error;
        missing.push(name);
      }
    }
    if (used + missing.length <= quota) {
      room.push(`${e.what} ${used} + ${missing.length} of ${quota}`);
      continue;
    }
    const shown = missing.slice(0, 3).join(', ') + (missing.length > 3 ? `, … ${missing.length - 3} more` : '');
    short.push(
      `the account holds ${used} ${e.what} of its quota of ${quota} (GetAccountSummary: ${e.used}, ${e.quota}), and this org makes ${missing.length} more here that are not there yet (${shown}): ${quota > used ? `past ${quota - used} of them IAM refuses the create` : 'IAM refuses the create of each'} with LimitExceeded partway through a rollout (${IAM_QUOTAS_DOC}); delete ${e.what} the account no longer needs, or request an increase of its quota for this account in Service Quotas, then run bootstrap again`,
    );
  }
  return { room, short };
}
