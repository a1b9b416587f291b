/**
 * A small model of IAM's decision for one request, enough to prove the paths
 * the org needs: an explicit deny wins; within one account, the identity
 * policy or the resource policy may allow (KMS: the key policy must, and a
 * role's trust must); across accounts, both sides must allow.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 */
import type { PrincipalRef, ResolvedStatement } from './grants';

export interface Request {
  principal: PrincipalRef;
  action: string;
  resource: string;
  /** The account that owns the resource (S3 ARNs do not carry it). */
  resourceAccount: string;
  /** Condition keys of the request (lower case), beyond the principal's own. */
  context?: Record<string, string[]>;
  /** The principal's own policies are managed outside the org (an SSO permission set): prove the resource side only. */
  identityManagedElsewhere?: boolean;
}

export interface Decision {
  allowed: boolean;
  /** Which side is missing, or which statement denies, in words. */
  reason: string;
  identity: ResolvedStatement[];
  resourcePolicy: ResolvedStatement[];
}

const patterns = new Map<string, RegExp>();
const glob = (pattern: string, flags: string): RegExp => {
  const key = `${flags}\u0000${pattern}`;
  let re = patterns.get(key);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, flags);
    patterns.set(key, re);
  }
  return re;
};
const isPattern = (s: string) => s.includes('*') || s.includes('?');
export const matches = (pattern: string, value: string, caseInsensitive = false) =>
  isPattern(pattern) ? glob(pattern, caseInsensitive ? 'i' : '').test(value) : caseInsensitive ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;

/** A list of values and wildcard patterns, matched the way IAM matches actions (case-insensitive) or ARNs. */
class ValueSet {
  private readonly exact = new Set<string>();
  private readonly patterns: RegExp[] = [];
  constructor(
    values: readonly string[],
    private readonly caseInsensitive: boolean,
  ) {
    for (const v of values) {
      if (isPattern(v)) this.patterns.push(glob(v, caseInsensitive ? 'i' : ''));
      else this.exact.add(caseInsensitive ? v.toLowerCase() : v);
    }
  }
  has(value: string): boolean {
    return this.exact.has(this.caseInsensitive ? value.toLowerCase() : value) || this.patterns.some((re) => re.test(value));
  }
}

/** A statement with its actions, resources and principals ready for lookups: the proof makes tens of thousands of requests for a large org. */
class IndexedStatement {
  readonly actions: ValueSet;
  readonly resources: ValueSet;
  private readonly principalArns = new Set<string>();
  private readonly principalAccounts = new Set<string>();
  private readonly services = new Set<string>();
  private readonly anyPrincipal: boolean;
  constructor(readonly statement: ResolvedStatement) {
    this.actions = new ValueSet(statement.actions, true);
    this.resources = new ValueSet(statement.resources, false);
    for (const p of statement.principals) {
      if (p.kind === 'service') this.services.add(p.service);
      else if (p.kind === 'aws') (p.arn.endsWith(':root') ? this.principalAccounts.add(accountOf(p.arn)) : this.principalArns.add(p.arn));
    }
    this.anyPrincipal = statement.principals.some((p) => p.kind === 'any');
  }
  admits(principal: PrincipalRef): boolean {
    if (this.anyPrincipal) return true;
    if (principal.kind === 'service') return this.services.has(principal.service);
    if (principal.kind !== 'aws') return false;
    return this.principalArns.has(principal.arn) || this.principalAccounts.has(accountOf(principal.arn));
  }
}

/** Grants indexed the way requests look them up: by the role they are attached to, or by the resource's account, then by action. */
export class GrantIndex {
  private readonly identityByRole = new Map<string, ActionIndex>();
  private readonly resourceByAccount = new Map<string, ActionIndex>();
  constructor(readonly grants: readonly ResolvedStatement[]) {
    for (const g of grants) {
      const [map, key] = g.kind === 'identity' ? [this.identityByRole, g.attachedTo ?? ''] : [this.resourceByAccount, g.account];
      let index = map.get(key);
      if (!index) map.set(key, (index = new ActionIndex()));
      index.add(new IndexedStatement(g));
    }
  }
  identity(roleArn: string, action: string): readonly IndexedStatement[] {
    return this.identityByRole.get(roleArn)?.get(action) ?? [];
  }
  resourcePolicies(account: string, action: string): readonly IndexedStatement[] {
    return this.resourceByAccount.get(account)?.get(action) ?? [];
  }
}

class ActionIndex {
  private readonly byAction = new Map<string, IndexedStatement[]>();
  private readonly withPatterns: IndexedStatement[] = [];
  add(s: IndexedStatement) {
    if (s.statement.actions.some(isPattern)) return void this.withPatterns.push(s);
    for (const a of new Set(s.statement.actions.map((x) => x.toLowerCase()))) {
      const list = this.byAction.get(a) ?? [];
      list.push(s);
      this.byAction.set(a, list);
    }
  }
  get(action: string): IndexedStatement[] {
    const exact = this.byAction.get(action.toLowerCase()) ?? [];
    return this.withPatterns.length === 0 ? exact : [...exact, ...this.withPatterns.filter((s) => s.actions.has(action))];
  }
}

