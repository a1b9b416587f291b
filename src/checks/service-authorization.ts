/**
 * Every action, condition key and resource ARN of every compiled policy,
 * checked offline against IAM's service authorization data (iam-data.ts):
 * the checks IAM Access Analyzer's policy validation makes online
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html),
 * made at compile time so a policy IAM would accept but never match fails
 * the compile like the XS rules.
 */
import type { CfnTemplate } from '../cfn/template';
import type { Stage } from '../stages/model';
import { flatValues, type Resolver } from '../audit/resolve';
import { asList, policyDocuments, type FoundDocument, type PlainStatement, type PolicyKind } from './documents';
import { ACTIONS_WITHOUT_RESOURCE_OWNER_KEYS, globalKeyType, isCrossServiceKey, isResourceOwnerKey, keysOfAction, lacksResourceOwnerKeys, listsKey, serviceData, type ActionData, type KeyType, type ServiceData } from './iam-data';
import type { Finding } from './rules';
import { NO_CLASSES, type AlikeResources } from './alike';

const CHECKS = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html';

export const SERVICE_AUTHORIZATION_RULES = [
  {
    id: 'XS010',
    description: 'every action exists in the Service Authorization Reference (a wildcard matches at least one)',
    source: `${CHECKS}#access-analyzer-reference-policy-checks-error-invalid-action`,
  },
  {
    id: 'XS011',
    description:
      'every condition key exists and applies: global aws: keys and cross-service keys (ec2:RoleDelivery) always, but aws:ResourceAccount, aws:ResourceOrgID and aws:ResourceOrgPaths, which IAM leaves out of the requests of some actions (every EBS action; some EC2, Route 53 and WorkSpaces ones), there only with ...IfExists or a Null on the key; a service key only where the reference lists it for each action of the statement or its resource types (for one of them, with ...IfExists or Null)',
    source: 'https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html',
  },
  {
    id: 'XS012',
    description: 'every resource ARN has the format of a resource type of one of the statement\'s actions, and every action is given a resource of its types ("*" for actions without any)',
    source: `${CHECKS}#access-analyzer-reference-policy-checks-error-unsupported-resource-arn-in-policy`,
  },
  {
    id: 'XS013',
    description:
      'every condition operator suits its key: a multivalued key with ForAllValues/ForAnyValue, a single-valued one without; the operator family (String/Arn/Bool/Numeric/Date/IpAddress) fits the key\'s type; Null never with IfExists',
    source: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html',
  },
] as const;

/**
 * The values a template expression (a list: all its items) may take, as
 * plain strings; what cannot be known at compile time is written `{...}`
 * and matches anything. Given the logical id of the resource that holds the
 * expression, only the accounts that resource exists in count.
 */
export type ValuesOf = (expression: unknown, resource?: string) => string[];

/** Plain strings as they are, a list item by item; anything else unknown. For templates checked without their org. */
export const literalValues: ValuesOf = (e) => {
  const values: string[] = [];
  addLiteralValues(e, values);
  return values;
};

/** literalValues(e) added to `values`: a list's items in turn, no list made for each. */
function addLiteralValues(e: unknown, values: string[]): void {
  if (typeof e === 'string') values.push(e);
  else if (Array.isArray(e)) for (let i = 0; i < e.length; i++) addLiteralValues(e[i], values);
  else if (e !== undefined) values.push('{unknown}');
}

const flat = flatValues;
const ACCOUNT_ID = /\b\d{12}\b/g;
const SAMPLE_ACCOUNT = '123456789012';
const withSampleAccount = (value: string) => value.replace(ACCOUNT_ID, SAMPLE_ACCOUNT);

/**
 * A stage's expressions resolved (resolve.ts) in the target accounts their
 * resource exists in, with every account id written as one sample id: the
 * shape of each value, which is what the checks compare with IAM's formats.
 * Accounts that receive the same values but for their own id (see
 * `inputKeys`) give the same shapes, so one of them stands for all: a
 * 1,000-account stage is resolved a few times per expression, not 1,000,
 * and a resource of one unit only in that unit's accounts.
 */
