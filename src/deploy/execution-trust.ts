/**
 * What deploy says when StackSets could not reach an account through its execution role (SELF_MANAGED), in the
 * same terms as the note on a stale bootstrap that plan and deploy give before any operation (bootstrapState): the
 * two are one piece of advice, one said before the rollout, one where an instance failed.
 */
import type { CompiledOrg } from '../compile';
import { bootstrapTag, type BootstrapState } from './bootstrap';

/**
 * StackSets' status reason for an account whose execution role the administration role could not assume (missing,
 * or not trusting it), or whose administration role is missing: "Account 111111111111 should have
 * 'AWSCloudFormationStackSetExecutionRole' role with trust relationship to Role
 * 'AWSCloudFormationStackSetAdministrationRole'." ("This error usually occurs when the IAM role
 * AWSCloudFormationStackSetExecutionRole or AWSCloudFormationStackSetAdministrationRole is missing": the Knowledge
 * Center's "Most common IAM permission errors in stack set", https://repost.aws/knowledge-center/cfn-iam-best-practices-stackset-resources;
 * with custom role names, hashicorp/terraform-provider-aws#15165). StackSets gives an instance no error code, only
 * this text (StackInstanceSummary StatusReason, StackSetOperationResultSummary StatusReason), so the text is matched;
 * a wording AWS changes only loses the advice: what deploy does never depends on it.
 */
const UNTRUSTED = /Account (\d{12}) should have '[^']+' role with trust relationship to Role '[^']+'/;

/**
 * The same, as STS words it when the administration role itself is not yet usable (just made, IAM not propagated):
 * "User: arn:<partition>:sts::…:assumed-role/<AdminRole>/… is not authorized to perform: sts:AssumeRole on resource:
 * arn:<partition>:iam::…:role/<ExecutionRole>" (https://github.com/cdklabs/cdk-stacksets/issues/61, review s18-deployer m3).
 */
const UNASSUMED = /assumed-role\/[^/\s]+\/\S+ is not authorized to perform: sts:AssumeRole on resource: arn:[\w-]+:iam::(\d{12}):role\/\S+/;

/** The account a failure line names as unreachable through its execution role, or undefined. */
export const untrustedAccount = (line: string): string | undefined => UNTRUSTED.exec(line)?.[1] ?? UNASSUMED.exec(line)?.[1];

/**
 * IAM is eventually consistent: a role or trust bootstrap just made may not be seen yet by the StackSets service
 * assuming it (IAM's troubleshooting page, eventual consistency, linked in the advice). Why: "There is one IAM
 * control plane for all commercial AWS Regions ... The IAM system then propagates configuration changes to the IAM
 * data planes in every enabled AWS Region" (https://docs.aws.amazon.com/IAM/latest/UserGuide/disaster-recovery-resiliency.html).
 */
const IAM_CONSISTENCY = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency';

const PROPAGATING = `IAM changes take a moment to propagate (${IAM_CONSISTENCY})`;

/** Whether the last bootstrap was made for this compile (its digest this compile's, whatever is pending beside it). */
const ranForThisCompile = (state: BootstrapState | undefined) => state === 'current' || state === 'boundary-pending' || state === 'tags-pending';

const bootstrapCommand = (compiled: CompiledOrg) => `xstack bootstrap ${compiled.org.file}`;

/**
 * What gets past an account StackSets cannot reach through its execution role, given what the last bootstrap set up.
 * Not retried within the run: StackSets gives this one reason both for an execution role bootstrap never made (an
 * account added since: no retry mends it) and for one IAM has not propagated yet (a retry would), and deploy cannot
 * tell which: even `current` says only that bootstrap was last run for this compile, not when, nor that nobody has
 * changed the role since. The rollout stops at the wave either way, and the next deploy applies the instance again
 * with one operation, a person having read why (DESIGN: no blind retries). terraform-provider-aws does retry it,
 * for up to its propagation timeout (hashicorp/terraform-provider-aws#15173), because one apply there creates the
 * roles and the instances; xstack's bootstrap is a command of its own that has ended before deploy's first read.
 */
export function executionRoleAdvice(compiled: CompiledOrg, state: BootstrapState | undefined, account: string): string | undefined {
  if (compiled.org.stackSets.permissionModel !== 'SELF_MANAGED') return undefined;
  // AWS's page gives UNTRUSTED's reason for a missing administration role too (its Knowledge Center page, above).
  const bootstrap = `run '${bootstrapCommand(compiled)}', which makes the administration role ${compiled.org.stackSets.administrationRoleName} and, in account ${account}, the execution role that trusts it, then deploy again`;
  if (state === 'stale') return `the last xstack bootstrap was made for another compile of ${compiled.org.file} (the note before the rollout), so this account may have no execution role yet: ${bootstrap}`;
  if (ranForThisCompile(state)) {
    return `xstack bootstrap set up this compile's roles, so IAM has most likely not propagated them yet (${PROPAGATING}): deploy again in a minute; if it fails again, ${bootstrap}`;
  }
  return `if this account was added since the last xstack bootstrap, it has no execution role yet: ${bootstrap}; if bootstrap ran just now, ${PROPAGATING}: deploy again in a minute`;
}

/**
 * Whether a failure line names the administration role itself, as its ARN (at any path) or its quoted name, other
 * than in the two wordings above (which name it as the one assuming an account's execution role). The whole name: a
 * role whose name only begins as it does is another (IAM names take [\w+=,.@-]; a period after the name ends the
 * sentence unless a name's character follows it).
 */
function namesAdministrationRole(compiled: CompiledOrg, line: string): boolean {
  const { permissionModel, administrationRoleName: name } = compiled.org.stackSets;
  if (permissionModel !== 'SELF_MANAGED' || untrustedAccount(line) !== undefined) return false;
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`:role/(?:[\\w+=,.@/-]*/)?${escaped}(?![\\w+=,@-]|\\.[\\w+=,.@-])|'${escaped}'`).test(line);
}

