/**
 * The auditor's report, as data: sections of paragraphs, lists and tables,
 * rendered to Markdown (code review) and to self-contained HTML (no network,
 * no script). Everything in it is derived from the compile: the stages, the
 * resolved grants, the access proof, the checks, the file hashes.
 */
import { ADJUSTABLE_IAM_QUOTAS } from '../limits';
import { boundaryArnIn } from '../iam/permissions-boundary';
import { READER_ACTIONS } from '../iam/reader-actions';
import { NOT_TAGGED_ON_CREATE } from '../aws/tags';
import { keptOnDelete } from '../cfn/deletion-policy';
import type { CfnTemplate } from '../cfn/template';
import { CHECK_FAMILIES, CHECKED_RULES } from '../checks/policy-checks';
import { SERVICE_MANAGED_EXECUTION_ROLE, type DeveloperAccess, type Org } from '../org/model';
import type { Rollout } from '../stages/graph';
import { stageLabel, type Stage } from '../stages/model';
import { conditionClauses, type PrincipalRef, type ResolvedStatement } from './grants';
import { sha256 } from '../hash';
import { weight } from './classes';
import { isForeignPrincipal, pathResult, type AccessAnalysis, type AccessResult } from './paths';
import { resultsByPath } from './results-by-path';
import { accountOf, describeRefusal, sideOutside } from './evaluate';
import { hasToken } from './symbolic';
import { orgResources, classesOf, reachOfResources, REACH_ORDER, type OrgResource, type ReachEntry, type ResourceKind } from './reach';
import { scopeSection } from './scope';
import { bootstrapGrants, ROLE_REWRITES } from './execution-reach';
import { releaseControlSection } from './release';
import { wildcardRows, wildcardsUsedIn } from './wildcard-rows';
import { wildcardContext, type WildcardUse } from '../iam/wildcards';
import { networkSection, networkSummary } from './network';
import { listIn, madeOnce } from '../memo';
import { ACCOUNT_PLACEHOLDER, ACCOUNTS_LISTED, describeAccounts, describePrincipal, describePrincipals, generalise, mergeAccountRows, teamFold, teamsToFold, type Row, type TeamFold } from './scale';
import { foldByTeam, SOURCE_PLACEHOLDER, TEAM_ID_PLACEHOLDER, TEAM_PLACEHOLDER, type Team, type Teams } from './teams';
import { logicalId } from '../cfn/resources';
import { accountPolicies, targetAccounts, type ExecutionStatement, type PipelineNames } from '../deploy/execution-policy';
import { ACCOUNT_ID_SHAPE, Names, rolePolicy } from '../naming';
import { OTHER_ACCOUNT } from '../services/needs';

export type Cell = string | { text: string; href: string };
export type Block =
  | { kind: 'p'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; head: string[]; rows: Cell[][]; /** A class for a row (the HTML marks refused rows). */ rowClass?: (row: Cell[]) => string | undefined }
  | { kind: 'svg'; file: string; svg: string };
export interface Section {
  id: string;
  title: string;
  level: 2 | 3;
  blocks: Block[];
}
export interface Report {
  title: string;
  sections: Section[];
}

/**
 * A statement part's text, made once per part: the parts no account changes
 * are one shared object across a stage's accounts (see Resolver.compile).
 */
const once = <K extends object>(text: (part: K) => string) => madeOnce(text, new WeakMap<K, string>());
const listed = once((values: readonly string[]) => values.join(', '));
const conditions = once((c: ResolvedStatement['conditions']) => conditionClauses(c).join('; ') || '—');
const stageLink = (id: string): Cell => ({ text: id, href: `#stage-${id}` });

/**
 * What the template chooses by account (a StackSet has one parameter set:
 * src/cfn/account-switch.ts): each account's value, listed up to
 * ACCOUNTS_LISTED accounts, beyond that by value with how many accounts get it.
 */
function accountValueTable(stage: Stage, fold: TeamFold | undefined): Block {
  const name = new Map(stage.targets.map((a) => [a.id, a.name]));
  if (stage.targets.length <= ACCOUNTS_LISTED) {
    return {
      kind: 'table',
      head: ['chosen by account', 'value per account (org file)'],
      rows: stage.accountValues.map((v) => [v.name, [...v.byAccount].map(([id, x]) => `${name.get(id)}: ${x.value} (${x.origin})`).join('; ')]),
    };
  }
  return {
    kind: 'table',
    head: ['chosen by account', `values (each of the ${stage.targets.length} accounts: values/${stage.id}.json)`],
    // A value each team's unit chooses alike (its pipeline's branch in each environment): one row for those teams.
    rows: mergeAccountRows(
      stage.accountValues,
      (v) => ({ cells: [v.name, valuesWithAccounts(v, name)], account: '', merge: false, team: fold?.teams.namedIn(v.name) }),
      fold,
    ),
  };
}

/**
 * Each value with the accounts that get it, by name up to ACCOUNTS_LISTED of them (`develop (t005-dev)`, which a team
 * folds to `develop ({team}-dev)`), else how many: a folded row still says which environment deploys which branch
 * (review s18-audit M2 d).
 */
function valuesWithAccounts(v: Stage['accountValues'][number], name: ReadonlyMap<string, string>): string {
  const byValue = new Map<string, string[]>();
  for (const [id, x] of v.byAccount) listIn(byValue, x.value).push(id);
  return [...byValue]
    .map(([value, ids]) => `${value} (${ids.length <= ACCOUNTS_LISTED ? ids.map((id) => name.get(id) ?? id).join(', ') : `${ids.length} accounts`})`)
    .join('; ');
}

/**
 * The statements that grant a path's actions, as one list: a path has one result per action, in order, and they share
 * one granting list when the statements are the same (see analyseAccess), mostly for all of them; else the lists met, in order, one after another.
 */
function grantingList(results: readonly AccessResult[]): readonly ResolvedStatement[] {
  const first = results[0].grantedBy;
  if (results.every((r) => r.grantedBy === first)) return first;
  return [...new Set(results.map((r) => r.grantedBy))].flat();
}

/** Where a resource's exceptions to the least-privilege rules and its scanner suppressions are written, with their reasons. */
interface ResourceMetadata {
  xstack?: { exceptions?: Array<{ rule: string; statement: string; reason: string }> };
  checkov?: { skip?: Array<{ id: string; comment: string }> };
}

/** An allowed path proved on one side only, the other side's policies being outside the org file: said in its row. */
function outsideNote(results: readonly AccessResult[]): string {
  const sides = new Set(results.map((r) => sideOutside(r.reason)));
  return (
    (sides.has('identity') ? '; identity side outside the org file (see "What this report cannot see")' : '') +
    (sides.has('resource') ? "; resource side AWS's own, its policy outside the org file" : '')
  );
}

const UNDECIDED_NOTE = "; identity side: bootstrap's policy does not grant it, and a policy attached to the role outside the org file decides";

/** A row's class in the page: refused, or undecided (review s50-audit n2: an undecided row looked allowed). */
const resultRowClass = (row: Cell[]) => (row.includes('refused') ? 'refused' : row.includes('undecided') ? 'undecided' : undefined);

const KIND_TITLES: Record<ResourceKind, string> = {
  key: 'KMS keys',
  bucket: 'S3 buckets',
  repository: 'CodeCommit repositories',
  role: 'IAM roles',
  'event-bus': 'Event bus policies',
  'instance-profile': 'Instance profiles',
  queue: 'SQS queues',
};

/** Each kind in words, singular and plural, in the order the summary and "Who can act on each resource" name them (the only queues are the events dead-letter queues, src/cfn/dead-letter.ts). */
const KIND_WORDS: Record<ResourceKind, readonly [one: string, many: string]> = {
  key: ['key', 'keys'],
  bucket: ['bucket', 'buckets'],
  repository: ['repository', 'repositories'],
  role: ['role', 'roles'],
  'event-bus': ['event bus policy', 'event bus policies'],
  queue: ['events dead-letter queue', 'events dead-letter queues'],
  'instance-profile': ['instance profile', 'instance profiles'],
};
/** "a, b and c" of the kinds' words, singular (0) or plural (1). */
const kindsText = (n: 0 | 1): string => {
  const words = Object.values(KIND_WORDS).map((w) => w[n]);
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
};