export function stageValues(resolver: Resolver, stage: Stage, template: CfnTemplate): ValuesOf {
  // Compiled first, so that the parameters the policies read are known before the accounts are grouped by them.
  for (const doc of policyDocuments(template)) for (const s of doc.statements) compileChecked(resolver, stage.id, s);
  const representatives = representativeAccounts(resolver, stage, template);
  // A fixed value's shapes, made once per compiled expression (the resolver answers one expression, and one Sub text,
  // with one object): statements repeat their roles' and buckets' ARNs. Each answer a copy, the caller's.
  const fixedShapes = new WeakMap<object, string[]>();
  return (expression, resource) => {
    const c = resolver.compile(stage.id, expression);
    if (c.fixed !== undefined) {
      let shapes = fixedShapes.get(c);
      if (!shapes) fixedShapes.set(c, (shapes = flat(c.fixed).map(withSampleAccount)));
      return [...shapes];
    }
    const shapes = new Set<string>();
    for (const account of representatives(resource)) for (const v of flat(c.at(account))) shapes.add(withSampleAccount(v));
    return [...shapes];
  };
}

/** Compiles the expressions of a statement whose values the checks may read: its Resource and its condition values, in that order. */
function compileChecked(resolver: Resolver, stageId: string, s: PlainStatement): void {
  resolver.compile(stageId, s.Resource);
  // Own keys with for-in, in Object.values's order, instead of lists made for every statement.
  const conditions = s.Condition;
  for (const operator in conditions) {
    if (!Object.hasOwn(conditions, operator)) continue;
    const keys = conditions[operator];
    for (const key in keys) if (Object.hasOwn(keys, key)) resolver.compile(stageId, keys[key]);
  }
}

/**
 * The accounts that stand for a resource's target accounts: one for each
 * distinct input key among those it exists in (an account alone stands for
 * itself). Resources under the same Condition exist in the same accounts,
 * so each condition is asked once. A resource that exists in no target
 * account (or none named) is checked in all of them, as the template
 * writes it.
 */
function representativeAccounts(resolver: Resolver, stage: Stage, template: CfnTemplate): (resource?: string) => readonly string[] {
  let keyOf: ((account: string) => string) | undefined;
  const byCondition = new Map<string | undefined, readonly string[]>();
  return (resource) => {
    const condition = resource === undefined ? undefined : template.Resources[resource]?.Condition;
    let chosen = byCondition.get(condition);
    if (!chosen) {
      const where = resource === undefined ? [] : resolver.accountsWith(stage.id, resource);
      const accounts = where.length > 0 ? where : stage.targets.map((a) => a.id);
      chosen = accounts.length === 1 ? accounts : firstOfEachKey(accounts, (keyOf ??= inputKeys(resolver, stage)));
      byCondition.set(condition, chosen);
    }
    return chosen;
  };
}

function firstOfEachKey(accounts: readonly string[], keyOf: (account: string) => string): string[] {
  const first = new Map<string, string>();
  for (const a of accounts) {
    const key = keyOf(a);
    if (!first.has(key)) first.set(key, a);
  }
  return [...first.values()];
}

/**
 * What a stage's values in an account are made of: which of the conditions
 * its expressions read hold there (src/cfn/account-switch.ts); the rest of
 * the template is the same for every account but for its own id. Equal keys
 * give values equal but for the account's own id. The conditions are those
 * read when the first key is asked.
 */
function inputKeys(resolver: Resolver, stage: Stage): (account: string) => string {
  const holding = resolver.conditionsHoldingIn(stage.id);
  return (account) => holding.get(account)?.join('\n') ?? '';
}

type Found = Omit<Finding, 'resource' | 'statement'>;

interface KnownAction {
  written: string;
  service: ServiceData;
  action: ActionData;
}

/**
 * `alike`: the template's classes of alike resources (alike.ts), where the caller has them: the checks read a
 * statement's actions and operators as written, and its resources and condition values resolved in the accounts its
 * resource exists in, every account id written as the sample one; they match an id by its pattern only. A class's
 * members pass where its first resource does, their shapes not even made; a member of a class alike up to its team,
 * where its first and the class's neutral resource do (a resource's ARN is matched with ARN formats' texts: alike.ts
 * `TeamClasses`).
 */
