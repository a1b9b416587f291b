/**
 * A small model of IAM's decision for one request, enough to prove the paths
 * the org needs: an explicit deny wins; within one account, the identity
 * policy or the resource policy may allow (KMS: the key policy must, and a
 * role's trust must); across accounts, both sides must allow.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 */
import type { PrincipalRef, ResolvedStatement } from './grants';
import { type Flags, concreteGlob, decidedByMembers, hasNameToken, hasToken, isToken, prefixOf, same, sameIgnoringCase, someForEveryMember, symbolicGlob, unitsMatch } from './symbolic';
import { forgetfulStore, madeOnce } from '../memo';
import { AWS_OWNED_ACCOUNT, OTHER_ACCOUNT } from '../services/needs';
import { lacksResourceOwnerKeys } from '../checks/iam-data';

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
  /**
   * Accounts of the request asked as outside the organization, which get no aws:PrincipalOrgID or aws:ResourceOrgID
   * (explain asks an id the org file does not name both ways). The proof's requests name the org file's accounts, and
   * its stand-ins for others (OTHER_ACCOUNT, AWS_OWNED_ACCOUNT), only.
   */
  outsideOrg?: ReadonlySet<string>;
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
   * `ownPolicyDecides`: within one account, where either side's Allow is enough, and the principal's own policies are
   * outside the org file: they could allow it, so the refusal is not proved (review s37-evaluator E5).
   */
  refusedBy?: { deny: ResolvedStatement } | { missing: 'identity' | 'resource' | 'both'; identityElsewhere?: true; ownPolicyDecides?: true } | { notAcrossAccounts: string };
}

const isPattern = (s: string) => s.includes('*') || s.includes('?');
/** Condition keys and actions in lower case, each made once: the proof asks the same few for every statement of every request. */
const lowerCase = madeOnce((s: string) => s.toLowerCase());
export function matches(pattern: string, value: string, caseInsensitive = false): boolean {
  return globMatches(pattern, value, caseInsensitive ? 'i' : '');
}

/** `matches` for a Resource element's pattern against a resource's ARN: its wildcards read segment by segment (symbolic.ts `Flags`). */
export const matchesResource = (pattern: string, value: string): boolean => globMatches(pattern, value, 'r');

function globMatches(pattern: string, value: string, flags: Flags): boolean {
  const caseInsensitive = flags === 'i';
  if (hasToken(pattern) || hasToken(value)) {
    if (isPattern(pattern)) return symbolicGlob(pattern, value, flags);
    return caseInsensitive ? sameIgnoringCase(pattern, value) : same(pattern, value);
  }
  if (!isPattern(pattern)) return caseInsensitive ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
  const prefix = caseInsensitive ? undefined : prefixOf(pattern);
  return prefix !== undefined ? value.startsWith(prefix) : concreteGlob(pattern, flags).test(value);
}

/**
 * `matchesResource` with an account class's tokens as units (`*` may take whole tokens, one `?` none, twelve in a row one), never asked member by
 * member: a "yes" holds for every member (a match so found survives writing the same id for a token throughout), a
 * "no" may not. For a check whose "no" is a problem, which sends a class proof back to account by account, where it
 * is exact.
 */
export function literalMatches(pattern: string, value: string): boolean {
  if (!isPattern(pattern)) return pattern === value;
  const prefix = prefixOf(pattern);
  if (prefix !== undefined) return value.startsWith(prefix);
  return hasToken(pattern) || hasToken(value) ? unitsMatch(pattern, value, 'r') : concreteGlob(pattern, 'r').test(value);
}

const matchesIgnoringCase = (pattern: string, value: string) => matches(pattern, value, true);

/**
 * Whether any of a statement's values (a handful: a scan beats a Set) matches: a statement applies to each
 * object its Resource lists, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
 */
function anyMatches(patterns: readonly string[], value: string, flags: Flags = ''): boolean {
  if (hasToken(value) || patterns.some(hasToken)) return someForEveryMember(KINDS[flags], patterns, value, MATCHERS[flags]);
  return somePatternMatches(patterns, value, flags);
}
const KINDS: Record<Flags, string> = { '': 'like', i: 'like/i', r: 'resource' };
const MATCHERS: Record<Flags, (pattern: string, value: string) => boolean> = { '': matches, i: matchesIgnoringCase, r: matchesResource };

