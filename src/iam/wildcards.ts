/**
 * Every wildcard a template may write inside a name (rule XS017), and what bounds each.
 *
 * A `*` or `?` inside an ARN in an Allow's Resource, or in the value of a condition that admits by pattern
 * (ArnLike, ArnEquals, StringLike), grants whatever else the pattern matches: in an account, every resource or
 * principal of that shape, including those outside the org file. The access proof cannot see that breadth: a
 * pattern counts as used when it matches one path's resource (review s59-proof m2), and a sample is refused only
 * where it happens to fit (s59-proof M2). So each wildcard the templates write is listed here, with the statements
 * that may hold it, its shape and the reason it is no broader than it must be; a widened or new one fails the compile
 * until it is listed, and the audit report prints the list that the org's templates use.
 *
 * IAM's wildcards: "You can use wildcard characters (* and ?) within the individual segments of an ARN"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html); ArnEquals and ArnLike
 * "behave identically", each component "can include a multi-character match wildcard (*) or a single-character match
 * wildcard (?)", as StringLike's values can
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
 */

import type { Org, RoleSource } from '../org/model';
import { SSO_PATHS } from './role-path';

/** Where a wildcard is: an Allow's Resource, or the value of one condition key. */
export type WildcardElement = 'Resource' | 'aws:PrincipalArn' | 'aws:SourceArn' | 'iam:PolicyARN';

export interface BoundedWildcard {
  element: WildcardElement;
  /** The statements (by Sid) that may hold it. */
  statements: RegExp;
  /**
   * The text as a template writes it (a plain string or a Sub's), with `<account>` for an account id (or
   * `${AWS::AccountId}`), `<region>` for a Region (or `${AWS::Region}`), `<prefix>` for the org's prefix exactly,
   * `<name>` for a name the org file or xstack gives (no wildcard, no colon; `${AWS::…}` allowed), `<generation>` for a
   * bucket generation's suffix or none (`-g2`; src/naming.ts), `<developer role>`, `<maintainer role>`, `<person
   * role>` and `<key administrator>` for one of the roles the org file names in that field, exactly as it names it
   * (WildcardContext roles), `<resource>` for a `${Resource.Arn}` of the template; every other character stands for
   * itself, `*` and `?` included. A name a wildcard follows is always the org's own, for that statement (`<prefix>`, a
   * field's roles), never `<name>`: a shortened name, or another field's role, would widen it (reviews s60-xs017 M1,
   * s60-second-read M1).
   */
  shape: string;
  /**
   * The condition the bound rests on, which the statement must carry as written here: the key under one of these
   * operators exactly (no IfExists, no negation, no other set operator), its values fixed texts (no wildcard, no
   * policy variable; the organization's id where `organizationId`; each of `value`'s shape where given), so that a
   * missing key or another value cannot turn it into no bound at all (reviews s60-xs017 M2, s60-second-read m1).
   */
  heldBy?: { key: string; operators: readonly string[]; organizationId?: true; value?: string };
  /** Why the wildcard is no broader than it must be, with the page that says so. */
  reason: string;
}

const SERVICE_AUTHORIZATION_SSM = 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html';

