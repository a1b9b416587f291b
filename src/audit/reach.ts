/**
 * Who can act on each resource the org creates: every principal the
 * compiled policies let use, administer or assume it, each with the
 * statements that grant it, decided by the same evaluator as the access
 * proof (evaluate.ts). Where a principal's own policies are not in the org
 * file (key administrators, the StackSet execution role, IAM Identity Center
 * roles), the resource side is proved and the entry says the rest is
 * outside the model (see the report's scope section).
 */
import { sampleOf } from './samples';
import type { CfnTemplate } from '../cfn/template';
import type { Org } from '../org/model';
import type { Stage } from '../stages/model';
import type { AccessAnalysis } from './paths';
import { admits, evaluate, GrantIndex, literalMatches, RequestAnswers, somePatternMatches, type Request } from './evaluate';
import { listIn, madeOnce } from '../memo';
import { conditionClauses, principalArnValues, PRINCIPAL_ARN, type PrincipalRef, type ResolvedStatement } from './grants';
import { forEachIdWithin, readsWrittenInTurn, tokenise, toTeamTokens, writerInTurn, type TeamMember, type TeamTokens } from './classes';
import { Resolver } from './resolve';
import { hasToken, isToken, startProof, stillCertain, TOKEN_MARK, type ProofClass, type TiedToken } from './symbolic';
import { generalise } from './scale';
import { actionData } from '../checks/iam-data';
import { someResourceTaking } from '../checks/service-authorization';

export type ResourceKind = 'key' | 'bucket' | 'repository' | 'role' | 'event-bus' | 'instance-profile' | 'queue';
export type Reach = 'use' | 'administer' | 'assume';
export const REACH_ORDER: readonly Reach[] = ['use', 'administer', 'assume'];

/** A resource of a stage in one account (or, proved by class, in every member: `account` is then the class's token). */
export interface OrgResource {
  stage: string;
  account: string;
  accounts?: readonly string[];
  logicalId: string;
  type: string;
  kind: ResourceKind;
  arn: string;
  /** An instance profile's roles (their ARNs). */
  roles?: string[];
  /** A resource of one account made for one pipeline account (a source role): that account's id, or its class's token. */
  madeFor?: string;
  /** The properties whose change replaces (or, for a repository, renames) it, resolved: see REPLACING. */
  names: Record<string, string>;
}

/**
 * Properties whose change makes CloudFormation replace the resource ("Update
 * requires: Replacement" on each resource's page), and a repository's name,
 * whose change renames it in place but changes its ARN:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-s3-bucket.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-kms-key.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-instanceprofile.html
 * https://docs.aws.amazon.com/codecommit/latest/APIReference/API_UpdateRepositoryName.html
 * and for the templates' other resources, which the audit model records (since.ts):
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-codepipeline-pipeline.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-codedeploy-application.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-codedeploy-deploymentgroup.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-events-rule.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-managedpolicy.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-vpcendpoint.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-kms-alias.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-vpc.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-subnet.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-loggroup.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-launchtemplate.html
 */
export const REPLACING: Record<string, readonly string[]> = {
  'AWS::S3::Bucket': ['BucketName'],
  'AWS::KMS::Key': ['KeySpec', 'KeyUsage', 'MultiRegion'],
  'AWS::IAM::Role': ['RoleName', 'Path'],
  'AWS::IAM::InstanceProfile': ['InstanceProfileName', 'Path'],
  'AWS::CodeCommit::Repository': ['RepositoryName'],
  'AWS::CodePipeline::Pipeline': ['Name'],
  'AWS::CodeDeploy::Application': ['ApplicationName', 'ComputePlatform'],
  'AWS::CodeDeploy::DeploymentGroup': ['ApplicationName', 'DeploymentGroupName'],
  'AWS::Events::Rule': ['Name', 'EventBusName'],
  'AWS::IAM::ManagedPolicy': ['ManagedPolicyName', 'Path'],
  'AWS::EC2::VPCEndpoint': ['ServiceName', 'VpcEndpointType', 'VpcId'],
  'AWS::KMS::Alias': ['AliasName'],
  'AWS::EC2::VPC': ['CidrBlock'],
  'AWS::EC2::Subnet': ['AvailabilityZone', 'CidrBlock', 'VpcId'],
  'AWS::Logs::LogGroup': ['LogGroupName'],
  'AWS::EC2::LaunchTemplate': ['LaunchTemplateName'],
};

export interface ReachEntry {
  resource: OrgResource;
  reach: Reach;
  /** A role ARN (or role-name pattern), a service, an account root, or `*`. */
  principal: string;
  actions: string[];
  /** The statements that allow it, both sides, or why the principal acts on it without one. */
  grantedBy: string[];
  /** The principal's own IAM policies are not in the org file: the resource side alone is proved. */
  identityOutsideModel: boolean;
  /** Conditions of the granting statements, in words, then the conditioned Denies that refuse some of its actions (see denyTakesIn and denyNames, and their loop in reachOfResources). */
  conditions: string;
}

const TYPES: Record<string, ResourceKind> = {
  'AWS::KMS::Key': 'key',
  'AWS::S3::Bucket': 'bucket',
  'AWS::CodeCommit::Repository': 'repository',
  'AWS::IAM::Role': 'role',
  'AWS::Events::EventBusPolicy': 'event-bus',
  'AWS::IAM::InstanceProfile': 'instance-profile',
  'AWS::SQS::Queue': 'queue',
};

/** Whether "Who can act on each resource" lists resources of a CloudFormation type (the rest are in the audit model only). */
export const isReachType = (type: string): boolean => Object.hasOwn(TYPES, type);

/** The service prefix of actions that act on each kind of resource. */
const SERVICES: Record<ResourceKind, readonly string[]> = {
  key: ['kms'],
  bucket: ['s3'],
  repository: ['codecommit'],
  role: ['sts', 'iam'],
  'event-bus': ['events'],
  'instance-profile': ['iam'],
  queue: ['sqs'],
};

/**
 * The resource types (IAM's Service Authorization Reference, iam-data.ts) of each kind: an action is asked of a
 * resource only where IAM gives it one of them, as a statement that lists a role, a policy and an instance profile
 * with the actions of all three grants each only its own (a role is not given iam:CreatePolicy). An event bus policy is
 * written by events:PutPermission and RemovePermission, which IAM gives no resource type ("*" only).
 * https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
 */
const RESOURCE_TYPES: Record<ResourceKind, readonly string[]> = {
  key: ['key'],
  bucket: ['bucket', 'object'],
  repository: ['repository'],
  role: ['role'],
  'event-bus': ['event-bus'],
  'instance-profile': ['instance-profile'],
  queue: ['queue'],
};
const BUS_POLICY_WRITES = ['events:PutPermission', 'events:RemovePermission'];
/** Whether an action acts on a resource of the kind; one IAM's data does not know is asked, as before. */
function takesKind(kind: ResourceKind, action: string): boolean {
  if (kind === 'event-bus' && BUS_POLICY_WRITES.some((a) => a.toLowerCase() === action.toLowerCase())) return true;
  const data = actionData(action);
  return data === undefined || data.resourceTypes.some((r) => RESOURCE_TYPES[kind].includes(r.name));
}

/**
 * Use, administer or assume. Administering is changing what a resource is or
 * who may reach it (its policy, configuration, lifecycle); using is its data
 * plane and reading it. Per service, after each one's actions reference:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodecommit.html
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html
 */
export function reachOf(action: string): Reach {
  const [service, name = ''] = action.split(':');
  const s = service.toLowerCase();
  if (s === 'sts') return 'assume';
  if (s === 'kms') return /^(Encrypt|Decrypt|ReEncrypt|GenerateDataKey|GenerateRandom|Sign|Verify|GenerateMac|VerifyMac|DescribeKey|Get|List)/.test(name) && name !== 'GetKeyPolicy' ? 'use' : 'administer';
  if (s === 's3') return /^(Put|Delete)(?!Object)|^CreateBucket/.test(name) ? 'administer' : 'use';
  if (s === 'codecommit') return /Repository|ApprovalRuleTemplate|^TagResource|^UntagResource|^UpdateDefaultBranch|^PutRepositoryTriggers/.test(name) && !/^(Get|List|BatchGet)/.test(name) ? 'administer' : 'use';
  if (s === 'events') return name === 'PutEvents' ? 'use' : 'administer';
  if (s === 'iam') return name === 'PassRole' || /^(Get|List)/.test(name) ? 'use' : 'administer';
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html: messages and reads are use.
  if (s === 'sqs') return /^(SendMessage|ReceiveMessage|DeleteMessage|ChangeMessageVisibility|Get|List)/.test(name) ? 'use' : 'administer';
  return 'administer';
}