/** Whether one of `patterns` matches `value` as written, a class's tokens as they are (a loop: no closure per call). */
export function somePatternMatches(patterns: readonly string[], value: string, flags: Flags): boolean {
  for (let i = 0; i < patterns.length; i++) if (globMatches(patterns[i], value, flags)) return true;
  return false;
}

/**
 * An account as a principal: its root ARN, or the shortened form, its id alone ("The account ARN and the shortened
 * account ID behave the same way", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts).
 */
const isAccountPrincipal = (arn: string): boolean => arn.endsWith(':root') || /^\d{12}$/.test(arn) || isToken(arn);
const accountOfPrincipal = (arn: string): string => (arn.endsWith(':root') ? accountOf(arn) : arn);

/**
 * How one of a statement's principals admits a request's: `direct`ly (by its ARN, as a service, or as anyone), or
 * through its `account` only, which "delegates authority to the account" (same page): the principal's own policy
 * must then still allow, in the same account as across accounts (review s16-evaluator 1, 3).
 */
function admission(p: PrincipalRef, principal: PrincipalRef): 'direct' | 'account' | undefined {
  if (p.kind === 'any') return 'direct';
  if (p.kind === 'service') return principal.kind === 'service' && same(principal.service, p.service) ? 'direct' : undefined;
  if (p.kind === 'federated') return principal.kind === 'federated' && same(principal.provider, p.provider) ? 'direct' : undefined;
  if (principal.kind !== 'aws') return undefined;
  if (!isAccountPrincipal(p.arn)) return same(p.arn, principal.arn) ? 'direct' : undefined;
  return same(accountOfPrincipal(p.arn), accountOf(principal.arn)) ? 'account' : undefined;
}

export function admits(s: ResolvedStatement, principal: PrincipalRef): boolean {
  for (const p of s.principals) if (admission(p, principal)) return true;
  return false;
}

/**
 * Whether a statement admits the principal itself, not only through its account. Asked per principal the request
 * has, never for the statement as a whole: a statement naming an account beside a role admits that account's other
 * roles by the account only.
 */
function admitsDirectly(s: ResolvedStatement, principal: PrincipalRef): boolean {
  for (const p of s.principals) if (admission(p, principal) === 'direct') return true;
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
      found = this.withPatterns.length === 0 ? exact : [...exact, ...this.withPatterns.filter((s) => anyMatches(s.actions, action, 'i'))];
      this.lookedUp.set(action, found);
    }
    return found;
  }
}

/** Grants indexed the way requests look them up: by the role they are attached to, or by the resource's account, then by action. */
/** Two lists of statements as one, the first's first; no new list where one is empty. */
const both = (first: readonly ResolvedStatement[] | undefined, second: readonly ResolvedStatement[] | undefined): readonly ResolvedStatement[] =>
  !first || first.length === 0 ? (second ?? NONE) : !second || second.length === 0 ? first : [...first, ...second];

export class GrantIndex {
  /**
   * Each role's and account's statements, in the grants' order, indexed by action when first asked: the org's index
   * (AccessAnalysis.index) holds every statement of 1,000 accounts, and the report asks it of few of them.
   */
  private readonly identityByRole = new Map<string, ResolvedStatement[] | ActionIndex>();
  private readonly resourceByAccount = new Map<string, ResolvedStatement[] | ActionIndex>();
  /** `base`: an index these grants are added to, asked as well, not indexed again (the execution role's statements beside the proof's). */
  constructor(
    readonly grants: readonly ResolvedStatement[],
    private readonly base?: GrantIndex,
  ) {
    for (const g of grants) {
      const map = g.kind === 'identity' ? this.identityByRole : this.resourceByAccount;
      const key = g.kind === 'identity' ? (g.attachedTo ?? '') : g.account;
      const list = map.get(key) as ResolvedStatement[] | undefined;
      if (list) list.push(g);
      else map.set(key, [g]);
    }
  }
  identity(roleArn: string, action: string): readonly ResolvedStatement[] {
    return both(this.base?.identity(roleArn, action), indexOf(this.identityByRole, roleArn)?.get(action));
  }
  resourcePolicies(account: string, action: string): readonly ResolvedStatement[] {
    return both(this.base?.resourcePolicies(account, action), indexOf(this.resourceByAccount, account)?.get(action));
  }
}