/**
 * The execution role CloudFormation deploys every stage as, with what
 * `xstack bootstrap` grants it: derived from these templates, each action on
 * the ARNs they name (placeholders for partition, account and region), and a
 * reason where a statement is broader. Not AdministratorAccess.
 */
/** A service-managed execution role in words: StackSets' own, or the one the org's custom execution role template makes. */
function serviceManagedRole(org: Org): string | undefined {
  if (org.stackSets.permissionModel !== 'SERVICE_MANAGED') return undefined;
  return org.stackSets.executionRoleName === SERVICE_MANAGED_EXECUTION_ROLE
    ? `${SERVICE_MANAGED_EXECUTION_ROLE}, made by StackSets itself with AdministratorAccess: the org file asks for service-managed permissions`
    : `${org.stackSets.executionRoleName}, made by the org's custom execution role template for service-managed StackSets, with the permissions that template gives it`;
}

/**
 * What the policy's shapes reach beyond the org's own names, said rather than left to be found: the source roles'
 * shape always (any 12 characters, where the org has account ids), the pipeline names' shapes when the policy uses them.
 */
function shapesText(org: Org, pipelineNames: PipelineNames | undefined): string {
  const names = new Names(org.prefix);
  const source = names.sourceRole(ACCOUNT_ID_SHAPE);
  const account =
    `The source roles, one per pipeline account, are named by the shape \`${source}\` (and their policies \`${rolePolicy(source, '*')}\`): IAM's \`?\` is any one character and it has no digit wildcard, so the role also reaches a role of another owner named \`${names.sourceRole('')}\` and exactly 12 more characters, and nothing shorter or longer (\`${names.sourceRole('legacy')}\` is refused, below). ` +
    "IAM's wildcards match `/` too, so each shape would also fit a role or policy on a path, or a rule on another event bus: an explicit Deny in the same policy refuses those (the *NoPathedNames statements).";
  if (pipelineNames?.names !== 'shapes') {
    return `${account} Every name keyed by a pipeline (its roles, policies, pipeline, CodeDeploy application and group, trigger rule) is written out exactly: the policy so written takes ${pipelineNames?.packs ?? 'its'} of the ${pipelineNames?.quota ?? 10} managed policies IAM attaches to a role.`;
  }
  const s = names.shapes(true);
  return (
    `${account} The names keyed by a pipeline are named by shape too, reached by design: ${pipelineNames.why}. ` +
    `So in every target account the role may create, change and delete any role named ${s.role.slice(1).map((x) => `\`${x}\``).join(' or ')}, any managed policy named ${s.managedPolicy.slice(0, 1).concat(s.managedPolicy.slice(2)).map((x) => `\`${x}\``).join(', ')}, any pipeline, CodeDeploy application and deployment group named \`${s.pipeline[0]}\`, and any rule named \`${s.rule[0]}\`, ` +
    `including those another team or tool gave with the prefix, and attach any policy to those roles: names of these forms in the target accounts are the org's to give (raise iamQuotas.managedPoliciesPerRole, which AWS approves up to ${ADJUSTABLE_IAM_QUOTAS.managedPoliciesPerRole.approved}, to keep exact names). ${pipelineNames.packs} managed policies.`
  );
}

/** IAM actions by which whoever holds them on a role decides what that role may do and who may act as it. */
const ROLE_POWERS = [...ROLE_REWRITES, 'iam:PutRolePermissionsBoundary', 'iam:DeleteRolePermissionsBoundary'];

/**
 * What administering the org's roles amounts to, said plainly: no statement holds a condition on which policy (no
 * iam:PolicyARN), so the role may write any policy and any trust on the roles it manages. With the org's permissions
 * boundary (execution-policy.ts boundedRoleActions) those writes hold only on roles that have it; a statement without
 * the condition (the org file's instance roles, IamAttachToInstanceRoles) is named as such.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachRolePolicy.html
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAssumeRolePolicy.html
 */
function rolePowersText(statements: ReadonlyArray<{ Sid: string; Effect?: string; Action: readonly string[]; Condition?: Readonly<Record<string, Readonly<Record<string, string>>>> }>, refusals: boolean): string | undefined {
  const holding = statements.filter((s) => s.Effect !== 'Deny' && s.Action.some((a) => ROLE_POWERS.includes(a)));
  if (holding.length === 0) return undefined;
  const powersOf = (of: typeof holding) => ROLE_POWERS.filter((p) => of.some((s) => s.Action.includes(p)));
  const powers = powersOf(holding);
  const boundaryOf = (s: (typeof holding)[number]) => s.Condition?.StringEquals?.['iam:PermissionsBoundary'];
  // The boundary every role the templates create keeps (execution-policy.ts boundedRoleActions): set only with it,
  // never removed, and the role written only while it has it.
  const bounded = holding.filter((s) => boundaryOf(s) !== undefined);
  const free = holding.filter((s) => boundaryOf(s) === undefined);
  const boundary = bounded.map(boundaryOf).find((b) => b !== undefined);
  const kept = boundary !== undefined && !powers.includes('iam:DeleteRolePermissionsBoundary');
  const allow = (of: typeof holding) => `${of.map((s) => s.Sid).join(', ')} allow${of.length === 1 ? 's' : ''}`;
  const anyPolicy = powers.includes('iam:AttachRolePolicy') ? ' (iam:AttachRolePolicy takes any managed policy, AdministratorAccess included)' : '';
  const guard = (refusals ? 'The refusals below bound which roles and policies it can change, not what it can make them do. ' : '') + 'Guard the StackSet administration account and the roles that can run StackSets operations as you would the target accounts\' administrators.';
  if (!kept) {
    return (
      `What administering the org's roles amounts to: ${allow(holding)} ${powers.join(', ')} on every role ${holding.length === 1 ? 'it names' : 'they name'}, with no condition on which policy${anyPolicy} and no permissions boundary to keep. ` +
      'So the role can write any permissions and any trust on those roles, and whoever can act as it can give one of those roles, and any principal that role is then made to trust, inside the org or outside it, every permission in the account: it is in effect an administrator of those roles and of everything they can reach in its account. ' +
      guard
    );
  }
  return (
    `What administering the org's roles amounts to: ${allow(bounded)} ${powersOf(bounded).join(', ')} on every role ${bounded.length === 1 ? 'it names' : 'they name'}, with no condition on which policy${anyPolicy}, ` +
    `but only where the role's permissions boundary is the org's (${boundary}): a role is created, or given a boundary, with the org's permissions boundary only, which it cannot remove, and its policies and trust are written, and it is deleted, only while it has it` +
    (free.length > 0 ? `; ${allow(free)} ${powersOf(free).join(', ')} without that condition, on roles no template creates (the org file's instance roles, or roles it no longer lists that a deployed managed policy is still attached to), whose boundary is the org's to give` : '') +
    '. ' +
    "So the role can write any permissions and any trust on the roles it created, up to what the boundary allows (its text is the org's, not read here), and whoever can act as it can give one of them, and any principal it is then made to trust, inside the org or outside it, every permission of the boundary in the account: it is in effect an administrator of those roles, within the boundary. " +
    'A role of those names that exists without the boundary (made by hand) is refused those writes' +
    (free.length > 0 ? ', while the roles the org file names may be given any managed policy whatever their boundary' : '') +
    '; iam:TagRole and iam:UntagRole carry no condition, as IAM does not check them against the boundary. ' +
    guard
  );
}

type ExecutionStatementText = NonNullable<Exclude<ReportInput['executionRole'], { error: string }>>['statements'][number];

/**
 * A resource that names every resource of its kind in the account and Region, not one of the org's: `*`, or an ARN
 * of the policy's account ending in `:*` or `:<type>/*` (key/*, deploymentconfig:*).
 */
const ACCOUNT_WIDE = /^\*$|\$\{AWS::AccountId\}:(?:[A-Za-z-]+[/:])?\*$/;