/**
 * Every resource of a kind above, in each target account of its stage; class members once, by their class's token.
 * `resolver`: the compile's, over the same stages and templates, to reuse what it compiled.
 */
export function orgResources(
  org: Org,
  stages: readonly Stage[],
  templates: ReadonlyMap<string, CfnTemplate>,
  classOf: ReadonlyMap<string, { token: string; members: readonly string[] }>,
  resolver = new Resolver(org, stages, templates),
): OrgResource[] {
  const { partition, region } = org;
  const pipelineNamedBy = pipelineAccountNamedBy(org);
  const out: OrgResource[] = [];
  for (const stage of stages) {
    const template = templates.get(stage.id)!;
    const ids = Object.keys(template.Resources).filter((id) => TYPES[template.Resources[id].Type]);
    if (ids.length === 0) continue;
    // Each resource's accounts asked once (a family's resource exists only in its unit's accounts), then each target's
    // resources in the template's order: not every resource asked of every target (~400,000 questions at 250 teams).
    const here = new Map<string, number[]>();
    for (let i = 0; i < ids.length; i++) {
      const accounts = resolver.accountsWith(stage.id, ids[i]);
      for (let j = 0; j < accounts.length; j++) {
        const list = here.get(accounts[j]);
        if (list) list.push(i);
        else here.set(accounts[j], [i]);
      }
    }
    const done = new Set<string>();
    for (const target of stage.targets) {
      const c = classOf.get(target.id);
      if (c && done.has(c.token)) continue;
      if (c) done.add(c.token);
      const a = target.id;
      const t = (text: string) => (c ? tokenise(text, a, c.token) : text);
      const value = (e: unknown) => String(resolver.resolve(stage.id, a, e));
      const indices = here.get(a) ?? [];
      // An index, not for-of: mostly run before the function is optimised, when each step of an iterator makes an object.
      for (let k = 0; k < indices.length; k++) {
        const id = ids[indices[k]];
        const r = template.Resources[id];
        const p = (r.Properties ?? {}) as Record<string, unknown>;
        const kind = TYPES[r.Type];
        let arn: string;
        let roles: string[] | undefined;
        switch (kind) {
          case 'repository':
            arn = `arn:${partition}:codecommit:${region}:${a}:${value(p.RepositoryName)}`;
            break;
          case 'event-bus':
            arn = `arn:${partition}:events:${region}:${a}:event-bus/${p.EventBusName === undefined ? 'default' : value(p.EventBusName)}`;
            break;
          case 'queue':
            // By its name, as the queue policy names it (src/cfn/dead-letter.ts): its Arn attribute is not resolved here.
            arn = `arn:${partition}:sqs:${region}:${a}:${value(p.QueueName)}`;
            break;
          case 'instance-profile':
            arn = `arn:${partition}:iam::${a}:instance-profile/${value({ Ref: id })}`;
            roles = ((p.Roles as unknown[] | undefined) ?? []).map((role) => t(`arn:${partition}:iam::${a}:role/${value(role)}`));
            break;
          default:
            arn = value({ 'Fn::GetAtt': [id, 'Arn'] });
        }
        const names: Record<string, string> = {};
        for (const prop of REPLACING[r.Type] ?? []) if (p[prop] !== undefined) names[prop] = t(value(p[prop]));
        const madeFor = c ? undefined : pipelineNamedBy(id);
        out.push({ stage: stage.id, account: c ? c.token : a, accounts: c?.members, logicalId: id, type: r.Type, kind, arn: t(arn), roles, names, ...(madeFor ? { madeFor } : {}) });
      }
    }
  }
  return classOf.size > 0 ? byClass(out, classOf) : out;
}

/**
 * The pipeline account a logical id names (a source role made for it), the
 * first in the org file's order if it names several. Account ids are 12
 * digits, so the candidates are the 12-digit windows of its digit runs: no
 * scan of every pipeline account for each resource.
 */
function pipelineAccountNamedBy(org: Org): (logicalId: string) => string | undefined {
  const order = new Map(org.accounts.filter((a) => a.role === 'pipeline').map((a, i) => [a.id, i]));
  return (logicalId) => {
    let first: string | undefined;
    forEachIdWithin(logicalId, (id) => {
      if (order.has(id) && (first === undefined || order.get(id)! < order.get(first)!)) first = id;
    });
    return first;
  };
}

/**
 * Proved by class, the resources one account makes for each member of a
 * class (a source role per pipeline account) are the class's, once, when
 * every member has one that reads the same with its id as the token.
 */
function byClass(resources: readonly OrgResource[], classOf: ReadonlyMap<string, { token: string; members: readonly string[] }>): OrgResource[] {
  const groups = new Map<string, { c: { token: string; members: readonly string[] }; members: OrgResource[] }>();
  const out: Array<OrgResource | string> = [];
  for (const r of resources) {
    const c = r.madeFor ? classOf.get(r.madeFor) : undefined;
    if (!c || !r.madeFor) {
      out.push(r);
      continue;
    }
    const t = (text: string) => tokenise(text, r.madeFor!, c.token);
    const shaped = { ...r, stage: '', logicalId: t(r.logicalId), arn: t(r.arn), names: Object.fromEntries(Object.entries(r.names).map(([k, v]) => [k, t(v)])), madeFor: c.token };
    const key = `${c.token}\u0000${JSON.stringify(shaped)}`;
    if (!groups.has(key)) {
      groups.set(key, { c, members: [] });
      out.push(key);
    }
    groups.get(key)!.members.push(r);
  }
  return out.flatMap((x) => {
    if (typeof x !== 'string') return [x];
    const { c, members } = groups.get(x)!;
    if (members.length !== c.members.length) return members;
    const first = members[0];
    const t = (text: string) => tokenise(text, first.madeFor!, c.token);
    return [{ ...first, logicalId: t(first.logicalId), arn: t(first.arn), names: Object.fromEntries(Object.entries(first.names).map(([k, v]) => [k, t(v)])), madeFor: c.token, accounts: c.members }];
  });
}

/**
 * The role CloudFormation acts as in a target account: the named one with
 * self-managed permissions; with service-managed ones StackSets creates
 * `stacksets-exec-*` itself (with AdministratorAccess), or the role of the org's
 * custom execution role template, which the org file names (src/org/load.ts):
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-custom-execution-role.html
 */
export const executionRoleOf = (org: Org): string => org.stackSets.executionRoleName;

/** Class token → members, from the statements of a class proof; read once per analysis (an analysis is never changed). */
const classesByAnalysis = new WeakMap<AccessAnalysis, ReadonlyMap<string, { token: string; members: readonly string[] }>>();
export function classesOf(access: AccessAnalysis): ReadonlyMap<string, { token: string; members: readonly string[] }> {
  let classes = classesByAnalysis.get(access);
  if (!classes) classesByAnalysis.set(access, (classes = readClasses(access)));
  return classes;
}

function readClasses(access: AccessAnalysis): Map<string, { token: string; members: readonly string[] }> {
  const byMember = new Map<string, { token: string; members: readonly string[] }>();
  // A class's statements in its members' accounts carry its token as their account (a source account's statement made for each member does not).
  for (const g of access.grants) if (g.accounts && isToken(g.account) && !byMember.has(g.accounts[0])) for (const m of g.accounts) byMember.set(m, { token: g.account, members: g.accounts });
  return byMember;
}

// The inclusive Numeric operators hold at their bound (ec2:RoleDelivery >= 2.0 on the CI role's grant: review s30-ci m2).
const POSITIVE = new Set(['StringEquals', 'StringLike', 'ArnEquals', 'ArnLike', 'Bool', 'ForAnyValue:StringEquals', 'ForAllValues:StringEquals', 'StringEqualsIfExists', 'NumericEquals', 'NumericGreaterThanEquals', 'NumericLessThanEquals']);
/** A condition value that is one policy variable (`${aws:Ec2InstanceSourceVpc}`): its key's name. */
const VARIABLE = /^\$\{([^},]+)\}$/;
/** The operators whose aws:PrincipalArn values narrow a broad principal to the ARNs they name. */
const NARROWING = ['ArnLike', 'ArnEquals', 'StringLike', 'StringEquals'];
/**
 * The request context under which the statements that could apply hold: the
 * values an Allow asks for, and those a conditioned Deny asks not to see.
 * "Can act on it" means: under some request the compiled policies allow.
 */
