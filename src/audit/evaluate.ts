/**
 * A small model of IAM's decision for one request, enough to prove the paths
 * the org needs: an explicit deny wins; within one account, the identity
 * policy or the resource policy may allow (KMS: the key policy must, and a
 * role's trust must); across accounts, both sides must allow.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 */
import type { PrincipalRef, ResolvedStatement } from './grants';
import { concreteGlob, hasToken, prefixOf, same, someForEveryMember, symbolicGlob, unitsMatch } from './symbolic';
import { madeOnce } from '../memo';
import { AWS_OWNED_ACCOUNT, OTHER_ACCOUNT } from '../services/needs';

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
  /**
   * The resource is AWS's own (a bucket of AWS's, src/iam/grants.ts AWS_OWNED_BUCKETS), its policy outside the org
   * file: prove the identity side only (across accounts IAM needs it, whatever the resource's policy says).
   */
  resourceManagedElsewhere?: boolean;
}

export interface Decision {
  allowed: boolean;
  /** Which side is missing, or which statement denies, in words. */
  reason: string;
  /** The allowing statements, identity side first, then the resource side. */
  grantedBy: ResolvedStatement[];
  /**
   * A refusal: the explicit Deny that refuses it, or the side(s) with no applicable Allow. `identityElsewhere`: the
   * principal's own policies are not the org's (someone else's role), so the resource side is the one that refuses.
   */
  refusedBy?: { deny: ResolvedStatement } | { missing: 'identity' | 'resource' | 'both'; identityElsewhere?: true };
}

const isPattern = (s: string) => s.includes('*') || s.includes('?');
/** Condition keys and actions in lower case, each made once: the proof asks the same few for every statement of every request. */
const lowerCase = madeOnce((s: string) => s.toLowerCase());
export function matches(pattern: string, value: string, caseInsensitive = false): boolean {
  if (hasToken(pattern) || hasToken(value)) {
    if (isPattern(pattern)) return symbolicGlob(pattern, value, caseInsensitive);
    return caseInsensitive ? same(pattern.toLowerCase(), value.toLowerCase()) : same(pattern, value);
  }
  if (!isPattern(pattern)) return caseInsensitive ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
  const prefix = caseInsensitive ? undefined : prefixOf(pattern);
  return prefix !== undefined ? value.startsWith(prefix) : concreteGlob(pattern, caseInsensitive ? 'i' : '').test(value);
}

/**
 * `matches` with an account class's tokens as units (`*` may take whole tokens, `?` none), never asked member by
 * member: a "yes" holds for every member (a match so found survives writing the same id for a token throughout), a
 * "no" may not. For a check whose "no" is a problem, which sends a class proof back to account by account, where it
 * is exact.
 */
export function literalMatches(pattern: string, value: string): boolean {
  if (!isPattern(pattern)) return pattern === value;
  const prefix = prefixOf(pattern);
  if (prefix !== undefined) return value.startsWith(prefix);
  return hasToken(pattern) || hasToken(value) ? unitsMatch(pattern, value) : concreteGlob(pattern, '').test(value);
}

const matchesIgnoringCase = (pattern: string, value: string) => matches(pattern, value, true);

/**
 * Whether any of a statement's values (a handful: a scan beats a Set) matches: a statement applies to each
 * object its Resource lists, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
 */
function anyMatches(patterns: readonly string[], value: string, caseInsensitive = false): boolean {
  if (hasToken(value) || patterns.some(hasToken)) return someForEveryMember(caseInsensitive ? 'like/i' : 'like', patterns, value, caseInsensitive ? matchesIgnoringCase : matches);
  for (const p of patterns) if (matches(p, value, caseInsensitive)) return true;
  return false;
}

export function admits(s: ResolvedStatement, principal: PrincipalRef): boolean {
  for (const p of s.principals) {
    if (p.kind === 'any') return true;
    if (p.kind === 'service') {
      if (principal.kind === 'service' && same(principal.service, p.service)) return true;
    } else if (principal.kind === 'aws' && (same(p.arn, principal.arn) || (p.arn.endsWith(':root') && same(accountOf(p.arn), accountOf(principal.arn))))) return true;
  }
  return false;
}

/** No statements: what a lookup that finds none gives, one list for all (asked for every request). */
const NONE: readonly ResolvedStatement[] = [];