export function checkServiceAuthorization(template: CfnTemplate, valuesOf: ValuesOf = literalValues, alike: AlikeResources = NO_CLASSES): Finding[] {
  const findings: Finding[] = [];
  // A family's statements, repeated for each unit or account, mostly resolve alike: each distinct one is checked once.
  const checked = new Map<string, Found[]>();
  const found = (doc: FoundDocument, s: PlainStatement): Found[] => {
    const shape = shapeOf(doc, s, valuesOf);
    const key = JSON.stringify(shape);
    let answer = checked.get(key);
    if (!answer) checked.set(key, (answer = checkStatement(shape)));
    return answer;
  };
  // A class alike up to its team passes where its neutral resource does too (alike.ts TeamClasses), its values resolved
  // where its first exists (read by the first's name).
  const passes = alike.passes((first, neutral) => policyDocuments({ Resources: { [first]: neutral } } as unknown as CfnTemplate).every((doc) => doc.statements.every((s) => found(doc, s).length === 0)));
  for (const doc of policyDocuments(template)) {
    if (passes.passed(doc.resource)) continue;
    const before = findings.length;
    for (const s of doc.statements) for (const f of found(doc, s)) findings.push({ ...f, resource: doc.resource, statement: s.Sid });
    passes.record(doc.resource, findings.length > before);
  }
  return findings;
}

/** What the checks read of a statement, its resources and condition values as their shapes (`stageValues`): equal shapes have equal findings. */
interface StatementShape {
  kind: PolicyKind;
  effect?: string;
  /** The written actions (or, with `notAction`, the actions it excludes). */
  actions: string[];
  notAction: boolean;
  resources?: string[];
  /** Operator → key → values, in the order written; the values only where a check reads them (`readsValues`). */
  conditions: Array<[string, Array<[string, string[]]>]>;
}

function shapeOf(doc: FoundDocument, s: PlainStatement, valuesOf: ValuesOf): StatementShape {
  const values = (expression: unknown) => valuesOf(expression, doc.resource);
  return {
    kind: doc.kind,
    effect: s.Effect,
    actions: asList(s.Action ?? s.NotAction).filter((a): a is string => typeof a === 'string'),
    notAction: s.NotAction !== undefined,
    // A key policy's resource is the key itself: checkStatement reads no resource of one.
    resources: s.Resource === undefined || doc.kind === 'key' ? undefined : values(s.Resource),
    conditions: Object.entries(s.Condition ?? {}).map(([operator, keys]) => {
      const reads = readsValues(operator);
      return [operator, Object.entries(keys ?? {}).map(([key, value]) => [key, reads ? values(value) : UNREAD])];
    }),
  };
}

/** The values of a condition no check reads: left unresolved, so statements that differ only in them are one shape. */
const UNREAD: string[] = [];

/** Whether the checks read a condition's values: only Null and Bool compare them with anything (operatorFits); an unknown operator is refused whole. */
function readsValues(operator: string): boolean {
  const family = OPERATOR_FAMILIES[parseOperator(operator).base];
  return family === 'Null' || family === 'Bool';
}

function checkStatement(s: StatementShape): Found[] {
  const findings: Found[] = [];
  const actions: KnownAction[] = [];
  let wildcard = false;
  for (const written of s.actions) {
    if (written === '*') {
      wildcard = true;
      continue;
    }
    const known = resolveActionOnce(written);
    if (typeof known === 'string') findings.push({ rule: 'XS010', item: `Action::${written}`, message: known });
    else {
      wildcard ||= written.includes('*') || written.includes('?');
      actions.push(...known);
    }
  }
  // NotAction means every other action: nothing to match keys or resources against.
  if (s.notAction) wildcard = true;
  findings.push(...checkConditions(s.conditions, actions, wildcard));
  findings.push(...resourceOwnerKeys(s, actions));
  if (s.resources !== undefined && !(s.kind === 'key' || wildcard)) findings.push(...checkResources(s.resources, actions, s.effect === 'Deny' ? 'denies' : 'grants'));
  return findings;
}

/**
 * resolveAction's answers: every statement of every unit names the same few
 * actions, a wildcard among them matched against all of its service's.
 * What it answers depends on the written action and IAM's data only, and is
 * read, never changed. Bounded, though the actions templates write are few.
 */
const resolvedActions = new Map<string, readonly KnownAction[] | string>();
const RESOLVED_ACTIONS_KEPT = 10_000;

