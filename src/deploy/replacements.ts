/**
 * Template updates that CloudFormation refuses or that break things, found by comparing a StackSet's deployed
 * template with the compiled one before any operation (moto shows none of them: it replaces nothing):
 * - a resource whose create-only property changes is replaced ("Update requires: Replacement"; the properties come
 *   from the registry schemas, src/deploy/create-only.ts), and so is one whose create-only property names a replaced
 *   resource (its Ref or GetAtt changes). A replaced resource that keeps its custom name is refused: "You can't
 *   perform an update that causes a custom-named resource to be replaced. If you must replace the resource, specify
 *   a new name." (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html; e.g.
 *   AWS::IAM::ManagedPolicy's Description, "The policy description is immutable … Update requires: Replacement",
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-managedpolicy.html). The stack
 *   update fails ("CloudFormation cannot update a stack when a custom-named resource requires replacing",
 *   https://repost.aws/knowledge-center/cloudformation-custom-name) in every account, and every later run
 *   retries the same template: refused;
 * - a subnet created by the update (new, or a replacement) whose CIDR overlaps one a subnet of the deployed
 *   template holds: CloudFormation "usually creates the replacement resource first … and then deletes the old
 *   resource", and removes deleted resources in the cleanup after every create
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html),
 *   so the old subnet still holds its CIDR and EC2 refuses the new one (InvalidSubnet.Conflict): refused;
 * - a NAT gateway that is replaced (its subnet is) and keeps its Elastic IP (its AllocationId a literal, a parameter or
 *   an EIP the update does not replace): CloudFormation creates the new gateway first, while the old one still holds
 *   the address, and EC2 fails the create: failureCode Resource.AlreadyAssociated, "Elastic IP address eipalloc-xxxxxxxx
 *   is already associated" (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NatGateway.html,
 *   failureCode/failureMessage): refused. Not an AWS::EC2::EIPAssociation: AssociateAddress moves an address that is
 *   associated elsewhere ("Reassociation is automatic", AllowReassociation in
 *   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AssociateAddress.html), so a replaced association does
 *   not fail, and what the old one's delete then does is not documented: not judged;
 * - an internet gateway attachment that is replaced (its VPC is) and names a gateway the update does not replace: the
 *   new attachment is made while the old one still holds the gateway, which EC2 refuses (Resource.AlreadyAssociated,
 *   "resource igw-… is already attached to network vpc-…", as reported in berlioz-the/berlioz#1; AttachInternetGateway,
 *   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AttachInternetGateway.html, lists no error of its
 *   own): refused, with the CI network's way out;
 * - an IAM role, managed policy or instance profile whose name changes only in case: IAM names "are not
 *   distinguished by case" (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html), so
 *   the replacement is created under a name IAM already holds and fails (EntityAlreadyExists): refused as a
 *   custom-named resource kept;
 * - an unnamed security group that is replaced: CloudFormation goes on, but an instance launched outside the stack
 *   keeps the old group, whose delete then fails in the cleanup and leaves it behind, and the group id changes: a
 *   warning;
 * - a deployment group whose tag set changes: its next deployment selects other instances: a warning;
 * - a resource whose Type changes under its logical id: not a replacement, CloudFormation fails the update (below,
 *   TYPE_CHANGE_REFUSED): refused;
 * - a named resource added under a new logical id with the name of one the update removes (a logical id changed, the
 *   name kept): created while the old one holds the name (namesStillHeld): refused.
 * Pure: no AWS call. Not judged: parameters (a Ref to a parameter is taken as unchanged), conditions (a resource is
 * taken as present), and custom names computed differently that come out the same.
 */
import type { CfnTemplate } from '../cfn/template';
import { XstackError } from '../errors';
import { fromYaml } from '../yaml';
import { listIn } from '../memo';
import { accountsWhereHolds, conditionHolds } from '../cfn/account-switch';
import { CREATE_ONLY, type CreateOnlyFacts } from './create-only';

/**
 * CloudFormation does not change a resource's type under its logical id: the update fails, "Update of resource type is
 * not permitted. The new template modifies resource type of the following resources: […]". No page of AWS's
 * documentation states it; the answer is quoted from CloudFormation in aws/aws-sam-cli#6786
 * (https://github.com/aws/aws-sam-cli/issues/6786), and aws/aws-cdk#1061 (https://github.com/aws/aws-cdk/issues/1061:
 * "CloudFormation doesn't allow it for the same logical ID"). A StackSet's template update would fail so in every
 * account. VERIFY in a sandbox (README "Not yet").
 */
export const TYPE_CHANGE_REFUSED = "CloudFormation does not change a resource's type under its logical id (\"Update of resource type is not permitted\")";

export interface Replacements {
  /** Updates CloudFormation refuses or cannot finish: deploy refuses the org file before any operation. */
  refused: string[];
  /** Replacements that go through but leave something behind. */
  warnings: string[];
}