/** A key's statements by action, indexed (in their order, as the constructor would have) when first asked. */
function indexOf(map: Map<string, ResolvedStatement[] | ActionIndex>, key: string): ActionIndex | undefined {
  const found = map.get(key);
  if (found === undefined || found instanceof ActionIndex) return found;
  const index = new ActionIndex();
  for (const g of found) index.add(g);
  map.set(key, index);
  return index;
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
 * The resource's owner keys not at all for the actions the same page says do not support them (iam-data.ts
 * `lacksResourceOwnerKeys`): absent, as any other absent key is read (conditionHolds).
 */
function contextValue(request: Request, key: string, organizationId?: string): readonly string[] | undefined {
  const aws = request.principal.kind === 'aws' ? request.principal.arn : undefined;
  switch (key) {
    case 'aws:securetransport':
      return SECURE_TRANSPORT;
    case 'aws:resourceaccount':
      return lacksResourceOwnerKeys(request.action) ? undefined : [request.resourceAccount];
    case 'aws:resourceorgid':
      if (lacksResourceOwnerKeys(request.action)) return undefined;
      return organizationId && !outsideOrg(request.resourceAccount) && !request.outsideOrg?.has(request.resourceAccount) ? [organizationId] : undefined;
    case 'aws:resourceorgpaths':
      // Not computed: a need's context gives it, or unreadConditions refuses a policy on it; but never for these actions.
      if (lacksResourceOwnerKeys(request.action)) return undefined;
      break;
    case 'aws:principalorgid':
      return organizationId && aws && !outsideOrg(accountOf(aws)) && !request.outsideOrg?.has(accountOf(aws)) ? [organizationId] : undefined;
    case 'aws:principalarn':
      return aws ? [aws] : undefined;
    case 'aws:principalaccount':
      return aws ? [accountOf(aws)] : undefined;
  }
  for (const k in request.context) if (lowerCase(k) === key) return request.context[k];
  return undefined;
}

/** The keys contextValue answers in every request, whatever the path's context (lower case). */
const COMPUTED_KEYS: ReadonlySet<string> = new Set(['aws:securetransport', 'aws:resourceaccount', 'aws:resourceorgid', 'aws:principalorgid', 'aws:principalarn', 'aws:principalaccount']);

/** The condition keys some request's context gives (lower case): with COMPUTED_KEYS, every key the proof can read. */
export function contextKeys(contexts: Iterable<Request['context']>): Set<string> {
  const keys = new Set<string>();
  for (const context of contexts) for (const k in context) keys.add(lowerCase(k));
  return keys;
}

/**
 * Conditions the proof would read otherwise than IAM, one problem per statement and key (review s22-evaluator E1, E2):
 * - A key neither computed for every request (contextValue) nor given by some request's context (`given`): the
 *   model reads it as absent from every request, but AWS puts some keys in every one (aws:ViaAWSService "is always
 *   included in the request context for most services", aws:userid "for all signed requests":
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html), so a Deny on one would
 *   never apply here while AWS applies it, and a path proved allowed would be refused.
 * - A policy variable (`${aws:PrincipalAccount}`) in a resource, or in a condition value where the model does not
 *   replace it (conditionsHold: `${key}` in a String or Arn operator, the key one the proof models): IAM puts the
 *   request's value in its place (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html);
 *   the model would compare text. (CloudFormation's `${…}` are resolved before the proof reads a statement; `${!…}`
 *   writes a policy variable, and is what is caught here.)
 */