export const BOUNDED_WILDCARDS: readonly BoundedWildcard[] = [
  // Resources.
  {
    element: 'Resource',
    statements: /^(SessionManagerRegisters|AgentAssociations)$/,
    shape: 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*',
    reason: `this account's instances of the Region: an instance's id is made at its launch, after the template, and the agent on an instance acts for that instance (Systems Manager's resource type instance, ${SERVICE_AUTHORIZATION_SSM})`,
  },
  {
    element: 'Resource',
    statements: /^AgentAssociationStatus$/,
    shape: 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:association/*',
    reason: `this account's State Manager associations of the Region: an association's id is made when it is created (resource type association, ${SERVICE_AUTHORIZATION_SSM})`,
  },
  {
    element: 'Resource',
    statements: /^AgentConfiguration$/,
    shape: 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/AmazonCloudWatch-*',
    reason:
      "this account's CloudWatch agent configurations: \"the policies created by Amazon support only files with names that start with AmazonCloudWatch-\" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/create-iam-roles-for-cloudwatch-agent.html)",
  },
  {
    element: 'Resource',
    statements: /^AgentLogGroups$/,
    shape: 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/<prefix>/*',
    reason: "this account's log groups under /<prefix>/ (src/naming.ts agentLogGroups): the agent names each group from its configuration (resource type log-group, https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html)",
  },
  {
    element: 'Resource',
    statements: /^AgentLogStreams$/,
    shape: 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/<prefix>/*:log-stream:*',
    reason: "the streams of those log groups: the agent names a stream per instance (resource type log-stream, https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html)",
  },
  {
    element: 'Resource',
    statements: /^S3DeliversAccessLogs$/,
    shape: '<resource>/artifacts/*',
    heldBy: { key: 'aws:SourceArn', operators: ['ArnLike', 'ArnEquals'] },
    reason:
      'the access-log bucket\'s prefix for the artifact bucket\'s logs, whose keys S3 makes per delivery, held to that bucket by aws:SourceArn (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general)',
  },
  {
    element: 'Resource',
    statements: /^(SourceRolesWriteArtifacts|DownloadRevisions)$/,
    shape: '<resource>/*',
    reason:
      "the artifact bucket holds only this account's pipelines' artifacts, whose keys CodePipeline makes per run; where source accounts share it, each source account is held to its own pipelines' folders instead (Source<account>WritesOwnArtifacts; https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ArtifactStore.html)",
  },
  {
    element: 'Resource',
    statements: /^Source\d{12}WritesOwnArtifacts\d*$/,
    shape: '<resource>/<name>/*',
    reason: "one pipeline's folder of the shared artifact bucket (the pipeline name's first 20 characters, src/naming.ts artifactFolder), whose keys CodePipeline makes per run (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ArtifactStore.html)",
  },
  {
    element: 'Resource',
    statements: /^ReadWriteArtifacts$/,
    shape: 'arn:${AWS::Partition}:s3:::<prefix>-artifacts-${AWS::AccountId}-${AWS::Region}<generation>/*',
    heldBy: { key: 'aws:ResourceAccount', operators: ['StringEquals'] },
    reason: "the pipeline's own artifact bucket, whose keys CodePipeline makes per run, held to this account's bucket by aws:ResourceAccount (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ArtifactStore.html)",
  },
  {
    element: 'Resource',
    statements: /^WriteArtifacts$/,
    shape: 'arn:${AWS::Partition}:s3:::<prefix>-artifacts-<account>-${AWS::Region}<generation>/*',
    heldBy: { key: 'aws:ResourceAccount', operators: ['StringEquals'] },
    reason: "the pipeline account's artifact bucket, whose keys CodePipeline makes per run, held to that account's bucket by aws:ResourceAccount; its bucket policy names this role (https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-cross-account.html)",
  },
  {
    element: 'Resource',
    statements: /^WriteArtifacts$/,
    shape: 'arn:${AWS::Partition}:s3:::<prefix>-artifacts-<account>-${AWS::Region}<generation>/<name>/*',
    heldBy: { key: 'aws:ResourceAccount', operators: ['StringEquals'] },
    reason: "the folders of this source account's pipelines in a shared artifact bucket (src/naming.ts artifactFolder), held to that account's bucket by aws:ResourceAccount (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ArtifactStore.html)",
  },
  {
    element: 'Resource',
    statements: /^InstallCodeDeployAgent$/,
    shape: 'arn:${AWS::Partition}:s3:::aws-codedeploy-${AWS::Region}/*',
    reason: "AWS's bucket of the CodeDeploy agent's installers for the Region (https://docs.aws.amazon.com/codedeploy/latest/userguide/resource-kit.html#resource-kit-bucket-names)",
  },
  {
    element: 'Resource',
    statements: /^EcrImageLayers$/,
    shape: 'arn:${AWS::Partition}:s3:::prod-${AWS::Region}-starport-layer-bucket/*',
    reason: "ECR's layer bucket for the Region, reached only through presigned URLs (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-minimum-s3-perms)",
  },
  {
    element: 'Resource',
    statements: /^PullCiImages$/,
    shape: 'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/<prefix>-ci/*',
    reason: "this account's image repositories under the CI's namespace (resource type repository, https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html)",
  },
  {
    element: 'Resource',
    statements: /^UseArtifactKey$/,
    shape: 'arn:${AWS::Partition}:kms:${AWS::Region}:<account>:key/*',
    heldBy: { key: 'kms:ResourceAliases', operators: ['ForAnyValue:StringEquals'], value: 'alias/<prefix>-artifacts' },
    reason: "the pipeline account's artifact key, whose id that account's stack makes: held to it by its alias (kms:ResourceAliases, https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases); its key policy names this role",
  },
  {
    element: 'Resource',
    statements: /^(AssumeRole|AssumeCiReaderRoles|CiAssumesReaderRoles)$/,
    shape: 'arn:${AWS::Partition}:iam::*:role/<prefix>-<name>',
    heldBy: { key: 'aws:ResourceOrgID', operators: ['StringEquals'], organizationId: true },
    reason:
      "one role name in the organization's accounts, past the size a list of ARNs fits (README, \"Resource policy sizes\"): held to the organization by aws:ResourceOrgID, and each role's trust admits only the org's callers (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceorgid)",
  },
  {
    element: 'Resource',
    statements: /^(CarrySourceIdentity|CarrySessionTags|TagCiReaderSessions|CiTagsReaderSessions)$/,
    shape: 'arn:${AWS::Partition}:iam::*:role/<prefix>-<name>',
    reason:
      "the same roles, for a permission-only action (sts:SetSourceIdentity, sts:TagSession) STS checks within the AssumeRole, which the statement beside it holds to the organization; no page says such a request carries the resource's keys (review s39-conditions m3)",
  },

  {
    element: 'Resource',
    statements: /^CiPullsOrgRepositories$/,
    shape: 'arn:${AWS::Partition}:codecommit:${AWS::Region}:<account>:*',
    heldBy: { key: 'aws:PrincipalArn', operators: ['ArnEquals', 'ArnLike'] },
    reason:
      "every repository of a source account, in a CodeCommit endpoint's policy past the share of its 20,480 characters the compile allows (README, \"Resource policy sizes\"): a second fence, as the CI reader roles it admits (aws:PrincipalArn) may pull only the org's repositories by their own policy (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html)",
  },
  {
    element: 'Resource',
    statements: /^PutEventsOnPipelineBuses$/,
    shape: 'arn:${AWS::Partition}:events:${AWS::Region}:*:event-bus/default',
    heldBy: { key: 'aws:ResourceOrgID', operators: ['StringEquals'], organizationId: true },
    reason:
      "the pipeline accounts' default buses, past the size a list fits: held to the organization by aws:ResourceOrgID, and each bus's policy admits only this role (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html)",
  },
  // Bootstrap's own role in each account (templates/bootstrap-access.ts): IAM entities under the org's names.
  {
    element: 'Resource',
    statements: /^(ReadBootstrapRoles|SeeExistingRoles)$/,
    shape: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*/<name>',
    reason: "GetRole only: a role of that name at any path, which bootstrap and the reader read to say where it is, since role names are unique in an account whatever their path (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names)",
  },
  {
    element: 'Resource',
    statements: /^WriteExecutionPolicies$/,
    shape: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/<prefix>-stackset-execution-*',
    reason: "bootstrap's numbered packs of the execution role's permissions, <prefix>-stackset-execution-<n> (src/naming.ts executionPolicy), whose count grows with the org",
  },
  {
    element: 'iam:PolicyARN',
    statements: /^AttachExecutionPolicies$/,
    shape: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/<prefix>-stackset-execution-*',
    reason: "only those packs attach to or detach from the execution role: iam:PolicyARN is a condition key of both actions (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html)",
  },
  {
    element: 'Resource',
    statements: /^ReadExecutionPolicies$/,
    shape: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/*-stackset-execution-*',
    reason: "GetPolicy only: another org's packs on a shared execution role, told apart by their description (src/deploy/bootstrap.ts otherOrgPack)",
  },
  {
    element: 'Resource',
    statements: /^ReadOrgEntities$/,
    shape: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:<name>/<prefix>-*',
    reason: "reads only, near an IAM quota: which of the org's roles, policies and instance profiles exist, each named <prefix>-… at path / (src/naming.ts; src/deploy/account-quotas.ts checkRoom)",
  },
  // The reader role's reads (src/deploy/reader-policy.ts): what plan, deploy and verify look up in each account.
  {
    element: 'Resource',
    statements: /^ReadInstanceStacks$/,
    shape: 'arn:${AWS::Partition}:cloudformation:<region>:<account>:stack/StackSet-<prefix>-*/*',
    reason: "reads only: the stacks of the org's StackSets, which StackSets names StackSet-<StackSet>-<uuid> (resource type stack, stack/<name>/<id>: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html)",
  },
  {
    element: 'Resource',
    statements: /^(SeeRetainedBuckets|SeeEarlierBucketsKeys)$/,
    shape: 'arn:${AWS::Partition}:s3:::<prefix>-<name>-g*',
    heldBy: { key: 'aws:ResourceAccount', operators: ['StringEquals'] },
    reason: "reads only: a bucket's names of its earlier generations (<name>-g2 …, src/naming.ts), one resource whatever the generation, held to this account's buckets by aws:ResourceAccount",
  },
  {
    element: 'Resource',
    statements: /^SeeRetainedRepositories$/,
    shape: 'arn:${AWS::Partition}:codecommit:<region>:<account>:*',
    reason: "GetRepository only, past the managed policy's size (src/deploy/reader-policy.ts withinQuota): this account's repositories",
  },
  {
    element: 'Resource',
    statements: /^(SeeOwnRoles|SeeExistingRoles)$/,
    shape: 'arn:${AWS::Partition}:iam::<account>:role/*',
    reason: "GetRole only, past the managed policy's size (src/deploy/reader-policy.ts withinQuota): this account's roles",
  },
  {
    element: 'Resource',
    statements: /^SeeOwnRoles$/,
    shape: 'arn:${AWS::Partition}:iam::<account>:role/<prefix>-*',
    reason: "GetRole only, past the managed policy's size (src/deploy/reader-policy.ts withinQuota): this account's roles of the org's prefix",
  },
  {
    element: 'Resource',
    statements: /^SeePolicyAttachments$/,
    shape: 'arn:${AWS::Partition}:iam::<account>:policy/<prefix>-*',
    reason: "ListEntitiesForPolicy only, past the managed policy's size (src/deploy/reader-policy.ts withinQuota): this account's policies of the org's prefix",
  },
  // Principals admitted by pattern.
  {
    element: 'aws:PrincipalArn',
    statements: /^DevelopersAssume(CarrySourceIdentity|CarrySessionTags\d+)?$/,
    shape: 'arn:${AWS::Partition}:iam::<account>:role/<developer role>',
    reason:
      "the roles access.developers.assumedBy names, exactly as it names them: a permission set's roles, whose suffix IAM Identity Center adds to the set's name (https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html); the trust also refuses a longer set's name and deeper paths by ArnNotLike (templates/access-roles.ts)",
  },
  {
    element: 'aws:PrincipalArn',
    statements: /^MaintainersAssume(CarrySourceIdentity|CarrySessionTags\d+)?$/,
    shape: 'arn:${AWS::Partition}:iam::<account>:role/<maintainer role>',
    reason:
      "the roles access.developers.maintainers names, exactly as it names them (a permission set's roles, as the developers'); the trust also refuses a longer set's name and deeper paths by ArnNotLike (templates/access-roles.ts)",
  },
  {
    element: 'aws:PrincipalArn',
    statements: /^CarrySessionTags$/,
    shape: 'arn:${AWS::Partition}:iam::<account>:role/<person role>',
    reason:
      "the roles access.developers names (assumedBy or maintainers), for sts:TagSession only, which STS checks within the AssumeRole their own policy's other statement allows (templates/access-callers.ts)",
  },
  {
    element: 'aws:PrincipalArn',
    statements: /^AdministerKey$/,
    shape: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/<key administrator>',
    reason: "the artifact key's administrators keyAdministratorRoles names, and the StackSet execution role (stacksets-exec-* under SERVICE_MANAGED, whose suffix StackSets makes), exactly as the org file names them",
  },
  {
    element: 'aws:PrincipalArn',
    statements: /^(CiPullsOrgRepositories|CiAssumesReaderRoles|CiTagsReaderSessions)$/,
    shape: 'arn:${AWS::Partition}:iam::*:role/<prefix>-<name>',
    heldBy: { key: 'aws:PrincipalOrgID', operators: ['StringEquals'], organizationId: true },
    reason: "the CI's reader role in the organization's accounts, past the size a list fits: held to the organization by aws:PrincipalOrgID (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid)",
  },
  // Services' sources admitted by pattern.
  {
    element: 'aws:SourceArn',
    statements: /^TrustService$/,
    shape: 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*',
    reason: "this account's flow logs, whose ids are made at their creation: the flow-log role's trust AWS gives (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html)",
  },
  {
    element: 'aws:SourceArn',
    statements: /^TrustService$/,
    shape: 'arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:<prefix>-<name>/*',
    reason: "one CodeDeploy application's deployment groups in this account (resource type deploymentgroup, https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodedeploy.html)",
  },
  {
    element: 'aws:SourceArn',
    statements: /^TriggerRulesDeadLetters$/,
    shape: 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/<prefix>-*-trigger',
    reason: "this account's pipeline trigger rules, one per pipeline, by the name xstack gives them (src/naming.ts triggerRule; https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html)",
  },
  {
    element: 'aws:SourceArn',
    statements: /^(TrustService|ForwardingRulesDeadLetters)$/,
    shape: 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/<prefix>-codecommit-fwd-*',
    reason: "this account's forwarding rules, named by a hash of their repository and branch and a chunk (src/naming.ts forwardingRule; https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html)",
  },
];