/**
 * Of a statement's actions, those that delete, disable, detach, revoke, release, replace or modify, open a security
 * group, add a route, schedule a deletion or replace a policy: by their verb (the account's networks and audit
 * evidence are what is at stake, review s22-diff D6), and the few whose name does not say it replaces a policy.
 * ModifyVpcEndpoint takes "PolicyDocument: A policy to attach to the endpoint"
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyVpcEndpoint.html); EventBridge's PutPermission and
 * RemovePermission write the permission policy of the event bus they name ("Running PutPermission permits the
 * specified AWS account or AWS organization to put events to the specified event bus … The permission policy on the
 * event bus cannot exceed 10 KB": https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutPermission.html).
 */
// ec2:CreateLaunchTemplateVersion adds a version to any launch template of the account, which whatever launches with
// $Latest (an Auto Scaling group, a fleet) then runs, with any instance profile and user data it names: EC2 checks
// neither when the version is made ("You can't use resource-level permissions to restrict the resources that users
// can specify in a launch template when they create a launch template or launch template version",
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/permissions-for-launch-templates.html; review s25-imds M1).
const DESTRUCTIVE_VERB = /^[a-z0-9-]+:(?:Delete|Disable|Detach|Disassociate|Revoke|Release|Replace|Modify|Authorize|CreateRoute\b|CreateLaunchTemplateVersion\b|Schedule\w*Deletion|Put\w*Policy)/;
const POLICY_REPLACING = new Set(['ec2:ModifyVpcEndpoint', 'events:PutPermission', 'events:RemovePermission']);
const destructive = (action: string) => DESTRUCTIVE_VERB.test(action) || POLICY_REPLACING.has(action);

/**
 * What an account-wide resource reaches, in words. A KMS key is reached by IAM alone where its key policy delegates
 * to the account, which AWS's default key policy does: it "gives the AWS account that owns the KMS key permission to
 * use IAM policies to allow access to all AWS KMS operations on the KMS key"
 * (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
 */
function accountWideReach(resource: string, actions: readonly string[]): string {
  if (resource === '*') {
    const services = [...new Set(actions.map((a) => a.slice(0, a.indexOf(':'))))];
    if (services.length === 1 && services[0] === 'events') return 'the permission policy of every event bus of the account and Region';
    return `every ${services.join(' or ')} resource of the account and Region these actions take (IAM accepts only "*" for them)`;
  }
  // The placeholders hold colons of their own (${AWS::Region}): read the service once they are out of the way.
  const service = resource.replace(/\$\{AWS::[A-Za-z]+\}/g, 'x').split(':')[2];
  const type = /:([A-Za-z-]+)[/:]\*$/.exec(resource)?.[1];
  if (service === 'kms' && type === 'key') return "every KMS key of the account and Region whose key policy lets IAM policies allow access, as AWS's default key policy does (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html)";
  if (service === 'ec2') return 'every EC2 resource of the account and Region (every VPC, subnet, route table, gateway, endpoint, security group and flow log among them)';
  if (service === 'logs') return 'every CloudWatch Logs resource of the account and Region (every log group among them)';
  return `every ${service} ${type ?? 'resource'} of the account and Region`;
}

/**
 * The statements that are not limited to the org's resources (review s22 A2): each with what it reaches, where its
 * account holds it, and the actions among its own that `destructive` picks. Said, not narrowed:
 * narrowing by the stack tags CloudFormation propagates needs a sandbox check first (README "Not yet").
 */