type Resource = CfnTemplate['Resources'][string];
type Properties = Record<string, unknown>;
const DEPLOYMENT_GROUP = 'AWS::CodeDeploy::DeploymentGroup';

const SUBNET = 'AWS::EC2::Subnet';
const SECURITY_GROUP = 'AWS::EC2::SecurityGroup';
const NAT_GATEWAY = 'AWS::EC2::NatGateway';
const GATEWAY_ATTACHMENT = 'AWS::EC2::VPCGatewayAttachment';
/** IAM's names, which IAM does not tell apart by case. */
const CASELESS_NAMES = new Set(['AWS::IAM::Role', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::InstanceProfile', 'AWS::IAM::User', 'AWS::IAM::Group']);

/** Whether a name property changes only in case, for a type whose names are caseless. */
function caseOnly(type: string, before: Resource, after: Resource, path: string): boolean {
  if (!CASELESS_NAMES.has(type)) return false;
  const [a, b] = [valueAt(before.Properties as Properties, path), valueAt(after.Properties as Properties, path)];
  return typeof a === 'string' && typeof b === 'string' && a !== b && a.toLowerCase() === b.toLowerCase();
}

/** JSON with object keys sorted: two values are the same template text iff their keys are equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as object).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** The value at a create-only path (`Name`, `DnsOptions/PrivateDnsPreference`, `Tags/*\/Key`), undefined if unset. */
function valueAt(properties: Properties | undefined, path: string): unknown {
  let values: unknown[] = [properties];
  for (const segment of path.split('/')) {
    values = values.flatMap((v): unknown[] => {
      if (segment === '*') return Array.isArray(v) ? v : [];
      return v && typeof v === 'object' && !Array.isArray(v) && segment in v ? [(v as Properties)[segment]] : [];
    });
  }
  if (values.length === 0) return undefined;
  return path.includes('*') ? values : values[0];
}

/** The logical ids a value refers to: Ref, Fn::GetAtt, and the ${Name} and ${Name.Attr} of Fn::Sub. */
function referencedIds(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => referencedIds(v, out));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value as Properties)) {
      if (key === 'Ref' && typeof v === 'string') out.add(v);
      else if (key === 'Fn::GetAtt') out.add(Array.isArray(v) ? String(v[0]) : String(v).split('.')[0]);
      else if (key === 'Fn::Sub') {
        const [text, variables] = Array.isArray(v) ? [v[0], v[1] as Properties | undefined] : [v, undefined];
        for (const m of String(text).matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const name = m[1].split('.')[0];
          if (!variables || !(name in variables)) out.add(name);
        }
        if (variables) referencedIds(Object.values(variables), out);
      } else referencedIds(v, out);
    }
  }
  return out;
}

/** Whether a create-only property's value changes: its text, or a resource it refers to is replaced (its id changes). */
function changes(before: Resource, after: Resource, path: string, replaced: ReadonlyMap<string, string[]>): boolean {
  const next = valueAt(after.Properties as Properties, path);
  if (canonical(valueAt(before.Properties as Properties, path)) !== canonical(next)) return true;
  return [...referencedIds(next)].some((id) => replaced.has(id));
}

/** Each resource the update replaces, with the create-only properties whose change replaces it: to a fixed point. */
export function replacedResources(deployed: CfnTemplate, desired: CfnTemplate): Map<string, string[]> {
  const replaced = new Map<string, string[]>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const [id, after] of Object.entries(desired.Resources ?? {})) {
      const before = deployed.Resources?.[id];
      if (!before) continue;
      const why = before.Type !== after.Type ? ['Type'] : (CREATE_ONLY[after.Type]?.createOnly ?? []).filter((p) => changes(before, after, p, replaced));
      if (why.length > 0 && why.length !== (replaced.get(id)?.length ?? 0)) {
        replaced.set(id, why);
        grew = true;
      }
    }
  }
  return replaced;
}

const setNames = (facts: CreateOnlyFacts, r: Resource) => (facts.names ?? []).filter((p) => valueAt(r.Properties as Properties, p) !== undefined);

const shown = (value: unknown) => {
  const text = typeof value === 'string' ? JSON.stringify(value) : canonical(value);
  return text === undefined ? '(unset)' : text.length > 120 ? `${text.slice(0, 117)}…` : text;
};

/** A literal IPv4 CIDR as [first, last] address, undefined for anything else (an intrinsic). */
function range(cidr: unknown): [number, number] | undefined {
  const m = typeof cidr === 'string' ? /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr) : null;
  if (!m) return undefined;
  const base = m.slice(1, 5).reduce((n, o) => n * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(m[5]));
  const first = base - (base % size);
  return [first, first + size - 1];
}