export function contextFor(statements: readonly ResolvedStatement[]): Record<string, string[]> {
  const context: Record<string, string[]> = {};
  // for-in, as conditionsHold reads them (evaluate.ts): asked for every resource, no list made per statement and operator.
  for (const s of statements) {
    for (const operator in s.conditions) {
      const keys = s.conditions[operator];
      for (const key in keys) {
        const values = keys[key];
        if (key.toLowerCase().startsWith('aws:principal')) continue;
        if (s.effect === 'Allow' && POSITIVE.has(operator)) {
          // A value that is a policy variable holds where the key and the variable's key carry one value: a sample of both
          // (aws:SourceVpc = ${aws:Ec2InstanceSourceVpc}, the CI host in its own VPC: review s30-ci m1).
          const variable = VARIABLE.exec(values[0])?.[1];
          if (variable) context[variable] = context[key] ??= [context[variable]?.[0] ?? `sample-${variable.replace(/\W/g, '-')}`];
          else context[key] ??= [sampleOf(values[0])];
        }
        // An Allow that asks for the key to be there (a source identity the session carries): some value is.
        if (s.effect === 'Allow' && operator === 'Null' && values[0] === 'false') context[key] ??= ['present'];
        if (s.effect === 'Deny' && operator === 'StringNotEquals') context[key] ??= [values[0]];
      }
    }
  }
  return context;
}

/** The principals a resource-policy statement admits: a root or `*` narrowed by `aws:PrincipalArn` stands for the ARNs it names. */
function admitted(s: ResolvedStatement, partition: string): Array<{ shown: string; ref: PrincipalRef }> {
  const narrowed = principalArnValues(s, (operator) => NARROWING.includes(operator));
  return s.principals.flatMap((p): Array<{ shown: string; ref: PrincipalRef }> => {
    if (p.kind === 'service') return [{ shown: `service ${p.service}`, ref: p }];
    if (p.kind === 'federated') return [{ shown: `users of identity provider ${p.provider}`, ref: p }];
    const broad = p.kind === 'any' || p.arn.endsWith(':root');
    if (broad && narrowed.length > 0) return narrowed.map((arn) => ({ shown: arn, ref: { kind: 'aws' as const, arn: sampleOf(arn) } }));
    if (p.kind === 'any') return [{ shown: '* (any principal)', ref: { kind: 'aws' as const, arn: `arn:${partition}:iam::000000000000:role/any` } }];
    return [{ shown: p.arn, ref: p.arn.endsWith(':root') ? { kind: 'aws' as const, arn: p.arn.replace(/:root$/, ':role/any') } : p }];
  });
}

/**
 * A statement's conditions in words, but for the principal it narrows to (shown as the principal): the ARNs a
 * narrowing operator names are the principal; those an ArnNotLike or other negated one names are exclusions, said
 * (review s58-audit m4: "AWSReservedSSO_Maintainer_*" read alone admits other permission sets the trust refuses).
 */
const conditionParts = (s: ResolvedStatement): string[] => conditionClauses(s.conditions, (key, operator) => key.toLowerCase() === PRINCIPAL_ARN && NARROWING.includes(operator));

/**
 * The statements whose resources take in `r`: its ARN, and for a bucket its
 * objects. A statement's candidates are the resources whose ARN (or an
 * object in it, `<arn>/x`) begins with the literal text of one of its
 * resource patterns before the first wildcard: with the resources sorted by
 * that text, they are one run, found by binary search. A 1,000-account org
 * does not compare every statement with every resource. A pattern on a
 * prefix of a bucket's objects (`<bucket>/artifacts/*`) reads on past the
 * bucket's ARN: its bucket is the one whose `<arn>/` is the text up to one
 * of its slashes, looked up by that text.
 *
 * A candidate is asked of the patterns that made it one only (and of `*` on a
 * bus): a pattern that takes the resource in begins with its literal text, so
 * it made the statement a candidate; the others of the statement cannot.
 */
export class ByResource {
  /** A resource's candidate statements in order, each followed by its patterns that made it one (a flat list: no object per pair). */
  private readonly candidates = new Map<OrgResource, Array<ResolvedStatement | string>>();
  constructor(grants: readonly ResolvedStatement[], resources: readonly OrgResource[]) {
    const sorted = resources.map((r) => ({ r, object: `${r.arn}/x` })).sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
    const buckets = new Map<string, OrgResource[]>();
    for (const r of resources) if (r.kind === 'bucket') listIn(buckets, `${r.arn}/`).push(r);
    const buses = resources.filter((r) => r.kind === 'event-bus');
    const busesOf = new Map<string, OrgResource[]>();
    for (const r of buses) listIn(busesOf, r.account).push(r);
    // A pattern's candidates, found once per text: half the patterns of a 250-team org's statements are another's text.
    const candidatesOf = madeOnce((pattern: string) => {
      const head = literalHead(pattern);
      const found: OrgResource[] = [];
      for (let i = firstAtLeast(sorted, head); i < sorted.length && sorted[i].object.startsWith(head); i++) found.push(sorted[i].r);
      for (let slash = head.indexOf('/'); slash >= 0 && slash < head.length - 1; slash = head.indexOf('/', slash + 1)) {
        for (const r of buckets.get(head.slice(0, slash + 1)) ?? []) found.push(r);
      }
      return found;
    });
    // In the grants' order, as the statements are read everywhere else.
    for (const g of grants) {
      for (let i = 0; i < g.resources.length; i++) {
        const x = g.resources[i];
        // An identity statement's events:PutPermission writes its own account's bus policy: that account's buses only (a
        // bus of another account is written by that account's principals), not every bus of the org for each account.
        if (x === '*' && g.actions.some((a) => BUS_POLICY_WRITES.includes(a))) for (const r of g.kind === 'identity' ? (busesOf.get(g.account) ?? []) : buses) this.add(r, g, x);
        // A pattern listed twice is looked up once (a short list: no Set made per statement).
        if (x === '*' || g.resources.indexOf(x) < i) continue;
        const found = candidatesOf(x);
        for (let k = 0; k < found.length; k++) this.add(found[k], g, x);
      }
    }
  }
  /** `g` a candidate of `r` by `pattern`: its patterns follow it (each statement's are added together, in turn). */
  private add(r: OrgResource, g: ResolvedStatement, pattern: string) {
    const list = this.candidates.get(r);
    if (!list) return void this.candidates.set(r, [g, pattern]);
    let at = list.length - 1;
    while (typeof list[at] === 'string') at--;
    if (list[at] !== g) list.push(g, pattern);
    // A bucket's pattern finds it twice (by its ARN and by its `<arn>/`).
    else if (list[list.length - 1] !== pattern) list.push(pattern);
  }
  /**
   * Matched with a class's tokens as units (literalMatches): the same answers as `matches`, without asking member by
   * member whether a "no" holds for every member, which only decides whether a proof by class stays certain (paths.ts).
   */
  get(r: OrgResource): ResolvedStatement[] {
    const objects = `${r.arn}/`;
    const object = `${objects}x`;
    const takesIn = (x: string) => (x === '*' ? r.kind === 'event-bus' : literalMatches(x, r.arn) || (r.kind === 'bucket' && (literalMatches(x, object) || x.startsWith(objects))));
    const found: ResolvedStatement[] = [];
    const list = this.candidates.get(r) ?? [];
    for (let i = 0; i < list.length; ) {
      const g = list[i++] as ResolvedStatement;
      // `*` takes in a bus, whichever pattern made the statement a candidate.
      let taken = r.kind === 'event-bus' && g.resources.includes('*');
      for (; i < list.length && typeof list[i] === 'string'; i++) taken ||= takesIn(list[i] as string);
      if (taken) found.push(g);
    }
    return found;
  }
}
/** The index of the first entry whose text is not below `text`. */
function firstAtLeast(sorted: ReadonlyArray<{ object: string }>, text: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid].object < text) low = mid + 1;
    else high = mid;
  }
  return low;
}
/** A pattern's text before its first wildcard. */
const literalHead = (pattern: string) => {
  const star = pattern.indexOf('*');
  const question = pattern.indexOf('?');
  const at = star < 0 ? question : question < 0 ? star : Math.min(star, question);
  return at < 0 ? pattern : pattern.slice(0, at);
};

/**
 * Whether a Deny's side takes in a principal: its own identity policy's, or a resource policy's that admits it. Such a
 * Deny that names an action and a resource (denyNames) could refuse the principal that action on that resource; for a
 * request it did not refuse (the entry would not be there), it refuses only under its conditions.
 */
