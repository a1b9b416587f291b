/**
 * Managed policies a stage attaches by name to a role another stage (or the org) makes: the pipelines' policies on
 * the pipeline role, pipeline-foundation's DeployTargetArtifactsPolicy on the deployment targets' roles. CloudFormation
 * attaches an AWS::IAM::ManagedPolicy to its `Roles` when it creates or updates the policy, and nothing attaches it
 * again when the role is made anew: a role cannot be deleted while managed policies are attached to it ("you must
 * delete the items attached to the role manually, or the deletion fails ... Attached managed policies
 * (DetachRolePolicy)", https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html), so whatever deleted
 * the role detached them first, and the policy's own stack, unchanged, still reads them attached (review s50-diff
 * M1). A role made in the same template as the policy (`Roles: [Ref]`) is made again with it, and is not read here.
 *
 * What is read to tell: ListEntitiesForPolicy, which "Lists all IAM users, groups, and roles that the specified managed
 * policy is attached to" ("when EntityFilter is Role, only the roles that are attached to the specified policy are
 * returned"), paginated by Marker while IsTruncated, NoSuchEntity for a policy that is not there
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListEntitiesForPolicy.html): read by policy, so that a
 * policy its stack no longer holds (a stack deleted or changed outside CloudFormation, which drift detection answers
 * for) is told from one that is there but not attached. Its access level is List, on the policy
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html):
 * the reader role holds it for the policies of its account named here (reader-policy.ts SeePolicyAttachments).
 */
import { ListEntitiesForPolicyCommand } from '@aws-sdk/client-iam';
import { XstackError } from '../errors';
import type { Attachment } from '../iam/attached-policies';
import { roleOf, type Aws } from './clients';
import { isNoSuchEntity } from './existing-roles';
import { grantOrName, type Target } from './retained';

export { attachmentsByAccount, attachmentsOf, type Attachment } from '../iam/attached-policies';

/** A role of one account that lacks managed policies its stages attach to it, each of them there. */
export interface AttachmentFinding {
  readonly account: string;
  readonly role: string;
  /** The attachments it lacks. */
  readonly lacking: readonly Attachment[];
}

/** Accounts read at once, as existing-roles.ts reads them: a bound on connections and on IAM's request rate. */
const CONCURRENT_ACCOUNTS = 8;

/**
 * Reads the roles attached to each policy in `byAccount`'s accounts (one ListEntitiesForPolicy a policy, and its
 * pages) and returns the roles that lack one that is there, in the accounts' order, then the roles'. A policy that is
 * not there is passed over: its own stack does not hold it, which is that stack's drift. A refused read is an error
 * naming the reader and what to grant; `leftOut` may leave an account out instead.
 */
export async function missingAttachments(
  aws: Aws,
  byAccount: ReadonlyMap<string, readonly Attachment[]>,
  accounts: readonly string[],
  targetOf: (account: string) => Target,
  leftOut?: (account: string, error: unknown) => Promise<boolean>,
): Promise<AttachmentFinding[]> {
  const read = accounts.filter((a) => (byAccount.get(a)?.length ?? 0) > 0);
  const perAccount: AttachmentFinding[][] = new Array(read.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < read.length; i = next++) {
      const account = read[i];
      const wanted = byAccount.get(account)!;
      const target = targetOf(account);
      const lacking: Attachment[] = [];
      try {
        for (const policyArn of [...new Set(wanted.map((w) => w.policyArn))]) {
          const roles = await rolesAttachedTo(aws, target, policyArn);
          if (roles !== undefined) lacking.push(...wanted.filter((w) => w.policyArn === policyArn && !roles.has(w.role)));
        }
      } catch (error) {
        if (!(await leftOut?.(account, error))) throw error;
        lacking.length = 0;
      }
      perAccount[i] = [...new Set(lacking.map((a) => a.role))].map((role) => ({ account, role, lacking: lacking.filter((a) => a.role === role) }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_ACCOUNTS, read.length) }, worker));
  return perAccount.flat();
}

/** The names of the roles a managed policy is attached to, every page read; undefined when the policy is not there. */
async function rolesAttachedTo(aws: Aws, target: Target, policyArn: string): Promise<Set<string> | undefined> {
  // The credentials first: a refused AssumeRole surfaces here, before any IAM call (AssumeRoleError names the role).
  if (typeof target.credentials === 'function') await target.credentials();
  const roles = new Set<string>();
  let marker: string | undefined;
  try {
    do {
      const out = await aws
        .iam(target.credentials, target.region)
        .send(new ListEntitiesForPolicyCommand({ PolicyArn: policyArn, EntityFilter: 'Role', PolicyUsageFilter: 'PermissionsPolicy', ...(marker ? { Marker: marker } : {}) }));
      for (const r of out.PolicyRoles ?? []) if (r.RoleName) roles.add(r.RoleName);
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
  } catch (error) {
    if (error instanceof XstackError) throw error;
    if (isNoSuchEntity(error)) return undefined;
    const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'AccessDenied' || e.name === 'AccessDeniedException' || e.$metadata?.httpStatusCode === 403) {
      throw new XstackError(
        'POLICY_ATTACHMENTS_UNREADABLE',
        `account ${target.account}: could not tell which roles the managed policy ${policyArn} is attached to: ${roleOf(target.credentials) ?? 'the reader credentials'} may not iam:ListEntitiesForPolicy on it (${e.name ?? 'Error'}: ${e.message ?? ''}); ${await grantOrName(target, `grant iam:ListEntitiesForPolicy on ${policyArn}`)}`,
        { cause: error },
      );
    }
    throw error;
  }
  return roles;
}

/**
 * A finding as one line: what is missing, why nothing attaches it, and the command that does, run in the account
 * with credentials that may attach policies to the role (the policy and the role are both the account's).
 */
export function attachmentFindingText(f: AttachmentFinding, stackSetOf: (stage: string) => string): string {
  const one = f.lacking.length === 1;
  const commands = f.lacking.map((a) => `'aws iam attach-role-policy --role-name ${f.role} --policy-arn ${a.policyArn}'`);
  const stackSets = [...new Set(f.lacking.map((a) => stackSetOf(a.stage)))].join(', ');
  return (
    `account ${f.account}: role ${f.role} lacks the managed polic${one ? 'y' : 'ies'} ${f.lacking.map((a) => a.policyArn).join(', ')}, attached to it by name by ${stackSets} ` +
    `(a role made again, or detached by hand: CloudFormation attaches a managed policy only when it creates or updates it, so the policy's stack still reads it attached); ` +
    `attach ${one ? 'it' : 'them'} again with credentials of that account: ${commands.join(', then ')}`
  );
}