/** Whether two CIDR blocks overlap: as ranges when both are literal, else when they are the same expression. */
function overlaps(a: unknown, b: unknown): boolean {
  const [ra, rb] = [range(a), range(b)];
  if (ra && rb) return ra[0] <= rb[1] && rb[0] <= ra[1];
  return a !== undefined && canonical(a) === canonical(b);
}

/**
 * The CI network's way past a change that moves its NAT subnet or gateway (templates/ci-network.ts: the NAT subnet
 * takes the slot after the CI subnets): three deploys, none of which creates a subnet on a live one's CIDR or
 * replaces the gateway (test/replacements.test.ts walks every zone count and nat setting).
 */
const CI_NAT_WAY_OUT = 'for the CI network\'s NAT subnet or gateway: deploy with nat: false, then with the change (nat: false still), then with nat: true';

/** What gets past a subnet whose CIDR a live subnet holds. */
export const SUBNET_WAY_OUT =
  'give it a CIDR no subnet of the deployed template holds, or deploy in steps, first without the subnet that holds the CIDR, then with the change ' +
  `(${CI_NAT_WAY_OUT}; for a CI subnet replaced on its own CIDR: terminate the CI host and anything else in the CI subnets, remove access.ci.network from the org file and deploy, then add it back with the change)`;

/** What gets past a NAT gateway replaced with the Elastic IP its predecessor holds. */
export const NAT_WAY_OUT = `deploy in steps, first without the NAT gateway, then with the change, then with the gateway again (${CI_NAT_WAY_OUT}); or give the new gateway another Elastic IP (an EIP resource of a new logical id)`;

/** The Elastic IPs a NAT gateway takes: its AllocationId and SecondaryAllocationIds, as the template writes them. */
const allocations = (r: Resource): unknown[] => {
  const p = (r.Properties ?? {}) as Properties;
  return [p.AllocationId, ...(Array.isArray(p.SecondaryAllocationIds) ? p.SecondaryAllocationIds : [])].filter((a) => a !== undefined);
};

/**
 * The updates of one StackSet's template that are refused or warned about. `accounts`: where each template's
 * resources exist at most, the deployed one's in the accounts the StackSet has instances in, the desired one's in the
 * stage's targets (without them, every account the templates choose by).
 */