/**
 * What the org gives the shapes: its prefix, its organization's id and the roles its file names, by field. A caller
 * without the org (a unit test of one template) reads `<prefix>` as any name and a field's role as any role, and
 * takes any organization's id: looser, never stricter, than the compile, which always gives it.
 */
export interface WildcardContext {
  readonly prefix: string;
  readonly organizationId?: string;
  /** The roles each field names, each as it follows `role/` in the ARNs the templates write (the path included). */
  readonly roles: Readonly<Record<RoleField, readonly string[]>>;
}

type RoleField = '<developer role>' | '<maintainer role>' | '<person role>' | '<key administrator>';

/** The org's context: its prefix, its organization's id, and the roles each field of its file names. */
export function wildcardContext(org: Pick<Org, 'prefix' | 'organizationId' | 'access' | 'keyAdministratorRoles' | 'stackSets'>): WildcardContext {
  const arnsOf = (sources: readonly RoleSource[] = []) => sources.flatMap((source) => source.roleNames.flatMap((r) => (source.sso ? SSO_PATHS : ['']).map((path) => `${path}${r}`)));
  const developers = arnsOf(org.access.developers?.assumedBy);
  const maintainers = arnsOf(org.access.developers?.maintainers);
  return {
    prefix: org.prefix,
    ...(org.organizationId ? { organizationId: org.organizationId } : {}),
    roles: {
      '<developer role>': developers,
      '<maintainer role>': maintainers,
      '<person role>': [...new Set([...developers, ...maintainers])],
      '<key administrator>': [...new Set([...org.keyAdministratorRoles, org.stackSets.executionRoleName])],
    },
  };
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const FIXED_PLACEHOLDERS: Record<string, string> = {
  '<account>': '(?:\\d{12}|\\$\\{AWS::AccountId\\})',
  '<region>': '(?:[a-z0-9-]+|\\$\\{AWS::Region\\})',
  '<name>': '(?:[^*?:$]|\\$\\{AWS::[A-Za-z]+\\})+',
  '<generation>': '(?:-g\\d+)?',
  '<resource>': '\\$\\{[A-Za-z0-9]+\\.Arn\\}',
};

/** The context of a caller without the org. */
const NO_CONTEXT: WildcardContext = { prefix: '', roles: { '<developer role>': [], '<maintainer role>': [], '<person role>': [], '<key administrator>': [] } };
/** Each shape's expression (an entry's, or a bound's value), per context. */
const expressions = new WeakMap<WildcardContext, Map<string, RegExp>>();

/** A shape as an expression over the whole text, its org placeholders read in `ctx`. */
function expressionOf(shape: string, ctx: WildcardContext): RegExp {
  let byShape = expressions.get(ctx);
  if (!byShape) expressions.set(ctx, (byShape = new Map()));
  let e = byShape.get(shape);
  if (!e) {
    const loose = ctx === NO_CONTEXT;
    const placeholder = (part: string): string | undefined => {
      if (part === '<prefix>') return loose ? '[a-z0-9-]+' : escape(ctx.prefix);
      if (part in ctx.roles) return loose ? '[^:]+' : `(?:${ctx.roles[part as RoleField].map(escape).join('|') || '(?!)'})`;
      return FIXED_PLACEHOLDERS[part];
    };
    const source = shape
      .split(/(<account>|<region>|<prefix>|<name>|<generation>|<developer role>|<maintainer role>|<person role>|<key administrator>|<resource>)/)
      .map((part) => placeholder(part) ?? escape(part))
      .join('');
    byShape.set(shape, (e = new RegExp(`^${source}$`)));
  }
  return e;
}

/**
 * The listed wildcards a compile's templates use, each with the Sids of the statements that hold it and its texts as
 * the templates write them (the audit report's table).
 */
export type WildcardUse = Map<BoundedWildcard, { sids: Set<string>; texts: Set<string> }>;

/** Records that statement `sid` holds wildcard `w`, written as `text`. */
export function recordUse(use: WildcardUse, w: BoundedWildcard, sid: string, text: string): void {
  let seen = use.get(w);
  if (!seen) use.set(w, (seen = { sids: new Set(), texts: new Set() }));
  seen.sids.add(sid);
  seen.texts.add(text);
}

/** Whether a text holds a wildcard IAM reads: `*` or `?`, outside `${…}`. */
export const holdsWildcard = (text: string): boolean => (text.includes('*') || text.includes('?')) && /[*?]/.test(text.replace(/\$\{[^}]*\}/g, ''));