export function unreadConditions(statements: readonly ResolvedStatement[], given: ReadonlySet<string>): string[] {
  const problems = new Set<string>();
  for (const s of statements) {
    for (const operator in s.conditions) {
      for (const key in s.conditions[operator]) {
        const k = lowerCase(key);
        if (!COMPUTED_KEYS.has(k) && !given.has(k)) {
          problems.add(`${s.stage}: ${s.policy}: the condition key ${key} is one the access proof does not model (no request it asks carries it, and AWS may put it in every request): prove it, by a need whose context gives it (src/services/needs.ts) or by computing it for every request (contextValue in src/audit/evaluate.ts), before a policy uses it`);
        }
        for (const value of s.conditions[operator][key]) {
          if (!value.includes('${')) continue;
          const read = readOperator(operator);
          const unread = unreadVariables(value);
          if (!read || !VARIABLE_COMPARISONS.has(read.comparison) || unread.length > 0) {
            problems.add(`${s.stage}: ${s.policy}: the condition ${operator} ${key} holds a policy variable (\${…}) the access proof does not replace (only \${key} and \${*}, \${?}, \${$}, in String and Arn operators), and compares as text; write the value itself`);
            continue;
          }
          for (const m of value.matchAll(POLICY_VARIABLE)) {
            const name = lowerCase(m[1].trim());
            if (SPECIAL_VARIABLES[m[1]] === undefined && !COMPUTED_KEYS.has(name) && !given.has(name)) {
              problems.add(`${s.stage}: ${s.policy}: the condition ${operator} ${key} holds the policy variable \${${m[1]}}, a key no request the access proof asks carries: prove it, by a need whose context gives it (src/services/needs.ts), before a policy uses it`);
            }
          }
        }
      }
    }
    if (s.resources.some((r) => r.includes('${'))) problems.add(`${s.stage}: ${s.policy}: a resource holds a policy variable (\${…}), which the access proof compares as text; write the ARN itself`);
  }
  return [...problems];
}

/** What a condition operator compares, before its negation, `IfExists` and set operator are read (ConditionOperator). */
type Comparison = 'equals' | 'equalsIgnoringCase' | 'like' | 'arn' | 'bool' | 'null' | NumericComparison;
/** The Numeric operators' comparisons (NumericNotEquals is `numeric=` negated). */
type NumericComparison = 'numeric=' | 'numeric<' | 'numeric<=' | 'numeric>' | 'numeric>=';

/**
 * A condition operator as the proof reads it: its comparison, whether it is negated (`StringNotEquals`), whether it
 * is an `…IfExists` form, and its set operator (`ForAnyValue:`, `ForAllValues:`).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 */
export interface ConditionOperator {
  readonly comparison: Comparison;
  readonly negated: boolean;
  readonly ifExists: boolean;
  readonly set?: 'any' | 'all';
}

const COMPARISONS: Readonly<Record<string, { comparison: Comparison; negated: boolean }>> = {
  StringEquals: { comparison: 'equals', negated: false },
  StringNotEquals: { comparison: 'equals', negated: true },
  StringEqualsIgnoreCase: { comparison: 'equalsIgnoringCase', negated: false },
  StringNotEqualsIgnoreCase: { comparison: 'equalsIgnoringCase', negated: true },
  StringLike: { comparison: 'like', negated: false },
  StringNotLike: { comparison: 'like', negated: true },
  // "The ArnEquals and ArnLike condition operators behave identically" (the ARN section of the page above).
  ArnEquals: { comparison: 'arn', negated: false },
  ArnLike: { comparison: 'arn', negated: false },
  ArnNotEquals: { comparison: 'arn', negated: true },
  ArnNotLike: { comparison: 'arn', negated: true },
  Bool: { comparison: 'bool', negated: false },
  Null: { comparison: 'null', negated: false },
  NumericEquals: { comparison: 'numeric=', negated: false },
  NumericNotEquals: { comparison: 'numeric=', negated: true },
  NumericLessThan: { comparison: 'numeric<', negated: false },
  NumericLessThanEquals: { comparison: 'numeric<=', negated: false },
  NumericGreaterThan: { comparison: 'numeric>', negated: false },
  NumericGreaterThanEquals: { comparison: 'numeric>=', negated: false },
};

/** The operators the proof reads, by name; undefined for one it does not (Date…, IpAddress…, Binary…): compileStatement refuses those. */
export const readOperator = madeOnce((name: string): ConditionOperator | undefined => {
  const set = name.startsWith('ForAnyValue:') ? 'any' : name.startsWith('ForAllValues:') ? 'all' : undefined;
  let base = set ? name.slice(name.indexOf(':') + 1) : name;
  const ifExists = base.endsWith('IfExists') && base !== 'IfExists';
  if (ifExists) base = base.slice(0, -'IfExists'.length);
  const known = COMPARISONS[base];
  if (!known || (known.comparison === 'null' && (ifExists || set))) return undefined;
  return { ...known, ifExists, ...(set ? { set } : {}) };
});