export function templateReplacements(stackSet: string, deployed: CfnTemplate, desired: CfnTemplate, accounts?: StackSetAccounts): Replacements {
  const replaced = replacedResources(deployed, desired);
  const refused: string[] = [];
  const warnings: string[] = [];
  for (const [id, why] of replaced) {
    const before = deployed.Resources[id];
    const after = desired.Resources[id];
    if (before.Type !== after.Type) {
      refused.push(
        `StackSet ${stackSet}: resource ${id} is ${before.Type} in the deployed template and ${after.Type} in this compile: ${TYPE_CHANGE_REFUSED}, so the update would fail in every account. ` +
          `Way out: deploy with the xstack and org file that made the deployed template, or in two steps, first without the resource (a unit the org file makes: without it), then with it`,
      );
      continue;
    }
    const facts = CREATE_ONLY[after.Type];
    if (!facts) continue;
    const named = setNames(facts, before).length > 0 && setNames(facts, after).length > 0;
    const identity = facts.identity ?? facts.names ?? [];
    // A name that changes only in case is the same name to IAM: the resource keeps it.
    if (named && identity.every((p) => !why.includes(p) || caseOnly(after.Type, before, after, p))) {
      const names = setNames(facts, after).map((p) => `${p} ${shown(valueAt(after.Properties as Properties, p))}`).join(', ');
      const was = why.map((p) => `${p} ${shown(valueAt(before.Properties as Properties, p))}`).join(', ');
      refused.push(
        `StackSet ${stackSet}: ${after.Type} ${id} keeps its custom name (${names}) and changes ${why.join(', ')}, which only a replacement changes; ` +
          `CloudFormation does not replace a custom-named resource${identity.some((p) => why.includes(p)) ? ' (IAM does not tell names apart by case, so a name that changes only in case is the same name)' : ''}, so the update would fail in every account. ` +
          `Way out: rename the resource (a new ${(facts.names ?? []).join(' or ')}${identity.some((p) => why.includes(p)) ? ' that differs by more than case' : ''}), or keep the deployed ${was}`,
      );
    } else if (after.Type === SECURITY_GROUP && !named) {
      warnings.push(
        `StackSet ${stackSet}: ${SECURITY_GROUP} ${id} is replaced (its ${why.join(', ')} changes): instances launched outside the stack keep the old group, ` +
          `whose delete then fails and leaves it behind, and the group's id changes; keep the deployed ${why.map((p) => `${p} ${shown(valueAt(before.Properties as Properties, p))}`).join(', ')} to keep the group`,
      );
    }
  }
  // A replaced NAT gateway is created while its predecessor holds the addresses both name: the same text, not an EIP
  // the update replaces (a literal, a parameter, or an EIP kept).
  for (const [id, why] of replaced) {
    const before = deployed.Resources[id];
    const after = desired.Resources[id];
    if (after.Type !== NAT_GATEWAY || before.Type !== NAT_GATEWAY) continue;
    const held = new Set(allocations(before).map(canonical));
    const kept = allocations(after).filter((a) => held.has(canonical(a)) && ![...referencedIds(a)].some((r) => replaced.has(r)));
    if (kept.length === 0) continue;
    refused.push(
      `StackSet ${stackSet}: ${NAT_GATEWAY} ${id} is replaced (its ${why.join(', ')} changes) and keeps its Elastic IP (${kept.map(shown).join(', ')}): ` +
        `CloudFormation creates the new gateway while the old one still holds the address, EC2 fails the create (Resource.AlreadyAssociated: ` +
        `"Elastic IP address … is already associated"), and the update rolls back in every account. Way out: ${NAT_WAY_OUT}`,
    );
  }
  // A replaced gateway attachment is made while the old one still holds a gateway the update keeps.
  for (const [id, why] of replaced) {
    const before = deployed.Resources[id];
    const after = desired.Resources[id];
    if (after.Type !== GATEWAY_ATTACHMENT || before.Type !== GATEWAY_ATTACHMENT) continue;
    const gateway = (after.Properties as Properties).InternetGatewayId;
    if (gateway === undefined || canonical(gateway) !== canonical((before.Properties as Properties).InternetGatewayId)) continue;
    if ([...referencedIds(gateway)].some((r) => replaced.has(r))) continue;
    refused.push(
      `StackSet ${stackSet}: ${GATEWAY_ATTACHMENT} ${id} is replaced (its ${why.join(', ')} changes) and attaches the same internet gateway (${shown(gateway)}): ` +
        `CloudFormation attaches it to the new VPC while it is still attached to the old one, EC2 refuses (Resource.AlreadyAssociated), and the update rolls back in every account. ` +
        `Way out: deploy in two steps, first without the network (for the CI network: terminate the CI host and anything else in its subnets, whose network interfaces keep its subnets and security group from being deleted, then remove access.ci.network from the org file and deploy), then with the change`,
    );
  }
  // Every subnet of the deployed template is live until the update's cleanup, replaced and removed ones included.
  const liveSubnets = Object.entries(deployed.Resources ?? {}).filter(([, r]) => r.Type === SUBNET);
  for (const [id, after] of Object.entries(desired.Resources ?? {})) {
    if (after.Type !== SUBNET) continue;
    const before = deployed.Resources?.[id];
    if (before?.Type === SUBNET && !replaced.has(id)) continue;
    const props = after.Properties as Properties;
    // A subnet in a VPC the update replaces meets none of the old VPC's subnets.
    if ([...referencedIds(props.VpcId)].some((r) => replaced.has(r))) continue;
    for (const [holder, live] of liveSubnets) {
      const old = live.Properties as Properties;
      if (canonical(old.VpcId) !== canonical(props.VpcId) || !overlaps(old.CidrBlock, props.CidrBlock)) continue;
      const created = before ? `is replaced (its ${replaced.get(id)!.join(', ')} changes)` : 'is created';
      const by = holder === id ? 'the subnet it replaces' : `${holder}`;
      refused.push(
        `StackSet ${stackSet}: ${SUBNET} ${id} ${created} with CidrBlock ${shown(props.CidrBlock)}, which ${by} holds (${shown(old.CidrBlock)}) until the update's cleanup: ` +
          `CloudFormation creates before it deletes, EC2 refuses the overlapping CIDR, and the update rolls back in every account. Way out: ${SUBNET_WAY_OUT}`,
      );
    }
  }
  // A deployment group kept whose instance selection changes in an account selects other instances there from its next
  // deployment on: an instance takes part only if it carries a tag of every tag group ("The deployment group includes
  // only Amazon EC2 instances identified by all the tag groups",
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-codedeploy-deploymentgroup-ec2tagset.html),
  // so instances not yet tagged so are left out, or none found (review s32-day2 M4: a pipeline added beside another).
  // Read account by account, as each resolves its Fn::If items and values (review s32-diff 1).
  for (const [id, after] of Object.entries(desired.Resources ?? {})) {
    const before = deployed.Resources?.[id];
    if (after.Type !== DEPLOYMENT_GROUP || before?.Type !== DEPLOYMENT_GROUP || replaced.has(id)) continue;
    // Only where the group is kept: an account the StackSet adds gets a new group, one it leaves has its group deleted
    // (review s59-day2 m1).
    const kept = (account: string) => !accounts || account === ANY_ACCOUNT || (accounts.deployed.includes(account) && accounts.desired.includes(account));
    const changedIn = accountsOf(deployed, desired).filter((account) => {
      if (!kept(account)) return false;
      const was = tagGroupsIn(deployed, before, account);
      const is = tagGroupsIn(desired, after, account);
      return was !== undefined && is !== undefined && was !== is;
    });
    if (changedIn.length === 0) continue;
    warnings.push(
      `StackSet ${stackSet}: ${DEPLOYMENT_GROUP} ${id} selects its instances by other tags in ${changedIn[0] === ANY_ACCOUNT ? 'every account' : `account${changedIn.length === 1 ? '' : 's'} ${changedIn.join(', ')}`}: an instance takes part only if it carries a tag of every tag group, so tag those instances as the new set reads before deploying, or its next deployment leaves them out (none found: NO_INSTANCES)`,
    );
  }
  // An instance profile the update deletes: IAM does not refuse it while instances run with it, and they lose their
  // credentials ("Deleting a role or instance profile that is associated with a running instance will break any
  // applications running on the instance", https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteInstanceProfile.html):
  // the CI host when CI moves to EKS, the deployment targets when the org names instanceRoles (review s59-day2 m2).
  for (const [id, before] of Object.entries(deployed.Resources ?? {})) {
    // Replaced under its id (its name changed: a new prefix) is deleted too, once its successor is made (review
    // s59-second-read m4); the instances keep the one they were launched with.
    const kept = desired.Resources?.[id]?.Type === INSTANCE_PROFILE && !replaced.has(id);
    if (before.Type !== INSTANCE_PROFILE || kept) continue;
    const name = (before.Properties as Properties | undefined)?.InstanceProfileName;
    warnings.push(
      `StackSet ${stackSet}: ${INSTANCE_PROFILE} ${id}${name === undefined ? '' : ` (${shown(name)})`} is ${replaced.has(id) ? 'replaced, and the one deployed deleted,' : 'deleted'} by this update, and IAM deletes it under any instance still running with it, whose software then loses its AWS credentials: ` +
        'move what runs on those instances first (the CI to its cluster; the deployment targets to the instance roles the org file names), or terminate them, then deploy',
    );
  }
  refused.push(...namesStillHeld(stackSet, deployed, desired, accounts));
  return { refused, warnings };
}