/**
 * The listed wildcard a statement's text fits: its element, its statement's Sid and its shape, in the org's context
 * (`ctx`; none for a caller without the org); an entry held by a condition only where `condition`, the statement's
 * Condition element, carries it as the entry says. Undefined: not listed.
 */
export function boundedWildcard(element: WildcardElement, sid: string | undefined, text: string, condition: Record<string, Record<string, unknown>> | undefined, ctx: WildcardContext = NO_CONTEXT): BoundedWildcard | undefined {
  if (sid === undefined) return undefined;
  for (const w of candidatesFor(element, sid)) {
    if (!expressionOf(w.shape, ctx).test(text)) continue;
    if (w.heldBy === undefined || holds(w.heldBy, condition, ctx)) return w;
  }
  return undefined;
}

/** Whether a Condition element carries the bound `held` names, as it names it (BoundedWildcard heldBy). */
function holds(held: NonNullable<BoundedWildcard['heldBy']>, condition: Record<string, Record<string, unknown>> | undefined, ctx: WildcardContext): boolean {
  for (const operator of held.operators) {
    const byKey = condition?.[operator];
    if (!byKey) continue;
    for (const key in byKey) {
      if (key.toLowerCase() !== held.key.toLowerCase()) continue;
      const values = Array.isArray(byKey[key]) ? (byKey[key] as unknown[]) : [byKey[key]];
      // ArnEquals reads wildcards as ArnLike does ("behave identically", the condition operators page).
      const pattern = operator.endsWith('Like') || operator.startsWith('Arn');
      const owned = (v: unknown) =>
        (!held.organizationId || ctx.organizationId === undefined || v === ctx.organizationId) && (held.value === undefined || (typeof v === 'string' && expressionOf(held.value, ctx).test(v)));
      if (values.length > 0 && values.every((v) => fixed(v, pattern) && owned(v))) return true;
    }
  }
  return false;
}