/** Keys in lower case for the case-insensitive comparisons, made once per text. */
const lowered = madeOnce((values: readonly string[]) => values.map((v) => v.toLowerCase()), new WeakMap<readonly string[], string[]>());

/**
 * ArnEquals and ArnLike: "Each of the six colon-delimited components of the ARN is checked separately and each can
 * include multi-character match wildcards (*) or single-character match wildcards (?)" (the ARN section of the
 * operators page), so a `*` never reaches across a colon into the next component. A pattern whose wildcards all
 * come after its fifth colon (the resource part, which holds the rest) matches component by component exactly when
 * it matches as one text; any other is split.
 */
function arnMatches(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  const fields = arnFieldsOf(pattern);
  // A pattern with a wildcard and fewer than six components is no ARN's: it matches none, rather than letting a `*`
  // reach across colons as text would (review s31-evaluator m3).
  if (!fields && isPattern(pattern) && !splitArnOnce(pattern)) return false;
  if (!fields) return matches(pattern, value);
  const values = splitArnOnce(value);
  if (!values) return false;
  for (let i = 0; i < 6; i++) if (!matches(fields[i], values[i])) return false;
  return true;
}

/** An ARN pattern's six components when a wildcard comes before its fifth colon (arnMatches); undefined when it is matched as one text. */
function arnFields(pattern: string): string[] | undefined {
  let colons = 0;
  for (let i = 0; i < pattern.length && colons < 5; i++) {
    const c = pattern[i];
    if (c === ':') colons++;
    else if (c === '*' || c === '?') return splitArn(pattern);
  }
  return undefined;
}

/** The six components of an ARN (the sixth holds the rest), or undefined for a text with fewer than five colons. */
function splitArn(text: string): string[] | undefined {
  const parts = text.split(':');
  return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(':')];
}

/*
 * arnFields and splitArn, each text's answer made once (null for undefined, which madeOnce would ask again): the
 * proof compares the same few thousand patterns and principals' ARNs tens of thousands of times, and splitting both
 * for each comparison made a tenth of its garbage. Nothing mutates the lists. Module-wide, so bounded: a process that
 * compiles many orgs (a test run) forgets them past ARN_TEXTS_KEPT texts (review s45-diff D8).
 */
const ARN_TEXTS_KEPT = 100_000;
const arnFieldsMade = madeOnce((pattern: string): readonly string[] | null => arnFields(pattern) ?? null, forgetfulStore(ARN_TEXTS_KEPT));
const splitArnMade = madeOnce((text: string): readonly string[] | null => splitArn(text) ?? null, forgetfulStore(ARN_TEXTS_KEPT));
const arnFieldsOf = (pattern: string): readonly string[] | undefined => arnFieldsMade(pattern) ?? undefined;
const splitArnOnce = (text: string): readonly string[] | undefined => splitArnMade(text) ?? undefined;

/** Whether one request value matches some expected value, by the operator's comparison, not negated. */
function valueMatches(comparison: Comparison, expected: readonly string[], actual: string): boolean {
  switch (comparison) {
    case 'equals':
      return someForEveryMember('=', expected, actual, same);
    case 'equalsIgnoringCase':
    case 'bool':
      // Compared as lowered texts, each member's written again lowered (a logical id's token keeps its capitals).
      return someForEveryMember('=i', lowered(expected), actual.toLowerCase(), sameIgnoringCase);
    case 'like':
      return anyMatches(expected, actual);
    case 'arn':
      return someForEveryMember('arn', expected, actual, arnMatches);
    case 'null':
      return false;
    default:
      return numericMatches(comparison, expected, actual);
  }
}

/**
 * The Numeric operators compare the request's number with the policy's ("Numeric condition operators let you
 * construct Condition elements that restrict access based on comparing a key to an integer or decimal value", the
 * operators page): a value that is no number matches nothing.
 */