/** Statements by lower-case action; those with wildcard actions are matched on lookup. */
class ActionIndex {
  private readonly byAction = new Map<string, ResolvedStatement[]>();
  private readonly withPatterns: ResolvedStatement[] = [];
  /**
   * Each action's statements as first looked up: the proof asks an account the same few actions thousands
   * of times. The same every time: actions hold no account token (classes.ts tokenises ids, not actions).
   */
  private readonly lookedUp = new Map<string, readonly ResolvedStatement[]>();
  add(s: ResolvedStatement) {
    if (s.actions.some(isPattern)) return void this.withPatterns.push(s);
    for (const action of s.actions) {
      const a = lowerCase(action);
      const list = this.byAction.get(a);
      if (!list) this.byAction.set(a, [s]);
      else if (list[list.length - 1] !== s) list.push(s);
    }
  }
  get(action: string): readonly ResolvedStatement[] {
    let found = this.lookedUp.get(action);
    if (!found) {
      const exact = this.byAction.get(lowerCase(action)) ?? [];
      found = this.withPatterns.length === 0 ? exact : [...exact, ...this.withPatterns.filter((s) => anyMatches(s.actions, action, true))];
      this.lookedUp.set(action, found);
    }
    return found;
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
      index.add(g);
    }
  }
  identity(roleArn: string, action: string): readonly ResolvedStatement[] {
    return this.identityByRole.get(roleArn)?.get(action) ?? NONE;
  }
  resourcePolicies(account: string, action: string): readonly ResolvedStatement[] {
    return this.resourceByAccount.get(account)?.get(action) ?? NONE;
  }
}

/** The account field of an ARN (the fifth, colon-separated); called for every request, so without splitting. */
export function accountOf(arn: string): string {
  let start = 0;
  for (let field = 0; field < 4; field++) {
    start = arn.indexOf(':', start) + 1;
    if (start === 0) return '';
  }
  const end = arn.indexOf(':', start);
  return end < 0 ? arn.slice(start) : arn.slice(start, end);
}

/** What every request carries for aws:SecureTransport (one list; nothing mutates the values it is given). */
const SECURE_TRANSPORT: readonly string[] = ['true'];

/**
 * Whether an account a path names is outside the org: the stand-in for anyone else's (OTHER_ACCOUNT) and AWS's own
 * (AWS_OWNED_ACCOUNT). Every other account a path names is one of the org file's, or a class token standing for them.
 */
const outsideOrg = (account: string) => account === OTHER_ACCOUNT || account === AWS_OWNED_ACCOUNT;

/**
 * A condition key's value in a request: what every request carries, then the path's own keys. The organization keys
 * only where AWS puts them: aws:PrincipalOrgID "only if the principal is a member of an organization", and
 * aws:ResourceOrgID "only if the account that owns the resource is a member of an organization"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html), so never for a principal
 * or resource outside the org: a refused path from or to another account must not pass an org-scoped condition.
 */
function contextValue(request: Request, key: string, organizationId?: string): readonly string[] | undefined {
  const aws = request.principal.kind === 'aws' ? request.principal.arn : undefined;
  switch (key) {
    case 'aws:securetransport':
      return SECURE_TRANSPORT;
    case 'aws:resourceaccount':
      return [request.resourceAccount];
    case 'aws:resourceorgid':
      return organizationId && !outsideOrg(request.resourceAccount) ? [organizationId] : undefined;
    case 'aws:principalorgid':
      return organizationId && aws && !outsideOrg(accountOf(aws)) ? [organizationId] : undefined;
    case 'aws:principalarn':
      return aws ? [aws] : undefined;
    case 'aws:principalaccount':
      return aws ? [accountOf(aws)] : undefined;
  }
  for (const k in request.context) if (lowerCase(k) === key) return request.context[k];
  return undefined;
}

/**
 * Whether some value of the request equals some expected value (asked for every statement of every request: no closures):
 * "If a single condition operator includes multiple values for a context key, those values are evaluated using a logical OR",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html
 */
function anySame(expected: readonly string[], actual: readonly string[] | undefined): boolean {
  if (actual === undefined) return false;
  for (const a of actual) if (someForEveryMember('=', expected, a, same)) return true;
  return false;
}

function anyLike(expected: readonly string[], actual: readonly string[] | undefined): boolean {
  if (actual === undefined) return false;
  for (const a of actual) if (anyMatches(expected, a)) return true;
  return false;
}

/** Condition operators the templates use; an unknown one never matches. */
function conditionHolds(operator: string, expected: string[], actual: readonly string[] | undefined): boolean {
  switch (operator) {
    case 'StringEquals':
    case 'ArnEquals':
    case 'ForAnyValue:StringEquals':
      return anySame(expected, actual);
    case 'ForAllValues:StringEquals':
      // Every value of a multivalued key among the expected ones; vacuously true without the key (hence Null beside it).
      return actual === undefined || actual.every((a) => expected.some((e) => same(e, a)));
    case 'StringEqualsIfExists':
      return actual === undefined || anySame(expected, actual);
    case 'StringNotEquals':
      return actual === undefined || !anySame(expected, actual);
    case 'StringLike':
    case 'ArnLike':
      return anyLike(expected, actual);
    case 'Bool':
      return anySame(expected.map((e) => e.toLowerCase()), actual?.map((a) => a.toLowerCase()));
    case 'Null':
      return expected[0] === 'true' ? actual === undefined : actual !== undefined;
    default:
      return false;
  }
}