function resolveActionOnce(written: string): readonly KnownAction[] | string {
  let known = resolvedActions.get(written);
  if (known === undefined) {
    if (resolvedActions.size >= RESOLVED_ACTIONS_KEPT) resolvedActions.clear();
    resolvedActions.set(written, (known = resolveAction(written)));
  }
  return known;
}

/** The actions a written action names (a wildcard may name several), or why it names none. */
function resolveAction(written: string): KnownAction[] | string {
  const colon = written.indexOf(':');
  if (colon <= 0) return 'an action is written service:Action';
  const service = serviceData(written.slice(0, colon));
  if (!service) return `no service has the prefix "${written.slice(0, colon)}"`;
  const name = written.slice(colon + 1);
  if (!/[*?]/.test(name)) {
    const action = service.action(name);
    return action ? [{ written, service, action }] : `${service.prefix} has no action ${name}`;
  }
  const pattern = globRegExp(name, 'i');
  const matched = service.actions().filter((a) => pattern.test(a.name)).map((action) => ({ written, service, action }));
  return matched.length > 0 ? matched : `no action of ${service.prefix} matches ${name}`;
}

// --- Condition keys and operators ---------------------------------------------------------

/** https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html */
const OPERATOR_FAMILIES: Record<string, string> = {
  ...Object.fromEntries(['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike'].map((o) => [o, 'String'])),
  ...Object.fromEntries(['NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals'].map((o) => [o, 'Numeric'])),
  ...Object.fromEntries(['DateEquals', 'DateNotEquals', 'DateLessThan', 'DateLessThanEquals', 'DateGreaterThan', 'DateGreaterThanEquals'].map((o) => [o, 'Date'])),
  Bool: 'Bool',
  BinaryEquals: 'Binary',
  IpAddress: 'IpAddress',
  NotIpAddress: 'IpAddress',
  ...Object.fromEntries(['ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike'].map((o) => [o, 'Arn'])),
  Null: 'Null',
};

/**
 * The operator families that suit a key type. ARN keys take the String
 * operators too: AWS itself compares aws:SourceArn with StringLike ("Lambda
 * configures the comparison using the StringLike operator",
 * https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html).
 */
const FAMILIES_OF_TYPE: Record<string, readonly string[]> = {
  String: ['String'],
  ARN: ['Arn', 'String'],
  Bool: ['Bool'],
  Numeric: ['Numeric'],
  Date: ['Date'],
  IPAddress: ['IpAddress'],
  Binary: ['Binary'],
};

interface Operator {
  written: string;
  set?: 'ForAllValues' | 'ForAnyValue';
  base: string;
  ifExists: boolean;
}

function parseOperator(written: string): Operator {
  const m = /^(?:(ForAllValues|ForAnyValue):)?(.*?)(IfExists)?$/.exec(written)!;
  return { written, set: m[1] as Operator['set'], base: m[2], ifExists: m[3] !== undefined };
}

function checkConditions(conditions: StatementShape['conditions'], actions: readonly KnownAction[], wildcard: boolean): Found[] {
  const findings: Found[] = [];
  for (const [written, keys] of conditions) {
    const op = parseOperator(written);
    const family = OPERATOR_FAMILIES[op.base];
    if (!family) {
      findings.push({ rule: 'XS013', item: `Condition::${written}`, message: `no condition operator ${written}` });
      continue;
    }
    if (family === 'Null' && op.ifExists) findings.push({ rule: 'XS013', item: `Condition::${written}`, message: 'Null checks whether the key exists; IfExists contradicts it' });
    for (const [key, values] of keys) {
      const type = keyType(key, actions);
      if (typeof type !== 'string') {
        findings.push({ rule: 'XS011', item: `Condition::${written}::${key}`, message: type.unknown });
        continue;
      }
      // An identity provider's keys come with the web identity, not from a service's table.
      if (!key.slice(0, key.indexOf(':')).includes('/')) findings.push(...applicability(key, op, actions, wildcard));
      findings.push(...operatorFits(key, type, op, values));
    }
  }
  return findings;
}

