/**
 * Whether a target account's setup role (dist/<org>/setup/, src/setup.ts) is this compile's file, asked after a call
 * through it was refused. The user deploys the setup template, not xstack, so a compile that changed it (a new
 * repository for the SERVICE_MANAGED reader; iamQuotas, tags or another execution role for the SELF_MANAGED access
 * role) leaves the deployed role behind until the setup StackSet is updated, and its calls are refused (review
 * s33-setup M1). The role carries the digest of the file it was made from (SETUP_DIGEST_TAG) and may read it
 * (iam:GetRole on itself), so the refusal can say which it is: the file is older (update the setup StackSet), or it
 * is current and something else refuses (a service control policy, a permissions boundary, a resource's policy).
 * IAM returns a role's tags with GetRole: https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html,
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html ("Tags: A list of tags that are attached to the
 * role").
 */
import { GetRoleCommand, type IAMClient } from '@aws-sdk/client-iam';
import { errorName } from '../errors';
import { SETUP_DIGEST_TAG, type SetupTemplate } from '../setup';

export type SetupReference = Pick<SetupTemplate, 'path' | 'role' | 'digest'>;

/** What a refusal through the setup role in `account` says about the setup StackSet there; `iam` reads as that role. */
export async function setupVerdict(iam: IAMClient, orgName: string, setup: SetupReference, account: string): Promise<string> {
  const file = `dist/${orgName}/${setup.path}`;
  const update = `update the setup StackSet with this compile's ${file} (aws cloudformation update-stack-set, README "Setup templates")`;
  let deployed: string | undefined;
  try {
    const role = (await iam.send(new GetRoleCommand({ RoleName: setup.role }))).Role;
    deployed = role?.Tags?.find((t) => t.Key === SETUP_DIGEST_TAG)?.Value;
  } catch (error) {
    // A setup file from before the tag grants no read of the role itself (refused); anything else (throttling, the
    // network) says nothing about the file. Either way the advice stays conditional.
    const name = errorName(error) ?? 'Error';
    const why = ['AccessDenied', 'AccessDeniedException'].includes(name) ? `${name}; a setup file older than the tag grants no read of the role itself` : name;
    return `the role ${setup.role} is the setup template's, whose policy is that of the compile it was deployed from, and it could not read its own tag ${SETUP_DIGEST_TAG} in account ${account} (${why}): if a compile changed ${file} since, ${update}`;
  }
  const short = (digest: string) => `${digest.slice(0, 12)}…`;
  if (deployed === setup.digest) {
    // CloudFormation updates the role (its tag) before the policy beside it, and IAM applies a change after a while
    // ("Changes that I make are not always immediately visible",
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
    return `the role ${setup.role} in account ${account} is this compile's ${file} (its tag ${SETUP_DIGEST_TAG} is ${short(deployed)}): if the setup StackSet's update is still running or ended minutes ago, IAM may not apply its policy yet, so wait for it and run this again; if the call is still refused, something else refuses it: a service control policy, a permissions boundary, or the resource's own policy`;
  }
  const made = deployed === undefined ? `a setup file without the tag ${SETUP_DIGEST_TAG}` : `another compile's ${file} (its tag ${SETUP_DIGEST_TAG} is ${short(deployed)}, this compile's ${short(setup.digest)})`;
  return `the role ${setup.role} in account ${account} was made from ${made}: ${update}, then run this again`;
}
