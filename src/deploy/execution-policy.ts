/**
 * The StackSet execution role's policy, derived from the compiled templates
 * instead of AdministratorAccess: the IAM actions CloudFormation needs for
 * exactly the resource types the templates contain (each type's handler
 * permissions, from its registry schema), each tied to the ARNs of the
 * resources the templates name. A name that varies with an account is
 * written as its shape (`<prefix>-source-????????????`, naming.ts `shapes`),
 * so the policy is as large for 1,000 accounts as for 3. Each account's policy holds only the names (and the
 * account-wide statements) of the resources its own stack instances create (`forAccount`: a family's unit is under a
 * condition on the account), so it grows with an account's resources, not the org's. IAM takes at most
 * 6,144 characters a managed policy and 10 managed policies a role unless raised
 * (limits.ts ADJUSTABLE_IAM_QUOTAS; https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
 * Names that vary with a pipeline stay exact while they fit that quota, and
 * only past it are written as their shapes too (`<prefix>-*-trigger`), which
 * reach other owners' names of that form: `executionPolicyOf` chooses and says
 * why. Names xstack does not give (repositories, the org file's existing
 * roles) stay exact. Pure: no AWS calls.
 *
 * Strings use CloudFormation's Sub form (`${AWS::Partition}`,
 * `${AWS::AccountId}`, `${AWS::Region}`): `resolvePolicy` turns them into one
 * account's policy document; the audit can read the Sub form as it is.
 *
 * Handler permissions: https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html
 * ARN formats: the Service Authorization Reference of each service,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
 */
import { renderTemplate, type CfnResource, type CfnTemplate } from '../cfn/template';
import { accountsWhereHolds } from '../cfn/account-switch';
import type { Stage } from '../stages/model';
import type { CompiledOrg } from '../compile';
import { XstackError } from '../errors';
import { LIMITS, policyChars } from '../limits';
import { IAM_QUOTAS_DOC, quotaOf } from '../checks/iam-quotas';
import { globRegExp, someResourceTaking } from '../checks/service-authorization';
import { isRolePattern, roleNameOf } from '../iam/role-path';
import { Names } from '../naming';
import { isStackUniqueId } from '../cfn/intrinsics';
import { RESOURCE_PERMISSIONS } from './resource-permissions';
import { handlerActionsFor } from './optional-handler-actions';
import { actionData, takesOnlyAllResources } from '../checks/iam-data';
import { compareText } from '../order';
import type { Org } from '../org/model';
import { LAUNCH_TEMPLATE_TAG } from '../aws/tags';
import { madeOnce } from '../memo';