/** A key's type, from the global keys or its service's. */
function keyType(key: string, actions: readonly KnownAction[]): KeyType | { unknown: string } {
  const colon = key.indexOf(':');
  const prefix = colon > 0 ? key.slice(0, colon).toLowerCase() : '';
  // An OIDC identity provider's own keys (`<issuer>:sub`, `:aud`, `:amr`), in the trust of a role assumed with a web identity.
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif
  if (prefix.includes('/') && actions.some((a) => a.written.toLowerCase() === 'sts:assumerolewithwebidentity')) {
    return ['sub', 'aud', 'amr', 'azp', 'oaud'].includes(key.slice(colon + 1)) ? 'String' : { unknown: `${key}: an OIDC provider's keys are sub, aud, amr, azp and oaud` };
  }
  if (prefix === 'aws') return globalKeyType(key) ?? { unknown: `${key} is not a global condition key` };
  const service = serviceData(prefix);
  if (!service) return { unknown: `no service has the prefix "${prefix}"` };
  // Keys a service documents only on its actions (not in its keys table) are typed String there.
  const type = service.conditionKeys.typeOf(key) ?? (actions.some((a) => listsKey(keysOfAction(a.service, a.action), key)) ? 'String' : undefined);
  return type ?? { unknown: `${service.prefix} has no condition key ${key.slice(colon + 1)}` };
}

/**
 * A service key is in a request only for the actions (and resource types)
 * the reference lists it for; elsewhere it is absent, and a condition on it
 * never matches (IfExists and Null are written for absent keys, so one
 * action it applies to is enough for them).
 */
function applicability(key: string, op: Operator, actions: readonly KnownAction[], wildcard: boolean): Found[] {
  if (key.toLowerCase().startsWith('aws:') || isCrossServiceKey(key) || actions.length === 0) return [];
  const without = actions.filter((a) => !listsKey(keysOfAction(a.service, a.action), key));
  const lenient = wildcard || op.ifExists || op.base === 'Null';
  if (without.length === 0 || (lenient && without.length < actions.length)) return [];
  const names = [...new Set(without.map((a) => `${a.service.prefix}:${a.action.name}`))];
  return [{ rule: 'XS011', item: `Condition::${op.written}::${key}`, message: `${key} does not apply to ${names.join(', ')} (the Service Authorization Reference lists it neither for the action nor for its resource types)` }];
}

/**
 * aws:ResourceAccount, aws:ResourceOrgID and aws:ResourceOrgPaths are global, but IAM leaves them out of some actions'
 * requests (iam-data.ts `lacksResourceOwnerKeys`): there a condition on one is read as on an absent key, which an
 * Allow then never matches and a Deny applies to or not by its operator alone. Written for such an action only with
 * ...IfExists, or beside a Null on the same key, which say what the absent key means.
 */
function resourceOwnerKeys(s: StatementShape, actions: readonly KnownAction[]): Found[] {
  if (!s.conditions.some(([, keys]) => keys.some(([key]) => isResourceOwnerKey(key)))) return [];
  const lacking = actionsLackingOwnerKeys(s, actions);
  if (lacking.length === 0) return [];
  const nullOn = new Set(s.conditions.filter(([written]) => parseOperator(written).base === 'Null').flatMap(([, keys]) => keys.map(([key]) => key.toLowerCase())));
  const findings: Found[] = [];
  for (const [written, keys] of s.conditions) {
    const op = parseOperator(written);
    if (op.ifExists || op.base === 'Null') continue;
    for (const [key] of keys) {
      if (!isResourceOwnerKey(key) || nullOn.has(key.toLowerCase())) continue;
      const page = `https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-${key.slice(4).toLowerCase()}`;
      findings.push({
        rule: 'XS011',
        item: `Condition::${written}::${key}`,
        message: `${key} is absent from the request context of ${lacking.join(', ')}: IAM's global condition keys page lists ${lacking.length > 1 ? 'them' : 'it'} among the actions that do not support it (${page}); write ${written}IfExists, or add a Null condition on ${key}, to say what its absence means`,
      });
    }
  }
  return findings;
}

/** The actions a statement covers that IAM gives no resource owner keys: `*` and NotAction cover those not excluded. */
function actionsLackingOwnerKeys(s: StatementShape, actions: readonly KnownAction[]): string[] {
  if (s.notAction || s.actions.includes('*')) {
    const excluded = s.notAction ? s.actions.map((a) => globRegExp(a, 'i')) : [];
    return ACTIONS_WITHOUT_RESOURCE_OWNER_KEYS.filter((a) => !excluded.some((e) => e.test(a)));
  }
  return [...new Set(actions.map((a) => `${a.service.prefix}:${a.action.name}`).filter(lacksResourceOwnerKeys))];
}