/**
 * A named resource created in an account while a resource the update removes there still holds its name:
 * CloudFormation creates what an update adds before it deletes what the update drops, in the cleanup at its end
 * ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html),
 * and a custom name is the resource's own ("you can't … specify a new name", custom names,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html), so the create
 * fails on a name still taken ("already exists"). Names compared as written (IAM's without case).
 *
 * Read account by account (review s59-day2 M1): a resource exists only in the accounts where its Condition holds
 * ("CloudFormation creates the resource only if the condition evaluates to true",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-condition.html), and each account
 * has its own stack and its own names ("IAM user, group, role, and policy names must be unique within the account",
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html). A role leaving one source account and a
 * role of the same name made in another meet nowhere; a resource whose condition turns off in an account while
 * another's turns on there under its name does.
 */
function namesStillHeld(stackSet: string, deployed: CfnTemplate, desired: CfnTemplate, accounts: StackSetAccounts | undefined): string[] {
  type Holder = { id: string; path: string; value: unknown; resource: Resource };
  const holders = (t: CfnTemplate): Map<string, Holder[]> => {
    const out = new Map<string, Holder[]>();
    for (const [id, r] of Object.entries(t.Resources ?? {})) {
      for (const p of CREATE_ONLY[r.Type]?.names ?? []) {
        const value = valueAt(r.Properties as Properties, p);
        if (value === undefined) continue;
        const text = canonical(value);
        listIn(out, `${r.Type}\u0000${p}\u0000${CASELESS_NAMES.has(r.Type) ? text.toLowerCase() : text}`).push({ id, path: p, value, resource: r });
      }
    }
    return out;
  };
  const before = holders(deployed);
  const after = holders(desired);
  // Where each template's resources may exist: a deployed one only in the StackSet's instances (an account the update
  // adds gets a stack of its own, holding nothing yet), a desired one only in the stage's targets (an account the
  // StackSet leaves has its stack deleted, nothing created); without them, every account the templates choose by
  // (ANY_ACCOUNT where they choose by none).
  let bases: { deployed: ReadonlySet<string>; desired: ReadonlySet<string> } | undefined;
  const baseOf = (t: CfnTemplate): ReadonlySet<string> => {
    if (!bases) {
      const every = new Set(accountsOf(deployed, desired));
      bases = accounts ? { deployed: new Set(accounts.deployed), desired: new Set(accounts.desired) } : { deployed: every, desired: every };
    }
    return t === deployed ? bases.deployed : bases.desired;
  };
  const memos = new Map<CfnTemplate, Map<string, ReadonlySet<string> | undefined>>([[deployed, new Map()], [desired, new Map()]]);
  // The accounts a resource exists in: where its condition holds (every account for a shape xstack does not write).
  const existsIn = (t: CfnTemplate, h: Holder | undefined): ReadonlySet<string> => {
    if (!h) return new Set();
    const base = baseOf(t);
    if (!h.resource.Condition || base.has(ANY_ACCOUNT)) return base;
    return accountsWhereHolds(t.Conditions, h.resource.Condition, base, memos.get(t)) ?? base;
  };
  const refused: string[] = [];
  for (const [key, was] of before) {
    const is = after.get(key);
    if (!is) continue;
    for (const added of is) {
      const addedIn = [...existsIn(desired, added)].filter((a) => !existsIn(deployed, was.find((h) => h.id === added.id)).has(a));
      if (addedIn.length === 0) continue;
      for (const removed of was) {
        if (removed.id === added.id) continue;
        const keptIn = existsIn(desired, is.find((h) => h.id === removed.id));
        const heldIn = existsIn(deployed, removed);
        const clashes = addedIn.filter((a) => heldIn.has(a) && !keptIn.has(a));
        if (clashes.length === 0) continue;
        const where = clashes[0] === ANY_ACCOUNT ? '' : ` in account${clashes.length === 1 ? '' : 's'} ${clashes.join(', ')}`;
        const how = desired.Resources?.[removed.id] ? `${removed.id}, which this update removes there or renames,` : `${removed.id}, which this update removes,`;
        refused.push(
          `StackSet ${stackSet}: ${added.resource.Type} ${added.id} is added${where} with the ${added.path} ${shown(added.value)} that ${how} holds until the update's cleanup: ` +
            `CloudFormation creates the new resource first, the name is taken, and the update fails${where || ' in every account'}. Way out: keep the logical id ${removed.id}, or deploy in two steps, first without the resource, then with it`,
        );
      }
    }
  }
  return refused;
}