/**
 * Whether a failure line is StackSets not reaching an account through its roles (the execution role, or the
 * administration role itself): its advice is bootstrap's (withExecutionRoleAdvice), not what the stack needs, and the
 * stack is not read for it.
 */
export const unreachedThroughRoles = (compiled: CompiledOrg, line: string): boolean => untrustedAccount(line) !== undefined || namesAdministrationRole(compiled, line);

/**
 * What gets past a failure that names the administration role itself (namesAdministrationRole): CloudFormation could
 * not use the role bootstrap makes in the administrator account, as on a deploy run right after the bootstrap that
 * made it, before IAM has propagated it (IAM_CONSISTENCY; review s61-deployer m1). AWS's page documents one reason for
 * a missing administration role, UNTRUSTED's, whose advice names both roles (executionRoleAdvice); no page quotes any
 * other, so a line naming the role, as its ARN or quoted, gets this advice; a wording that names it otherwise only
 * loses the advice.
 */
export function administrationRoleAdvice(compiled: CompiledOrg, state: BootstrapState | undefined, line: string): string | undefined {
  if (!namesAdministrationRole(compiled, line)) return undefined;
  const name = compiled.org.stackSets.administrationRoleName;
  const bootstrap = `run '${bootstrapCommand(compiled)}', which makes the administration role ${name} and its trust of CloudFormation, then deploy again`;
  if (ranForThisCompile(state)) {
    return `xstack bootstrap set up this compile's roles, so IAM has most likely not propagated the administration role yet (${PROPAGATING}): deploy again in a minute; if it fails again, ${bootstrap}`;
  }
  return `${bootstrap}; if bootstrap ran just now, ${PROPAGATING}: deploy again in a minute`;
}

/**
 * Each failure line naming an account StackSets could not reach through its execution role, or naming the
 * administration role, with what gets past it.
 */
export function withExecutionRoleAdvice(compiled: CompiledOrg, state: BootstrapState | undefined, line: string): string {
  const account = untrustedAccount(line);
  const advice = account ? executionRoleAdvice(compiled, state, account) : administrationRoleAdvice(compiled, state, line);
  // AWS's sentence ends with a period; the advice follows it as every note in the summary does, after a colon.
  return advice ? `${line.replace(/\.$/, '')}: ${advice}` : line;
}

/** Said before any operation when the administration role's tags could not be read: a stale bootstrap would go unsaid. */
export function unreadableBootstrapNote(compiled: CompiledOrg): string {
  return (
    `note: could not read the tags of role ${compiled.org.stackSets.administrationRoleName} (iam:ListRoleTags), where bootstrap records what it set up, ` +
    `so whether the last xstack bootstrap was made for this compile is not known; if accounts or names changed since, run '${bootstrapCommand(compiled)}' before deploying`
  );
}

/**
 * Said before any operation when the last bootstrap was made for this compile but, roles the StackSets deployed then
 * lacking the org's permissions boundary, granted the execution role's role writes without the condition that holds
 * them to it (execution-policy.ts boundedRoleActions): a bootstrap after the deploy that gives them the boundary adds it.
 */
export function boundaryPendingNote(compiled: CompiledOrg): string {
  return (
    `note: the last xstack bootstrap granted the execution roles their role writes (iam:CreateRole, the boundary, policy, trust and delete writes) without the condition on the permissions boundary ${compiled.org.permissionsBoundary ?? ''}, as roles the StackSets deployed then lacked it; ` +
    `once a deploy has given every role the boundary, run '${bootstrapCommand(compiled)}' to hold the execution roles to it`
  );
}

/**
 * Said before any operation when the last bootstrap set up this compile's policy, but not the org file's tags as they
 * are now on its roles and managed policies (bootstrap.ts tagsStamp): nothing is refused for it.
 */
export function tagsPendingNote(compiled: CompiledOrg): string {
  return `note: the org file's tags have changed since the last xstack bootstrap, which puts them on the roles, managed policies and template bucket it makes (the StackSets get them with this deploy); run '${bootstrapCommand(compiled)}' to tag those too`;
}

/**
 * Said before any operation when the last bootstrap was made for another compile (bootstrap.ts bootstrapDigest).
 * Bootstrap comes first: a new account has no execution role, and the policy names only what the compiled templates
 * and the deployed ones create, so what the deploy removes keeps its permissions; a bootstrap after that deploy drops
 * them (command.ts checkBootstrap).
 */
export function staleBootstrapNote(compiled: CompiledOrg): string {
  const file = compiled.org.file;
  return (
    `note: the last xstack bootstrap (tag ${bootstrapTag(compiled.org.prefix)} on role ${compiled.org.stackSets.administrationRoleName}) set up the execution roles and their policies for another compile of ${file}. ` +
    `Run '${bootstrapCommand(compiled)}' before deploying ('--dry-run' shows what it changes), or what this compile adds is refused on AWS; ` +
    `it keeps what the StackSets deployed now create, so the deploy may still delete what it removes: run it again after a deploy that removed names or accounts, to drop them`
  );
}