function operatorFits(key: string, type: KeyType, op: Operator, values: readonly string[]): Found[] {
  const item = `Condition::${op.written}::${key}`;
  const multivalued = type.startsWith('ArrayOf');
  const base = multivalued ? type.slice('ArrayOf'.length) : type;
  const family = OPERATOR_FAMILIES[op.base];
  const findings: Found[] = [];
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
  if (family !== 'Null') {
    if (multivalued && !op.set) findings.push({ rule: 'XS013', item, message: `${key} is multivalued (${type}): it takes ForAllValues:${op.base} or ForAnyValue:${op.base}` });
    if (!multivalued && op.set) findings.push({ rule: 'XS013', item, message: `${key} is single-valued (${type}): no ${op.set} on it` });
    const fits = FAMILIES_OF_TYPE[base] ?? ['String'];
    if (!fits.includes(family)) findings.push({ rule: 'XS013', item, message: `${key} is of type ${type}: ${op.base} does not suit it (use a ${fits.join(' or ')} operator)` });
  }
  const boolean = family === 'Null' || (family === 'Bool' && base === 'Bool');
  const bad = boolean ? values.filter((v) => !/^(true|false)$/i.test(v) && !isUnknown(v)) : [];
  if (bad.length > 0) findings.push({ rule: 'XS013', item, message: `${op.base} compares with true or false, not ${bad.join(', ')}` });
  return findings;
}

// --- Resources ------------------------------------------------------------------------------

const isUnknown = (v: string) => /^\{[^}]*\}$/.test(v);
/** What the compiler cannot know (`{stage/Name}`) stands for any text, like a wildcard. */
const unknownAsWildcard = (v: string) => (v.includes('{') ? v.replace(/\{[^}]*\}/g, '*') : v);

function checkResources(resources: readonly string[], actions: readonly KnownAction[], effect: 'grants' | 'denies'): Found[] {
  if (actions.length === 0) return [];
  const findings: Found[] = [];
  const any = resources.includes('*');
  // The ARN formats of the actions' resource types, each once (actions share them: a dozen S3 object actions, one
  // format), in the actions' order: each resource is matched against these, not against every type of every action.
  const formats: string[] = [];
  for (const a of actions) {
    for (const r of a.action.resourceTypes) {
      const format = a.service.resourceTypes.get(r.name)?.arn;
      if (format && !formats.includes(format)) formats.push(format);
    }
  }
  // The formats some resource matches: an action is served when one of its types' formats is among them.
  const matchedFormats = new Set<string>();
  const heads = new Map<string, Head>();
  let whollyUnknown = false;
  for (const written of resources) {
    if (written === '*') continue;
    const value = unknownAsWildcard(written);
    if (value === '*') {
      // Wholly unknown: it may be any ARN.
      whollyUnknown = true;
      continue;
    }
    const fields = arnFields(value);
    let matched = false;
    for (const format of formats) {
      // Once the resource is matched, a format some resource already matches is not asked again: a statement of many
      // resources (the execution role's) is matched per resource until one format takes it, and against the formats
      // no resource has matched yet, which may serve another action.
      if (matched && matchedFormats.has(format)) continue;
      if (fields && fieldsMatchAfterHead(format, fields, heads)) {
        matched = true;
        matchedFormats.add(format);
      }
    }
    if (!matched) {
      findings.push({
        rule: 'XS012',
        item: `Resource::${written}`,
        message: `matches no resource type of ${actionNames(actions)}${formats.length ? `; expected ${formats.join(' or ')}` : ' (they take only "*")'}`,
      });
    }
  }
  const served = (a: KnownAction) => whollyUnknown || a.action.resourceTypes.some((r) => matchedFormats.has(a.service.resourceTypes.get(r.name)?.arn ?? ''));
  if (!any) {
    for (const a of actions) {
      if (served(a)) continue;
      const types = a.action.resourceTypes.map((r) => r.name);
      findings.push({
        rule: 'XS012',
        item: `Action::${a.written}`,
        message:
          types.length === 0
            ? `${a.service.prefix}:${a.action.name} takes only resource "*", which the statement does not name: it ${effect} nothing`
            : `no resource of the statement is a ${types.join(' or ')} of ${a.service.prefix}:${a.action.name}: it ${effect} nothing`,
      });
    }
  }
  return findings;
}