/** The accounts a StackSet has instances in (`deployed`) and those its stage targets (`desired`). */
export interface StackSetAccounts {
  deployed: readonly string[];
  desired: readonly string[];
}

const INSTANCE_PROFILE = 'AWS::IAM::InstanceProfile';

/** Stands for every account where a template chooses nothing by account. */
const ANY_ACCOUNT = '*';
const NO_VALUE = Symbol('AWS::NoValue');

/** The accounts two templates choose values by (the ids their conditions name), or ANY_ACCOUNT. */
function accountsOf(...templates: CfnTemplate[]): string[] {
  const ids = new Set(templates.flatMap((t) => JSON.stringify(t.Conditions ?? {}).match(/"\d{12}"/g) ?? []).map((x) => x.slice(1, -1)));
  return ids.size > 0 ? [...ids].sort() : [ANY_ACCOUNT];
}

/** A value as it resolves in an account: Fn::If by its condition there, Fn::Join of what resolves, AWS::NoValue dropped. */
function resolvedIn(template: CfnTemplate, value: unknown, account: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolvedIn(template, v, account)).filter((v) => v !== NO_VALUE);
  if (!value || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if ((o as { Ref?: unknown }).Ref === 'AWS::NoValue') return NO_VALUE;
  const branches = o['Fn::If'] as [string, unknown, unknown] | undefined;
  if (branches) return resolvedIn(template, account === ANY_ACCOUNT || conditionHolds(template.Conditions, branches[0], account) ? branches[1] : branches[2], account);
  const join = o['Fn::Join'] as [string, unknown[]] | undefined;
  if (join) return (resolvedIn(template, join[1], account) as unknown[]).map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(join[0]);
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolvedIn(template, v, account)]).filter(([, v]) => v !== NO_VALUE));
}

/**
 * A deployment group's tag groups in an account, as one text (groups and their tags sorted; Ec2TagFilters one group),
 * or undefined where the group does not exist there (its condition).
 */
function tagGroupsIn(template: CfnTemplate, group: CfnTemplate['Resources'][string], account: string): string | undefined {
  if (group.Condition && account !== ANY_ACCOUNT && !conditionHolds(template.Conditions, group.Condition, account)) return undefined;
  const props = resolvedIn(template, group.Properties ?? {}, account) as { Ec2TagSet?: { Ec2TagSetList?: Array<{ Ec2TagGroup?: unknown[] }> }; Ec2TagFilters?: unknown[] };
  const groups = props.Ec2TagSet ? (props.Ec2TagSet.Ec2TagSetList ?? []).map((g) => g.Ec2TagGroup ?? []) : props.Ec2TagFilters ? [props.Ec2TagFilters] : [];
  return JSON.stringify(groups.map((g) => g.map((t) => JSON.stringify(t)).sort()).sort());
}

/** As templateReplacements, from the two template bodies (YAML or JSON, as CloudFormation holds them). */
export function bodyReplacements(stackSet: string, deployedBody: string, desiredBody: string, accounts?: StackSetAccounts): Replacements {
  return templateReplacements(stackSet, fromYaml(deployedBody) as CfnTemplate, fromYaml(desiredBody) as CfnTemplate, accounts);
}