export interface ExecutionStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string[];
  /** Why this statement is broader than the named resources (written next to it, kept out of the IAM document). */
  reason?: string;
  /** IAM's Condition element, in Sub form (resolvePolicy resolves its values as it does the resources). */
  Condition?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * The accounts each resource is granted in, for those not granted in every account: a name a template's resource
   * gives in some of its target accounts only (a family's unit, under its account condition) is in the policy of
   * those accounts only (`forAccount`). Kept out of the IAM document.
   */
  scope?: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * A template the execution role acts for, with the accounts its stacks run in: a compiled stage's targets, or the
 * accounts of a deployed StackSet's instances. A template given alone is taken as running in every account.
 */
export type ExecutionTemplate = CfnTemplate | { readonly template: CfnTemplate; readonly accounts: readonly string[]; /** A template a StackSet holds now, not the compile's. */ readonly deployed?: true };

const P = '${AWS::Partition}';
const A = '${AWS::AccountId}';
const R = '${AWS::Region}';

type ShapeKind = keyof ReturnType<Names['shapes']>;
/** A name as the policy writes it: its shape of that kind when it has one, else the name itself. */
type Shaped = (kind: ShapeKind | undefined, name: string) => string;

/**
 * The property that names a resource of a type, the ARN that name makes (Service Authorization Reference, per
 * service), and which of naming.ts's shapes the name may take. xstack gives its roles, policies and instance profiles
 * no path (src/cfn/resources.ts), so their ARNs are `role/<name>`, `policy/<name>`, `instance-profile/<name>`.
 */
const NAMED: Record<
  string,
  { property: string; shape?: ShapeKind; arn: (name: string, t: CfnTemplate, r: Record<string, unknown>, shaped: Shaped) => string; also?: (name: string) => string[] }
> = {
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
  'AWS::IAM::Role': { property: 'RoleName', shape: 'role', arn: (n) => `arn:${P}:iam::${A}:role/${n}` },
  'AWS::IAM::ManagedPolicy': { property: 'ManagedPolicyName', shape: 'managedPolicy', arn: (n) => `arn:${P}:iam::${A}:policy/${n}` },
  'AWS::IAM::InstanceProfile': { property: 'InstanceProfileName', arn: (n) => `arn:${P}:iam::${A}:instance-profile/${n}` },
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
  'AWS::S3::Bucket': { property: 'BucketName', arn: (n) => `arn:${P}:s3:::${n}` },
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html
  'AWS::KMS::Alias': { property: 'AliasName', arn: (n) => `arn:${P}:kms:${R}:${A}:${n}` },
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodecommit.html
  'AWS::CodeCommit::Repository': { property: 'RepositoryName', arn: (n) => `arn:${P}:codecommit:${R}:${A}:${n}` },
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodepipeline.html
  'AWS::CodePipeline::Pipeline': { property: 'Name', shape: 'pipeline', arn: (n) => `arn:${P}:codepipeline:${R}:${A}:${n}` },
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodedeploy.html
  'AWS::CodeDeploy::Application': { property: 'ApplicationName', shape: 'codedeploy', arn: (n) => `arn:${P}:codedeploy:${R}:${A}:application:${n}` },
  'AWS::CodeDeploy::DeploymentGroup': {
    property: 'DeploymentGroupName',
    shape: 'codedeploy',
    arn: (n, t, r, shaped) => {
      const application = nameOf(t, r.ApplicationName);
      return `arn:${P}:codedeploy:${R}:${A}:deploymentgroup:${application === undefined ? '*' : shaped('codedeploy', application)}/${n}`;
    },
  },
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
  'AWS::Events::Rule': { property: 'Name', shape: 'rule', arn: (n) => `arn:${P}:events:${R}:${A}:rule/${n}` },
  'AWS::Events::EventBusPolicy': { property: 'EventBusName', arn: (n) => `arn:${P}:events:${R}:${A}:event-bus/${n}` },
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html (log-group:
  // arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}). The CI network's group ends in its stack's
  // unique id (intrinsics.ts stackUniqueName), read here as `*`: a `*` that ends an ARN segment "can expand to match
  // beyond the colon boundaries" (reference_policies_elements_resource.html), so the group's `:*` and its streams too.
  'AWS::Logs::LogGroup': { property: 'LogGroupName', arn: (n) => `arn:${P}:logs:${R}:${A}:log-group:${n}` },
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html (queue: arn:${Partition}:sqs:${Region}:${Account}:${QueueName}).
  // A QueuePolicy has no name of its own: its handler's sqs:SetQueueAttributes goes with the queues' ARNs (SqsNamed).
  'AWS::SQS::Queue': { property: 'QueueName', arn: (n) => `arn:${P}:sqs:${R}:${A}:${n}` },
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelastickubernetesservice.html: an
  // association is named by its cluster, `cluster/${ClusterName}` (CreatePodIdentityAssociation's resource), and
  // `podidentityassociation/${ClusterName}/${PodIdentityAssociationId}` (Describe, Update, Delete, tags): the
  // cluster's associations alone, not every EKS resource of the CI account (review s36-variants M1).
  'AWS::EKS::PodIdentityAssociation': {
    property: 'ClusterName',
    arn: (n) => `arn:${P}:eks:${R}:${A}:cluster/${n}`,
    also: (n) => [`arn:${P}:eks:${R}:${A}:podidentityassociation/${n}/*`],
  },
};

/**
 * Types xstack named later than it first created them (the flow-log group: review s37-execution X2): a template deployed before
 * (bootstrap.ts `deployedOrgTemplates`) still holds one unnamed, and the writes on it are granted account-wide in its
 * accounts (the `Account` statement) until a deploy has replaced it with the named one.
 */
const NAMED_SINCE: ReadonlySet<string> = new Set(['AWS::Logs::LogGroup']);

/**
 * Resources with generated ids (no name in their ARN), by service: the
 * account and region is the narrowest ARN, and the reason says so.
 */
const GENERATED_IDS: Record<string, { arn: string; reason: string }> = {
  ec2: {
    arn: `arn:${P}:ec2:${R}:${A}:*`,
    reason: 'EC2 resources (VPC, subnets, route tables, gateways, endpoints, security groups, addresses, launch templates) get generated ids, so their ARNs carry no name: limited to this account and region',
  },
  kms: {
    arn: `arn:${P}:kms:${R}:${A}:key/*`,
    reason: 'KMS keys get generated ids (key/<uuid>), so their ARNs carry no name: limited to keys of this account and region; aliases are named below',
  },
};

/**
 * IAM's `*` "can expand to replace everything within a segment, including characters like a forward slash (/)", and
 * `?` is "any single character" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html,
 * "Using wildcards in resource ARNs"). A role's or managed policy's ARN carries its path (`role/<path>/<name>`) and a
 * rule's its bus (`rule/<bus>/<name>` off the default bus), so a shape such as `role/acme-*-trigger` also matches
 * `role/acme-ops/oncall-trigger`, a role on path `/acme-ops/`, and `role/acme-source-????????????` a role of 11
 * characters on path `/acme-source-/`. xstack gives its roles and policies no path and puts its rules on the default
 * bus, so its own names never hold a `/` there: for each such shape, `<before its first wildcard>*\/*<after its last>`
 * is every ARN the shape matches with a `/` in it, and an explicit Deny on those (which wins over any Allow) leaves the
 * shape matching names of the default path and bus only.
 */
function pathDenials(arns: readonly string[]): string[] {
  const denied = new Set<string>();
  for (const arn of arns) {
    const m = /^(.*:(?:role|policy|rule)\/)(.*)$/.exec(arn);
    if (!m || !/[*?]/.test(m[2])) continue;
    const name = m[2];
    const first = name.search(/[*?]/);
    const last = Math.max(name.lastIndexOf('*'), name.lastIndexOf('?'));
    denied.add(`${m[1]}${name.slice(0, first)}*/*${name.slice(last + 1)}`);
  }
  // One that another already covers is left out (`acme-*/*` covers `acme-*/*-pipeline`).
  return [...denied].filter((d) => ![...denied].some((other) => other !== d && globRegExp(other).test(d))).sort();
}

const PATH_DENIAL_REASON =
  "explicit Deny: IAM's wildcards match '/' too, so the shapes in the statement above would also reach a role or policy on a path, or a rule on another event bus, whose ARN fits them; xstack gives its roles and policies no path and puts its rules on the default bus, so every name these match is someone else's";

/**
 * Actions the Service Authorization Reference gives no resource type: "If there is no value for this column, you must
 * specify all resources ("*") to which the policy applies in the Resource element of your policy statement"
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html),
 * so on a named ARN they authorize nothing (events:PutPermission, which an event bus policy's handler calls, would be
 * refused). Read from IAM's data (checks/iam-data.ts), not listed by hand. kms:CreateKey is one of them, with its own
 * statement (KmsCreateKey).
 */
function withoutResourceType(action: string): { read: boolean } | undefined {
  if (!takesOnlyAllResources(action)) return undefined;
  const accessLevel = actionData(action)!.accessLevel;
  return { read: accessLevel === 'List' || accessLevel === 'Read' };
}

/**
 * Handler actions whose resource is of a type the templates do not create, with the ARN they are granted on.
 * A deployment group names its deployment configuration (DeploymentConfigName, CodeDeployDefault.OneAtATime when
 * absent), and codedeploy:GetDeploymentConfig takes only the `deploymentconfig` type
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodedeploy.html): on the group's or the
 * application's ARN it reads nothing.
 */
const OTHER_RESOURCE_TYPES: Readonly<Record<string, { sid: string; arn: string; reason: string }>> = {
  'codedeploy:GetDeploymentConfig': {
    sid: 'CodedeployDeploymentConfigs',
    arn: `arn:${P}:codedeploy:${R}:${A}:deploymentconfig:*`,
    reason:
      "the deployment group's handler reads the deployment configuration the group names, which takes the deploymentconfig resource type (AWS's CodeDeployDefault.* configurations too): every configuration of this account and Region, read only",
  },
};

/**
 * "To successfully complete the AWS::S3::Bucket LoggingConfiguration request, you must have s3:PutObject and
 * s3:PutObjectAcl in your IAM permissions"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-loggingconfiguration.html):
 * the registry schema lists s3:PutObjectAcl only, and on the bucket, where an object action authorizes nothing. The
 * page names no bucket; the objects a logging configuration writes are the destination bucket's, so they are granted
 * there (its access-log bucket), never on the artifact bucket that logs: a write there could replace an artifact a
 * pipeline deploys. README "Verify once" says how to confirm it.
 */
const LOGGING_ACTIONS = ['s3:PutObject', 's3:PutObjectAcl'];

const subText = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof (v as { 'Fn::Sub'?: unknown })?.['Fn::Sub'] === 'string' ? (v as { 'Fn::Sub': string })['Fn::Sub'] : undefined);

/** A name as the template writes it; a Ref to a resource of the template is that resource's own name. */
function nameOf(t: CfnTemplate, v: unknown): string | undefined {
  const ref = (v as { Ref?: unknown })?.Ref;
  if (typeof ref === 'string') {
    const target = t.Resources[ref];
    const spec = target && NAMED[target.Type];
    return spec ? nameOf(t, target.Properties?.[spec.property]) : undefined;
  }
  const join = (v as { 'Fn::Join'?: unknown })?.['Fn::Join'];
  if (Array.isArray(join) && join[0] === '' && Array.isArray(join[1])) {
    // A name that ends in its stack's unique id (intrinsics.ts stackUniqueName): that id, unknown before the stack is, as `*`.
    const parts = join[1].map((part, i) => (i === (join[1] as unknown[]).length - 1 && isStackUniqueId(part) ? '*' : nameOf(t, part)));
    return parts.every((p) => p !== undefined) ? parts.join('') : undefined;
  }
  const text = subText(v);
  // Only the pseudo parameters stay (a template parameter would make the name unknown here).
  return text !== undefined && !/\$\{(?!AWS::(Partition|AccountId|Region)\})/.test(text) ? text : undefined;
}

interface Derived {
  /** Each resource type, with the accounts it is in. */
  types: Scopes;
  /** Each resource type's resources, for the handler actions they need (optional-handler-actions.ts). */
  resourcesByType: Map<string, CfnResource[]>;
  arnsByService: Map<string, Set<string>>;
  /** Each named ARN's accounts. */
  arnScopes: Scopes;
  /** Roles a managed policy attaches to that no template creates and the org file does not list, with the accounts the attachment is in. */
  unlistedRoles: Scopes;
  /** The objects (`<bucket ARN>/*`) of the bucket each LoggingConfiguration logs to, with their accounts. */
  loggingObjects: Scopes;
  /** The ARNs (as written: exact or by shape) of the roles the templates create (AWS::IAM::Role), among the IAM ARNs. */
  createdRoles: ReadonlySet<string>;
  /** The services of a deployed template's resources that an earlier xstack left unnamed (NAMED_SINCE), with their accounts. */
  unnamed: Scopes;
  /** Those of them whose trust names a service: the only roles a handler passes (iam:PassRole). */
  serviceRoles: ReadonlySet<string>;
  /** The intrinsic functions CloudFormation itself calls AWS for (ENGINE_CALLS), with the accounts of the resources that use them. */
  engineCalls: Scopes;
}

/**
 * What CloudFormation itself asks of AWS, as the stack's role, to resolve an intrinsic function, beside every resource
 * handler: "For both platforms, you need permissions to the Amazon EC2 DescribeAvailabilityZones and
 * DescribeAccountAttributes actions. For EC2-VPC, you also need permissions to the Amazon EC2 DescribeSubnets action"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getavailabilityzones.html).
 * Looked for in EC2 resources only, where an Availability Zone is a property (review s37-execution X1: the CI
 * network's subnets pick theirs with Fn::GetAZs, and no handler list names these reads).
 */
const ENGINE_CALLS: Readonly<Record<string, readonly string[]>> = {
  'Fn::GetAZs': ['ec2:DescribeAccountAttributes', 'ec2:DescribeAvailabilityZones', 'ec2:DescribeSubnets'],
};

/** Whether a role's trust names a service principal (`Principal: { Service: … }`), in any statement or branch. */
const trustsAService = (r: CfnResource) => holdsKey(r.Properties?.AssumeRolePolicyDocument, 'Service');

/** Whether plain template data has `key` (with a value) in one of its maps, at any depth: walked, not written out as JSON for every role. */
function holdsKey(data: unknown, key: string): boolean {
  if (Array.isArray(data)) return data.some((item) => holdsKey(item, key));
  if (!data || typeof data !== 'object') return false;
  const map = data as Record<string, unknown>;
  for (const k in map) {
    if (!Object.hasOwn(map, k)) continue;
    if ((k === key && map[k] !== undefined) || holdsKey(map[k], key)) return true;
  }
  return false;
}

/**
 * Keys (an ARN, a resource type, a role name) and the accounts they occur in, from every occurrence: undefined
 * (every account) when one occurrence is in a template given without its accounts.
 */
class Scopes {
  private readonly occurrences = new Map<string, Set<ReadonlySet<string>> | 'all'>();
  private readonly unions = new Map<string, ReadonlySet<string> | undefined>();

  add(key: string, accounts: ReadonlySet<string> | undefined): void {
    const known = this.occurrences.get(key);
    if (known === 'all') return;
    if (accounts === undefined) this.occurrences.set(key, 'all');
    else if (known) known.add(accounts);
    else this.occurrences.set(key, new Set([accounts]));
  }

  keys(): IterableIterator<string> {
    return this.occurrences.keys();
  }

  /** The accounts of a key, or of several together; undefined: every account. */
  of(...keys: string[]): ReadonlySet<string> | undefined {
    const sets: ReadonlySet<string>[] = [];
    for (const key of keys) {
      const accounts = this.ofOne(key);
      if (accounts === undefined) return undefined;
      sets.push(accounts);
    }
    return sets.length === 1 ? sets[0] : union(sets);
  }

  /** `of(key)`, without a list of keys made for each ARN a statement scopes. */
  ofOne(key: string): ReadonlySet<string> | undefined {
    const known = this.unions.get(key);
    if (known !== undefined || this.unions.has(key)) return known;
    const occurrences = this.occurrences.get(key);
    // One set (the usual case: a name in one unit) is used as it is, shared and never changed.
    const accounts = occurrences === 'all' || occurrences === undefined ? undefined : occurrences.size === 1 ? occurrences.values().next().value : union([...occurrences]);
    this.unions.set(key, accounts);
    return accounts;
  }
}

function union(sets: readonly ReadonlySet<string>[]): ReadonlySet<string> {
  const out = new Set<string>();
  for (const s of sets) for (const id of s) out.add(id);
  return out;
}

/** A statement's scope: each resource's accounts where it has some (`scopeOf` gives undefined for every account). */
function scopeFor(resources: readonly string[], scopeOf: (resource: string) => ReadonlySet<string> | undefined): Pick<ExecutionStatement, 'scope'> {
  const scope = new Map<string, ReadonlySet<string>>();
  for (const r of resources) {
    const accounts = scopeOf(r);
    if (accounts) scope.set(r, accounts);
  }
  return scope.size > 0 ? { scope } : {};
}

/** `AWS::IAM::Role` → `iam`; asked for every named resource of every template, so each type is split once. */
const servicesOfTypes = new Map<string, string>();
function serviceOfType(type: string): string {
  let service = servicesOfTypes.get(type);
  if (service === undefined) servicesOfTypes.set(type, (service = type.split('::')[1].toLowerCase()));
  return service;
}

/** A role by name at any path: its ARN without a path and with any (IAM authorizes on `role/<path><name>`). */
const roleAtAnyPath = (name: string) => [`arn:${P}:iam::${A}:role/${name}`, `arn:${P}:iam::${A}:role/*/${name}`];

/** Each name as its first shape of its kind that matches it (naming.ts `shapes`), or as itself. */
function shaper(names: Names, pipelines: boolean): Shaped {
  // A shape's text before its first wildcard (`acme-source-`), which its anchored pattern matches only at a name's start:
  // most names lack it, and are told apart by it without the pattern.
  const shapes = Object.entries(names.shapes(pipelines)).map(([kind, list]) => [kind, list.map((shape) => ({ shape, head: shape.split(/[*?]/)[0], test: globRegExp(shape) }))] as const);
  const byKind = new Map(shapes);
  return (kind, name) => {
    const list = kind ? byKind.get(kind) : undefined;
    if (list) for (const s of list) if (name.startsWith(s.head) && s.test.test(name)) return s.shape;
    return name;
  };
}

const templateOf = (given: ExecutionTemplate): CfnTemplate => ('template' in given ? (given.template as CfnTemplate) : given);

/**
 * The accounts of each resource of a template, by its logical id: the template's accounts, narrowed by the resource's
 * condition on the account (account-switch.ts); a template given alone, every account (undefined). Asked of each
 * resource in turn, with a memo of the template's conditions (not a generator: a tuple and a step made per resource).
 */
function accountsIn(given: ExecutionTemplate): (r: CfnResource) => ReadonlySet<string> | undefined {
  const template = templateOf(given);
  const targets = 'template' in given ? new Set(given.accounts as readonly string[]) : undefined;
  const memo = new Map<string, ReadonlySet<string> | undefined>();
  return (r) => (targets && r.Condition ? (accountsWhereHolds(template.Conditions, r.Condition, targets, memo) ?? targets) : targets);
}

/**
 * A list item as the names it may take: an item present in some accounts only is written `Fn::If [condition, item,
 * AWS::NoValue]` (account-switch.ts `item`), and both branches are granted (a superset, in the resource's accounts).
 * Added to `out`: each branch that is no Fn::If, in order, but AWS::NoValue (an item that is no Fn::If, as it is).
 */
function addEitherBranch(item: unknown, out: unknown[]): void {
  const branches = (item as { 'Fn::If'?: unknown[] })?.['Fn::If'];
  if (Array.isArray(branches)) addBranches(branches, out);
  else out.push(item);
}

function addBranches(branches: readonly unknown[], out: unknown[]): void {
  for (let i = 1; i < branches.length; i++) {
    const branch = branches[i];
    const nested = (branch as { 'Fn::If'?: unknown[] })?.['Fn::If'];
    if (Array.isArray(nested)) addBranches(nested, out);
    else if ((branch as { Ref?: unknown })?.Ref !== 'AWS::NoValue') out.push(branch);
  }
}

function collect(templates: readonly ExecutionTemplate[], existingRoles: readonly string[], shaped: Shaped): Derived {
  // An existing role's ARN has its path, which a template's Roles (names only) does not carry (src/iam/role-path.ts).
  const pathed = new Map(existingRoles.map((role) => [roleNameOf(role), role]));
  const created = new Set<string>();
  // Names only: the accounts each resource is in (accountsIn) are not read here.
  // Each template's logical ids listed once for both walks (a family's Resources is a dictionary of hundreds of ids).
  const idsOf = templates.map((given) => Object.keys(templateOf(given).Resources));
  for (let k = 0; k < templates.length; k++) {
    const t = templateOf(templates[k]);
    for (const logicalId of idsOf[k]) {
      const r = t.Resources[logicalId];
      const name = r.Type === 'AWS::IAM::Role' ? nameOf(t, r.Properties?.RoleName) : undefined;
      if (name !== undefined) created.add(name);
    }
  }
  const types = new Scopes();
  const arnsByService = new Map<string, Set<string>>();
  const arnScopes = new Scopes();
  const unlistedRoles = new Scopes();
  const loggingObjects = new Scopes();
  const createdRoles = new Set<string>();
  const serviceRoles = new Set<string>();
  const engineCalls = new Scopes();
  const unnamed = new Scopes();
  const resourcesByType = new Map<string, CfnResource[]>();
  const roleNames: unknown[] = [];
  for (let k = 0; k < templates.length; k++) {
    const given = templates[k];
    const t = templateOf(given);
    const accountsOf = accountsIn(given);
    const resources = t.Resources;
    for (const logicalId of idsOf[k]) {
      const r = resources[logicalId];
      const accounts = accountsOf(r);
      // A resource in no target account (its condition holds in none of them) is created nowhere.
      if (accounts?.size === 0) continue;
      types.add(r.Type, accounts);
      if (r.Type.startsWith('AWS::EC2::')) for (const fn of Object.keys(ENGINE_CALLS)) if (holdsKey(r.Properties, fn)) engineCalls.add(fn, accounts);
      (resourcesByType.get(r.Type) ?? resourcesByType.set(r.Type, []).get(r.Type)!).push(r);
      const spec = NAMED[r.Type];
      if (!spec) continue;
      const name = nameOf(t, r.Properties?.[spec.property]);
      // Only a deployed template's: one of the compile's left unnamed is a mistake, refused below (review s38-lead-diff m1).
      if (name === undefined && NAMED_SINCE.has(r.Type) && 'template' in given && given.deployed) {
        unnamed.add(serviceOfType(r.Type), accounts);
        continue;
      }
      if (name === undefined) {
        throw new XstackError('EXECUTION_POLICY', `${r.Type} ${logicalId}: its ${spec.property} is not a fixed name, so the execution role's policy cannot be limited to it; give it a name made of literals and \${AWS::AccountId}/\${AWS::Region}, or one that ends in its stack's unique id (intrinsics.ts stackUniqueName)`);
      }
      const service = serviceOfType(r.Type);
      let arns = arnsByService.get(service);
      if (!arns) arnsByService.set(service, (arns = new Set<string>()));
      const add = (arn: string) => {
        arns.add(arn);
        arnScopes.add(arn, accounts);
      };
      const own = spec.arn(shaped(spec.shape, name), t, r.Properties ?? {}, shaped);
      add(own);
      if (spec.also) for (const arn of spec.also(name)) add(arn);
      if (r.Type === 'AWS::IAM::Role') createdRoles.add(own);
      if (r.Type === 'AWS::IAM::Role' && trustsAService(r)) serviceRoles.add(own);
      // A managed policy attached to a role no template creates (existing instance roles the org names):
      // attaching and detaching act on that role too, which IAM authorizes on role/${RoleNameWithPath}.
      // An existing role keeps its exact name and path; a role the templates create is written as in its own statement.
      if (r.Type === 'AWS::IAM::ManagedPolicy') {
        roleNames.length = 0;
        for (const item of (r.Properties?.Roles as unknown[] | undefined) ?? []) addEitherBranch(item, roleNames);
        for (const roleName of roleNames) {
          const n = nameOf(t, roleName);
          if (n === undefined) continue;
          // Neither listed nor created: an instance role a deployed template still attaches to, since removed from the
          // org file, whose path is unknown (the template holds its name only): granted at any path, below.
          if (!pathed.has(n) && !created.has(n)) unlistedRoles.add(n, accounts);
          else add(`arn:${P}:iam::${A}:role/${pathed.get(n) ?? shaped('role', n)}`);
        }
      }
      const logging = r.Type === 'AWS::S3::Bucket' ? (r.Properties?.LoggingConfiguration as Record<string, unknown> | undefined) : undefined;
      if (logging) {
        // Chosen by an intrinsic (Fn::If by account), the configuration's bucket is not known here: taken for "logs to
        // itself", the grant would land on the bucket that logs, the artifact bucket.
        if (Object.keys(logging).some((k) => k.startsWith('Fn::'))) throw new XstackError('EXECUTION_POLICY', `AWS::S3::Bucket ${logicalId}: its LoggingConfiguration is chosen by ${Object.keys(logging)[0]}, so the execution role's policy cannot be limited to the bucket it logs to; write the configuration itself`);
        // Without DestinationBucketName the bucket logs to itself.
        const destination = logging.DestinationBucketName === undefined ? name : nameOf(t, logging.DestinationBucketName);
        if (destination === undefined) throw new XstackError('EXECUTION_POLICY', `AWS::S3::Bucket ${logicalId}: its LoggingConfiguration's DestinationBucketName is not a fixed name, so the execution role's policy cannot be limited to it`);
        loggingObjects.add(`${NAMED['AWS::S3::Bucket'].arn(destination, t, {}, shaped)}/*`, accounts);
      }
    }
  }
  return { types, resourcesByType, arnsByService, arnScopes, unlistedRoles, loggingObjects, createdRoles, serviceRoles, engineCalls, unnamed };
}

/**
 * What the execution role does besides creating the templates' resources:
 * CloudFormation runs the instance stacks as this role, and destroy
 * --delete-retained empties retained buckets with it (reads are the reader role's).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html
 */
function stackStatements(prefix: string, buckets: string[], scopeOf: (bucketArn: string) => ReadonlySet<string> | undefined): ExecutionStatement[] {
  const out: ExecutionStatement[] = [
    {
      Sid: 'InstanceStacks',
      Effect: 'Allow',
      Action: ['cloudformation:*'],
      // StackSets name an instance's stack StackSet-<StackSet name>-<id>.
      Resource: [`arn:${P}:cloudformation:${R}:${A}:stack/StackSet-${prefix}-*`],
      reason:
        "StackSets runs every operation on an instance's stack as this role, and \"your target account always needs full AWS CloudFormation permissions, which include permissions to create, update, delete, and describe stacks\" (stacksets-prereqs-self-managed.html): besides those, the tags StackSets gives each stack (cloudformation:TagResource on create), drift detection and rollback. Every CloudFormation action, on this org's instance stacks only",
    },
    {
      Sid: 'StackSetsService',
      Effect: 'Allow',
      Action: ['s3:*'],
      Resource: ['*'],
      // Never a resource of the target account itself: aws:ResourceAccount is "the account ID of the owner of the
      // resource" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount).
      // And never a call whose request has no such key: "If the policy condition requires that the key is not matched,
      // such as StringNotLike or ArnNotLike, and the right key is not present, the condition is true"
      // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html), so
      // without Null the account-wide S3 settings' calls could pass it.
      Condition: { StringNotEquals: { 'aws:ResourceAccount': '${AWS::AccountId}' }, Null: { 'aws:ResourceAccount': 'false' } },
      reason:
        'AWS: "You must add the S3 service action and resources to AWSCloudFormationStackSetExecutionRole policy statement for each target account for StackSets to work. StackSets uses these permissions to notify the stack instance state in the target accounts and in the administrator account", its minimum statement "cloudformation:*", "s3:*" on "*" (stacksets-prereqs-self-managed.html). AWS names neither the calls nor the buckets, so every S3 action, held to buckets outside the target account: one in another account also needs that bucket\'s own policy to admit the role (cross-account access is granted on both sides), so this reaches the buckets of StackSets and any whose policy admits the role, its account or its organization (a bucket policy that admits principals by aws:PrincipalOrgID, as central log and artifact buckets often do, lets every execution role of the org do whatever it grants the organization, the role\'s s3:* adding no limit of its own: IAM Access Analyzer on those buckets names them), and none of the account\'s own. To narrow to the calls made, read one rollout\'s CloudTrail (README, "Not yet")',
    },
  ];
  if (buckets.length > 0) {
    out.push({
      Sid: 'EmptyRetainedBuckets',
      Effect: 'Allow',
      Action: ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:ListBucketVersions'],
      Resource: [...buckets, ...buckets.map((b) => `${b}/*`)].sort(),
      // A bucket's objects (`<bucket>/*`) where the bucket is.
      ...scopeFor([...buckets, ...buckets.map((b) => `${b}/*`)], (r) => scopeOf(r.endsWith('/*') ? r.slice(0, -2) : r)),
    });
  }
  // No s3:ListBucket on the names of earlier bucket generations: plan looks for them with the reader role
  // (reader-policy.ts SeeRetainedBuckets), not with this one (review s27-bootstrap M2).
  return out;
}

const serviceOf = (action: string) => action.split(':')[0];
const CREATE_KEY = 'kms:CreateKey';
const sid = (service: string, suffix = '') => `${service.replace(/[^a-z0-9]/gi, '').replace(/^./, (c) => c.toUpperCase())}${suffix}`;

/**
 * The execution role's statements for a compiled org (Sub form). `deployed`: templates the org's StackSets hold now
 * (bootstrap.ts `deployedOrgTemplates`), whose names keep their permissions until a deploy has removed them; the same
 * choice of exact names or shapes (executionPolicyOf) is made for all of them together.
 */
export function executionPolicy(compiled: CompiledOrg, deployed: readonly ExecutionTemplate[] = []): ExecutionStatement[] {
  const templates = compiledTemplates(compiled.stages, (s) => renderTemplate(s.definition));
  // Exact names or shapes: decided by the accounts bootstrap writes, the compile's targets (a leaving account's policy
  // is left as it is), so that bootstrap makes the choice the compile and its report made.
  const targets = [...new Set(templates.flatMap((t) => ('template' in t ? (t.accounts as readonly string[]) : [])))];
  return executionPolicyOf(compiled.org, [...templates, ...deployed.map((d) => ('template' in d ? { ...d, deployed: true as const } : d))], targets).statements;
}

/** Each stage's template with its target accounts. */
export const compiledTemplates = (stages: readonly Stage[], templateOf: (stage: Stage) => CfnTemplate): ExecutionTemplate[] =>
  stages.map((stage) => ({ template: templateOf(stage), accounts: stage.targets.map((a) => a.id) }));

/**
 * How the policy writes the names keyed by a pipeline (naming.ts `shapes`): `exact`, each pipeline's own; `shapes`,
 * `<prefix>-*-trigger` and the like, which reach every name of that form in a target account, the org's or not.
 */
export type PipelineNames = { names: 'exact'; packs: number; quota: number } | { names: 'shapes'; packs: number; exactPacks: number; quota: number; why: string };

/**
 * The org's execution role policy: pipeline-keyed names exact while the policy so written fits the managed policies
 * the role takes (`managedPoliciesPerRole`, 10 unless raised) in every account, else by their shapes, with why.
 * Account-keyed names are always by shape (naming.ts `shapes`). Each account's policy holds only the names of the
 * resources its instances create (`forAccount`): the packs are counted as bootstrap writes them (`packPolicies`),
 * for each account's policy, and the most any account needs decides.
 */
export function executionPolicyOf(
  org: Org,
  templates: readonly ExecutionTemplate[],
  /** The accounts whose policies decide (default: every account a template runs in). */
  decidingAccounts?: readonly string[],
): { statements: ExecutionStatement[]; pipelineNames: PipelineNames } {
  const derive = (pipelines: boolean) =>
    executionPolicyFor(templates, org.prefix, org.bucketGeneration, org.deploymentTargets.instanceRoles, org.keyAdministratorRoles, pipelines);
  const accounts = decidingAccounts ?? [...new Set(templates.flatMap((t) => ('template' in t ? (t.accounts as readonly string[]) : [])))];
  const packsOf = (statements: ExecutionStatement[]) => {
    let most = 0;
    for (const { statements: own } of accountPolicies(statements, accounts.length > 0 ? accounts : ['000000000000'])) {
      try {
        most = Math.max(most, packedSizes(own, { partition: org.partition, account: '000000000000', region: org.region }).packs.length);
      } catch (error) {
        // A statement over a managed policy on its own: no count fits, and the quota check names it (execution-quota.ts).
        if (error instanceof XstackError) return Infinity;
        throw error;
      }
    }
    return most;
  };
  const quota = quotaOf(org, 'managedPoliciesPerRole');
  const exact = derive(false);
  const exactPacks = packsOf(exact);
  if (exactPacks <= quota) return { statements: exact, pipelineNames: { names: 'exact', packs: exactPacks, quota } };
  const shaped = derive(true);
  const packs = packsOf(shaped);
  const needs = Number.isFinite(exactPacks) ? `${exactPacks} managed policies` : 'a statement larger than a managed policy';
  const why = `with each pipeline's names written out, the StackSet execution role's policy would need ${needs}, over the ${quota} IAM attaches to a role (iamQuotas.managedPoliciesPerRole; ${IAM_QUOTAS_DOC})`;
  return { statements: shaped, pipelineNames: { names: 'shapes', packs, exactPacks, quota, why } };
}

/**
 * `existingRoles`: the org's deploymentTargets.instanceRoles (`name` or `path/name`), whose ARNs carry their paths;
 * `keyAdministratorRoles`: the org's, patterns among them (read by no one, so granted nothing here).
 */
export function executionPolicyFor(
  templates: readonly ExecutionTemplate[],
  prefix: string,
  bucketGeneration = 1,
  existingRoles: readonly string[] = [],
  keyAdministratorRoles: readonly string[] = [],
  pipelineShapes = false,
): ExecutionStatement[] {
  const { types, resourcesByType, arnsByService, arnScopes, unlistedRoles, loggingObjects, createdRoles, serviceRoles, engineCalls, unnamed } = collect(templates, existingRoles, shaper(new Names(prefix, bucketGeneration), pipelineShapes));
  // Each type's handler actions, less those serving optional properties no resource of the type sets.
  const handlerActions = new Map<string, readonly string[]>();
  for (const type of [...types.keys()].sort()) {
    const all = RESOURCE_PERMISSIONS[type];
    if (!all) {
      throw new XstackError(
        'EXECUTION_POLICY',
        `resource type ${type} has no known handler permissions; regenerate src/deploy/resource-permissions.ts (node test/support/resource-permissions.gen.mjs) with its service listed`,
      );
    }
    // A name IAM does not define authorizes nothing (XS010): left out.
    handlerActions.set(type, handlerActionsFor(all, resourcesByType.get(type)!).filter((a) => actionData(a) !== undefined));
  }
  // A launch template's writes, held to the tag it carries from its create on (launchTemplateStatements), not granted
  // on every EC2 resource of the account with the other EC2 writes.
  const launchTemplates = resourcesByType.get(LAUNCH_TEMPLATE) ?? [];
  const launchTemplateWrites = launchTemplates.length > 0 ? handlerActions.get(LAUNCH_TEMPLATE)!.filter((a) => LAUNCH_TEMPLATE_WRITES.includes(a)) : [];
  if (launchTemplates.length > 0) handlerActions.set(LAUNCH_TEMPLATE, handlerActions.get(LAUNCH_TEMPLATE)!.filter((a) => !LAUNCH_TEMPLATE_WRITES.includes(a)));
  const actions = new Set([...handlerActions.values()].flat());
  // The CloudFormation actions of "full AWS CloudFormation permissions" that take no resource (InstanceStacks has the rest).
  for (const a of ['cloudformation:ListStacks', 'cloudformation:ValidateTemplate', 'cloudformation:DescribeStackDriftDetectionStatus']) actions.add(a);
  // The types whose handlers call an action: where a statement of it alone is needed.
  const callersOf = (action: string) => [...types.keys()].filter((t) => handlerActions.get(t)!.includes(action)).sort();
  const byService = new Map<string, { scoped: Set<string>; unscoped: Set<string> }>();
  const unscopedWrites: string[] = [];
  const otherTypes: string[] = [];
  for (const action of [...actions].sort()) {
    const service = serviceOf(action);
    const entry = byService.get(service) ?? { scoped: new Set(), unscoped: new Set() };
    byService.set(service, entry);
    if (action === CREATE_KEY) continue;
    if (OTHER_RESOURCE_TYPES[action]) otherTypes.push(action);
    // On a bucket's ARN an object action authorizes nothing: granted on objects, where a bucket logs (S3BucketLogging).
    else if (LOGGING_ACTIONS.includes(action)) continue;
    else {
      const star = withoutResourceType(action);
      if (!star) entry.scoped.add(action);
      else if (star.read) entry.unscoped.add(action);
      else unscopedWrites.push(action);
    }
  }
  const statements: ExecutionStatement[] = [];
  const unscoped: string[] = [];
  const buckets = [...(arnsByService.get('s3') ?? [])].sort();
  for (const [service, { scoped, unscoped: u }] of [...byService].sort(([a], [b]) => compareText(a, b))) {
    unscoped.push(...u);
    if (scoped.size === 0 || service === 'cloudformation') continue;
    const named = [...(arnsByService.get(service) ?? [])].sort();
    const generated = GENERATED_IDS[service];
    // The accounts of the types whose handlers call this service: where its account-wide statements are needed.
    const callers = [...types.keys()].filter((t) => handlerActions.get(t)!.some((a) => serviceOf(a) === service)).sort();
    const accountWide = (arn: string) => scopeFor([arn], () => types.of(...callers));
    if (named.length > 0) {
      // The org file's instance roles (no template creates them) get the attach and detach of the managed policies
      // alone (instanceRoleAttachments), never the other writes on the roles the templates create.
      const instanceRoles = service === 'iam' ? named.filter((arn) => arn.startsWith(`arn:${P}:iam::${A}:role/`) && !createdRoles.has(arn)) : [];
      const own = instanceRoles.length > 0 ? named.filter((arn) => !instanceRoles.includes(arn)) : named;
      const bounded = service === 'iam' ? boundedRoleActions(resourcesByType.get('AWS::IAM::Role') ?? [], scoped, own, createdRoles) : undefined;
      // iam:PassRole on the roles that trust a service alone: a handler passes a role to the service that assumes it
      // (a pipeline's, a deployment group's, a rule target's, a flow log's, an instance profile's), never a role that
      // people or accounts assume (review s30-execution E8). Not iam:PassedToService: "Some services … do not support
      // this condition key" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PassedToService),
      // and which service each handler's call names is not written anywhere a wrong guess would not refuse a deploy.
      const passed = service === 'iam' && scoped.has(PASS_ROLE) ? own.filter((arn) => serviceRoles.has(arn)) : undefined;
      const namedActions = [...scoped].filter((a) => !bounded?.taken.has(a) && !(passed && a === PASS_ROLE));
      statements.push({ Sid: sid(service, 'Named'), Effect: 'Allow', Action: namedActions, Resource: own, ...scopeFor(own, (arn) => arnScopes.ofOne(arn)) });
      if (passed && passed.length > 0) statements.push({ Sid: sid(service, 'PassServiceRoles'), Effect: 'Allow', Action: [PASS_ROLE], Resource: passed, ...scopeFor(passed, (arn) => arnScopes.ofOne(arn)) });
      for (const statement of [...(bounded ? [bounded.statement] : []), ...instanceRoleAttachments(scoped, instanceRoles)]) statements.push({ ...statement, ...scopeFor(statement.Resource, (arn) => arnScopes.ofOne(arn)) });
      const denied = pathDenials(named);
      if (denied.length > 0) {
        const existing = [...new Set([...existingRoles, ...keyAdministratorRoles.filter((r) => !isRolePattern(r))])].filter((r) => denied.some((d) => globRegExp(d).test(`arn:${P}:iam::${A}:role/${r}`)));
        if (existing.length > 0) {
          throw new XstackError('EXECUTION_POLICY', `the org file's role${existing.length > 1 ? 's' : ''} ${existing.join(', ')} ${existing.length > 1 ? 'are' : 'is'} on a path that fits the shape of a name xstack gives (${denied.join(', ')}), which the execution role is denied; give ${existing.length > 1 ? 'them' : 'it'} a path that does not begin with '${prefix}-'`);
        }
        statements.push({ Sid: sid(service, 'NoPathedNames'), Effect: 'Deny', Action: [...scoped], Resource: denied, reason: PATH_DENIAL_REASON });
      }
    }
    if (generated) {
      statements.push({ Sid: sid(service, 'GeneratedIds'), Effect: 'Allow', Action: [...scoped], Resource: [generated.arn], ...accountWide(generated.arn), reason: generated.reason });
    }
    if (named.length === 0 && !generated) {
      // A service the templates create nothing named in, reached by another type's handler (e.g. a role's iam:PassRole target).
      statements.push({
        Sid: sid(service, 'Account'),
        Effect: 'Allow',
        Action: [...scoped],
        Resource: [`arn:${P}:${service}:${R}:${A}:*`],
        ...accountWide(`arn:${P}:${service}:${R}:${A}:*`),
        reason: `needed by the handlers of ${callers.join(', ')}; the templates name no ${service} resource, so it is limited to this account and region`,
      });
    } else if ([...unnamed.keys()].includes(service)) {
      const everything = `arn:${P}:${service}:${R}:${A}:*`;
      statements.push({
        Sid: sid(service, 'Unnamed'),
        Effect: 'Allow',
        Action: [...scoped],
        Resource: [everything],
        ...scopeFor([everything], () => unnamed.of(service)),
        reason: `a deployed template holds a ${service} resource an earlier xstack left unnamed, so its name is not known here: limited to this account and region, in the accounts it is in, until a deploy has replaced it with the named one`,
      });
    }
  }
  // The reads without resource types: those no handler names (CloudFormation's own) in every account, each other one
  // where a template creates a type whose handlers call it, one statement per service (review s37-execution X6: every
  // account got every read).
  const everywhere = unscoped.filter((a) => callersOf(a).length === 0).sort();
  if (everywhere.length > 0) {
    statements.push({
      Sid: 'ReadOnlyWithoutResourceTypes',
      Effect: 'Allow',
      Action: everywhere,
      Resource: ['*'],
      reason: 'list and describe actions CloudFormation itself calls: the Service Authorization Reference lists no resource type for them, so IAM only accepts "*"; none of them changes anything',
    });
  }
  for (const service of [...new Set(unscoped.filter((a) => callersOf(a).length > 0).map(serviceOf))].sort()) {
    const reads = unscoped.filter((a) => serviceOf(a) === service && callersOf(a).length > 0).sort();
    const callers = [...new Set(reads.flatMap(callersOf))].sort();
    statements.push({
      Sid: sid(service, 'ReadOnly'),
      Effect: 'Allow',
      Action: reads,
      Resource: ['*'],
      ...scopeFor(['*'], () => types.of(...callers)),
      reason: `list and describe actions: the Service Authorization Reference lists no resource type for them, so IAM only accepts "*"; none of them changes anything; the handlers of ${callers.join(', ')} call them, and only the accounts whose templates create those get them`,
    });
  }
  // CloudFormation's own calls for the intrinsic functions the templates use, where they use them (ENGINE_CALLS), less
  // what every account has already.
  for (const fn of [...engineCalls.keys()].sort()) {
    const reads = ENGINE_CALLS[fn].filter((a) => !everywhere.includes(a));
    if (reads.length === 0) continue;
    statements.push({
      Sid: `CloudFormation${fn.replace(/\W/g, '')}`,
      Effect: 'Allow',
      Action: [...reads],
      Resource: ['*'],
      ...scopeFor(['*'], () => engineCalls.of(fn)),
      reason: `CloudFormation resolves ${fn} by calling these itself, as the stack's role ("you need permissions to the Amazon EC2 DescribeAvailabilityZones and DescribeAccountAttributes actions ... also ... DescribeSubnets", the ${fn} page); read-only, with no resource type in the Service Authorization Reference, so IAM only accepts "*"; in the accounts whose templates use ${fn} only`,
    });
  }
  // One statement per service, each in the accounts whose templates call its actions (an event bus policy's account
  // need not write log deliveries).
  for (const service of [...new Set(unscopedWrites.map(serviceOf))]) {
    const written = unscopedWrites.filter((a) => serviceOf(a) === service);
    const callers = [...new Set(written.flatMap(callersOf))].sort();
    statements.push({
      Sid: sid(service, 'WithoutResourceTypes'),
      Effect: 'Allow',
      Action: written,
      Resource: ['*'],
      ...scopeFor(['*'], () => types.of(...callers)),
      reason: `the Service Authorization Reference lists no resource type for these actions, so IAM only accepts "*" (on a named ARN they authorize nothing); the handlers of ${callers.join(', ')} call them, and only the accounts whose templates create those get them`,
    });
  }
  for (const action of otherTypes) {
    const { sid: Sid, arn, reason } = OTHER_RESOURCE_TYPES[action];
    statements.push({ Sid, Effect: 'Allow', Action: [action], Resource: [arn], ...scopeFor([arn], () => types.of(...callersOf(action))), reason });
  }
  const objects = [...loggingObjects.keys()].sort();
  if (objects.length > 0) {
    statements.push({
      Sid: 'S3BucketLogging',
      Effect: 'Allow',
      Action: LOGGING_ACTIONS,
      Resource: objects,
      ...scopeFor(objects, (arn) => loggingObjects.of(arn)),
      reason:
        "CloudFormation's page of a bucket's LoggingConfiguration: \"you must have s3:PutObject and s3:PutObjectAcl in your IAM permissions\"; it names no bucket: the objects of the bucket the logs go to, in the accounts that have it, and never the artifact bucket's (to be confirmed once in a sandbox: README)",
    });
  }
  if (actions.has(CREATE_KEY)) {
    // Where a template creates a key: the accounts of the types whose handlers call kms:CreateKey.
    const callers = callersOf(CREATE_KEY);
    statements.push({
      Sid: 'KmsCreateKey',
      Effect: 'Allow',
      Action: [CREATE_KEY],
      Resource: ['*'],
      ...scopeFor(['*'], () => types.of(...callers)),
      reason: `kms:CreateKey has no resource type in the Service Authorization Reference (the key does not exist yet), so IAM only accepts "*"; in the accounts whose templates create a key (${callers.join(', ')}) only, and the key's own policy (in the template) decides who may use it`,
    });
  }
  const unlisted = [...unlistedRoles.keys()];
  if (unlisted.length > 0) {
    const roleOf = new Map(unlisted.flatMap((name) => roleAtAnyPath(name).map((arn) => [arn, name] as const)));
    const resources = [...roleOf.keys()].sort();
    statements.push({
      Sid: 'IamDetachFromUnlistedRoles',
      Effect: 'Allow',
      Action: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'],
      Resource: resources,
      ...scopeFor(resources, (arn) => unlistedRoles.of(roleOf.get(arn)!)),
      reason:
        "a deployed template's managed policy is attached to these roles, which no template creates and the org file no longer lists (instance roles removed from it): the update that drops them detaches the policy, which IAM authorizes on role/<path><name>, and the path they had is not in the template, so at any path; attach and detach only",
    });
  }
  // No iam:GetRole on the roles the org names but does not create: plan and deploy read them with the reader role
  // (reader-policy.ts SeeExistingRoles), not with this one (review s27-bootstrap M2).
  for (const statement of launchTemplateStatements(launchTemplates, launchTemplateWrites)) statements.push({ ...statement, ...scopeFor(statement.Resource, () => types.of(LAUNCH_TEMPLATE)) });
  statements.push(...stackStatements(prefix, buckets, (bucket) => arnScopes.of(bucket)));
  return withoutDeadNamedActions(statements);
}

/**
 * A service's Named statement lists every handler action of the service on the names the templates give, whatever
 * their type, so some actions are there only on ARNs they cannot act on: a KMS key's actions on the alias's ARN ("When
 * an alias is the value of a resource element, the policy applies to the alias resource, not to any KMS key that might
 * be associated with it", https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html), an object
 * action on bucket ARNs. They authorize nothing there, and read in an audit as if they did (review s30-execution E6):
 * left out of that statement where another statement grants them on a resource of their type. One no statement
 * serves stays, so that the compile's check (execution-authorization.ts) names it.
 */
function withoutDeadNamedActions(statements: ExecutionStatement[]): ExecutionStatement[] {
  // The ARNs' placeholders as a sample account's, for matching them against the reference's ARN formats.
  const sampleArn = substitution({ partition: 'aws', account: '123456789012', region: 'us-east-1' });
  const takerOf = madeOnce((s: ExecutionStatement) => someResourceTaking(s.Resource.map(sampleArn)));
  const takes = (action: string, s: ExecutionStatement) => takerOf(s)(action);
  const servedElsewhere = (action: string, named: ExecutionStatement) => statements.some((o) => o !== named && o.Effect === 'Allow' && o.Action.includes(action) && takes(action, o));
  return statements.map((s) => {
    if (s.Effect !== 'Allow' || !s.Sid.endsWith('Named')) return s;
    // Another statement's grant asked first: both are plain questions, and of a statement of thousands of names
    // (IamNamed's roles and policies) that most actions' resources are among, an action no other statement grants is
    // not matched against each of its names.
    const dead = new Set(s.Action.filter((a) => servedElsewhere(a, s) && !takes(a, s)));
    return dead.size === 0 ? s : { ...s, Action: s.Action.filter((a) => !dead.has(a)) };
  });
}

/** A statement as IAM gets it. */
export type IamStatement = Omit<ExecutionStatement, 'reason' | 'scope'>;

const PASS_ROLE = 'iam:PassRole';
const LAUNCH_TEMPLATE = 'AWS::EC2::LaunchTemplate';
/** What AWS::EC2::LaunchTemplate's handlers write (its registry schema, resource-permissions.ts); the reads stay where they are. */
const LAUNCH_TEMPLATE_WRITES = ['ec2:CreateLaunchTemplate', 'ec2:CreateLaunchTemplateVersion', 'ec2:DeleteLaunchTemplate', 'ec2:CreateTags', 'ec2:DeleteTags'];

/**
 * A launch template's ARN carries its generated id, not its name (`launch-template/${LaunchTemplateId}`), so its
 * writes cannot be limited to the org's by name; granted on every EC2 resource of the account they would let the
 * execution role add a version to any launch template there, which whatever launches with $Latest then runs with
 * the instance profile and user data the version names (review s25-imds M1). The templates' launch templates carry
 * LAUNCH_TEMPLATE_TAG from their create on (TagSpecifications), and the writes are held to it, as EC2's page on launch
 * template permissions does ("IAMPolicyForTaggingLaunchTemplatesOnCreation",
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/permissions-for-launch-templates.html):
 * - ec2:CreateLaunchTemplate only with the tag in the request (`aws:RequestTag/${TagKey}`), and ec2:CreateTags on a
 *   launch template only as part of that create (`ec2:CreateAction`);
 * - ec2:CreateLaunchTemplateVersion, ec2:DeleteLaunchTemplate, and the tag writes of an update or delete, only on a
 *   launch template that has the tag (`aws:ResourceTag/${TagKey}`).
 * The Service Authorization Reference lists those keys for those actions
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html; checked at compile,
 * execution-authorization.ts). The CI network's resources need ec2:CreateTags on every EC2 resource of the account
 * (Ec2GeneratedIds), which would let this role put the tag on another launch template and then add a version to it
 * (review s30-execution E3): an explicit Deny refuses writing the tag key onto a launch template that does not carry
 * it with the org's value already, except as part of CreateLaunchTemplate. Where a negated operator's key is absent
 * from the request, "the condition is true" (a tag write outside a create has no `ec2:CreateAction`, an untagged
 * template no `aws:ResourceTag`), and ForAnyValue holds when any key the request writes is the tag's
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html);
 * the same keys on ec2:CreateTags for a launch template, in the Service Authorization Reference as above.
 */
function launchTemplateStatements(launchTemplates: readonly CfnResource[], writes: readonly string[]): ExecutionStatement[] {
  if (launchTemplates.length === 0 || writes.length === 0) return [];
  const values = [...new Set(launchTemplates.map((r) => launchTemplateTagOf(r)))];
  if (values.length !== 1) throw new XstackError('EXECUTION_POLICY', `AWS::EC2::LaunchTemplate: the templates' launch templates carry ${values.length} values of ${LAUNCH_TEMPLATE_TAG} (${values.join(', ')}); the execution role's launch template writes are held to one`);
  const [value] = values;
  const arn = `arn:${P}:ec2:${R}:${A}:launch-template/*`;
  const of = (wanted: readonly string[]) => wanted.filter((a) => writes.includes(a));
  const statements: ExecutionStatement[] = [];
  if (of(['ec2:CreateLaunchTemplate']).length > 0) {
    statements.push({
      Sid: 'Ec2LaunchTemplateCreate',
      Effect: 'Allow',
      Action: of(['ec2:CreateLaunchTemplate']),
      Resource: [arn],
      Condition: { StringEquals: { [`aws:RequestTag/${LAUNCH_TEMPLATE_TAG}`]: value } },
      reason: `a launch template's ARN carries its generated id, not its name: created only with the tag ${LAUNCH_TEMPLATE_TAG}=${value} in the request, which every later write on it is held to`,
    });
  }
  if (of(['ec2:CreateTags']).length > 0) {
    statements.push({
      Sid: 'Ec2LaunchTemplateTagOnCreate',
      Effect: 'Allow',
      Action: ['ec2:CreateTags'],
      Resource: [arn],
      Condition: { StringEquals: { 'ec2:CreateAction': 'CreateLaunchTemplate' } },
      reason: 'the tags a launch template is created with (TagSpecifications): EC2 authorizes them as ec2:CreateTags, here only as part of CreateLaunchTemplate',
    });
  }
  if (of(['ec2:CreateTags']).length > 0) {
    statements.push({
      Sid: 'Ec2NoLaunchTemplateTagElsewhere',
      Effect: 'Deny',
      Action: ['ec2:CreateTags'],
      Resource: [arn],
      Condition: {
        StringNotEquals: { 'ec2:CreateAction': 'CreateLaunchTemplate', [`aws:ResourceTag/${LAUNCH_TEMPLATE_TAG}`]: value },
        'ForAnyValue:StringEquals': { 'aws:TagKeys': LAUNCH_TEMPLATE_TAG },
      },
      reason: `explicit Deny: the tag ${LAUNCH_TEMPLATE_TAG} is written onto a launch template only as it is created, or where it is already ${value}; the EC2 statement's ec2:CreateTags on every EC2 resource (which the CI network's resources need) could otherwise put it on another launch template, which the statement below would then let this role add a version to`,
    });
  }
  const tagged = of(['ec2:CreateLaunchTemplateVersion', 'ec2:DeleteLaunchTemplate', 'ec2:CreateTags', 'ec2:DeleteTags']);
  if (tagged.length > 0) {
    statements.push({
      Sid: 'Ec2LaunchTemplatesTagged',
      Effect: 'Allow',
      Action: tagged,
      Resource: [arn],
      Condition: { StringEquals: { [`aws:ResourceTag/${LAUNCH_TEMPLATE_TAG}`]: value } },
      reason: `only the launch templates tagged ${LAUNCH_TEMPLATE_TAG}=${value} (the templates' own, tagged on create): a version added, tags written, and the template deleted, on those alone; another launch template of the account stays out of reach unless someone tags it so`,
    });
  }
  return statements;
}

/** The value of LAUNCH_TEMPLATE_TAG a launch template of the templates is created with. */
function launchTemplateTagOf(r: CfnResource): string {
  const specifications = (r.Properties?.TagSpecifications as Array<{ ResourceType?: string; Tags?: Array<{ Key?: string; Value?: unknown }> }> | undefined) ?? [];
  const value = specifications.filter((t) => t.ResourceType === 'launch-template').flatMap((t) => t.Tags ?? []).find((t) => t.Key === LAUNCH_TEMPLATE_TAG)?.Value;
  if (typeof value !== 'string') throw new XstackError('EXECUTION_POLICY', `AWS::EC2::LaunchTemplate: it has no ${LAUNCH_TEMPLATE_TAG} tag of its own (TagSpecifications, ResourceType launch-template) as a literal, which the execution role's launch template writes are held to`);
  return value;
}

/**
 * The KMS actions a policy's Allow statements grant on keys (`key/…`, or `*`): what the execution role may do to a key
 * of its account. Names as written: the policy grants no KMS wildcard (its actions are the handlers', one by one).
 */
export function keyActions(statements: readonly ExecutionStatement[]): Set<string> {
  // In Sub form: `arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*`.
  const onKeys = (s: ExecutionStatement) => s.Effect === 'Allow' && s.Resource.some((r) => r === '*' || (r.includes(':kms:') && /:key\/[^:]*$/.test(r)));
  return new Set(statements.filter(onKeys).flatMap((s) => s.Action.filter((a) => a.startsWith('kms:'))));
}

/** The statement that holds the execution role to the org's permissions boundary (boundedRoleActions). */
export const BOUNDED_ROLES_SID = 'IamRolesWithTheBoundary';

/**
 * The role actions IAM checks against `iam:PermissionsBoundary` and the execution role is held to the org's boundary
 * on. The Service Authorization Reference's table "Actions defined by AWS Identity and Access Management (IAM)"
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html)
 * lists the key for these role actions: AttachRolePolicy, CreateRole, DeleteRole, DeleteRolePermissionsBoundary,
 * DeleteRolePolicy, DetachRolePolicy, GetRole, PutRolePermissionsBoundary, PutRolePolicy, UpdateAssumeRolePolicy,
 * UpdateRole and UpdateRoleDescription; not for TagRole, UntagRole, GetRolePolicy, ListAttachedRolePolicies,
 * ListRolePolicies or PassRole (read from the offline copy of that table, checks/iam-data.ts; the test
 * permissions-boundary.test.ts fails if the two part). Left out of this list, with their reasons:
 * - iam:DeleteRolePermissionsBoundary: never granted at all (BOUNDARY_REMOVAL).
 * - iam:GetRole: a read; it changes nothing, and a role that lost the boundary outside xstack stays readable, so the
 *   handler reports what it finds instead of a refusal.
 * - iam:TagRole, iam:UntagRole (the role handler's tags): the key is not listed for them, and an Allow conditioned
 *   on a key a request does not carry never matches ("If the key that you specify in a policy condition is not
 *   present in the request context, the values do not match and the condition is false",
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html): they
 *   stay unconditioned in IamNamed. A tag changes no permission of the role itself; it can matter where a policy
 *   keys on `aws:ResourceTag`, which is the org's to write.
 * What the key holds: "Filters access if the specified policy is set as permissions boundary on the IAM entity
 * (user or role)" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PermissionsBoundary);
 * for CreateRole and PutRolePermissionsBoundary it is the boundary the request sets, for the others the one the
 * role has: the example policy of "Delegating responsibility to others using permissions boundaries"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html#access_policies_boundaries-delegate)
 * conditions CreateUser, PutUserPermissionsBoundary, AttachUserPolicy, DetachUserPolicy, PutUserPolicy and
 * DeleteUserPolicy on it, which "allows him to set the permissions boundary for existing users but only using that
 * same policy" and "to manage permissions policies for users with this permissions boundary set". On a role with
 * no boundary, or another one, the condition does not match, and the request is refused.
 */
const BOUNDED_ROLE_ACTIONS = [
  'iam:AttachRolePolicy',
  'iam:CreateRole',
  'iam:DeleteRole',
  'iam:DeleteRolePolicy',
  'iam:DetachRolePolicy',
  'iam:PutRolePermissionsBoundary',
  'iam:PutRolePolicy',
  'iam:UpdateAssumeRolePolicy',
  'iam:UpdateRole',
  'iam:UpdateRoleDescription',
];
/** Removes a role's boundary: no template that gives every role one ever calls it (the role handler's update does, when the property goes). */
const BOUNDARY_REMOVAL = 'iam:DeleteRolePermissionsBoundary';
/**
 * What AWS::IAM::ManagedPolicy's handler does to the roles its `Roles` names (its handler permissions,
 * resource-permissions.ts): the only calls on a role the org file names and no template creates.
 */
const ATTACHMENTS = ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'];
/** The statement that lets the templates' managed policies attach to the org file's instance roles, and nothing else on them. */
export const INSTANCE_ROLE_ATTACHMENTS_SID = 'IamAttachToInstanceRoles';

/**
 * The roles the org file names that a template's managed policy attaches to and no template creates
 * (deploymentTargets.instanceRoles): AWS::IAM::ManagedPolicy's handler attaches and detaches the policy, authorized on
 * the role, and nothing else of the templates acts on them. They are the org's principals, outside what xstack
 * makes: their trust, their policies, their tags (which `aws:PrincipalTag` conditions read) and their boundary are
 * the org's to write (review s25-diff M1). Their boundary, if any, is the org's to give, so no condition on it.
 */
function instanceRoleAttachments(scoped: ReadonlySet<string>, instanceRoles: readonly string[]): ExecutionStatement[] {
  const attachments = ATTACHMENTS.filter((a) => scoped.has(a));
  if (instanceRoles.length === 0 || attachments.length === 0) return [];
  return [
    {
      Sid: INSTANCE_ROLE_ATTACHMENTS_SID,
      Effect: 'Allow',
      Action: attachments,
      Resource: [...instanceRoles],
      reason:
        "roles the org file names (deploymentTargets.instanceRoles) that no template creates: a template's managed policy is attached to them, which AWS::IAM::ManagedPolicy's handler does with iam:AttachRolePolicy and iam:DetachRolePolicy, authorized on the role; attach and detach only, with no condition on a boundary, which is the org's to give",
    },
  ];
}

/**
 * When every role of the templates (compiled and deployed alike) has one permissions boundary (the org file's
 * `permissionsBoundary`, src/iam/permissions-boundary.ts): the execution role creates a role, gives it a boundary,
 * writes its policies, its trust and its settings, and deletes it, only where that boundary is the role's (or the
 * request's, BOUNDED_ROLE_ACTIONS), and may not remove one. Those writes are granted on the roles the templates create
 * only (`created`); the org file's instance roles get attach and detach alone, with or without a boundary
 * (instanceRoleAttachments).
 * The role handler's create passes the property to CreateRole, then writes the role's policies, which then carry the
 * key; its update calls PutRolePermissionsBoundary, or DeleteRolePermissionsBoundary when the property is removed;
 * its delete detaches and deletes the role's policies, then the role, all while the role still has its boundary
 * (AWS::IAM::Role's registry schema, handlers).
 * A role with none, or another one, anywhere (the org file's boundary added, changed or removed since the deployed
 * templates; a rollback returns to those): nothing is taken from the unconditioned grant, so the deploy that moves
 * the roles to the new boundary, and its rollback, are not refused; the bootstrap after it holds them to it.
 */
function boundedRoleActions(
  roles: readonly CfnResource[],
  scoped: ReadonlySet<string>,
  named: readonly string[],
  created: ReadonlySet<string>,
): { taken: ReadonlySet<string>; statement: ExecutionStatement } | undefined {
  const boundaries = new Set(roles.map((r) => JSON.stringify(r.Properties?.PermissionsBoundary ?? null)));
  if (roles.length === 0 || boundaries.size !== 1) return undefined;
  const boundary = (roles[0].Properties?.PermissionsBoundary as { 'Fn::Sub'?: unknown } | undefined)?.['Fn::Sub'];
  if (typeof boundary !== 'string') return undefined;
  const actions = BOUNDED_ROLE_ACTIONS.filter((a) => scoped.has(a));
  const roleArns = named.filter((arn) => created.has(arn));
  if (actions.length === 0 || roleArns.length === 0) return undefined;
  return {
    taken: new Set([...actions, BOUNDARY_REMOVAL]),
    statement: {
      Sid: BOUNDED_ROLES_SID,
      Effect: 'Allow',
      Action: actions,
      Resource: roleArns,
      Condition: { StringEquals: { 'iam:PermissionsBoundary': boundary } },
      reason:
        "every role the templates create has the org's permissions boundary: a role is created, or given a boundary, with that one only, never loses it (iam:DeleteRolePermissionsBoundary is not granted), and its policies, trust and settings are written, and it is deleted, only while it has it; iam:TagRole and iam:UntagRole, which IAM does not check against the boundary, stay in IamNamed",
    },
  };
}

/**
 * The statements of one account's policy: of each statement, the resources granted in that account (every resource
 * without a scope); a statement left with none is left out.
 */
export function forAccount(statements: readonly ExecutionStatement[], account: string): ExecutionStatement[] {
  const out: ExecutionStatement[] = [];
  for (const statement of statements) {
    const { scope, ...rest } = statement;
    if (!scope) {
      out.push(statement);
      continue;
    }
    const Resource = statement.Resource.filter((r) => scope.get(r)?.has(account) ?? true);
    if (Resource.length > 0) out.push({ ...rest, Resource });
  }
  return out;
}

/** The accounts some stage targets, in the org file's order: those bootstrap writes an execution role policy in. */
export function targetAccounts(org: Org, stages: readonly Stage[]): string[] {
  const targets = new Set(stages.flatMap((s) => s.targets.map((a) => a.id)));
  return org.accounts.map((a) => a.id).filter((id) => targets.has(id));
}

/**
 * The accounts whose policies are alike (the same statements and names, in Sub form), each group with its policy:
 * what the compile counts and checks once per group (1,000 alike pipeline accounts are one group). Made from the
 * distinct scopes (the sets of accounts resources are granted in, each shared by the resources of a unit or a name):
 * each scope's accounts are walked once, not once for every resource it scopes, and the accounts in the same scopes
 * have the same resources, so each such signature's policy is made once. The last answer is kept for the same
 * statements and accounts (the compile asks twice: the choice of names, the quota), and regrouped for accounts it
 * holds in another order (the audit model, the report and the execution role's reach ask in the org file's).
 */
export function accountPolicies(statements: readonly ExecutionStatement[], accounts: readonly string[]): Array<{ accounts: string[]; statements: ExecutionStatement[] }> {
  const accountsKey = accounts.join(',');
  const known = lastGroups.get(statements);
  if (known && known.accountsKey === accountsKey) return known.groups;
  // The compile asks in its stages' order, the audit in the org file's: the same accounts, grouped again from the last answer.
  const again = known && regrouped(known.groups, accounts);
  if (again) {
    lastGroups.set(statements, { accountsKey, groups: again });
    return again;
  }
  // Statement index → the positions of its resources without a scope (granted in every account).
  const everywhere = new Map<number, number[]>();
  // Each distinct scope → the statement indexes and positions of the resources it scopes, in the statements' order.
  const scopes = new Map<ReadonlySet<string>, Array<[statement: number, at: number]>>();
  statements.forEach((s, i) => {
    if (!s.scope) return;
    const all: number[] = [];
    s.Resource.forEach((r, at) => {
      const where = s.scope!.get(r);
      if (!where) return void all.push(at);
      const scoped = scopes.get(where);
      if (scoped) scoped.push([i, at]);
      else scopes.set(where, [[i, at]]);
    });
    everywhere.set(i, all);
  });
  // Account → the scopes it is in (their indexes, in the order of `scopes`), for the accounts asked about.
  const wanted = new Set(accounts);
  const scopesOf = new Map<string, number[]>();
  const positions = [...scopes.values()];
  let index = 0;
  for (const where of scopes.keys()) {
    for (const account of where) {
      if (!wanted.has(account)) continue;
      const of = scopesOf.get(account);
      if (of) of.push(index);
      else scopesOf.set(account, [index]);
    }
    index++;
  }
  // By the positions an account is granted (statement `i: at,at;…`), as one text; each signature's found once.
  const groups = new Map<string, { accounts: string[]; statements: ExecutionStatement[] }>();
  const bySignature = new Map<string, { accounts: string[]; statements: ExecutionStatement[] }>();
  for (const account of accounts) {
    const of = scopesOf.get(account);
    const signature = of ? of.join(',') : '';
    let group = bySignature.get(signature);
    if (!group) {
      const own = of ? ownPositions(of, positions) : undefined;
      const key = own ? [...own].map(([i, list]) => `${i}:${list.join(',')}`).join(';') : '';
      group = groups.get(key);
      if (!group) {
        groups.set(key, (group = { accounts: [], statements: statementsAt(statements, everywhere, own) }));
        groupStatements.add(group.statements);
      }
      bySignature.set(signature, group);
    }
    group.accounts.push(account);
  }
  const out = [...groups.values()];
  lastGroups.set(statements, { accountsKey, groups: out });
  return out;
}

/**
 * The groups of `accounts` from an answer for the same statements and accounts in another order (or others that hold
 * them): an account's group is decided by its own positions, the scopes it is in, whatever else is asked, so only the
 * order of the groups (by their first account) and of their accounts is the new list's. Undefined where an account is
 * in no known group.
 */
function regrouped(known: ReadonlyArray<{ accounts: string[]; statements: ExecutionStatement[] }>, accounts: readonly string[]): Array<{ accounts: string[]; statements: ExecutionStatement[] }> | undefined {
  const groupOf = new Map<string, ExecutionStatement[]>();
  for (const group of known) for (const account of group.accounts) groupOf.set(account, group.statements);
  // Each group's statements are its own list (statementsAt), so they name it.
  const byStatements = new Map<ExecutionStatement[], { accounts: string[]; statements: ExecutionStatement[] }>();
  for (const account of accounts) {
    const statements = groupOf.get(account);
    if (!statements) return undefined;
    const group = byStatements.get(statements);
    if (group) group.accounts.push(account);
    else byStatements.set(statements, { accounts: [account], statements });
  }
  return [...byStatements.values()];
}

/** Statement index → the positions of its resources in the scopes `of` (indexes into `positions`), both ascending. */
function ownPositions(of: readonly number[], positions: ReadonlyArray<ReadonlyArray<readonly [number, number]>>): Map<number, number[]> {
  // Each scope's pairs are ascending (made in the statements' order) and no pair is in two scopes, so the pairs of all
  // of them, sorted, are each statement's positions gathered and sorted, the statements ascending: no list of every
  // pair made and sorted with a comparator (an account of a team is in a few scopes of hundreds of positions each).
  const own = new Map<number, number[]>();
  let statementsInOrder = true;
  let last = -1;
  const unsorted = new Set<number[]>();
  for (const d of of) {
    const pairs = positions[d];
    for (let k = 0; k < pairs.length; k++) {
      const [i, at] = pairs[k];
      const list = own.get(i);
      if (list) {
        if (list[list.length - 1] > at) unsorted.add(list);
        list.push(at);
      } else {
        own.set(i, [at]);
        if (i < last) statementsInOrder = false;
        last = i;
      }
    }
  }
  for (const list of unsorted) list.sort((a, b) => a - b);
  return statementsInOrder ? own : new Map([...own].sort(([a], [b]) => a - b));
}

const lastGroups = new WeakMap<readonly ExecutionStatement[], { accountsKey: string; groups: Array<{ accounts: string[]; statements: ExecutionStatement[] }> }>();

/** One account's statements from the positions accountPolicies found: as `forAccount` gives them. */
function statementsAt(statements: readonly ExecutionStatement[], everywhere: ReadonlyMap<number, number[]>, own: ReadonlyMap<number, number[]> | undefined): ExecutionStatement[] {
  const out: ExecutionStatement[] = [];
  statements.forEach((statement, i) => {
    if (!statement.scope) return void out.push(statement);
    const { scope: _, ...rest } = statement;
    const at = mergeSorted(everywhere.get(i) ?? [], own?.get(i) ?? []);
    if (at.length > 0) out.push({ ...rest, Resource: at.map((n) => statement.Resource[n]) });
  });
  return out;
}

/** Two ascending lists of positions as one. */
function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  if (a.length === 0) return [...b];
  if (b.length === 0) return [...a];
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && a[i] < b[j]) ? a[i++] : b[j++]);
  return out;
}