/**
 * Whether `action` may authorize anything on `resource` (an ARN, wildcards allowed): one of the resource types the
 * Service Authorization Reference gives the action has an ARN format the value can name. An action IAM does not
 * define, or a wildcard action, is not judged (true); one that takes only "*" takes no ARN.
 */
export function actionTakesResource(action: string, resource: string): boolean {
  if (resource === '*') return true;
  const formats = resourceFormats(action);
  if (!formats) return true;
  const matches = formatMatcher(unknownAsWildcard(resource));
  return formats.some((format) => matches(format));
}

/**
 * Whether `action` may authorize anything on one of `resources`: actionTakesResource of any of them, for the many
 * actions of one statement. Each ARN format is matched against the list once, whichever actions share it, and each
 * resource is split once, not once for every action.
 */
export function someResourceTaking(resources: readonly string[]): (action: string) => boolean {
  const matchers: Array<(format: string | undefined) => boolean> = [];
  const matcherAt = (i: number) => (matchers[i] ??= formatMatcher(unknownAsWildcard(resources[i])));
  const taken = new Map<string | undefined, boolean>();
  const formatTaken = (format: string | undefined) => {
    let answer = taken.get(format);
    if (answer === undefined) {
      answer = false;
      for (let i = 0; i < resources.length && !answer; i++) answer = matcherAt(i)(format);
      taken.set(format, answer);
    }
    return answer;
  };
  const any = resources.includes('*');
  return (action) => {
    if (resources.length === 0) return false;
    if (any) return true;
    const formats = resourceFormats(action);
    return !formats || formats.some(formatTaken);
  };
}

/**
 * The ARN formats of the resource types the Service Authorization Reference gives `action` (undefined for a type
 * without one); undefined where the action is not judged: a wildcard action, or one IAM does not define.
 */
function resourceFormats(action: string): Array<string | undefined> | undefined {
  if (action.includes('*') || action.includes('?')) return undefined;
  const [prefix, name] = action.split(':');
  const service = serviceData(prefix);
  const data = service?.action(name);
  if (!service || !data) return undefined;
  return data.resourceTypes.map((r) => service.resourceTypes.get(r.name)?.arn);
}

const actionNames = (actions: readonly KnownAction[]) => [...new Set(actions.map((a) => `${a.service.prefix}:${a.action.name}`))].join(', ');

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
export const globRegExp = (glob: string, flags = '') => new RegExp(`^${glob.split(/([*?])/).map((p) => (p === '*' ? '.*' : p === '?' ? '.' : escape(p))).join('')}$`, flags);

/**
 * Placeholders of ARN formats whose values may hold a slash (object keys, names with a path; a log group's and a log
 * stream's names: "a-z, A-Z, 0-9, '_' (underscore), '-' (hyphen), '/' (forward slash), '.' (period), and '#' (number
 * sign)", https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html).
 */
const SPANS_SLASHES = /Path|ObjectName|Key$|Prefix|LogGroupName|LogStreamName/;
/**
 * Formats whose name placeholder holds a slash although its name does not say so: an ECR repository's name "can be
 * prepended with a namespace to group the repository into a category (such as project-a/nginx-web-app)" (a CodeCommit
 * repository's `${RepositoryName}` cannot).
 * https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/ecr/aws.sdk.kotlin.services.ecr.model/-create-repository-request/repository-name.html
 */
const NAME_SPANS_SLASHES: ReadonlySet<string> = new Set(['arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}']);
const SAMPLE: Record<string, string> = { Partition: 'aws', Region: 'us-east-1', Account: '123456789012' };
/**
 * Resource types whose AWS-owned resources have no account in their ARN: the SSM documents AWS publishes
 * (`AWS-ConfigureAWSPackage`), whose ARN APIs write with an optional account, `ssm:[a-z0-9\-]+:([0-9]{12})?:document/…`.
 * https://docs.aws.amazon.com/arc-region-switch/latest/api/API_SsmDocumentConfig.html
 */
const ACCOUNT_MAY_BE_EMPTY: ReadonlySet<string> = new Set(['arn:${Partition}:ssm:${Region}:${Account}:document/${DocumentName}']);