/** Deploy's refusal, before any operation: every refused update, each with its way out. */
export function replacementsRefusal(refused: readonly string[]): XstackError {
  const shownLines = refused.slice(0, 10).map((r) => `  ${r}`);
  if (refused.length > shownLines.length) shownLines.push(`  … and ${refused.length - shownLines.length} more (plan --json lists every one)`);
  return new XstackError('REFUSED_REPLACEMENT', `nothing was changed: this update replaces resources in a way CloudFormation refuses or cannot finish:\n${shownLines.join('\n')}`);
}

const written = (v: unknown) => JSON.stringify(v);
/** A role's name as the template writes it: the name, or its Sub's text. */
const roleShown = (v: unknown) => (typeof v === 'string' ? v : ((v as { 'Fn::Sub'?: unknown })?.['Fn::Sub'] as string | undefined) ?? written(v));
/** A template's named roles: the name as written (JSON), with the logical id. */
const rolesOf = (t: CfnTemplate | undefined) =>
  new Map(Object.entries(t?.Resources ?? {}).flatMap(([id, r]) => (r.Type === 'AWS::IAM::Role' && (r.Properties as Properties)?.RoleName !== undefined ? [[written((r.Properties as Properties).RoleName), id] as const] : [])));
/** A template's managed policies' `Roles`, one entry per role, as written (JSON). */
const attachments = (t: CfnTemplate | undefined) =>
  Object.entries(t?.Resources ?? {}).flatMap(([id, r]) =>
    r.Type === 'AWS::IAM::ManagedPolicy' ? (((r.Properties as Properties)?.Roles as unknown[] | undefined) ?? []).map((role) => ({ id, name: (r.Properties as Properties).ManagedPolicyName, role: written(role) })) : [],
  );

/**
 * StackSets whose template update is better run after every wave (review s32-day2 M2), each with the StackSets it
 * waits for: it deletes a role that a managed policy of a StackSet of the same or a later wave is attached to now,
 * and that StackSet's update detaches it (no StackSet's compiled template attaches it any more). Run in its wave, the
 * delete meets the attachment and IAM refuses it (rolesDeletedWhileAttached); run last, the attachment is gone.
 * - Only an update that removes and changes nothing else (removesOnly): every resource, condition, output and export
 *   it keeps is as deployed, so no later StackSet can depend on what it would make or change.
 * - Not when another StackSet's update creates a resource under a name it deletes (a role moving to another module):
 *   that create would meet the name still held.
 * - A StackSet of that wave or later that is not settled (`settled: false`: an instance not CURRENT, as after an
 *   update that failed part-way, or one in an account it leaves, which keeps its template until removed) may still
 *   run an earlier template in some account: when it has managed policies with `Roles`, it is taken as attaching the
 *   role, so that the run after a failed one defers as the failed one did.
 * Whether its own instances are all there and CURRENT (else not deferred) is for the caller. Pure.
 */
export function deferredRemovals(sets: readonly StackSetTemplates[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const x of deletingRemovals(sets)) {
    const deleted = deletedRoles(x);
    const mayAttach = (y: StackSetTemplates) => y.settled === false && attachments(y.deployed).length > 0;
    const attaches = (y: StackSetTemplates, role: string) => mayAttach(y) || attachments(y.deployed).some((a) => a.role === role);
    const waitsFor = sets.filter((y) => y !== x && y.deployed && y.wave >= x.wave && deleted.some((role) => attaches(y, role)));
    const attachedStill = deleted.some((role) => sets.some((y) => y !== x && attachments(y.desired).some((a) => a.role === role)));
    const freed = namesOf(x.deployed, (id) => !(id in x.desired.Resources));
    const takenElsewhere = sets.some((y) => y !== x && [...namesOf(y.desired, (id) => !(id in (y.deployed?.Resources ?? {})))].some((n) => freed.has(n)));
    if (waitsFor.length > 0 && !attachedStill && !takenElsewhere) out.set(x.name, waitsFor.map((y) => y.name));
  }
  return out;
}

/** The properties that name a resource, which another resource of the type cannot take while it holds them. */
const NAME_PROPERTIES = ['RoleName', 'ManagedPolicyName', 'InstanceProfileName', 'BucketName', 'RepositoryName', 'AliasName', 'QueueName', 'Name'];

/** The names the template's resources that `pick` selects hold, as `<type> <name as written>`. */
function namesOf(t: CfnTemplate | undefined, pick: (id: string) => boolean): Set<string> {
  const out = new Set<string>();
  for (const [id, r] of Object.entries(t?.Resources ?? {})) {
    if (!pick(id)) continue;
    for (const p of NAME_PROPERTIES) {
      const v = (r.Properties as Properties | undefined)?.[p];
      if (v !== undefined) out.add(`${r.Type} ${written(v)}`);
    }
  }
  return out;
}