/**
 * A value the bound can rest on: a text with no wildcard (but in a pattern operator's values, themselves asked by
 * XS017) and no policy variable (`${aws:…}` in a plain string, `${!…}` in a Sub), or a reference CloudFormation
 * resolves to one (Ref, Fn::GetAtt, Fn::ImportValue).
 */
function fixed(value: unknown, pattern: boolean): boolean {
  if (typeof value === 'string') return (pattern || !/[*?]/.test(value.replace(/\$\{AWS::[A-Za-z]+\}/g, ''))) && !/\$\{(?!AWS::[A-Za-z]+\})/.test(value);
  if (!value || typeof value !== 'object') return false;
  const o = value as Record<string, unknown>;
  if (typeof o['Fn::Sub'] === 'string') {
    const text = o['Fn::Sub'] as string;
    return (pattern || !/[*?]/.test(text.replace(/\$\{[^}]*\}/g, ''))) && !text.includes('${!') && [...text.matchAll(/\$\{([^}]*)\}/g)].every((m) => /^AWS::|^[A-Za-z0-9]+(\.[A-Za-z0-9]+)?$/.test(m[1]));
  }
  return 'Ref' in o || 'Fn::GetAtt' in o || 'Fn::ImportValue' in o;
}

/** The entries for an element and a Sid, found once: a compile asks of the same few Sids for every account's statements. */
const candidates = new Map<string, readonly BoundedWildcard[]>();
function candidatesFor(element: WildcardElement, sid: string): readonly BoundedWildcard[] {
  const key = `${element} ${sid}`;
  let found = candidates.get(key);
  if (!found) candidates.set(key, (found = BOUNDED_WILDCARDS.filter((w) => w.element === element && w.statements.test(sid))));
  return found;
}