/** One account's policy document: the Sub-form placeholders replaced, reasons left out (IAM takes no comments). */
export function resolvePolicy(statements: readonly ExecutionStatement[], at: PolicyContext): { Version: '2012-10-17'; Statement: IamStatement[] } {
  const sub = substitution(at);
  return {
    Version: '2012-10-17',
    Statement: statements.map(({ Sid, Effect, Action, Resource, Condition }) => ({ Sid, Effect, Action, Resource: Resource.map(sub), ...(Condition ? { Condition: resolveCondition(Condition, sub) } : {}) })),
  };
}

const resolveCondition = (condition: NonNullable<ExecutionStatement['Condition']>, sub: (s: string) => string) =>
  Object.fromEntries(Object.entries(condition).map(([operator, keys]) => [operator, Object.fromEntries(Object.entries(keys).map(([key, value]) => [key, sub(value)]))]));

/** Where a policy is written: what its Sub-form placeholders become. */
export interface PolicyContext {
  partition: string;
  account: string;
  region: string;
}

const substitution = (at: PolicyContext) => (s: string) => s.replaceAll(P, at.partition).replaceAll(A, at.account).replaceAll(R, at.region);

/** A policy document of these statements. */
export const policyDocument = (statements: readonly object[]) => ({ Version: '2012-10-17', Statement: statements });