const denyTakesIn = (deny: ResolvedStatement, principal: PrincipalRef): boolean => (deny.kind === 'identity' ? principal.kind === 'aws' && deny.attachedTo === principal.arn : admits(deny, principal));

/** Whether a Deny names an action and a resource. */
const denyNames = (deny: ResolvedStatement, action: string, resource: string): boolean => somePatternMatches(deny.actions, action, 'i') && somePatternMatches(deny.resources, resource, 'r');

/** Whether one of `denials` (a loop: asked for every action listed as written) names an action and a resource. */
function someDenyNames(denials: readonly ResolvedStatement[], action: string, resource: string): boolean {
  for (let i = 0; i < denials.length; i++) if (denyNames(denials[i], action, resource)) return true;
  return false;
}

/** Whether a statement has a condition (read in place: no list of its operators made). */
function hasConditions(s: ResolvedStatement): boolean {
  for (const _operator in s.conditions) return true;
  return false;
}

/** "refused where …" for an entry's actions a Deny refuses under its conditions, naming them when it is not all of them. */
function refusalText(deny: ResolvedStatement, denied: readonly string[], actions: readonly string[], label: string): string {
  const which = denied.length === actions.length ? '' : ` ${denied.join(', ')}`;
  const where = conditionClauses(deny.conditions);
  return `refused${which}${where.length > 0 ? ` where ${where.join(' and ')}` : ''} (explicit Deny ${label})`;
}

/** The decision for an action listed as written that a Deny with no condition refuses: one for all (nothing changes it). */
const DENIED_AS_WRITTEN: { allowed: boolean; grantedBy: readonly ResolvedStatement[] } = { allowed: false, grantedBy: [] };

/** The execution role's entry on every resource: CloudFormation acts as it when it deploys the stage. */
const DEPLOYS = 'cloudformation:* (deploys the stage)';

/**
 * `execution`: the StackSet execution role's statements as `xstack bootstrap` writes them in each account
 * (execution-reach.ts `bootstrapGrants`), asked with the templates' like any identity policy, so its rows name the
 * actions it holds on each resource directly (`bootstrap: <Sid>`), besides deploying the stage.
 */
export function reachOfResources(
  org: Org,
  resources: readonly OrgResource[],
  access: AccessAnalysis,
  stageName: (stageId: string) => string = (id) => id,
  execution: readonly ResolvedStatement[] = [],
  /** Where to record the resources whose entries are their class of teams' (reachByTeamClasses). */
  record?: { readonly byTeamClass: Set<OrgResource> },
): ReachEntry[] {
  const classes = new Map([...classesOf(access).values()].map((c) => [c.token, c]));
  const grants = execution.length > 0 ? [...access.grants, ...execution] : access.grants;
  // The execution role's own statements on a resource of its account are listed as its policy writes them, not asked
  // action by action: an identity Allow of the resource's own account is enough where no resource policy grants or
  // refuses it outright (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html),
  // which holds for every kind but a key, whose policy must allow too (asked, as any principal's). At a 1,000-account
  // org, asking each of those actions of each resource cost about a third of the compile.
  const world = reachWorld(
    grants,
    execution,
    execution.length > 0 ? new GrantIndex(execution, access.index) : access.index,
    resources,
    classes,
  );
  const ask = resourceAsker(org, stageName);
  // A team's resources, where the proof ran by class of alike teams: asked once for its class (reachByTeamClasses).
  const byTeams = access.teamClasses && access.teamClasses.length > 0 ? reachByTeamClasses(access.teamClasses, access.grants, execution, resources, classes, world, ask, stageName) : undefined;
  startProof(classes.values());
  const entries: ReachEntry[] = [];
  // Loops by index: this runs for every statement, principal and action of every resource, mostly before it is optimised, when each step of an iterator makes an object.
  for (let ri = 0; ri < resources.length; ri++) {
    const r = resources[ri];
    const known = byTeams?.get(r);
    if (known) {
      record?.byTeamClass.add(r);
      for (let i = 0; i < known.length; i++) entries.push(known[i]);
      continue;
    }
    ask.entriesOf(r, ask.statementsOn(r, world), world, entries);
  }
  return entries;
}

/**
 * A team's resources asked once for its class of alike teams (the access proof's, AccessAnalysis `teamClasses`), not
 * once for each team, as the proof asks its paths (paths.ts proveByTeams): each class's first team's statements,
 * resources and execution role statements are written with the class's tokens (classes.ts toTeamTokens: its source
 * account, its pipeline accounts, its key, the key's logical-id form, its forwarding rules' hashes), an item that holds
 * the team's account class's token once for each of its pipeline accounts (the token written as that account's), the
 * other members' items left out; the class's resources are asked against them, the tokens standing for each member's
 * values (symbolic.ts). Each member's entries are then the class's with its own values written for the tokens (its
 * account class's token for each pipeline account's), ordered as its own (by reach, then principal with its account
 * as the placeholder). That is what asking the member's own resources gives, as what reach reads of a resource is, for
 * each member, the class's with its values written:
 * - the statements in its accounts: the proof showed them to be the first team's, field by field, with the tuple
 *   written (`teamClasses`); their stages' and policies' names, which the entries' texts read, are compared here;
 * - its resources and its execution role statements: compared here, field by field, with the first team's with its
 *   values written (a resource's stage's name, account, logical id, type, kind, ARN and roles);
 * - the statements that name each resource, with actions on its kind: a class's resource is asked of those the org's
 *   index finds for the first team's own, a member's statement among them as the class's copies of it; each member's
 *   found for its own resource must be the same, one for one and in order (its statement for the first's at its
 *   place, any other statement itself): so no statement of another member names it (a grant across teams), and a
 *   row's actions and statements are read in the same order;
 * - the rest the evaluator reads for a request on the resource: the identity statements of its principal and the
 *   resource policies of its account, found by exact role ARN and account: those of a member are in its accounts,
 *   and no statement outside a member's own holds its values (`teamClasses`): the other members' are not read for
 *   it, as they are not here;
 * - the evaluator's answers with tokens hold for every member or the proof says it is no longer certain: then none of
 *   this is used. Where a team's pipeline accounts are one account class, the class's answer for each of them is the
 *   account class's answer (the same for each of its members), so the copies of a resource, one per pipeline account,
 *   must give the same entries, and the entries a principal made for each pipeline account (a pipeline role, asked
 *   once per copy of the statements that name it) are one, as the account class's token makes them one.
 * Where a text an entry reads (a statement's name, principals and conditions; a resource's account, ARN, logical id
 * and roles) holds one of those pipeline accounts' ids, which would be written as the token too, the class is asked
 * team by team, as is a member whose resources or statements read otherwise, and every resource of no member.
 * Undefined when no class can be asked so.
 */