/**
 * The StackSets whose update only removes (removesOnly) and deletes a named role: the candidates deferredRemovals
 * judges, and for which a caller reads whether the StackSets of their wave and later are settled.
 */
export function deletingRemovals(sets: readonly StackSetTemplates[]): StackSetTemplates[] {
  return sets.filter((x) => x.deployed !== undefined && removesOnly(x.deployed, x.desired) && deletedRoles(x).length > 0);
}

const deletedRoles = (x: StackSetTemplates): string[] => {
  const kept = rolesOf(x.desired);
  return [...rolesOf(x.deployed).keys()].filter((role) => !kept.has(role));
};

/**
 * Whether `desired` is `deployed` with resources removed, and nothing else kept changed: the resources, conditions
 * and outputs (with their exports: a later StackSet may import one, and an export it added would be missing there
 * until the last wave; Fn::ImportValue,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html)
 * it keeps as deployed, and the same parameters.
 */
function removesOnly(deployed: CfnTemplate, desired: CfnTemplate): boolean {
  const same = (a: unknown, b: unknown) => written(a) === written(b);
  const ids = Object.keys(desired.Resources);
  if (ids.length >= Object.keys(deployed.Resources).length) return false;
  if (!ids.every((id) => id in deployed.Resources && same(deployed.Resources[id], desired.Resources[id]))) return false;
  if (!same(deployed.Parameters ?? {}, desired.Parameters ?? {})) return false;
  const keeps = (section: Record<string, unknown> | undefined, was: Record<string, unknown> | undefined) => Object.entries(section ?? {}).every(([name, v]) => same(was?.[name], v));
  return keeps(desired.Conditions, deployed.Conditions) && keeps(desired.Outputs, deployed.Outputs);
}

/** A StackSet's templates as deployed and as compiled, and its rollout wave. */
export interface StackSetTemplates {
  name: string;
  wave: number;
  /** Parsed from the StackSet's TemplateBody; undefined for a StackSet not yet created. */
  deployed?: CfnTemplate;
  desired: CfnTemplate;
  /**
   * false: an instance is not CURRENT, or is in an account the StackSet no longer targets, so its stack may run an
   * earlier template than `deployed`; unset: not read.
   */
  settled?: boolean;
}

/**
 * Roles a template update deletes while a managed policy of another StackSet is still attached to them: IAM refuses
 * the delete ("When you delete a role programmatically, you must delete the items attached to the role manually, or
 * the deletion fails … Attached managed policies (DetachRolePolicy)",
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html), and a delete that fails in an update's
 * cleanup does not fail the update, so the role may be left in each account outside any stack; whether the role's
 * handler detaches the other stack's policy first is not documented (review s32-day2 M2: switching to
 * deploymentTargets.instanceRoles deletes `<prefix>-deploy-target` in wave 1 while wave 3's
 * `<prefix>-deploy-target-artifacts` is attached to it). Still attached when the other StackSet runs in the same wave
 * or a later one, or keeps the attachment. Roles and policies' `Roles` are compared as written (a name, or a Sub).
 * A warning, by StackSet. Pure.
 */
export function rolesDeletedWhileAttached(sets: readonly StackSetTemplates[], deferred: ReadonlyMap<string, unknown> = new Map()): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const x of sets) {
    if (!x.deployed) continue;
    const kept = rolesOf(x.desired);
    for (const [role, id] of rolesOf(x.deployed)) {
      if (kept.has(role)) continue;
      for (const y of sets) {
        if (y === x || !y.deployed) continue;
        const stillThere = new Set(attachments(y.desired).filter((a) => a.role === role).map((a) => a.id));
        for (const a of attachments(y.deployed)) {
          // A deferred update (deferredRemovals) runs after every wave: only an attachment kept then is in its way.
          if (a.role !== role || !((!deferred.has(x.name) && y.wave >= x.wave) || stillThere.has(a.id))) continue;
          const name = JSON.parse(role) as unknown;
          listIn(out, x.name).push(
            `StackSet ${x.name}'s update deletes role ${roleShown(name)} (${id}, wave ${x.wave}) while managed policy ${a.name === undefined ? a.id : roleShown(a.name)} of StackSet ${y.name} (${a.id}, wave ${y.wave}) is still attached to it: IAM refuses to delete a role with an attached managed policy (DeleteRole), so the role may be left in each account outside any stack; after this deploy, delete it where it stays (aws iam list-attached-role-policies and detach-role-policy, list-role-policies and delete-role-policy, list-instance-profiles-for-role and remove-role-from-instance-profile, then delete-role), or a later template that makes it again fails on its name`,
          );
        }
      }
    }
  }
  return out;
}