function numericMatches(comparison: NumericComparison, expected: readonly string[], actual: string): boolean {
  // A class's token is no number, but each member's id is (aws:PrincipalAccount): decided member by member, not "no"
  // for all at once (symbolic.ts; review s37-evaluator E3).
  if (hasToken(actual) || expected.some(hasToken)) return decidedByMembers(`numeric ${comparison}`, expected, actual, (e, a) => numericMatches(comparison, [e], a));
  // An integer or a decimal, written so: not JavaScript's wider Number() syntax (0x10, 1e1, Infinity; review s31-evaluator m7).
  if (!DECIMAL.test(actual)) return false;
  const a = Number(actual);
  return expected.some((text) => {
    if (!DECIMAL.test(text)) return false;
    const e = Number(text);
    switch (comparison) {
      case 'numeric=':
        return a === e;
      case 'numeric<':
        return a < e;
      case 'numeric<=':
        return a <= e;
      case 'numeric>':
        return a > e;
      case 'numeric>=':
        return a >= e;
    }
  });
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * Whether a condition holds for the request's values of its key (undefined: the key is absent), as the operators
 * page gives it: a missing key matches no value, so a positive operator is false and a negated one true, but for
 * `…IfExists` (true) and Null (which tests just that); several expected values are ORed; without a set operator a
 * negated operator holds when no value matches; `ForAnyValue:` holds when some value of the request does, and is
 * false without any; `ForAllValues:` when every value does, and is true without any
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
 */
function conditionHolds(operator: ConditionOperator, expected: readonly string[], actual: readonly string[] | undefined): boolean {
  const { comparison, negated, ifExists, set } = operator;
  // "use either true (the key doesn't exist — it is null) or false (the key exists and its value is not null)", each value ORed.
  const absent = actual === undefined || actual.length === 0;
  // An empty list is absent here as for the set operators, which the Null check guards (review s31-evaluator m6).
  if (comparison === 'null') {
    // A name token (a team's logical id) could be written `True`; an account's id is never a boolean.
    if (expected.some(hasNameToken)) return decidedByMembers('null', expected, String(absent), (e, a) => (e.toLowerCase() === 'true') === (a === 'true'));
    return expected.some((e) => (e.toLowerCase() === 'true') === absent);
  }
  // A set operator reads empty strings alone as no values: ForAllValues "returns true if there are no keys in the
  // request, or if the key values resolve to a null data set, such as an empty string", ForAnyValue false (the page
  // above; review s57-evaluator m3).
  const noValues = absent || (set !== undefined && actual.every((a) => a === ''));
  if (set === 'all') {
    if (noValues) return true;
    for (const a of actual!) if (valueMatches(comparison, expected, a) === negated) return false;
    return true;
  }
  if (noValues) return ifExists || (set === undefined && negated);
  if (set === 'any') {
    for (const a of actual) if (valueMatches(comparison, expected, a) !== negated) return true;
    return false;
  }
  let some = false;
  for (const a of actual) if ((some = valueMatches(comparison, expected, a))) break;
  return some !== negated;
}

/**
 * A policy variable as the proof reads it in a condition value: `${key}`, a key of the request context, or one of
 * the special characters `${*}`, `${?}`, `${$}` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
 * A default (`${key, 'default'}`) is none of these: unreadConditions refuses it.
 */
const POLICY_VARIABLE = /\$\{([^}]*)\}/g;
const READ_VARIABLE = /^(?:[*?$]|[A-Za-z0-9_.:/-]+)$/;
const SPECIAL_VARIABLES: Readonly<Record<string, string>> = { '*': '*', '?': '?', $: '$' };
/**
 * `${*}` and `${?}` are "an * (asterisk) character" and "a ? (question mark) character", literal, where `*` and `?`
 * would be wildcards (the page's "Special characters"), and a request value put in by a variable is text, not a
 * pattern: in StringLike and ArnLike both stand for themselves. Written as these two control characters, which no
 * glob reads as a wildcard, in the values and in the request's values compared with them (review s31-evaluator m2).
 */
const LITERAL_STAR = '\u0001';
const LITERAL_QUESTION = '\u0002';
const asLiteral = (text: string) => text.replaceAll('*', LITERAL_STAR).replaceAll('?', LITERAL_QUESTION);
const GLOB_COMPARISONS: ReadonlySet<Comparison> = new Set(['like', 'arn']);
/** The comparisons a policy variable is replaced in: the String and ARN operators (the policy variables page). */
const VARIABLE_COMPARISONS: ReadonlySet<Comparison> = new Set(['equals', 'equalsIgnoringCase', 'like', 'arn']);
const holdsVariable = madeOnce((values: readonly string[]) => values.some((v) => v.includes('${')), new WeakMap<readonly string[], boolean>());