/**
 * What packing reads of a statement: its characters with `Resource: []` (`head`) and each resource's (a string's JSON);
 * the whole statement is `head`, the resources and the commas between them.
 */
interface StatementSize {
  head: number;
  resources: readonly number[];
}

/** A statement, or a part of it (`<Sid>Part<n>`, its resources `from` up to `to`), in a pack. */
type PackItem = { statement: number } | { statement: number; part: number; from: number; to: number };

/** Managed policies as packPolicies makes them: each pack's items and its characters as IAM counts the document. */
type PackPlan = Array<{ items: PackItem[]; chars: number }>;

const statementChars = (s: StatementSize): number => {
  let chars = s.head + Math.max(0, s.resources.length - 1);
  for (let i = 0; i < s.resources.length; i++) chars += s.resources[i];
  return chars;
};

const EMPTY_DOCUMENT_CHARS = policyChars(policyDocument([]));

/**
 * The packing of `packPolicies`, from sizes only: which statements (and parts) go in which managed policy. It reads no
 * text but a part's Sid suffix (`Part<n>`, plain characters JSON writes as they are), so statements of equal sizes
 * pack alike whatever their names. `tooLarge` is called (and must throw) for a resource that fits no policy with its
 * statement's actions.
 */
function planPacks(sizes: readonly StatementSize[], limit: number, tooLarge: (statement: number, resource: number) => never): PackPlan {
  const plan: PackPlan = [];
  let pack: PackItem[] = [];
  let size = EMPTY_DOCUMENT_CHARS;
  const room = () => limit - size - (pack.length > 0 ? 1 : 0);
  const add = (item: PackItem, chars: number) => {
    size += (pack.length > 0 ? 1 : 0) + chars;
    pack.push(item);
  };
  const close = () => {
    if (pack.length > 0) plan.push({ items: pack, chars: size });
    pack = [];
    size = EMPTY_DOCUMENT_CHARS;
  };
  sizes.forEach((statement, index) => {
    const chars = statementChars(statement);
    if (chars <= room()) add({ statement: index }, chars);
    else if (chars <= limit - EMPTY_DOCUMENT_CHARS) {
      close();
      add({ statement: index }, chars);
    } else {
      const resources = statement.resources;
      for (let part = 1, from = 0; from < resources.length; ) {
        let taken = 0;
        let used = statement.head + `Part${part}`.length;
        while (from + taken < resources.length) {
          const next = used + (taken > 0 ? 1 : 0) + resources[from + taken];
          if (next > room()) break;
          used = next;
          taken++;
        }
        if (taken === 0) {
          if (pack.length === 0) tooLarge(index, from);
          close();
          continue;
        }
        add({ statement: index, part, from, to: from + taken }, used);
        from += taken;
        part++;
        if (from < resources.length) close();
      }
    }
  });
  close();
  return plan;
}