export const accountOf = (arn: string): string => arn.split(':')[4] ?? '';

function contextOf(request: Request, organizationId?: string): Record<string, string[]> {
  const c: Record<string, string[]> = { 'aws:securetransport': ['true'], 'aws:resourceaccount': [request.resourceAccount] };
  if (organizationId) {
    c['aws:resourceorgid'] = [organizationId];
    if (request.principal.kind === 'aws') c['aws:principalorgid'] = [organizationId];
  }
  if (request.principal.kind === 'aws') {
    c['aws:principalarn'] = [request.principal.arn];
    c['aws:principalaccount'] = [accountOf(request.principal.arn)];
  }
  for (const [k, v] of Object.entries(request.context ?? {})) c[k.toLowerCase()] = v;
  return c;
}

/** Condition operators the templates use; an unknown one never matches. */
function conditionHolds(operator: string, key: string, expected: string[], context: Record<string, string[]>): boolean {
  const actual = context[key.toLowerCase()];
  const any = (test: (e: string, a: string) => boolean) => actual !== undefined && actual.some((a) => expected.some((e) => test(e, a)));
  switch (operator) {
    case 'StringEquals':
    case 'ArnEquals':
    case 'ForAnyValue:StringEquals':
      return any((e, a) => e === a);
    case 'StringEqualsIfExists':
      return actual === undefined || any((e, a) => e === a);
    case 'StringNotEquals':
      return actual === undefined || !any((e, a) => e === a);
    case 'StringLike':
    case 'ArnLike':
      return any((e, a) => matches(e, a));
    case 'Bool':
      return any((e, a) => e.toLowerCase() === a.toLowerCase());
    case 'Null':
      return expected[0] === 'true' ? actual === undefined : actual !== undefined;
    default:
      return false;
  }
}

const conditionsHold = (s: ResolvedStatement, context: Record<string, string[]>) =>
  Object.entries(s.conditions).every(([operator, keys]) => Object.entries(keys).every(([key, values]) => conditionHolds(operator, key, values, context)));

const applies = (s: IndexedStatement, request: Request, context: Record<string, string[]>) => s.resources.has(request.resource) && conditionsHold(s.statement, context);

export function evaluate(index: GrantIndex, request: Request, organizationId?: string): Decision {
  const context = contextOf(request, organizationId);
  const principalArn = request.principal.kind === 'aws' ? request.principal.arn : undefined;
  const identity = (principalArn ? index.identity(principalArn, request.action) : []).filter((g) => applies(g, request, context)).map((g) => g.statement);
  const resourcePolicy = index
    .resourcePolicies(request.resourceAccount, request.action)
    .filter((g) => g.admits(request.principal) && applies(g, request, context))
    .map((g) => g.statement);
  const deny = [...identity, ...resourcePolicy].find((g) => g.effect === 'Deny');
  const idAllows = identity.filter((g) => g.effect === 'Allow');
  const resAllows = resourcePolicy.filter((g) => g.effect === 'Allow');
  const decide = (allowed: boolean, reason: string): Decision => ({ allowed, reason, identity: idAllows, resourcePolicy: resAllows });
  if (deny) return decide(false, `denied by ${deny.policy} (${deny.stage} @ ${deny.account})`);

  const service = request.principal.kind === 'service';
  const crossAccount = service || !principalArn || accountOf(principalArn) !== request.resourceAccount;
  const isKey = request.resource.includes(':kms:');
  const isTrust = request.action.toLowerCase() === 'sts:assumerole';
  const namedDirectly = resAllows.some((g) => g.principals.some((p) => p.kind !== 'aws' || !p.arn.endsWith(':root')));
  if (service) return resAllows.length > 0 ? decide(true, 'trust allows the service') : decide(false, 'no trust statement admits the service');
  if (isKey || isTrust || crossAccount) {
    const what = isKey ? 'key policy' : isTrust ? 'trust policy' : 'resource policy';
    if (resAllows.length === 0) return decide(false, `no ${what} statement allows it`);
    // Same account and named directly in a key policy or trust: the identity side is not needed.
    if (!crossAccount && namedDirectly) return decide(true, `${what} names the principal`);
    if (idAllows.length === 0 && request.identityManagedElsewhere) return decide(true, `${what} allows it; the principal's own policy is managed outside this org file`);
    if (idAllows.length === 0) return decide(false, `no identity policy of the principal allows it`);
    return decide(true, 'both sides allow it');
  }
  return idAllows.length > 0 || resAllows.length > 0 ? decide(true, 'allowed within the account') : decide(false, 'no identity or resource policy allows it');
}