function conditionsHold(s: ResolvedStatement, request: Request, organizationId?: string): boolean {
  for (const operator in s.conditions) {
    const keys = s.conditions[operator];
    for (const key in keys) if (!conditionHolds(operator, keys[key], contextValue(request, lowerCase(key), organizationId))) return false;
  }
  return true;
}

const applies = (s: ResolvedStatement, request: Request, organizationId?: string) => anyMatches(s.resources, request.resource) && conditionsHold(s, request, organizationId);


const decision = (allowed: boolean, reason: string, grantedBy: ResolvedStatement[], refusedBy?: Decision['refusedBy']): Decision => ({ allowed, reason, grantedBy, refusedBy });

/** The reasons for a request the resource side must allow, made once per kind of policy rather than per request. */
const REASONS = Object.fromEntries(
  (['key policy', 'trust policy', 'resource policy'] as const).map((what) => [
    what,
    {
      none: `no ${what} statement allows it`,
      names: `${what} names the principal`,
      elsewhere: `${what} allows it; the principal's own policy is managed outside this org file`,
    },
  ]),
) as Record<'key policy' | 'trust policy' | 'resource policy', { none: string; names: string; elsewhere: string }>;

const RESOURCE_ELSEWHERE = "the principal's identity policy allows it; the resource and its policy are AWS's, outside this org file";
const IDENTITY_ELSEWHERE: ReadonlySet<string> = new Set(Object.values(REASONS).map((r) => r.elsewhere));

/** For an allowed request, the side taken as allowing because its policies are outside the org file, read from its reason. */
export function sideOutside(reason: string): 'identity' | 'resource' | undefined {
  return IDENTITY_ELSEWHERE.has(reason) ? 'identity' : reason === RESOURCE_ELSEWHERE ? 'resource' : undefined;
}

/**
 * Whether a statement on its side of a request applies to it (and, on the resource side, admits its principal): read from
 * the request's principal, resource and context, never its action, so asked once per statement for all of a path's actions.
 * The comparisons' loss of certainty (symbolic.ts) is kept by the first asking: a proof never regains it.
 */
export interface AppliesMemo {
  get(statement: ResolvedStatement): boolean | undefined;
  set(statement: ResolvedStatement, applies: boolean): unknown;
  /** Forgets every answer: the next are another request's. */
  clear(): void;
}

/**
 * An AppliesMemo that forgets by numbering requests rather than emptying a map: each answer is kept with its
 * request's number (2 × number, + 1 when it applies), so the map grows to the proof's statements once instead of
 * again for every path.
 */
export class RequestAnswers implements AppliesMemo {
  private readonly answers = new Map<ResolvedStatement, number>();
  private request = 0;
  get(statement: ResolvedStatement): boolean | undefined {
    const kept = this.answers.get(statement);
    return kept === undefined || kept >> 1 !== this.request ? undefined : (kept & 1) === 1;
  }
  set(statement: ResolvedStatement, applies: boolean): void {
    this.answers.set(statement, this.request * 2 + (applies ? 1 : 0));
  }
  clear(): void {
    this.request++;
  }
}

function appliesOnce(memo: AppliesMemo | undefined, g: ResolvedStatement, request: Request, organizationId: string | undefined, resourceSide: boolean): boolean {
  let answer = memo?.get(g);
  if (answer === undefined) {
    answer = (!resourceSide || admits(g, request.principal)) && applies(g, request, organizationId);
    memo?.set(g, answer);
  }
  return answer;
}

/** Whether a statement names a principal itself, not (only) an account root. */
function namesDirectly(g: ResolvedStatement): boolean {
  for (const p of g.principals) if (p.kind !== 'aws' || !p.arn.endsWith(':root')) return true;
  return false;
}

/**
 * One pass over the candidate statements of both sides; called for every request of the proof, so it allocates one list.
 * `memo`: the statements asked of this request under other actions (AppliesMemo), emptied by the caller for another request.
 * `into`: a list to write the allowing statements to instead (emptied first), for a caller that copies what it keeps: the
 * decision's grantedBy is then that list, and changes with the next request.
 */