/** One field of an ARN format (`${Region}`, `s3`, `role/${RoleNameWithPath}`) as a pattern, and a sample value of it. */
interface Field {
  pattern: RegExp;
  sample: string;
}
const formats = new Map<string, Field[] | undefined>();

/** `arn:partition:service:region:account:resource`: the resource, the last field, may hold colons. */
const arnFields = (arn: string): string[] | undefined => {
  const parts = arn.split(':');
  return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(':')];
};

/** A resource type's ARN format (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`), field by field. */
function compileFormat(format: string): Field[] | undefined {
  if (formats.has(format)) return formats.get(format);
  const fields = arnFields(format)?.map((field): Field => {
    const parts = field.split(/\$\{([^}]+)\}/);
    const pattern = parts
      .map((p, i) => {
        if (i % 2 === 0) return escape(p);
        if (p === 'Partition') return 'aws(?:-[a-z]+)*';
        if (p === 'Region') return '[a-z]{2}(?:-[a-z]+)+-\\d';
        if (p === 'Account') return ACCOUNT_MAY_BE_EMPTY.has(format) ? '(?:\\d{12})?' : '\\d{12}';
        return SPANS_SLASHES.test(p) || NAME_SPANS_SLASHES.has(format) ? '.+' : '[^/]+';
      })
      .join('');
    return { pattern: new RegExp(`^${pattern}$`), sample: parts.map((p, i) => (i % 2 === 0 ? p : (SAMPLE[p] ?? 'x'))).join('') };
  });
  formats.set(format, fields);
  return fields;
}

/**
 * Whether a resource value (an ARN, maybe with wildcards) can name a
 * resource of a format, field by field: a field without wildcards has
 * the field's form; one with wildcards either has it once they are filled
 * in (`role/acme-*`) or takes the field's sample (`*` for the account,
 * `arn:<partition>:s3:::*` for objects too). The value is split once, and
 * each format (several actions share their resource types') asked once.
 */
function formatMatcher(value: string): (format: string | undefined) => boolean {
  const values = arnFields(value);
  const answers = new Map<string, boolean>();
  return (format) => {
    if (!format || !values) return false;
    let answer = answers.get(format);
    if (answer === undefined) answers.set(format, (answer = fieldsMatch(compileFormat(format), values)));
    return answer;
  };
}

function fieldsMatch(fields: readonly Field[] | undefined, values: readonly string[]): boolean {
  if (!fields) return false;
  return fieldsMatchIn(fields, values, 0, fields.length);
}

/** Whether fields `from` to `to` (exclusive) of a value match a format's. Each field is matched alone, so any run of them may be asked apart. */
function fieldsMatchIn(fields: readonly Field[], values: readonly string[], from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!fieldMatches(fields[i], values[i])) return false;
  return true;
}

function fieldMatches(f: Field, v: string): boolean {
  if (!/[*?]/.test(v)) return f.pattern.test(v);
  return f.pattern.test(v.replace(/[*?]/g, 'x')) || globRegExp(v).test(f.sample);
}

/** An ARN's fields before its resource: `arn`, partition, service, region, account. */
const HEAD_FIELDS = 5;
/** A format's answer for the head fields of the last value asked against it. */
interface Head {
  values: readonly string[];
  matches: boolean;
}

/**
 * fieldsMatch, the head fields answered once for a run of values that share them (a statement's resources mostly
 * do: one partition, service, region and account): each field is matched alone, so a head that matched before
 * matches again, and only the resource field is left to ask. `heads`: one per list of values asked in turn.
 */
function fieldsMatchAfterHead(format: string, values: readonly string[], heads: Map<string, Head>): boolean {
  const fields = compileFormat(format);
  if (!fields) return false;
  const head = Math.min(HEAD_FIELDS, fields.length);
  let known = heads.get(format);
  if (!known || !sameHead(known.values, values, head)) heads.set(format, (known = { values, matches: fieldsMatchIn(fields, values, 0, head) }));
  return known.matches && fieldsMatchIn(fields, values, head, fields.length);
}

function sameHead(a: readonly string[], b: readonly string[], head: number): boolean {
  for (let i = 0; i < head; i++) if (a[i] !== b[i]) return false;
  return true;
}