const tooLargeError = (statement: IamStatement, resource: string, limit: number) =>
  new XstackError('EXECUTION_POLICY', `statement ${statement.Sid}: its actions and one resource (${resource}) take more than the ${limit} characters of a managed policy (${IAM_QUOTAS_DOC})`);

/**
 * Statements packed, in order, into managed policies of at most IAM's 6,144 characters each, counted as IAM counts
 * them, without white space (LIMITS.managedPolicyChars, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
 * A statement larger than that is split by its Resource list into parts (`<Sid>Part1`, `<Sid>Part2`, …), each with
 * the statement's actions: the first fills the pack it starts in, the rest start packs of their own. Sizes are added
 * up, not written out again for each resource: the JSON of a list is its items, their commas and two brackets.
 */
export function packPolicies(statements: readonly IamStatement[], limit: number = LIMITS.managedPolicyChars): IamStatement[][] {
  const sizes = statements.map((s): StatementSize => ({ head: policyChars({ ...s, Resource: [] }), resources: s.Resource.map(policyChars) }));
  const plan = planPacks(sizes, limit, (i, r) => {
    throw tooLargeError(statements[i], statements[i].Resource[r], limit);
  });
  return plan.map(({ items }) =>
    items.map((item) => {
      const statement = statements[item.statement];
      return 'part' in item ? { ...statement, Sid: `${statement.Sid}Part${item.part}`, Resource: statement.Resource.slice(item.from, item.to) } : statement;
    }),
  );
}