function accountWideBlocks(org: Org, statements: readonly ExecutionStatementText[]): Block[] {
  const rows = statements.flatMap((s) => {
    // Held to a tag the org's resources carry (execution-policy.ts launchTemplateStatements): not every resource of
    // the kind; the statement's row above shows its condition.
    if (s.Effect === 'Deny' || Object.values(s.Condition ?? {}).some((keys) => Object.keys(keys).some((k) => /^aws:(Resource|Request)Tag\//.test(k)))) return [];
    const wide = s.Resource.filter((r) => ACCOUNT_WIDE.test(r));
    const harmful = s.Action.filter(destructive);
    if (wide.length === 0 || harmful.length === 0) return [];
    const accounts = [...new Set(wide.flatMap((r) => [...(s.scope?.get(r) ?? [])]))];
    return [[s.Sid, wide.map((r) => accountWideReach(r, s.Action)).join('; '), accounts.length > 0 ? describeAccounts(org, accounts) : 'every account', harmful.join(', ')]];
  });
  if (rows.length === 0) return [];
  return [
    {
      kind: 'p',
      text: `Not limited to the org's resources: ${rows.map(([sid]) => sid).join(', ')} name every resource of a kind in the account and Region, not the org's, so in the accounts whose policy holds them they reach other teams' and tools' resources too, with the actions listed (each statement's own, of those that delete, disable, detach, revoke, release, replace or modify, open a security group, add a route, add a version to a launch template, schedule a deletion or replace a policy). A key whose own policy does not delegate to IAM is out of reach; nothing else in these statements tells the org's resources from the rest.`,
    },
    { kind: 'table', head: ['statement', 'what it reaches', 'accounts that hold it', 'actions that delete, detach, open, redirect, replace or add a version'], rows },
  ];
}

/** The role bootstrap makes beside the execution role for xstack's own reads (src/deploy/reader-policy.ts). */
function readerRoleText(org: Org): string {
  const reader = new Names(org.prefix).outputReaderRole();
  return (
    `\`xstack bootstrap\` trusts on it the administration role alone (and, after \`bootstrap --allow-delete-retained\`, the identity that ran that, for \`destroy --delete-retained\`), where it writes the trust: one it leaves as it is (changed by hand, or in an account the org file no longer targets) keeps whom it trusts. ` +
    `The identities that run xstack read each target account with another role it makes there, ${reader}, which may only read: ${READER_ACTIONS.join(', ')}, on the org's instance stacks, the buckets and repositories its templates retain in that account, the roles the org file names and those its templates make (whether one is left in the way before a stack deleted outside StackSets is made again), and the managed policies its templates attach by name to roles another template makes (which roles they are attached to), besides the name and status of every stack of the account (ListStacks takes no resource) (its policy, by account: src/deploy/reader-policy.ts).`
  );
}

/**
 * Each account's execution role policy (review s30-audit m1): which of the union's statements it holds and, of those
 * that name resources by account, which of them. Accounts whose policies read alike, a team's names as `{team}`, are
 * one row, as bootstrap writes one policy per account (execution-policy.ts accountPolicies).
 */
function accountPolicyBlocks(org: Org, statements: readonly ExecutionStatement[], accounts: readonly string[], teams: Teams | undefined): Block[] {
  if (accounts.length === 0) return [];
  const union = new Map(statements.map((s) => [s.Sid, s.Resource.length]));
  const rows = new Map<string, string[]>();
  for (const group of accountPolicies(statements, accounts)) {
    // The group's policy reads the same for each of its accounts of one team (or of none): written once for each.
    const textFor = madeOnce((team: Team | undefined) =>
      group.statements
        .map((s) => {
          const sid = s.Effect === 'Deny' ? `${s.Sid} (Deny)` : s.Sid;
          if (s.Resource.length === union.get(s.Sid)) return sid;
          const names = s.Resource.map((r) => arnTail(team ? team.toPlaceholders(r) : r));
          return `${sid} (${names.join(', ')})`;
        })
        .join('; '),
    );
    for (const account of group.accounts) listIn(rows, textFor(teams?.teamOf(account))).push(account);
  }
  return [
    {
      kind: 'p',
      text: `Each account's policy, ${org.stackSets.permissionModel === 'SERVICE_MANAGED' ? 'as a self-managed execution role there would hold it (bootstrap writes none with service-managed StackSets)' : 'as `xstack bootstrap` writes it in that account'}: the statements above it holds, and for a statement whose resources differ by account, those of its own (the ARN from its resource part${teams ? '; `{team}` is the team of the account' : ''}). A statement named alone holds every resource listed above.`,
    },
    { kind: 'table', head: ['accounts', "statements of the account's policy"], rows: [...rows].map(([text, ids]) => [describeAccounts(org, ids), text]) },
  ];
}

/** An ARN from its resource part on (`role/acme-ci-instance`, a bucket's name): the statement's row above gives the rest. */
const arnTail = (arn: string) => ARN_FIELDS.exec(arn)?.[1] ?? arn;
/** partition, service, Region and account (each may be a `${AWS::…}` of the Sub form, whose `::` is not a separator), then the resource. */
const ARN_FIELDS = /^arn:(?:\$\{AWS::Partition\}|[^:]*):[^:]*:(?:\$\{AWS::Region\}|[^:]*):(?:\$\{AWS::AccountId\}|[^:]*):(.*)$/s;

function executionRoleSection(org: Org, role: NonNullable<ReportInput['executionRole']>, teams: Teams | undefined, accounts: readonly string[]): Section {
  const intro =
    `CloudFormation creates, changes and deletes every resource above as the StackSet execution role of each account (${serviceManagedRole(org) ?? org.stackSets.executionRoleName}). ` +
    (org.stackSets.permissionModel === 'SERVICE_MANAGED'
      ? 'xstack cannot narrow a service-managed execution role; the policy below is what a self-managed one would be given.'
      : `\`xstack bootstrap\` gives it exactly the statements below, derived from these templates: the actions CloudFormation's handlers need for the resource types they contain, each on the ARNs of the resources they name (by the shape of a name where it varies with an account, such as \`${new Names(org.prefix).sourceRole(ACCOUNT_ID_SHAPE)}\`, so that the policy does not grow with the accounts); a statement that is broader says why. The statements below are the union of every account's: each account's policy holds, of the named resources and of the statements that are account-wide (EC2, KMS keys and the like), only those of the resources its own stack instances create (each resource's condition on the account); each service's read-only actions without resource types where a template creates a type whose handlers call them; CloudFormation's own reads, its statement and the Denies are in every account, but for a Deny that narrows an Allow of some accounts only, which goes with it (the table by account below). In each target account bootstrap writes them as the managed policies ${new Names(org.prefix).executionPolicy(1)}, ${new Names(org.prefix).executionPolicy(2)}, … attached to the role, with the statements the templates deployed there still use until a deploy no longer needs them: no file of this folder holds the documents, so compare each account's with \`aws iam list-attached-role-policies --role-name ${org.stackSets.executionRoleName}\` and \`aws iam get-policy-version\` (review s50-audit m5).`);
  if ('error' in role) return { id: 'execution-role', title: 'The StackSet execution role', level: 2, blocks: [{ kind: 'p', text: `${intro} Not derivable for this org: ${role.error}` }] };
  return {
    id: 'execution-role',
    title: 'The StackSet execution role',
    level: 2,
    blocks: [
      { kind: 'p', text: intro },
      ...(org.stackSets.permissionModel === 'SELF_MANAGED' ? [{ kind: 'p' as const, text: readerRoleText(org) }] : []),
      ...[rolePowersText(role.statements, role.outside !== undefined)].filter((text) => text !== undefined).map((text): Block => ({ kind: 'p', text })),
      { kind: 'p', text: shapesText(org, role.pipelineNames) },
      {
        kind: 'table',
        head: ['statement', 'actions', 'resources', 'why broader'],
        rows: role.statements.map((s) => [
          s.Effect === 'Deny' ? `${s.Sid} (Deny)` : s.Sid,
          s.Action.join(', '),
          (teams ? foldByTeam(s.Resource, teams) : s.Resource).join(', ') + (s.Condition ? `, when ${Object.entries(s.Condition).flatMap(([op, keys]) => Object.entries(keys).map(([key, value]) => `${op} ${key} = ${value}`)).join(' and ')}` : ''),
          s.reason ?? '—',
        ]),
      },
      ...accountWideBlocks(org, role.statements),
      ...accountPolicyBlocks(org, role.statements, accounts, teams),
      ...(role.outside
        ? [
            {
              kind: 'p' as const,
              text:
                role.pipelineNames?.names === 'shapes'
                  ? "Outside the org's names, asked of the access proof's evaluator against the statements above, as one target account would hold all of them (each account's policy is part of them, and each Deny is in every account that holds the Allow it narrows): each is proved refused but those the pipeline names' shapes reach by design, marked so with the reason; those are the names any team or tool in a target account may give with the prefix."
                  : 'Outside the org\'s names, proved refused by the access proof\'s evaluator against the statements above, as one target account would hold all of them (each account\'s policy is part of them, and each Deny is in every account that holds the Allow it narrows):',
            },
            {
              kind: 'table' as const,
              head: ['action', 'resource', 'decision'],
              rows: role.outside.map((r) => [r.action, r.resource, r.byDesign ? `allowed by ${r.allowedBy}: ${r.byDesign}` : r.allowedBy ? `allowed by ${r.allowedBy}` : 'refused']),
            },
          ]
        : []),
    ],
  };
}

/**
 * Beyond ACCOUNTS_LISTED pipeline accounts, what one account makes for each
 * pipeline account (a source role, its grants) is folded by that account:
 * `madeFor` is the one pipeline account, or class token, a text of a
 * statement or resource of another account names.
 */
interface PipelineMembers {
  many: boolean;
  madeFor(ownerAccount: string, text: string): string | undefined;
}

function pipelineMembers(org: Org, access: AccessAnalysis): PipelineMembers {
  const ids = new Set(org.accounts.filter((a) => a.role === 'pipeline').map((a) => a.id));
  const tokens = new Set([...classesOf(access).values()].map((c) => c.token));
  const many = ids.size > ACCOUNTS_LISTED;
  const isMember = (id: string) => ids.has(id) || tokens.has(id);
  return {
    many,
    madeFor(owner, text) {
      if (!many || isMember(owner)) return undefined;
      // The one member named, read match by match (this runs for every row of the report).
      let named: string | undefined;
      MEMBER_MARKS.lastIndex = 0;
      for (let m = MEMBER_MARKS.exec(text); m; m = MEMBER_MARKS.exec(text)) {
        const id = m[0];
        if (id === named || !isMember(id)) continue;
        if (named !== undefined) return undefined;
        named = id;
      }
      return named;
    },
  };
}

/** A class's token or an account id, as a pipeline member is named in a text (global: madeFor resets it before each text). */
const MEMBER_MARKS = /\uE000.|\d{12}/g;

/** "Who can act on each resource": one table per kind of resource, a row per resource, reach and principal. */
function reachSections(
  org: Org,
  classes: ReadonlyMap<string, readonly string[]>,
  reach: readonly ReachEntry[],
  targetCount: ReadonlyMap<string, number>,
  stageName: (stageId: string) => string,
  members: PipelineMembers,
  fold: TeamFold | undefined,
  /** Whether the execution role's rows hold its own policy's actions (bootstrap's), not only its deployments. */
  executionListed: boolean,
): Section[] {
  const madeFor = (e: ReachEntry): string | undefined => (e.resource.accounts === undefined ? members.madeFor(e.resource.account, e.principal) : undefined);
  const resourceText = once((r: OrgResource) => `${r.arn} (${stageName(r.stage)}: ${r.logicalId})`);
  const sections: Section[] = [
    {
      id: 'reach',
      title: 'Who can act on each resource',
      level: 2,
      blocks: [
        {
          kind: 'p',
          text:
            `For every ${kindsText(0)} the org creates: every principal the compiled policies let use it (data plane, reads), administer it (change its policy, configuration or lifecycle) or assume it, with the statements that allow it on each side, decided by the same evaluator as the access matrix. ` +
            (executionListed
              ? '"own policy outside the org file" marks a principal whose IAM policies are not in the templates (key administrators, IAM Identity Center roles): the resource side is proved, and what the principal may do beyond it is for the tools named under "What this report cannot see". The StackSet execution role\'s rows are asked of the policy `xstack bootstrap` writes for it (listed under "The StackSet execution role"), as its identity side: they list what that policy and the resource\'s own policy allow together, not all a key policy admits it to; another org\'s policies on a role both orgs share (bootstrap reports them) and any other policy attached to it are outside this report. '
              : '"own policy outside the org file" marks a principal whose IAM policies are not in the templates (key administrators, IAM Identity Center roles, the StackSet execution role, which is StackSets\' own): the resource side is proved, and what the principal may do beyond it is for the tools named under "What this report cannot see". ') +
            'An explicit Deny that refuses some of a row\'s actions under its conditions (such as a push to a protected branch, or a request without TLS) is named in the last column: "refused … where …". ' +
            'Every resource is also administered by the StackSet execution role of its account, which CloudFormation acts as when it deploys the stage ("cloudformation:* (deploys the stage)"); ' +
            (executionListed
              ? 'its row also lists what the policy `xstack bootstrap` gives it allows on the resource directly, outside any deployment, each statement as "bootstrap: <Sid>" (listed under "The StackSet execution role").'
              : 'its own policy is not in the org file, so no more of it is listed.'),
        },
      ],
    },
  ];
  for (const kind of Object.keys(KIND_TITLES) as ResourceKind[]) {
    const entries = foldPrincipals(org, classes, reach.filter((e) => e.resource.kind === kind));
    if (entries.length === 0) continue;
    const rows = mergeAccountRows(entries, (e) => {
      // A principal made for one pipeline account (its source role) on a resource of another account: one row for all of them.
      const member = e.resource.madeFor !== undefined && members.many ? e.resource.madeFor : madeFor(e);
      return {
        cells: [
          resourceText(e.resource),
          e.reach,
          e.principal,
          e.actions.join(', '),
          e.grantedBy.join('; '),
          [e.identityOutsideModel ? 'own policy outside the org file' : '', e.conditions].filter(Boolean).join('; ') || '—',
        ],
        account: member ?? e.resource.account,
        merge: member !== undefined || e.resource.accounts !== undefined || targetCount.get(e.resource.stage)! > ACCOUNTS_LISTED,
        accounts: e.resource.madeFor === undefined && member !== undefined ? (classes.get(member)?.length ?? 1) : weight(e.resource),
      };
    }, fold);
    sections.push({
      id: `reach-${kind}`,
      title: KIND_TITLES[kind],
      level: 3,
      blocks: [{ kind: 'table', head: ['resource', 'may', 'principal', 'actions', 'granted by', 'note, conditions'], rows }],
    });
  }
  return sections;
}

/**
 * A resource's principals that are the same role in many accounts (each
 * pipeline role may assume the source role) as one entry, `{account}` in the
 * ARN and the accounts named after it, beyond ACCOUNTS_LISTED accounts; a
 * class's token counts for its members, so a proof by class reads the same.
 * Within a resource, entries are ordered by reach, then by what they read.
 */
function foldPrincipals(org: Org, classes: ReadonlyMap<string, readonly string[]>, entries: readonly ReachEntry[]): ReachEntry[] {
  const out: ReachEntry[] = [];
  const flush = (group: readonly ReachEntry[]) => {
    // Found by reach and shape, a short key; the rest of what they read (lists joined) is compared only between entries sharing both, mostly one role in many accounts.
    const byShape = new Map<string, Folding[]>();
    const folding: Folding[] = [];
    for (const e of group) {
      const account = accountOf(e.principal);
      // The same role in many accounts folds; a role of one account made for this resource's account (a source role) does not.
      const madeFor = e.resource.madeFor;
      const foreign = account !== '' && account !== e.resource.account && !e.principal.includes(e.resource.account) && !(madeFor && e.principal.includes(madeFor));
      const shape = foreign ? generalise(e.principal, account) : e.principal;
      const head = `${e.reach}\u0000${shape}`;
      const alike = byShape.get(head);
      let entry = alike?.find((f) => readsAlike(f.first, e));
      if (!entry) {
        folding.push((entry = { first: e, shape, accounts: [], members: [] }));
        if (alike) alike.push(entry);
        else byShape.set(head, [entry]);
      }
      const members = classes.get(account);
      if (members) for (let i = 0; i < members.length; i++) entry.accounts.push(members[i]);
      else entry.accounts.push(account);
      entry.members.push(e);
    }
    const folded = folding.flatMap(({ first, shape, accounts, members }) =>
      shape.includes(ACCOUNT_PLACEHOLDER) && (accounts.length > ACCOUNTS_LISTED || members.some((m) => hasToken(m.principal)))
        ? [{ ...first, principal: `${shape} for ${describeAccounts(org, accounts)}` }]
        : members,
    );
    const ranked = folded.map((e) => ({ e, rank: `${REACH_ORDER.indexOf(e.reach)}${generalise(e.principal, e.resource.account)}` }));
    ranked.sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
    for (const { e } of ranked) out.push(e);
  };
  let group: ReachEntry[] = [];
  for (const e of entries) {
    if (group.length > 0 && group[0].resource !== e.resource) {
      flush(group);
      group = [];
    }
    group.push(e);
  }
  if (group.length > 0) flush(group);
  return out;
}

/** Entries of one resource folding into one: the first met, its principal with the account as the placeholder, and the accounts and entries it holds for. */
interface Folding {
  first: ReachEntry;
  shape: string;
  accounts: string[];
  members: ReachEntry[];
}

/** Whether two entries of the same reach and shape read the same in the rest: their actions, grants, note and conditions (as joined texts, the fold's key before). */
const readsAlike = (a: ReachEntry, b: ReachEntry) =>
  a.identityOutsideModel === b.identityOutsideModel && a.conditions === b.conditions && a.actions.join() === b.actions.join() && a.grantedBy.join() === b.grantedBy.join();

/** What the team placeholders stand for, team by team (teams.ts). */
function teamsSection(org: Org, teams: Teams): Section {
  const name = new Map(org.accounts.map((a) => [a.id, a.name]));
  return {
    id: 'teams',
    title: 'Teams',
    level: 2,
    blocks: [
      {
        kind: 'p',
        text:
          `The org is made of teams: each a source account with its repositories, the pipelines that build them and the pipeline accounts they deploy to. ` +
          `In the tables below, a row that several teams have alike up to their names is printed once, with ${TEAM_PLACEHOLDER} for the team's key (${TEAM_ID_PLACEHOLDER} in logical ids) and ${SOURCE_PLACEHOLDER} for its source account's id, as this table gives them; ` +
          `${ACCOUNT_PLACEHOLDER} is the team's account the row is made for, and the row names which ones (\`for ${TEAM_PLACEHOLDER}-prod\`) and which teams (\`t056 to t083\`: in this table's order). ` +
          `Each team's rows were made, and its paths proved, for that team: writing a team's values into a folded row gives exactly that team's row.` +
          (teams.unfolded.length > 0 ? ` Not folded (their names share no key, or they share an account or a key with another): ${teams.unfolded.join(', ')}.` : ''),
      },
      ...accessAcrossTeams(org, teams),
      {
        kind: 'table',
        head: [TEAM_PLACEHOLDER, TEAM_ID_PLACEHOLDER, `source account (${SOURCE_PLACEHOLDER})`, 'pipeline accounts', 'repositories'],
        rows: teams.list.map((t) => [t.key, logicalId(t.key), `${t.source.name} (${t.source.id})`, t.pipelineAccounts.map((id) => `${name.get(id)} (${id})`).join(', '), t.repositories.join(', ')]),
      },
    ],
  };
}

/**
 * The org's access section is one for every source account: the same roles may assume the developer (and maintainer)
 * role of every team's source account. Said, as the folded rows show it only once per team (review s18-audit m7).
 */
function accessAcrossTeams(org: Org, teams: Teams): Block[] {
  const developers = org.access.developers;
  if (!developers || teams.list.length < 2) return [];
  const patterns = (sources: DeveloperAccess['assumedBy']) => sources.flatMap((s) => s.roleNames.map((r) => `${r} in ${s.account}`)).join(', ');
  return [
    {
      kind: 'p',
      text:
        `Access is not scoped by team: the roles access.developers names (${patterns(developers.assumedBy)}) may assume the developer role of every team's source account, ${teams.list.length} teams, so whoever is given one of them works on every team's repositories` +
        (developers.maintainers.length > 0 ? `, and the maintainers' (${patterns(developers.maintainers)}) write every team's protected branches` : '') +
        '. An org file has one access section; access scoped to a team is an org file per team.',
    },
  ];
}

export interface ReportInput {
  org: Org;
  stages: readonly Stage[];
  /** The stages' rendered templates, by stage id. */
  templates: ReadonlyMap<string, CfnTemplate>;
  rollout: Rollout;
  access: AccessAnalysis;
  /** Templates and values files, by path under the org's dist folder. */
  files: ReadonlyMap<string, string>;
  /** A file's SHA-256 by its path, when the caller already has it (the compile hashes each file once for the report and the manifest). */
  sha256Of?: (path: string, text: string) => string;
  svg: string;
  /** Where the compile comes from: the org file's SHA-256, and the source revision when asked for (see README, "For auditors"). */
  source?: { orgFileSha256?: string | null; revision?: string };
  /** The "changes since" section, when a previous compile was given (since.ts). */
  since?: Section[];
  /** The teams rows are folded by (teams.ts): by default the org's beyond ACCOUNTS_LISTED accounts; null for none. */
  teams?: Teams | null;
  /** The resources the org creates (reach.ts), when the caller has them. */
  resources?: readonly OrgResource[];
  /**
   * The listed wildcards the templates and the setup template hold (rule XS017), as the compile's checks gathered
   * them; read from the stages' templates alone when absent (a test's report, made without the compile).
   */
  wildcards?: WildcardUse;
  /** The StackSet execution role's policy `xstack bootstrap` creates (src/deploy/execution-policy.ts), or why it cannot be derived. */
  executionRole?:
    | {
        statements: readonly ExecutionStatement[];
        /** How the policy writes the names keyed by a pipeline (execution-policy.ts `executionPolicyOf`); exact when not given. */
        pipelineNames?: PipelineNames;
        outside?: ReadonlyArray<{ action: string; resource: string; allowedBy?: string; byDesign?: string }>;
      }
    | { error: string };
}

/**
 * The summary's line on the access proof: paths and requests each counted, the paths the org needs (allowed) apart
 * from those that exist to prove a refusal, and the requests the same way; of the allowed requests, those proved on
 * one side only, the other (the principal's own policy, AWS's resource) outside the org file (review s36-audit F3).
 */
function accessSummary(access: AccessAnalysis, total: (items: ReadonlyArray<{ accounts?: readonly string[] }>) => number): string {
  const paths = total(access.paths);
  const refusedPaths = total(access.paths.filter((p) => p.denied));
  const requests = total(access.results.map((r) => r.path));
  const refusedRequests = total(access.results.filter((r) => r.path.denied).map((r) => r.path));
  const undecidedPaths = total(access.paths.filter((p) => p.outsideDecides));
  const undecidedRequests = total(access.results.filter((r) => r.path.outsideDecides).map((r) => r.path));
  const oneSide = total(access.results.filter((r) => !r.path.denied && !r.path.outsideDecides && (r.path.identityManagedElsewhere || r.path.resourceManagedElsewhere)).map((r) => r.path));
  const allowedRequests = requests - refusedRequests - undecidedRequests;
  // Undecided: the resource side admits them and the principal's policy as bootstrap writes it does not grant them.
  const pathsText = `${paths - refusedPaths - undecidedPaths} the org needs, each allowed, ${undecidedPaths > 0 ? '' : 'and '}${refusedPaths} that must be refused, each refused`;
  const requestsText = `${allowedRequests} allowed: ${allowedRequests - oneSide} on both sides, ${oneSide} on the side the templates hold, the other outside the org file; ${refusedRequests} refused, each as it must be`;
  return undecidedPaths === 0
    ? `${paths} access paths: ${pathsText}; ${requests} requests proved (${requestsText}).`
    : `${paths} access paths: ${pathsText}, and ${undecidedPaths} undecided; ${requests} requests proved (${requestsText}; ${undecidedRequests} undecided: the resource side admits them, the principal's policy as xstack writes it does not grant them, and a policy attached outside the org file would decide).`;
}

export function buildReport(input: ReportInput): Report {
  const { org, stages, templates, rollout, access, files, sha256Of = (_path: string, text: string) => sha256(text) } = input;
  const sections: Section[] = [];
  const targetCount = new Map(stages.map((s) => [s.id, s.targets.length]));
  const stageName = new Map(stages.map((s) => [s.id, stageLabel(s)]));
  const members = pipelineMembers(org, access);
  const classes = new Map([...classesOf(access).values()].map((c) => [c.token, c.members]));
  const teams = input.teams === undefined ? teamsToFold(org) : (input.teams ?? undefined);
  const fold = teamFold(teams, classesOf(access));
  /** A stage's statements, one row each, or one row for all its accounts when it has many; a class's statement is one row for its members. */
  const statementRows = (statements: readonly ResolvedStatement[], cells: (g: ResolvedStatement) => string[]) =>
    mergeAccountRows(statements, (g) => {
      // A statement of one account made for one pipeline account: its logical id carries that account's id (or class token).
      const member = members.madeFor(g.account, g.policy);
      return {
        cells: [...cells(g), `${stageName.get(g.stage) ?? g.stage} @ ${g.account}: ${g.policy}`],
        account: member ?? g.account,
        merge: member !== undefined || g.accounts !== undefined || targetCount.get(g.stage)! > ACCOUNTS_LISTED,
        accounts: weight(g),
      };
    }, fold);
  const total = <T extends { accounts?: readonly string[] }>(items: readonly T[]) => items.reduce((n, x) => n + weight(x), 0);
  const requests = total(access.results.map((r) => r.path));
  const principals = once((list: readonly PrincipalRef[]) => describePrincipals(org, list));
  const manyPipelineAccounts = members.many;
  const resources = input.resources ?? orgResources(org, stages, templates, classesOf(access));
  // The execution role's own policy, where bootstrap writes it: its rows list what it may do on each resource directly.
  const execution = input.executionRole && 'statements' in input.executionRole ? bootstrapGrants(org, stages.flatMap((s) => s.targets.map((a) => a.id)), input.executionRole.statements, classesOf(access)) : [];
  const reach = reachOfResources(org, resources, access, (id) => stageName.get(id) ?? id, execution);
  const crossAccount = access.grants.filter(
    (g) => g.effect === 'Allow' && g.kind !== 'identity' && g.principals.some((p) => isForeignPrincipal(p, g.account)),
  );

  sections.push({
    id: 'summary',
    title: 'Summary',
    level: 2,
    blocks: [
      { kind: 'p', text: `Organization file ${org.recordedFile}: partition ${org.partition}, region ${org.region}, prefix ${org.prefix}${org.organizationId ? `, organization ${org.organizationId}` : ''}.` },
      {
        kind: 'p',
        text: `Source: org file SHA-256 ${input.source?.orgFileSha256 ?? '(not read from a file)'}; revision ${input.source?.revision ?? 'not recorded (xstack audit records the git revision; committed dist/ never does, so it stays a pure function of its inputs: to tie this folder to a commit, check that commit out, run make compile, and compare the SHA-256 of the two manifest.json files, which .xstack-output records; the hashes here prove the files agree with each other, not where they came from)'}.`,
      },
      {
        kind: 'list',
        items: [
          `${stages.length} stages (one StackSet each) in ${rollout.waves.length} waves, over ${org.accounts.length} accounts.`,
          accessSummary(access, total),
          ...(org.permissionsBoundary !== undefined ? [boundarySummary(org.partition, org.permissionsBoundary)] : []),
          ...(org.tags.length > 0 ? [tagsSummary(org.tags, templates)] : []),
          `${total(crossAccount)} resource-policy statements of the stages' templates grant to principals outside their own account; each matches a declared path (the setup template in the compile's dist/<org>/setup/, deployed by hand, is outside the proof: "What this report cannot see").`,
          networkSummary(access.network),
          `${total(resources)} ${kindsText(1)} the org creates (its other resources, such as pipelines, rules and endpoints, are listed by stage under "Accounts and stages"); every principal the compiled policies let use, administer or assume each one is listed under "Who can act on each resource".`,
          `Policy rules ${CHECK_FAMILIES.map((f) => `${f.ids.join(', ')} (${f.family})`).join('; ')}: no finding (a finding fails the compile).`,
        ],
      },
      { kind: 'table', head: ['account', 'id', 'role', 'environment'], rows: org.accounts.map((a) => [org.accounts.length <= ACCOUNTS_LISTED ? { text: a.name, href: `#account-${a.name}` } : a.name, a.id, a.role, a.environment ?? '']) },
    ],
  });

  if (teams) sections.push(teamsSection(org, teams));
  sections.push(scopeSection(org, access.grants));

  sections.push({
    id: 'rollout',
    title: 'Rollout graph',
    level: 2,
    blocks: [
      { kind: 'p', text: 'Stages left to right in the order they are rolled out; an arrow means the later stage names something the earlier one creates (a role by its name, the key by its export). Every role a policy\'s Principal element names (IAM, KMS, S3 and EventBridge reject a policy naming one that does not exist yet) is created by the same stage or an earlier one, or is one the org file says exists already (proved at compile time); roles named only in aws:PrincipalArn conditions, which AWS does not look up, need not exist yet.' },
      { kind: 'svg', file: 'rollout.svg', svg: input.svg },
      { kind: 'table', head: ['wave', 'stages'], rows: rollout.waves.map((w, i) => [String(i + 1), w.join(', ')]) },
    ],
  });

  const trust = access.grants.filter((g) => g.kind === 'trust' && g.effect === 'Allow');
  sections.push({
    id: 'trust',
    title: 'Trust matrix: who may assume which role',
    level: 2,
    blocks: [
      {
        kind: 'table',
        head: ['role', 'may be assumed by', 'conditions', 'statement'],
        rows: statementRows(trust, (g) => [listed(g.resources), principals(g.principals), conditions(g.conditions)]),
      },
    ],
  });

  const byPath = resultsByPath(access.results);
  // A statement's label names its stage and Sid, not its account: one per statement of a template, made once, found by
  // stage, then Sid: no key text made for each of the ~14,000 statements at 250 teams, and no map by statement either
  // (12,754 statements asked at 250 teams, 21,004 at 500 teams of two: ~1 MB, then ~2 MB of table, for two lookups).
  const labels = new Map<string, Map<string, string>>();
  const label = (g: ResolvedStatement) => {
    let ofStage = labels.get(g.stage);
    if (!ofStage) labels.set(g.stage, (ofStage = new Map()));
    let text = ofStage.get(g.policy);
    if (text === undefined) ofStage.set(g.policy, (text = `${stageName.get(g.stage) ?? g.stage}: ${g.policy}`));
    return text;
  };
  // Not kept by list or principal: each path has lists and a principal of its own (none was asked twice at 250 teams).
  const grantedByText = (grants: readonly ResolvedStatement[]) => [...new Set(grants.map(label))].join('; ');
  sections.push({
    id: 'access',
    title: 'Access matrix: principal × resource × actions',
    level: 2,
    blocks: [
      {
        kind: 'p',
        text: `Every path the org needs, as proved from the compiled policies; the last column names the statement that allows it on each side or, for a refused path, the statement that refuses it (an explicit Deny) or the side with no Allow. Refused paths must be denied and are.${
          access.paths.some((p) => p.outsideDecides) ? ' An undecided path is admitted by its resource side, and its principal\'s policy as xstack writes it does not grant it: a policy attached to the role outside the org file decides.' : ''
        } Where the org file gives a pattern, or a refusal is proved for someone outside it, a path names a sample (src/audit/samples.ts): each \`*\` of a name pattern written \`x0\` (AWSReservedSSO_Developer_x0 stands for any role of that permission set), \`someone-elses\` (or a name like it the org file does not match) for a role, key, bucket, rule or branch no statement names, written after the name a condition narrows to where there is one (${org.prefix}-pipeline-someone-elses beside ${org.prefix}-pipeline, rule/${org.prefix}-someone-elses beside the org's rules), so that the condition widened to a pattern of that name's start would admit it, ${OTHER_ACCOUNT} for an account outside the org; an id CloudFormation gives a resource when it creates it is written \`{stage/LogicalId}\` (key/{pipeline-foundation/ArtifactKey}: the stack's outputs give it, as ArtifactKeyArn). The pipelines of one pipeline account share one pipeline role (${new Names(org.prefix).pipelineRole()}), to which each pipeline's policy is attached, so a path of one pipeline cites every pipeline's statements that allow it, and each pipeline may do what the others' policies allow there. \`xstack explain\` answers the same questions, and others, from the same evaluator.${
          manyPipelineAccounts ? ` With more than ${ACCOUNTS_LISTED} pipeline accounts, a path that exists in every environment is one row, ${ACCOUNT_PLACEHOLDER} standing for the pipeline account; it was proved in each of them.` : ''
        }`,
      },
      {
        kind: 'table',
        head: ['path', 'principal', 'resource', 'actions', 'result', 'granted or refused by'],
        rowClass: resultRowClass,
        rows: mergeAccountRows([...byPath.values()], (results) => {
          const p = results[0].path;
          const merge = manyPipelineAccounts && p.group !== undefined;
          const allowed = results.every((r) => r.allowed);
          // A refused path cites what refuses it (the Deny, or the side without an Allow), never the Allows it overrides;
          // an undecided one, the resource side that admits it (proved) and the identity side that does not say.
          const by = !allowed
            ? [...new Set(results.filter((r) => !r.allowed).map((r) => describeRefusal(r.refusedBy, label)))].join('; ')
            : grantedByText(grantingList(results)) + (p.outsideDecides ? UNDECIDED_NOTE : outsideNote(results));
          const cells = [merge ? p.group!.purpose : p.purpose, describePrincipal(p.principal), p.resource, listed(p.actions), pathResult(p, allowed), by];
          // Held for one account, the row names its environment, as the path does (and explain), not "each environment".
          const single = merge && p.purpose !== p.group!.purpose ? [p.purpose, ...cells.slice(1)] : undefined;
          return { cells, account: p.group?.account ?? p.resourceAccount, merge, accounts: weight(p), single };
        }, fold),
      },
    ],
  });

  sections.push(releaseControlSection({ org, access, reach, executionRole: input.executionRole, label, fold, classOf: (account) => classesOf(access).get(account)?.token }));
  sections.push(...reachSections(org, classes, reach, targetCount, (id) => stageName.get(id) ?? id, members, fold, execution.length > 0));
  if (input.executionRole) sections.push(executionRoleSection(org, input.executionRole, teams, targetAccounts(org, stages)));

  sections.push({
    id: 'cross-account',
    title: 'Grants to principals of other accounts',
    level: 2,
    blocks: [
      {
        kind: 'table',
        head: ['resource', 'principals', 'actions', 'conditions', 'statement'],
        rows: statementRows(crossAccount, (g) => [listed(g.resources), principals(g.principals), listed(g.actions), conditions(g.conditions)]),
      },
    ],
  });

  sections.push(networkSection(org, access.network, teams, fold));

  if (input.since) sections.push(...input.since);

  // A resource of one account of a family carries its account's id (DeveloperRoleIn<id>), one of a team's pipelines its key.
  const ownerOf = (logicalId: string): Pick<Row, 'account' | 'team'> => {
    const account = /\d{12}/.exec(logicalId)?.[0];
    return account ? { account } : { account: '', team: teams?.namedIn(logicalId) };
  };
  // Exceptions and scanner suppressions, read in one pass over each template's resources (for-in: no list of entries made).
  const exceptionItems: Row[] = [];
  const suppressionItems: Row[] = [];
  for (const s of stages) {
    const resources = templates.get(s.id)!.Resources;
    for (const id in resources) {
      if (!Object.hasOwn(resources, id)) continue;
      const metadata = resources[id].Metadata as ResourceMetadata | undefined;
      for (const e of metadata?.xstack?.exceptions ?? []) exceptionItems.push({ cells: [s.id, id, e.rule, e.statement, e.reason], ...ownerOf(id), merge: false });
      for (const k of metadata?.checkov?.skip ?? []) suppressionItems.push({ cells: [s.id, id, `checkov ${k.id}`, '', k.comment], ...ownerOf(id), merge: false });
    }
  }
  // Alike in every team up to its names: one row (the stage stays a link).
  const folded = (items: Row[]) => mergeAccountRows(items, (x) => x, fold).map(([stage, ...rest]) => [stageLink(stage), ...rest]);
  const [exceptions, suppressions] = [folded(exceptionItems), folded(suppressionItems)];
  sections.push({
    id: 'checks',
    title: 'Security checks',
    level: 2,
    blocks: [
      {
        kind: 'table',
        head: ['check', 'what', 'result'],
        rows: [
          ...CHECKED_RULES.map((r): Cell[] => [r.source ? { text: r.id, href: r.source } : r.id, r.description, 'pass']),
          ['access', 'every needed path allowed on each side the templates hold (a side outside the org file, such as a role\'s own policy, as the summary counts them); nothing beyond them granted across accounts', `pass (${requests} requests)`],
          ['order', "every principal a policy's Principal element names exists before that policy (stage graph proof)", 'pass'],
          ['limits', 'template body, parameters, resources, outputs within CloudFormation limits', 'pass'],
          // Not run by the compile (review s50-audit M4): make test runs them over the committed orgs' templates (test/output.test.ts).
          ['cfn-lint', 'CloudFormation linter over every template', `not run by the compile: make test runs it over xstack's own example orgs (zero errors and warnings there); for this org, run 'cfn-lint --regions ${org.region} -- templates/*.yaml' in its dist folder`],
          [
            'checkov',
            'policy-as-code scanner over every template',
            `not run by the compile: make test runs it over xstack's own example orgs (zero failed checks there); for this org, run 'checkov -d templates --framework cloudformation' in its dist folder (${suppressionItems.length} suppression${suppressionItems.length === 1 ? '' : 's'} below)`,
          ],
        ],
      },
      { kind: 'p', text: 'Exceptions and scanner suppressions, each written next to its resource (Metadata.xstack.exceptions, Metadata.checkov.skip) with its reason:' },
      { kind: 'table', head: ['stage', 'resource', 'rule', 'statement', 'reason'], rows: [...exceptions, ...suppressions] },
      {
        kind: 'p',
        text: 'Wildcards inside names (rule XS017): each `*` or `?` the templates, the setup template too, write in an ARN of an Allow or in a pattern condition, which reaches whatever else it matches, and what bounds it (src/iam/wildcards.ts lists them; one not listed fails the compile):',
      },
      { kind: 'table', head: ['shape', 'as written', 'where', 'statements', 'what bounds it'], rows: wildcardRows(input.wildcards ?? wildcardsUsedIn(stages.map((s) => templates.get(s.id)!), wildcardContext(org)), org.prefix, new Set(org.accounts.map((a) => a.id))) },
    ],
  });

  const stageSections: Section[] = [];
  const stageIdsOf = new Map<string, string[]>();
  for (const s of stages) for (const a of s.targets) listIn(stageIdsOf, a.id).push(s.id);
  const stagesOf = (accountId: string) => stageIdsOf.get(accountId) ?? [];
  if (org.accounts.length <= ACCOUNTS_LISTED) {
    for (const account of org.accounts) {
      stageSections.push({ id: `account-${account.name}`, title: `Account ${account.name} (${account.id}, ${account.role})`, level: 3, blocks: [{ kind: 'list', items: stagesOf(account.id) }] });
    }
  } else {
    const byStages = new Map<string, string[]>();
    for (const account of org.accounts) {
      const key = stagesOf(account.id).join(', ');
      listIn(byStages, key).push(account.id);
    }
    stageSections.push({ id: 'account-stages', title: 'Stages by account', level: 3, blocks: [{ kind: 'table', head: ['accounts', 'stages'], rows: [...byStages].map(([list, ids]) => [describeAccounts(org, ids), list]) }] });
  }
  for (const stage of stages) {
    const t = templates.get(stage.id)!;
    stageSections.push({
      id: `stage-${stage.id}`,
      title: `Stage ${stage.id}`,
      level: 3,
      blocks: [
        { kind: 'p', text: `${t.Description}. Template templates/${stage.id}.yaml, from templates/${stage.module}.ts; wave ${rollout.waveOf.get(stage.id)}; accounts ${stage.targets.length <= ACCOUNTS_LISTED ? stage.targets.map((a) => `${a.name} (${a.id})`).join(', ') : describeAccounts(org, stage.targets.map((a) => a.id))}.` },
        ...(stage.notes.length > 0 ? [{ kind: 'list' as const, items: [...stage.notes] }] : []),
        { kind: 'table', head: ['resource', 'type', 'retained'], rows: mergeAccountRows(Object.entries(t.Resources), ([id, r]) => ({ cells: [id, r.Type, keptOnDelete(r.DeletionPolicy) ? 'yes' : ''], ...ownerOf(id), merge: false }), fold) },
        ...(stage.accountValues.length > 0 ? [accountValueTable(stage, fold)] : []),
        ...(stage.uses.length > 0
          ? [{ kind: 'table' as const, head: ['uses, by name (rolled out before)', 'what'], rows: stage.uses.map((u) => [stageLink(u.stage), u.what]) }]
          : []),
        { kind: 'table', head: ['output', 'description'], rows: mergeAccountRows(Object.entries(stage.definition.outputs), ([id, o]) => ({ cells: [id, o.description], ...ownerOf(id), merge: false }), fold) },
      ],
    });
  }
  // What each stage's "retained" column means, once (review s36-audit): both policies keep the resource when its stack goes.
  const retainedText =
    'Each stage lists its resources; "retained" marks a DeletionPolicy of Retain or RetainExceptOnCreate: the resource stays in its account when its stack, or the stack instance, is deleted (destroy keeps it; destroy --delete-retained deletes it). RetainExceptOnCreate "behaves like Retain for stack operations, except for the stack operation that initially created the resource": if that one is rolled back, CloudFormation deletes the resource (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html).';
  sections.push({ id: 'accounts', title: 'Accounts and stages', level: 2, blocks: [{ kind: 'p', text: retainedText }] }, ...stageSections);

  sections.push({
    id: 'hashes',
    title: 'File hashes (SHA-256)',
    level: 2,
    blocks: [
      {
        kind: 'p',
        text:
          `Of every file the compile writes beside this report, as compiled. manifest.json lists the same and, besides them, the audit files (report.html, report.md, rollout.svg, audit.json, written with this report, which cannot hold its own hash) and the layout file's (source.layoutSha256). ` +
          `\`xstack verify\` compares only the templates with what is deployed: each StackSet's template (${org.prefix}-<stage>, one per stage) against its templates/<stage>.yaml, besides its instances and drift. ` +
          'A values file records what a template chooses by account and where in the org file it comes from (the template holds those values itself: it is not deployed)' +
          ([...files.keys()].some((p) => p.startsWith('jenkins/')) ? '; the jenkins files are an example for the CI, not deployed either.' : '.'),
      },
      { kind: 'table', head: ['file', 'sha256'], rows: [...files].filter(([p]) => !p.startsWith('audit/') && p !== 'manifest.json').map(([p, text]) => [p, sha256Of(p, text)]) },
    ],
  });
  return { title: `xstack audit: ${org.name}`, sections };
}

/** What the org's permissions boundary means for the proof (src/iam/permissions-boundary.ts). */
const boundarySummary = (partition: string, boundary: string): string =>
  `Every role the templates create has the permissions boundary ${boundaryArnIn(boundary, partition, '<account>')}, a customer managed policy the org keeps in each account, whose text xstack does not read: a boundary only takes permissions away, so every path the access matrix below refuses stays refused, and a path the matrix shows allowed also needs the boundary's allow, a grant of a resource policy too: each one these templates write names a role's ARN, or an account narrowed by aws:PrincipalArn (which needs the role's own policy too, and so its boundary), and "Resource-based policies that grant permissions to an IAM role ARN are limited by an implicit deny in a permissions boundary" (IAM policy evaluation logic, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html); only a grant to a role session's ARN is not, and none names one. So a key policy's grant to the pipeline role needs kms:GenerateDataKey and kms:Decrypt in the boundary as well.`;

/** The org's tags, and the types of its templates a StackSet's tags do not reach on create (src/aws/tags.ts). */
function tagsSummary(tags: ReadonlyArray<readonly [string, string]>, templates: ReadonlyMap<string, CfnTemplate>): string {
  const types = new Set<string>();
  for (const t of templates.values()) for (const r of Object.values(t.Resources)) if (NOT_TAGGED_ON_CREATE.has(r.Type)) types.add(r.Type);
  const untagged = [...types].sort();
  return (
    `Every StackSet carries the tags ${tags.map(([k, v]) => `${k}=${v}`).join(', ')} (the org file's), which CloudFormation passes on to its stacks and, with their create calls, to the resources that take tags.` +
    (untagged.length > 0 ? ` These types of the templates get none on create (their CloudFormation types tag nothing, or only after the create): ${untagged.join(', ')}; an SCP that requires a tag on their create calls refuses them.` : '')
  );
}