/**
 * A condition's values with their policy variables replaced by the request's values: IAM "replaces the variable with
 * a value from the request" (the policy variables page). Undefined when a variable's key the request lacks, or holds
 * several values of: "If AWS cannot resolve a variable, this might cause the entire statement to be invalid", and a
 * key "not present ... any attempt to match it fails and causes the statement to be invalid" (the same page), so the
 * statement applies to the request neither as an Allow nor as a Deny, whatever the operator (review s31-evaluator m1;
 * the page's default form is the way to write otherwise, and the proof does not read it). With `literal` (StringLike,
 * ArnLike) what a variable puts in is literal text.
 */
function withVariables(values: readonly string[], request: Request, organizationId: string | undefined, literal: boolean): string[] | undefined {
  const out: string[] = [];
  for (const value of values) {
    let missing = false;
    const replaced = value.replace(POLICY_VARIABLE, (_all, name: string) => {
      const special = SPECIAL_VARIABLES[name];
      if (special !== undefined) return literal ? asLiteral(special) : special;
      const given = contextValue(request, lowerCase(name.trim()), organizationId);
      if (given === undefined || given.length !== 1) missing = true;
      return literal ? asLiteral(given?.[0] ?? '') : (given?.[0] ?? '');
    });
    if (missing) return undefined;
    out.push(replaced);
  }
  return out;
}

/** The policy variables of a condition value the proof does not read (unreadConditions); none for one with none. */
export function unreadVariables(value: string): string[] {
  return [...value.matchAll(POLICY_VARIABLE)].map((m) => m[1]).filter((name) => !READ_VARIABLE.test(name));
}

function conditionsHold(s: ResolvedStatement, request: Request, organizationId?: string): boolean {
  for (const operator in s.conditions) {
    const keys = s.conditions[operator];
    // compileStatement refuses a statement with an operator the proof does not read, so every one here is known.
    const read = readOperator(operator)!;
    for (const key in keys) {
      const actual = contextValue(request, lowerCase(key), organizationId);
      if (!(holdsVariable(keys[key]) && VARIABLE_COMPARISONS.has(read.comparison))) {
        if (!conditionHolds(read, keys[key], actual)) return false;
        continue;
      }
      // "To prevent variables from causing invalid statements, use the ...IfExists condition operator" (the same page):
      // with the condition's own key absent, …IfExists holds before any variable is read.
      if (read.ifExists && (actual === undefined || actual.length === 0)) continue;
      const literal = GLOB_COMPARISONS.has(read.comparison);
      const expected = withVariables(keys[key], request, organizationId, literal);
      // A variable the request cannot fill makes the statement invalid: it does not apply.
      if (expected === undefined) return false;
      if (!conditionHolds(read, expected, literal && actual ? actual.map(asLiteral) : actual)) return false;
    }
  }
  return true;
}

const applies = (s: ResolvedStatement, request: Request, organizationId?: string) => anyMatches(s.resources, request.resource, 'r') && conditionsHold(s, request, organizationId);


/** A refusal's reason, naming the Deny that refuses it (a team class's result is written so for each member: paths.ts). */
export const deniedReason = (deny: ResolvedStatement): string => `denied by ${deny.policy} (${deny.stage} @ ${deny.account})`;

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

/**
 * The actions a role's trust policy must allow, as it must sts:AssumeRole: session tags ("trust policies … must have
 * the sts:TagSession permission. For roles that don't have this permission in the trust policy, the AssumeRole
 * operation will fail", https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_permissions-required),
 * source identity and the web identity and SAML forms (review s16-evaluator 2).
 */
const TRUST_ACTIONS: ReadonlySet<string> = new Set(['sts:assumerole', 'sts:tagsession', 'sts:setsourceidentity', 'sts:setcontext', 'sts:assumerolewithsaml', 'sts:assumerolewithwebidentity']);

/**
 * The KMS operations a principal of another account can call on a key, however both policies read: "Cross-account
 * permission is effective only for the following operations", the cryptographic operations, CreateGrant, DescribeKey,
 * GetKeyRotationStatus, GetPublicKey, ListGrants, RetireGrant and RevokeGrant; "If you give a user in a different account
 * permission to perform other operations, those permissions have no effect"
 * (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html; the
 * "Cross-account use" column of https://docs.aws.amazon.com/kms/latest/developerguide/kms-api-permissions-reference.html).
 */