/**
 * One account's policy (`statements`, forAccount's, in Sub form) packed as bootstrap writes it there, in sizes only:
 * each pack's characters, and the largest statement. The same answer as packPolicies on resolvePolicy's document,
 * without writing that document for every account: a resource's size is measured once per Region, partition and
 * account-id length, since an id of digits only changes a resolved name by its length (JSON escapes no digit), and a
 * statement's head once per Sid, Effect and action list. Answered once for one of accountPolicies' lists and what
 * its sizes read of the context (sizeContext): the compile asks it of each group of alike accounts twice, for the
 * choice of exact names (executionPolicyOf) and for the quota check (checks/execution-quota.ts), with the same lists.
 */
export function packedSizes(statements: readonly ExecutionStatement[], at: PolicyContext, limit: number = LIMITS.managedPolicyChars): PackedSizes {
  const key = `${sizeContext(at)}\n${limit}`;
  const kept = groupStatements.has(statements);
  let answers = kept ? packedByStatements.get(statements) : undefined;
  const known = answers?.get(key);
  // A copy: the caller's to keep or change.
  if (known) return { packs: [...known.packs], largest: { ...known.largest } };
  const measure = resourceSizes(at);
  const sizes = statements.map((s): StatementSize => ({ head: s.Condition ? policyChars({ Sid: s.Sid, Effect: s.Effect, Action: s.Action, Resource: [], Condition: resolveCondition(s.Condition, substitution(at)) }) : headChars(s), resources: s.Resource.map(measure) }));
  // A statement over the limit throws, naming its resource as resolved in `at`'s own account: not kept.
  const plan = planPacks(sizes, limit, (i, r) => {
    throw tooLargeError(statements[i], substitution(at)(statements[i].Resource[r]), limit);
  });
  const sized = statements.map((s, i) => ({ Sid: s.Sid, resources: s.Resource.length, chars: statementChars(sizes[i]) }));
  const answer: PackedSizes = { packs: plan.map((p) => p.chars), largest: sized.reduce((a, b) => (b.chars > a.chars ? b : a)) };
  if (kept) {
    if (!answers) packedByStatements.set(statements, (answers = new Map()));
    answers.set(key, { packs: [...answer.packs], largest: { ...answer.largest } });
  }
  return answer;
}