function reachByTeamClasses(
  teamClasses: NonNullable<AccessAnalysis['teamClasses']>,
  grants: readonly ResolvedStatement[],
  execution: readonly ResolvedStatement[],
  resources: readonly OrgResource[],
  accountClasses: ReadonlyMap<string, { token: string; members: readonly string[] }>,
  concrete: ReachWorld,
  ask: ResourceAsker,
  stageName: (stageId: string) => string,
): Map<OrgResource, ReachEntry[]> | undefined {
  const classes = teamClasses.map((c) => new TeamClassReach(c.members, c.tokens, stageName));
  // Each account of a member: its class and member.
  const ownerOf = new Map<string, { c: TeamClassReach; m: number }>();
  for (const c of classes) c.members.forEach((t, m) => teamAccounts(t).forEach((account) => ownerOf.set(account, { c, m })));
  const ownedBy = (g: ResolvedStatement) => ownerOf.get(g.account);
  // A member's statement, and a class's copy of its first member's, by its place among the member's.
  const place = new Map<ResolvedStatement, StatementPlace>();
  const classGrants = classStatements(grants, ownedBy, place, 'grants');
  const classExecution = classStatements(execution, ownedBy, place, 'execution');
  for (const r of resources) {
    const owner = ownerOf.get(r.account);
    if (owner) owner.c.resources[owner.m].push(r);
  }
  const classResources: OrgResource[] = [];
  for (const c of classes) {
    c.compare();
    if (c.live.size > 0) for (const copies of c.written.resources) classResources.push(...copies);
  }
  if (classResources.length === 0) return undefined;
  const world = reachWorld(
    undefined,
    classExecution,
    classExecution.length > 0 ? new GrantIndex(classExecution, new GrantIndex(classGrants)) : new GrantIndex(classGrants),
    [...resources, ...classResources],
    accountClasses,
  );
  // What a statement is, member's or class's: the member's place (a class's copies share their original's), or itself.
  const origin = (g: ResolvedStatement): unknown => {
    const at = place.get(g);
    return at ? 2 * at.k + (at.list === 'grants' ? 0 : 1) : g;
  };
  // The statements asked of each copy of a class's resource: those the org's index finds for the first member's own,
  // each of a member as the class's copies; every member's found for its own must be the same, one for one.
  const statementsOf = new Map<OrgResource, ResolvedStatement[]>();
  for (const c of classes) {
    if (c.live.size === 0) continue;
    c.written.resources.forEach((copies, k) => {
      const firsts = ask.statementsOn(c.resources[0][k], concrete);
      copies.forEach((copy, j) =>
        statementsOf.set(
          copy,
          firsts.flatMap((g) => {
            const at = place.get(g);
            if (!at) return [g];
            const written = c.written[at.list][at.k];
            // A resource of one pipeline account (a copy) is named by its own account's copy; one of the source account by each.
            return copies.length > 1 && written.length > 1 ? [written[j]] : written;
          }),
        ),
      );
      const origins = firsts.map(origin);
      // A statement of another member names a member's resource (a grant across teams): that member is asked as itself, and the class without its first.
      const onlyOwn = (own: readonly ResolvedStatement[], m: number) =>
        own.every((g) => {
          const at = place.get(g);
          return at === undefined || (at.c === c && at.m === m);
        });
      if (!onlyOwn(firsts, 0)) c.live.clear();
      for (const m of [...c.live]) {
        if (m === 0) continue;
        if (!ownAsFirsts(ask.statementsOn(c.resources[m][k], concrete), origins, place, c, m)) c.live.delete(m);
      }
    });
  }
  // The accounts of a live class are its tokens' values: their account classes are not the proof's here.
  const proofClasses: ProofClass[] = [];
  const inTeamClass = new Set<string>();
  for (const c of classes) {
    if (c.live.size === 0) continue;
    proofClasses.push(c.proofClass());
    for (const t of c.members) for (const id of t.pipelines) inTeamClass.add(id);
  }
  if (proofClasses.length === 0) return undefined;
  for (const a of new Set(accountClasses.values())) if (!a.members.some((id) => inTeamClass.has(id))) proofClasses.push(a);
  startProof(proofClasses);
  const asked = new Map<TeamClassReach, ReachEntry[][]>();
  for (const c of classes) {
    if (c.live.size === 0) continue;
    const lists: ReachEntry[][] = [];
    for (const copies of c.written.resources) {
      // Each copy's entries as the class's (its pipeline tokens as the account class's), the same for every copy.
      let list: ReachEntry[] | undefined;
      for (const copy of copies) {
        const out: ReachEntry[] = [];
        ask.entriesOf(copy, statementsOf.get(copy)!, world, out);
        const own = c.asClassEntries(out);
        if (!own || (list && !sameEntries(list, own))) {
          c.live.clear();
          break;
        }
        list ??= own;
      }
      if (c.live.size === 0) break;
      lists.push(list!);
    }
    asked.set(c, lists);
  }
  if (!stillCertain()) return undefined;
  const out = new Map<OrgResource, ReachEntry[]>();
  for (const c of classes) {
    if (c.live.size === 0) continue;
    // Each class entry's rank, and whether an action of it holds a token: a text without one is written as it is, so
    // where none does (127,000 of 127,250 actions at 250 teams) each member's actions are a copy of the class's.
    const prepared = asked.get(c)!.map((list) => list.map((e) => ({ e, rank: REACH_ORDER.indexOf(e.reach), plainActions: !e.actions.some(hasToken) })));
    for (const m of c.live) {
      const write = c.writerFor(m);
      prepared.forEach((list, k) => {
        const r = c.resources[m][k];
        const own = list.map(({ e, rank, plainActions }) => ({
          entry: {
            resource: r,
            reach: e.reach,
            principal: write(e.principal),
            actions: plainActions ? e.actions.slice() : e.actions.map(write),
            grantedBy: e.grantedBy.map(write),
            identityOutsideModel: e.identityOutsideModel,
            conditions: write(e.conditions),
          },
          rank,
          order: '',
        }));
        // Ordered as reachOfResources orders a resource's entries (no two of them have one principal and reach).
        for (const x of own) x.order = generalise(x.entry.principal, r.account);
        own.sort((a, b) => a.rank - b.rank || (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
        out.set(
          r,
          own.map((x) => x.entry),
        );
      });
    }
  }
  return out;
}

/**
 * Whether a member's statements naming its resource (`own`, the org's index's) are its own or no member's (as `onlyOwn`
 * asks), and each, as its origin (its place among the member's, or itself), the first member's at its place
 * (`origins`): one loop, no list of origins made.
 */
export function ownAsFirsts(own: readonly ResolvedStatement[], origins: readonly unknown[], place: ReadonlyMap<ResolvedStatement, StatementPlace>, c: StatementPlace['c'], m: number): boolean {
  if (own.length !== origins.length) return false;
  for (let i = 0; i < own.length; i++) {
    const at = place.get(own[i]);
    if (at === undefined ? own[i] !== origins[i] : at.c !== c || at.m !== m || 2 * at.k + (at.list === 'grants' ? 0 : 1) !== origins[i]) return false;
  }
  return true;
}

const sameItems = (a: readonly unknown[], b: readonly unknown[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Two lists of a class's entries alike, text for text (their resources aside). */
const sameEntries = (a: readonly ReachEntry[], b: readonly ReachEntry[]): boolean => a.length === b.length && a.every((e, i) => sameEntry(e, b[i]));
const sameEntry = (a: ReachEntry, b: ReachEntry): boolean =>
  a.reach === b.reach && a.principal === b.principal && a.identityOutsideModel === b.identityOutsideModel && a.conditions === b.conditions && sameItems(a.actions, b.actions) && sameItems(a.grantedBy, b.grantedBy);

/** A member's statement: its class and member, its list and its place among the member's statements of that list. */
export interface StatementPlace {
  c: TeamClassReach;
  m: number;
  k: number;
  list: 'grants' | 'execution';
}

/** A team's accounts, as the proof owns statements by them: its source account, and its account class's token or its pipeline accounts. */
const teamAccounts = (t: TeamMember): string[] => [t.source, ...(t.accountToken !== undefined ? [t.accountToken] : t.pipelines)];

/**
 * A list of statements as a class's world has it (reachByTeamClasses): each class's first member's written with its
 * tokens (its copies), the other members' left out, each member's statement kept by its class with its place among
 * its member's; the rest as they are.
 */
function classStatements(
  list: readonly ResolvedStatement[],
  ownedBy: (g: ResolvedStatement) => { c: TeamClassReach; m: number } | undefined,
  place: Map<ResolvedStatement, StatementPlace>,
  which: 'grants' | 'execution',
): ResolvedStatement[] {
  const out: ResolvedStatement[] = [];
  for (const g of list) {
    const owner = ownedBy(g);
    if (!owner) {
      out.push(g);
      continue;
    }
    const own = owner.c.statements[which][owner.m];
    const at: StatementPlace = { c: owner.c, m: owner.m, k: own.length, list: which };
    place.set(g, at);
    own.push(g);
    if (owner.m === 0) {
      const copies = owner.c.writtenStatements(g);
      owner.c.written[which].push(copies);
      for (const copy of copies) {
        place.set(copy, at);
        out.push(copy);
      }
    }
  }
  return out;
}

/** One class of alike teams, as reach asks it: its members' resources and statements, and the first's written with its tokens. */
class TeamClassReach {
  /** By member: its resources, and its statements of each list, in order. */
  readonly resources: OrgResource[][];
  readonly statements: { grants: ResolvedStatement[][]; execution: ResolvedStatement[][] };
  /** The first member's items, each as its copies written with the tokens (one per pipeline account where it holds its account class's token). */
  readonly written: { resources: OrgResource[][]; grants: ResolvedStatement[][]; execution: ResolvedStatement[][] } = { resources: [], grants: [], execution: [] };
  /** The members asked by class (by index); the others are asked as themselves. */
  readonly live = new Set<number>();
  /** Whether a text an entry reads holds an id of one of the first member's pipeline accounts where its account class's token stands for them too. */
  private unwritable = false;
  /** With an account class, each pipeline token as the first's account class's token: how the class's entries are read. */
  private readonly asAccountClass: (text: string) => string;

  constructor(
    readonly members: readonly TeamMember[],
    private readonly tokens: TeamTokens,
    /** A stage's name as entries read it (a family's parts have one). */
    private readonly stageName: (stageId: string) => string,
  ) {
    this.resources = members.map(() => []);
    this.statements = { grants: members.map(() => []), execution: members.map(() => []) };
    const accountToken = members[0].accountToken;
    this.asAccountClass = accountToken === undefined ? (text) => text : (text) => tokens.pipelines.reduce((s, token) => (s.includes(token) ? s.replaceAll(token, accountToken) : s), text);
  }

  /** The tokens an item of the first member is written with: once per pipeline account where it holds its account class's token. */
  private copiesFor(texts: readonly string[]): readonly string[] {
    const { accountToken } = this.members[0];
    return accountToken !== undefined && texts.some((x) => x.includes(accountToken)) ? this.tokens.pipelines : this.tokens.pipelines.slice(0, 1);
  }

  /** `text` of the first member with its tuple as the tokens; `read`: a text an entry reads, which must not hold a pipeline account's id where an account class stands for them. */
  private write(text: string, as: string, read: boolean): string {
    const first = this.members[0];
    if (read && first.accountToken !== undefined && first.pipelines.some((id) => text.includes(id))) this.unwritable = true;
    return toTeamTokens(text, first, this.tokens, as);
  }

  writtenStatements(g: ResolvedStatement): ResolvedStatement[] {
    const texts = [g.account, g.policy, g.attachedTo ?? '', g.madeFor ?? '', ...g.principals.map(principalText), ...g.resources, ...conditionTexts(g)];
    return this.copiesFor(texts).map((as) => {
      const w = (text: string) => this.write(text, as, true);
      return {
        ...g,
        account: w(g.account),
        policy: w(g.policy),
        ...(g.attachedTo !== undefined ? { attachedTo: w(g.attachedTo) } : {}),
        ...(g.madeFor !== undefined ? { madeFor: w(g.madeFor) } : {}),
        principals: g.principals.map((p) => (p.kind === 'aws' ? { kind: 'aws' as const, arn: w(p.arn) } : p.kind === 'federated' ? { ...p, provider: w(p.provider) } : p)),
        resources: g.resources.map((x) => this.write(x, as, false)),
        conditions: Object.fromEntries(Object.entries(g.conditions).map(([operator, keys]) => [operator, Object.fromEntries(Object.entries(keys).map(([key, values]) => [w(key), values.map(w)]))])),
      };
    });
  }

  /** A member's values written for the tokens (and for the first member's account class's token, its own: `asClassEntries` reads the class's entries so). */
  writerFor(m: number): (text: string) => string {
    return writerInTurn(this.valuesOf(m));
  }

  /** Each token a member's values are written for (writerFor), with its value, in the order they are written. */
  private valuesOf(m: number): Array<[string, string]> {
    const t = this.members[m];
    const first = this.members[0];
    return [
      ...(first.accountToken !== undefined ? [[first.accountToken, t.accountToken!] as [string, string]] : []),
      ...this.tokens.pipelines.map((token, j): [string, string] => [token, t.pipelines[j]]),
      [this.tokens.source, t.source],
      [this.tokens.key, t.key],
      [this.tokens.logical, t.logical],
      ...this.tokens.hashes.map((token, h): [string, string] => [token, t.hashes[h]]),
    ];
  }

  /** Whether a text with tokens, written for member `m` (writerFor), reads `own`: in place where that is the same (readsWrittenInTurn), the first's texts cut once (`pieces`). */
  private readerFor(m: number, pieces: Map<string, string[]>): (text: string, own: string) => boolean {
    const inPlace = readsWrittenInTurn(this.valuesOf(m), pieces);
    if (inPlace) return inPlace;
    const write = this.writerFor(m);
    return (text, own) => write(text) === own;
  }

  /**
   * A copy's entries as the class's: each pipeline token as the first member's account class's token, where it has
   * one, and the entries a principal made for each pipeline account (a pipeline role, once per copy of the statements
   * naming it) as one; undefined where those do not read alike.
   */
  asClassEntries(entries: readonly ReachEntry[]): ReachEntry[] | undefined {
    const out: ReachEntry[] = [];
    const seen = new Map<string, ReachEntry>();
    for (const e of entries) {
      const read: ReachEntry = {
        resource: e.resource,
        reach: e.reach,
        principal: this.asAccountClass(e.principal),
        actions: e.actions.map(this.asAccountClass),
        grantedBy: e.grantedBy.map(this.asAccountClass),
        identityOutsideModel: e.identityOutsideModel,
        conditions: this.asAccountClass(e.conditions),
      };
      const key = `${read.reach} ${read.principal}`;
      const before = seen.get(key);
      if (before) {
        if (!sameEntry(before, read)) return undefined;
        continue;
      }
      seen.set(key, read);
      out.push(read);
    }
    return out;
  }

  /**
   * Writes the first member's resources with the tokens, and keeps live the members whose resources and execution
   * role statements read as the first's with their values for the first's, and whose statements' stage and policy
   * names do (each text of the first written with the tokens once, its account class's token as itself, then written
   * with each member's values).
   */
  compare(): void {
    for (const r of this.resources[0]) this.written.resources.push(this.writtenResources(r));
    if (this.unwritable) return;
    // The first member's texts with its tuple as the tokens, each once: its own account class's token stays as it is.
    const first = this.members[0];
    const asTokens = (text: string) => toTeamTokens(text, first, this.tokens, first.accountToken ?? this.tokens.pipelines[0]);
    const resources = this.resources[0].map((r) => ({ stage: this.stageName(r.stage), r: { ...r, account: asTokens(r.account), logicalId: asTokens(r.logicalId), arn: asTokens(r.arn), ...(r.roles ? { roles: r.roles.map(asTokens) } : {}) } }));
    const grants = this.statements.grants[0].map((g) => ({ stage: this.stageName(g.stage), policy: asTokens(g.policy) }));
    const execution = this.statements.execution[0].map((g) => asTokensStatement(g, asTokens));
    // The first's texts with tokens, each cut at its tokens once.
    const pieces = new Map<string, string[]>();
    for (let m = 0; m < this.members.length; m++) {
      const readsWith = this.readerFor(m, pieces);
      const reads = (text: string, own: string) => (hasToken(text) ? readsWith(text, own) : text === own);
      const own = { resources: this.resources[m], grants: this.statements.grants[m], execution: this.statements.execution[m] };
      if (own.resources.length !== resources.length || !own.resources.every((r, k) => this.stageName(r.stage) === resources[k].stage && resourceReads(resources[k].r, r, reads))) continue;
      if (own.grants.length !== grants.length || !own.grants.every((g, k) => this.stageName(g.stage) === grants[k].stage && reads(grants[k].policy, g.policy))) continue;
      if (own.execution.length !== execution.length || !own.execution.every((g, k) => statementReads(execution[k], g, reads))) continue;
      this.live.add(m);
    }
  }

  private writtenResources(r: OrgResource): OrgResource[] {
    const read = [r.account, r.logicalId, r.arn, ...(r.roles ?? [])];
    return this.copiesFor([...read, r.madeFor ?? '']).map((as) => {
      const w = (text: string) => this.write(text, as, true);
      return { ...r, account: w(r.account), logicalId: w(r.logicalId), arn: w(r.arn), ...(r.roles ? { roles: r.roles.map(w) } : {}), ...(r.madeFor !== undefined ? { madeFor: w(r.madeFor) } : {}) };
    });
  }

  /** The class as the proof takes it (paths.ts teamProofLists): its first pipeline token, each member's first pipeline account, with the other tokens tied to it. */
  proofClass(): ProofClass {
    const tied = (token: string, kind: TiedToken['kind'], value: (t: TeamMember) => string): TiedToken => ({ token, kind, values: this.members.map(value) });
    return {
      token: this.tokens.pipelines[0],
      members: this.members.map((t) => t.pipelines[0]),
      tied: [
        ...this.tokens.pipelines.slice(1).map((token, j) => tied(token, 'account', (t) => t.pipelines[j + 1])),
        tied(this.tokens.source, 'account', (t) => t.source),
        tied(this.tokens.key, 'key', (t) => t.key),
        tied(this.tokens.logical, 'logical', (t) => t.logical),
        ...this.tokens.hashes.map((token, h) => tied(token, 'key', (t) => t.hashes[h])),
      ],
    };
  }
}

/** A statement with each of its texts written (`write`): the fields statementReads compares. */
const asTokensStatement = (g: ResolvedStatement, write: (text: string) => string): ResolvedStatement => ({
  ...g,
  account: write(g.account),
  policy: write(g.policy),
  ...(g.attachedTo !== undefined ? { attachedTo: write(g.attachedTo) } : {}),
  actions: g.actions.map(write),
  resources: g.resources.map(write),
  conditions: Object.fromEntries(Object.entries(g.conditions).map(([operator, keys]) => [operator, Object.fromEntries(Object.entries(keys).map(([key, values]) => [write(key), values.map(write)]))])),
});

const principalText = (p: PrincipalRef): string => (p.kind === 'aws' ? p.arn : p.kind === 'federated' ? p.provider : '');
const conditionTexts = (g: ResolvedStatement): string[] => Object.values(g.conditions).flatMap((keys) => Object.entries(keys).flatMap(([key, values]) => [key, ...values]));

/** Whether a class's resource reads as a member's own (its stage aside), `reads` comparing a class text with the member's. */
function resourceReads(copy: OrgResource, own: OrgResource, reads: (copy: string, own: string) => boolean): boolean {
  return (
    copy.type === own.type &&
    copy.kind === own.kind &&
    reads(copy.account, own.account) &&
    reads(copy.logicalId, own.logicalId) &&
    reads(copy.arn, own.arn) &&
    (copy.roles === undefined ? own.roles === undefined : own.roles !== undefined && copy.roles.length === own.roles.length && copy.roles.every((x, i) => reads(x, own.roles![i])))
  );
}

/**
 * Whether a class's statement reads as a member's own, in every field reach and the evaluator read. Loops, no closure
 * made per statement: asked of each member's execution role statements.
 */
function statementReads(copy: ResolvedStatement, own: ResolvedStatement, reads: (copy: string, own: string) => boolean): boolean {
  if (copy.stage !== own.stage || copy.kind !== own.kind || copy.effect !== own.effect || !reads(copy.account, own.account) || !reads(copy.policy, own.policy)) return false;
  if (copy.attachedTo === undefined ? own.attachedTo !== undefined : own.attachedTo === undefined || !reads(copy.attachedTo, own.attachedTo)) return false;
  if (copy.madeFor !== undefined || own.madeFor !== undefined || copy.principals.length > 0 || own.principals.length > 0) return false;
  if (!listReads(copy.actions, own.actions, reads) || !listReads(copy.resources, own.resources, reads)) return false;
  const operators = Object.keys(copy.conditions);
  const ownOperators = Object.keys(own.conditions);
  if (!listReads(operators, ownOperators, reads)) return false;
  for (const operator of operators) {
    const keys = Object.keys(copy.conditions[operator]);
    const ownKeys = Object.keys(own.conditions[operator]);
    if (!listReads(keys, ownKeys, reads)) return false;
    for (let j = 0; j < keys.length; j++) if (!listReads(copy.conditions[operator][keys[j]], own.conditions[operator][ownKeys[j]], reads)) return false;
  }
  return true;
}

/** Two lists of the same length, each text of `copy` reading its place in `own` (a hole of `copy` skipped, as every() skips it). */
function listReads(copy: readonly string[], own: readonly string[], reads: (copy: string, own: string) => boolean): boolean {
  if (copy.length !== own.length) return false;
  for (let i = 0; i < copy.length; i++) if (i in copy && !reads(copy[i], own[i])) return false;
  return true;
}

/**
 * What a resource's entries are asked of: the statements (those naming it found by `byResource`), their index, the
 * execution role's statements and what is known of a principal. The org's as compiled, or a class of teams' (with
 * its first team's statements and resources written with its tokens, reachByTeamClasses).
 */
interface ReachWorld {
  /** None for a class's world, whose resources are asked of the statements the org's own index finds for its first member's. */
  readonly byResource?: ByResource;
  readonly index: GrantIndex;
  /** The execution role's statements: listed as written on a resource of their own account (see reachOfResources). */
  readonly listedAsWritten: ReadonlySet<ResolvedStatement>;
  /** The roles whose policy is bootstrap's (the execution role in each account it writes it in). */
  readonly bootstrapped: ReadonlySet<string | undefined>;
  /** Whether a role is one the org creates (its own policies are in the templates). */
  isOrgRole(arn: string): boolean;
}

/** `grants`: every statement, the execution role's among them, in the order they are read (none: no index by resource); `execution`: the execution role's alone. */
function reachWorld(
  grants: readonly ResolvedStatement[] | undefined,
  execution: readonly ResolvedStatement[],
  index: GrantIndex,
  resources: readonly OrgResource[],
  classes: ReadonlyMap<string, { token: string; members: readonly string[] }>,
): ReachWorld {
  const roles = new Set(resources.filter((r) => r.kind === 'role').map((r) => r.arn));
  return {
    ...(grants ? { byResource: new ByResource(grants, resources) } : {}),
    index,
    listedAsWritten: new Set(execution),
    bootstrapped: new Set(execution.map((g) => g.attachedTo)),
    // A class's role (a source role made for each member, `…-source-<token>`) is the org's when a member's is.
    // The classes are found by the tokens the ARN holds, not by asking each of the org's classes (250 at 250 teams) for every principal.
    // Asked once per principal: a principal is a candidate of each statement that admits it, on each resource it names.
    isOrgRole: madeOnce((arn: string) => {
      if (roles.has(arn)) return true;
      for (let at = arn.indexOf(TOKEN_MARK); at >= 0; at = arn.indexOf(TOKEN_MARK, at + 1)) {
        const c = classes.get(arn.slice(at, at + 2));
        if (c && roles.has(arn.replaceAll(c.token, c.members[0]))) return true;
      }
      return false;
    }),
  };
}

/** How a resource's entries are made (resourceAsker): the statements asked of it, and its entries from them. */
interface ResourceAsker {
  /** The statements that name a resource with actions of a service acting on its kind. */
  statementsOn(r: OrgResource, world: ReachWorld): ResolvedStatement[];
  /** A resource's entries, in their order (by reach, then principal), pushed to `out`. */
  entriesOf(r: OrgResource, statements: readonly ResolvedStatement[], world: ReachWorld, out: ReachEntry[]): void;
}

function resourceAsker(org: Org, stageName: (stageId: string) => string): ResourceAsker {
  // Each statement, condition set and action is met for many resources: its text is made once, a statement's facts found by one lookup.
  const grantOf = madeOnce((g: ResolvedStatement) => ({ label: `${stageName(g.stage)}: ${g.policy}`, conditions: conditionParts(g) }));
  const serviceOf = madeOnce((action: string) => action.split(':')[0].toLowerCase());
  // Whether a statement's actions act on a kind of resource, and those it is asked about there (its services', no
  // wildcard, in its order, each with its reach): the same for each resource it names, and for each statement with the
  // same actions. Found by the list, then by what it holds: an org's statements share a few lists (at 250 teams ~7,800
  // lists, one per template statement and account, of 47 texts), each read once per kind, not once per statement.
  const onKind = madeOnce((kind: ResourceKind) => {
    const typed = madeOnce((action: string) => takesKind(kind, action));
    const ofText = new Map<string, KindFacts>();
    return madeOnce((actions: readonly string[]): KindFacts => {
      const text = JSON.stringify(actions);
      let facts = ofText.get(text);
      if (!facts) {
        const asked = actions.filter((a) => SERVICES[kind].includes(serviceOf(a)) && !a.includes('*') && typed(a));
        facts = { actsOn: actions.some((a) => SERVICES[kind].includes(serviceOf(a))), asked: asked.map((action) => ({ action, rank: REACH_ORDER.indexOf(reachOf(action)) })) };
        ofText.set(text, facts);
      }
      return facts;
    });
  });
  // The principals a statement is asked for: the same for each resource it names (about ten at 250 teams).
  const candidatesOf = madeOnce(
    (g: ResolvedStatement): Array<{ shown: string; ref: PrincipalRef }> => (g.kind === 'identity' ? [{ shown: g.attachedTo!, ref: { kind: 'aws', arn: g.attachedTo! } }] : admitted(g, org.partition)),
  );
  const onResource = new RequestAnswers();
  const onObject = new RequestAnswers();
  return {
    statementsOn(r, world) {
      const ofKind = onKind(r.kind);
      return world.byResource!.get(r).filter((g) => ofKind(g.actions).actsOn);
    },
    entriesOf(r, statements, world, out) {
      const ofKind = onKind(r.kind);
      // Each principal's entries by reach (REACH_ORDER's index), and all of them in the order they were made: no key text made per allowed action.
      const found = new Map<string, Found[]>();
      const made: Found[] = [];
      const entryOf = (rank: number, principal: string, outside: boolean) => {
        let byReach = found.get(principal);
        if (!byReach) found.set(principal, (byReach = []));
        let e = byReach[rank];
        if (!e) made.push((byReach[rank] = e = { entry: { resource: r, reach: REACH_ORDER[rank], principal, actions: [], grantedBy: [], identityOutsideModel: outside, conditions: '' }, parts: new Map(), denies: new Map(), rank, order: '' }));
        return e;
      };
      const add = (reach: Reach, principal: string, action: string, by: string, outside: boolean) => {
        const { entry } = entryOf(REACH_ORDER.indexOf(reach), principal, outside);
        if (!entry.actions.includes(action)) entry.actions.push(action);
        if (!entry.grantedBy.includes(by)) entry.grantedBy.push(by);
      };
      // A principal's action is often allowed by two statements (its own policy and the resource's): asking again would add nothing.
      const asked = new Map<string, Set<string>>();
      const askedBefore = (principal: string, question: string) => {
        let questions = asked.get(principal);
        if (!questions) asked.set(principal, (questions = new Set()));
        return questions.has(question) || !questions.add(question);
      };
      const context = contextFor(statements);
      const denials = statements.filter((g) => g.effect === 'Deny');
      const ofOwnAccount = `::${r.account}:`;
      const objectOf = `${r.arn}/`;
      // Whether an action acts on the resource itself (actionTakesResource), its ARN read once for all of them.
      let actsOnItself: ((action: string) => boolean) | undefined;
      for (let si = 0; si < statements.length; si++) {
        const g = statements[si];
        if (g.effect !== 'Allow') continue;
        const actions = ofKind(g.actions).asked;
        if (actions.length === 0) continue;
        // A bucket's object actions are asked about an object the statement names.
        const objects = r.kind === 'bucket' ? g.resources.find((x) => x.startsWith(objectOf)) : undefined;
        const object = objects === undefined ? undefined : sampleOf(objects);
        const candidates = candidatesOf(g);
        const grantedAsWritten = { allowed: true, grantedBy: [g] };
        for (let ci = 0; ci < candidates.length; ci++) {
          const { shown, ref } = candidates[ci];
          // The execution role's own policy is bootstrap's, in the index (SELF_MANAGED): asked of it, not taken as allowing
          // what a key policy alone admits (review s36-diff m2: its key rows listed kms:CancelKeyDeletion, which it lacks).
          const outside = ref.kind === 'aws' && !world.isOrgRole(shown) && !world.bootstrapped.has(ref.arn);
          const asker = ref.kind === 'aws' && ref.arn === shown ? shown : `${shown}\u0000${ref.kind === 'aws' ? ref.arn : ref.kind}`;
          // The Denies whose side takes in the candidate, and of those the ones with no condition: the same for each of its actions.
          const against = denials.length === 0 ? denials : denials.filter((d) => denyTakesIn(d, ref));
          const outright = against.length === 0 ? against : against.filter((d) => !hasConditions(d));
          // A candidate's requests differ only in their action, which whether a statement applies never reads (evaluate.ts AppliesMemo).
          onResource.clear();
          onObject.clear();
          // Of the resource's own account only: another account's resource needs its policy's Allow too (asked).
          const asWritten = r.kind !== 'key' && world.listedAsWritten.has(g) && ref.kind === 'aws' && ref.arn.includes(ofOwnAccount);
          // One request per candidate, its action set in turn (evaluate keeps no request); the object's made when first asked.
          const request: Request = { principal: ref, action: '', resource: r.arn, resourceAccount: r.account, context, identityManagedElsewhere: outside };
          let objectRequest: Request | undefined;
          for (let ai = 0; ai < actions.length; ai++) {
            const { action, rank } = actions[ai];
            if (askedBefore(asker, objects === undefined ? action : `${action}\u0000${objects}`)) continue;
            let resource = r.arn;
            let d: { allowed: boolean; grantedBy: readonly ResolvedStatement[] };
            if (asWritten) {
              d = someDenyNames(outright, action, r.arn) ? DENIED_AS_WRITTEN : grantedAsWritten;
              if (object !== undefined && !(actsOnItself ??= someResourceTaking([r.arn]))(action)) resource = object;
            } else {
              request.action = action;
              d = evaluate(world.index, request, org.organizationId, onResource);
              if (!d.allowed && object !== undefined) {
                objectRequest ??= { ...request, resource: object };
                objectRequest.action = action;
                resource = objectRequest.resource;
                d = evaluate(world.index, objectRequest, org.organizationId, onObject);
              }
            }
            if (!d.allowed) continue;
            const { entry, parts, denies } = entryOf(rank, shown, outside);
            if (!entry.actions.includes(action)) entry.actions.push(action);
            // It was not refused (it would not be here): a Deny that names it refuses it only under its conditions.
            for (let di = 0; di < against.length; di++) {
              if (!denyNames(against[di], action, resource)) continue;
              const denied = listIn(denies, against[di]);
              if (!denied.includes(action)) denied.push(action);
            }
            for (let bi = 0; bi < d.grantedBy.length; bi++) {
              const { label, conditions } = grantOf(d.grantedBy[bi]);
              if (!entry.grantedBy.includes(label)) entry.grantedBy.push(label);
              for (let i = 0; i < conditions.length; i++) {
                const granted = listIn(parts, conditions[i]);
                if (!granted.includes(action)) granted.push(action);
              }
            }
          }
        }
      }
      // Whoever deploys the stage (CloudFormation, as the StackSet execution role) creates, changes and deletes the resource.
      const execution = `arn:${org.partition}:iam::${r.account}:role/${executionRoleOf(org)}`;
      // Its own policy is outside the org file unless bootstrap's is listed (SELF_MANAGED), as its other rows (review s36-delta n2).
      add('administer', execution, DEPLOYS, `StackSet execution role of ${stageName(r.stage)} (${executionPolicyWhere(org)})`, world.bootstrapped.size === 0);
      if (r.roles) for (const role of r.roles) add('assume', 'service ec2.amazonaws.com (instances launched with this profile)', `acts as ${role}`, `${stageName(r.stage)}: ${r.logicalId}/Roles`, false);
      // Ordered by reach, then principal as it reads with the resource's account written as a placeholder: the same order whether proved by class or account by account.
      for (let oi = 0; oi < made.length; oi++) made[oi].order = generalise(made[oi].entry.principal, r.account);
      const ordered = made.sort((a, b) => a.rank - b.rank || (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
      for (let oi = 0; oi < ordered.length; oi++) {
        const { entry, parts, denies } = ordered[oi];
        const refusals: string[] = [];
        // A Deny names the actions it refuses, unless all the row's are (deploying the stage is no request it meets).
        const requested = entry.actions.filter((a) => a !== DEPLOYS);
        denies.forEach((actions, deny) => refusals.push(refusalText(deny, actions, requested, grantOf(deny).label)));
        // A condition of a statement that grants some of the row's actions names them (review s36-audit F5: the trust's
        // Null aws:SourceIdentity holds sts:SetSourceIdentity, not the sts:AssumeRole beside it).
        const conditions: string[] = [];
        parts.forEach((actions, condition) => conditions.push(requested.every((a) => actions.includes(a)) ? condition : `${condition} (${actions.join(', ')} only)`));
        entry.conditions = [...conditions, ...refusals].join('; ');
        out.push(entry);
      }
    },
  };
}

/** An entry of a resource as it is being made: the conditions of its granting statements, and the Denies that refuse some of its actions under theirs. */
interface Found {
  entry: ReachEntry;
  /** Each condition of the granting statements, with the row's actions it was met for. */
  parts: Map<string, string[]>;
  denies: Map<ResolvedStatement, string[]>;
  /** Its reach's index in REACH_ORDER. */
  rank: number;
  /** Its principal as it reads with the resource's account written as a placeholder: what it is ordered by within its reach. */
  order: string;
}

/** What a statement's actions are on a kind of resource (reachOfResources `onKind`). */
interface KindFacts {
  /** Whether one of them is of a service acting on the kind. */
  actsOn: boolean;
  /** Those asked of a resource of the kind, each with its reach's index in REACH_ORDER. */
  asked: ReadonlyArray<{ action: string; rank: number }>;
}

/**
 * Where the execution role's policy is: SELF_MANAGED, the one `xstack bootstrap` writes, derived from these templates
 * (listed under "The StackSet execution role"); SERVICE_MANAGED, the role StackSets makes in each account, outside the
 * org file (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-activate-trusted-access.html).
 */
function executionPolicyWhere(org: Org): string {
  return org.stackSets.permissionModel === 'SELF_MANAGED' ? 'its policy is the one under "The StackSet execution role", written by xstack bootstrap' : 'its own policy is outside the org file';
}