export function evaluate(index: GrantIndex, request: Request, organizationId?: string, memo?: AppliesMemo, into?: ResolvedStatement[]): Decision {
  const principalArn = request.principal.kind === 'aws' ? request.principal.arn : undefined;
  const identity = principalArn ? index.identity(principalArn, request.action) : NONE;
  const resource = index.resourcePolicies(request.resourceAccount, request.action);
  const grantedBy: ResolvedStatement[] = into ?? [];
  // Emptied by pop: setting its length to 0 gives up its room, and the next push would make it again.
  while (grantedBy.length > 0) grantedBy.pop();
  let deny: ResolvedStatement | undefined;
  let idAllows = 0;
  for (const g of identity) {
    if (!appliesOnce(memo, g, request, organizationId, false)) continue;
    if (g.effect === 'Deny') deny ??= g;
    else {
      grantedBy.push(g);
      idAllows++;
    }
  }
  let namedDirectly = false;
  for (const g of resource) {
    if (!appliesOnce(memo, g, request, organizationId, true)) continue;
    if (g.effect === 'Deny') deny ??= g;
    else {
      grantedBy.push(g);
      namedDirectly ||= namesDirectly(g);
    }
  }
  const resAllows = grantedBy.length - idAllows;
  if (deny) return decision(false, `denied by ${deny.policy} (${deny.stage} @ ${deny.account})`, grantedBy, { deny });

  const service = request.principal.kind === 'service';
  const crossAccount = service || !principalArn || !same(accountOf(principalArn), request.resourceAccount);
  const isKey = request.resource.includes(':kms:');
  const isTrust = lowerCase(request.action) === 'sts:assumerole';
  if (service) return resAllows > 0 ? decision(true, 'trust allows the service', grantedBy) : decision(false, 'no trust statement admits the service', grantedBy, { missing: 'resource' });
  if (isKey || isTrust || crossAccount) {
    const reasons = REASONS[isKey ? 'key policy' : isTrust ? 'trust policy' : 'resource policy'];
    // A resource whose policy is outside the templates (AWS's bucket, someone else's key or bucket) is taken as allowing.
    if (resAllows === 0 && request.resourceManagedElsewhere) {
      return idAllows > 0 ? decision(true, RESOURCE_ELSEWHERE, grantedBy) : decision(false, 'no identity policy of the principal allows it', grantedBy, { missing: 'identity' });
    }
    // Someone else's role: its own policies are not in the model, and the resource side, which must allow, refuses alone.
    if (resAllows === 0 && request.identityManagedElsewhere) return decision(false, reasons.none, grantedBy, { missing: 'resource', identityElsewhere: true });
    if (resAllows === 0) return decision(false, reasons.none, grantedBy, { missing: idAllows === 0 ? 'both' : 'resource' });
    // Same account and named directly in a key policy or trust: the identity side is not needed.
    if (!crossAccount && namedDirectly) return decision(true, reasons.names, grantedBy);
    if (idAllows === 0 && request.identityManagedElsewhere) return decision(true, reasons.elsewhere, grantedBy);
    if (idAllows === 0) return decision(false, 'no identity policy of the principal allows it', grantedBy, { missing: 'identity' });
    return decision(true, 'both sides allow it', grantedBy);
  }
  return idAllows > 0 || resAllows > 0 ? decision(true, 'allowed within the account', grantedBy) : decision(false, 'no identity or resource policy allows it', grantedBy, { missing: 'both' });
}

/**
 * A VPC endpoint policy: the request passes the endpoint only if a statement
 * of its policy allows it and none denies it ("the endpoint policy does not
 * override or replace identity-based policies or resource-based policies"; it
 * is one more gate). https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html
 */
export function endpointAllows(statements: readonly ResolvedStatement[], request: Request, organizationId?: string): { allowed: boolean; by?: ResolvedStatement } {
  let allow: ResolvedStatement | undefined;
  for (const s of statements) {
    if (!s.actions.some((a) => matches(a, request.action, true)) || !admits(s, request.principal) || !applies(s, request, organizationId)) continue;
    if (s.effect === 'Deny') return { allowed: false, by: s };
    allow ??= s;
  }
  return { allowed: allow !== undefined, by: allow };
}

/** Why a request is refused, in words, citing the refusing statement (`label` names it). */
export function describeRefusal(refusedBy: Decision['refusedBy'], label: (s: ResolvedStatement) => string): string {
  if (!refusedBy) return '';
  if ('deny' in refusedBy) return `denied by ${label(refusedBy.deny)} (explicit Deny)`;
  switch (refusedBy.missing) {
    case 'identity':
      return "no Allow on the identity side (the principal's own policies)";
    case 'resource':
      return 'identityElsewhere' in refusedBy
        ? "no Allow on the resource side (its trust, key, bucket or bus policy), which alone refuses it: the principal's own policies are outside the org file"
        : 'no Allow on the resource side (its trust, key, bucket or bus policy)';
    case 'both':
      return 'no Allow on either side';
  }
}