/** packedSizes' answer: each pack's characters, and the largest statement. */
export interface PackedSizes {
  packs: number[];
  largest: { Sid: string; resources: number; chars: number };
}

/**
 * The statements of accountPolicies' groups: lists it made and keeps (lastGroups), which no one changes. packedSizes
 * keeps its answers for these alone: any other list is its caller's, who may change it between two questions.
 */
const groupStatements = new WeakSet<readonly ExecutionStatement[]>();

/** packedSizes' answers for groupStatements' lists, by sizeContext and limit. */
const packedByStatements = new WeakMap<readonly ExecutionStatement[], Map<string, PackedSizes>>();

/**
 * What a policy's sizes read of its context: the partition and Region as they are, and an account id of digits by its
 * length alone (JSON escapes no digit, so a resolved resource or condition is as long for any id of that length);
 * any other id as itself.
 */
function sizeContext(at: PolicyContext): string {
  const account = /^[0-9]+$/.test(at.account) ? `digits:${at.account.length}` : `id:${at.account}`;
  return `${at.partition}\n${at.region}\n${account}`;
}

/** Resolved resources' JSON lengths, by context: kept for the contexts of one org (a few), each bounded. */
const measuredResources = new Map<string, Map<string, number>>();
const MEASURED_KEPT = 50_000;