const KMS_ACROSS_ACCOUNTS: ReadonlySet<string> = new Set(
  [
    'Decrypt',
    'DeriveSharedSecret',
    'Encrypt',
    'GenerateDataKey',
    'GenerateDataKeyPair',
    'GenerateDataKeyPairWithoutPlaintext',
    'GenerateDataKeyWithoutPlaintext',
    'GenerateMac',
    'ReEncryptFrom',
    'ReEncryptTo',
    'Sign',
    'Verify',
    'VerifyMac',
    'CreateGrant',
    'DescribeKey',
    'GetKeyRotationStatus',
    'GetPublicKey',
    'ListGrants',
    'RetireGrant',
    'RevokeGrant',
  ].map((op) => `kms:${op.toLowerCase()}`),
);

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
      namedDirectly ||= admitsDirectly(g, request.principal);
    }
  }
  const resAllows = grantedBy.length - idAllows;
  if (deny) return decision(false, deniedReason(deny), grantedBy, { deny });

  const service = request.principal.kind === 'service';
  const crossAccount = service || !principalArn || !same(accountOf(principalArn), request.resourceAccount);
  // An identity provider's users have no IAM policies: a role's trust alone lets them in (AssumeRoleWithWebIdentity,
  // AssumeRoleWithSAML: "you don't need AWS credentials", https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html).
  if (request.principal.kind === 'federated') {
    return resAllows > 0 ? decision(true, 'trust allows the identity provider', grantedBy) : decision(false, 'no trust statement admits the identity provider', grantedBy, { missing: 'resource' });
  }
  const isKey = request.resource.includes(':kms:');
  const isTrust = TRUST_ACTIONS.has(lowerCase(request.action));
  // A service is let in by the resource's own policy alone: a role's trust, or a key, bucket, queue or bus policy,
  // said as the one it is (review s57-evaluator m7).
  if (service) {
    const side = isTrust ? 'trust' : isKey ? 'key policy' : 'resource policy';
    return resAllows > 0 ? decision(true, `${side} allows the service`, grantedBy) : decision(false, `no ${side} statement admits the service`, grantedBy, { missing: 'resource' });
  }
  if (isKey && crossAccount && !KMS_ACROSS_ACCOUNTS.has(lowerCase(request.action))) {
    return decision(false, `AWS KMS does not allow ${request.action} from another account`, grantedBy, { notAcrossAccounts: request.action });
  }
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
  // Within the account either side allows, but a resource policy naming only the account leaves it to IAM: the
  // principal's own policy must allow (admitsDirectly).
  if (idAllows > 0 || namedDirectly) return decision(true, 'allowed within the account', grantedBy);
  if (resAllows > 0 && request.identityManagedElsewhere) return decision(true, REASONS['resource policy'].elsewhere, grantedBy);
  if (resAllows > 0) return decision(false, 'the resource policy admits the principal by its account only, which leaves it to IAM: no identity policy of the principal allows it', grantedBy, { missing: 'identity' });
  // "If either the identity-based policy or the resource-based policy within the same account allows the request and the
  // other doesn't, the request is still allowed" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html):
  // a principal whose own policies are outside the org file may be allowed by them.
  return decision(false, 'no identity or resource policy allows it', grantedBy, { missing: 'both', ...(request.identityManagedElsewhere ? { ownPolicyDecides: true as const } : {}) });
}

/** A refusal that rests on the principal's own policies, outside the org file, within its account: not proved. */
export const ownPolicyDecides = (d: Decision): boolean => d.refusedBy !== undefined && 'missing' in d.refusedBy && d.refusedBy.ownPolicyDecides === true;

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
  if ('notAcrossAccounts' in refusedBy) return `AWS KMS refuses ${refusedBy.notAcrossAccounts} from another account, whatever the policies allow`;
  switch (refusedBy.missing) {
    case 'identity':
      return "no Allow on the identity side (the principal's own policies)";
    case 'resource':
      return 'identityElsewhere' in refusedBy
        ? "no Allow on the resource side (its trust, key, bucket, queue or bus policy), which alone refuses it: the principal's own policies are outside the org file"
        : 'no Allow on the resource side (its trust, key, bucket, queue or bus policy)';
    case 'both':
      return 'no Allow on either side';
  }
}