function resourceSizes(at: PolicyContext): (resource: string) => number {
  const key = sizeContext(at);
  let sizes = measuredResources.get(key);
  if (!sizes) {
    if (measuredResources.size >= 8) measuredResources.clear();
    measuredResources.set(key, (sizes = new Map()));
  }
  const known = sizes;
  const sub = substitution(at);
  return (resource) => {
    let size = known.get(resource);
    if (size === undefined) {
      if (known.size >= MEASURED_KEPT) known.clear();
      known.set(resource, (size = policyChars(sub(resource))));
    }
    return size;
  };
}

/** Heads measured, by action list: a statement's list is shared by each account's copy of it (statementsAt), never changed. */
const headsByActions = new WeakMap<readonly string[], Map<string, number>>();

/** A statement's characters with `Resource: []` as IAM gets it (resolvePolicy keeps Sid, Effect and Action as they are), for one without a Condition. */
function headChars(s: ExecutionStatement): number {
  let heads = headsByActions.get(s.Action);
  if (!heads) headsByActions.set(s.Action, (heads = new Map()));
  const key = `${s.Sid}\n${s.Effect}`;
  let chars = heads.get(key);
  if (chars === undefined) heads.set(key, (chars = policyChars({ Sid: s.Sid, Effect: s.Effect, Action: s.Action, Resource: [] })));
  return chars;
}
