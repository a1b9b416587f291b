/**
 * IAM's quotas, checked at compile time the way CloudFormation's template
 * limits are: what xstack creates in each account, and what each role it
 * creates carries, resolved with that account's values. Past a quota the
 * compile fails naming it (and, where AWS raises it on request, the org-file
 * setting that declares a raised one); nothing is emitted that IAM would
 * refuse halfway through a rollout.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
 *
 * It counts what a compile leaves in each account, not the way there: CloudFormation "first creates a new resource and
 * then deletes the old resource" on replacement, and deletes removed ones in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-monitor-stack.html), so a
 * role at exactly a count quota refuses a renamed pipeline's policy for a moment; README "IAM quotas" says so
 * (review s21-quota Q2).
 */
import type { CfnTemplate } from '../cfn/template';
import { flatValues, type Compiled, type Resolver } from '../audit/resolve';
import type { Org } from '../org/model';
import type { Stage } from '../stages/model';
import { ADJUSTABLE_IAM_QUOTAS, IAM_QUOTAS_DOC, raiseAdvice, type AdjustableIamQuota } from '../limits';
import { locatedField } from '../org/locate';
import { NO_CLASSES, type AlikeResources } from './alike';

export { ADJUSTABLE_IAM_QUOTAS, IAM_QUOTAS_DOC, type AdjustableIamQuota } from '../limits';

/** Fixed quotas (white space not counted). */
export const FIXED_IAM_QUOTAS = {
  roleInlinePolicyChars: { what: 'characters of all inline policies of a role together', limit: 10240 },
  managedPolicyChars: { what: 'characters of a managed policy', limit: 6144 },
} as const;

/**
 * The org-file field whose role sources a role's trust lists, one pair of ARN patterns a role (or permission set),
 * for the roles whose trust grows with what the file names (review s39-fuzz 5): said with its line, as the field to
 * shorten (fewer, broader role names) unless AWS has raised the quota.
 */
const TRUST_FIELDS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^DeveloperRoleIn/, 'access.developers.assumedBy'],
  [/^MaintainerRoleIn/, 'access.developers.maintainers'],
];
function trustGrownBy(org: Org, logicalId: string): string {
  const field = TRUST_FIELDS.find(([id]) => id.test(logicalId))?.[1];
  return field ? ` (the roles of ${locatedField(org.file, field)})` : '';
}

/** The quotas in force for an org: AWS's defaults, or what its file says AWS raised. */
export const quotaOf = (org: Org, quota: AdjustableIamQuota): number => org.iamQuotas[quota] ?? ADJUSTABLE_IAM_QUOTAS[quota].default;

interface RoleUse {
  stage: string;
  inlineChars: number;
  /** Each inline policy's characters, by where it is written (`<stage>/<logical id>`, and the policy's name). */
  inline: Array<{ where: string; chars: number }>;
  attached: string[];
}

interface AccountUse {
  roles: Map<string, RoleUse>;
  instanceProfiles: number;
  managedPolicies: number;
}

type Resource = { Type: string; Properties?: Record<string, unknown> };
/** A policy's size in an account (`policySizes`); `byAccount` where it reads more of the account than its id's length. */
type Size = ((account: string) => number) & { readonly byAccount?: true };

/**
 * `alike`: each stage's classes of alike resources (alike.ts), where the caller has them. A policy's size in an
 * account reads only its expressions resolved there and counts characters, and every account id has 12 digits: a
 * class's members measure as its first resource does, whose measures they take (each member's names, roles and
 * accounts are still its own); so do the members of a class alike up to its team (alike.ts `measuredAs`). Accounts that hold the same resources alike are counted once (`countedAccounts`).
 */
export function iamQuotaProblems(org: Org, stages: readonly Stage[], templates: ReadonlyMap<string, CfnTemplate>, resolver: Resolver, alike: ReadonlyMap<string, AlikeResources> = new Map()): string[] {
  const counted = countedAccounts(stages, templates, resolver);
  // Where a class's first account is within every quota, so are its others; otherwise (or where a resource's values
  // differ by account after all) every account is counted, each problem named for its own account.
  return (counted && quotaProblems(org, stages, templates, resolver, alike, counted)) ?? quotaProblems(org, stages, templates, resolver, alike)!;
}

/** The accounts counted (`countedAccounts`). */
interface Counted {
  /** A resource's accounts, less those another account of their class stands for. */
  of(accounts: readonly string[]): readonly string[];
  /** Whether a size is the same in each of these accounts as in the account that stands for it. */
  sameSize(accounts: readonly string[], size: Size): boolean;
}

/**
 * The accounts that stand for the others in the count: one of each class of accounts that hold the same resources of
 * every stage and have ids of one form (digits of one length). A resource's accounts are one of a few lists (a
 * stage's targets, or those its Condition holds in), so an account's resources are told by the lists it is in; where
 * the IAM resources' values are the same in every account (quotaProblems checks), each account of a class counts
 * what its first does (1,000 alike pipeline accounts are counted once). Undefined where every class has one account.
 */
function countedAccounts(stages: readonly Stage[], templates: ReadonlyMap<string, CfnTemplate>, resolver: Resolver): Counted | undefined {
  // Account → the positions of the lists it is in.
  const listsOf = new Map<string, string>();
  const seen = new Set<readonly string[]>();
  for (const stage of stages) {
    const resources = templates.get(stage.id)!.Resources;
    for (const logicalId in resources) {
      if (!Object.hasOwn(resources, logicalId)) continue;
      const accounts = resolver.accountsWith(stage.id, logicalId);
      if (seen.has(accounts)) continue;
      seen.add(accounts);
      for (let i = 0; i < accounts.length; i++) listsOf.set(accounts[i], `${listsOf.get(accounts[i]) ?? ''}${seen.size},`);
    }
  }
  // Class → its first account; each other account → its class's first.
  const firsts = new Map<string, string>();
  const firstOf = new Map<string, string>();
  for (const [account, lists] of listsOf) {
    // A size reads an id of digits by its length only (policySizes): any other id is an account of its own.
    const key = `${DIGITS.test(account) ? account.length : account} ${lists}`;
    const first = firsts.get(key);
    if (first === undefined) firsts.set(key, account);
    else firstOf.set(account, first);
  }
  if (firstOf.size === 0) return undefined;
  const counted = new Map<readonly string[], readonly string[]>();
  return {
    of: (accounts) => {
      let list = counted.get(accounts);
      if (!list) counted.set(accounts, (list = accounts.some((a) => firstOf.has(a)) ? accounts.filter((a) => !firstOf.has(a)) : accounts));
      return list;
    },
    sameSize: (accounts, size) => {
      const sizes = new Map<string, number>();
      const sizeIn = (account: string) => sizes.get(account) ?? sizes.set(account, size(account)).get(account)!;
      for (let i = 0; i < accounts.length; i++) {
        const first = firstOf.get(accounts[i]);
        if (first !== undefined && size(accounts[i]) !== sizeIn(first)) return false;
      }
      return true;
    },
  };
}

/** Every quota problem, `counted`: only the accounts it leaves (undefined where that is not the same count, or some account is over a quota). */
function quotaProblems(org: Org, stages: readonly Stage[], templates: ReadonlyMap<string, CfnTemplate>, resolver: Resolver, alike: ReadonlyMap<string, AlikeResources>, counted?: Counted): string[] | undefined {
  const problems: string[] = [];
  const byAccount = new Map<string, AccountUse>();
  const use = (account: string) => byAccount.get(account) ?? byAccount.set(account, { roles: new Map(), instanceProfiles: 0, managedPolicies: 0 }).get(account)!;
  const roleUse = (account: string, name: string, stage: string) => {
    const roles = use(account).roles;
    return roles.get(name) ?? roles.set(name, { stage, inlineChars: 0, inline: [], attached: [] }).get(name)!;
  };
  // Where and detail are written only for a problem: most roles of most accounts are within every quota.
  const adjustable = (quota: AdjustableIamQuota, n: number, where: () => string, detail: () => string) => {
    const limit = quotaOf(org, quota);
    if (n <= limit) return;
    const { what } = ADJUSTABLE_IAM_QUOTAS[quota];
    problems.push(`${where()}: ${n} ${what}${detail()}, over IAM's quota of ${limit} (${IAM_QUOTAS_DOC})${raiseAdvice(quota, limit)}`);
  };
  // `grows`: what takes the characters, written only for a problem (review s58-scale m4: the message did not say).
  const fixedQuota = (quota: keyof typeof FIXED_IAM_QUOTAS, n: number, where: () => string, grows: () => string) => {
    const { what, limit } = FIXED_IAM_QUOTAS[quota];
    if (n > limit) problems.push(`${where()}: ${n} ${what}, over IAM's quota of ${limit} (${IAM_QUOTAS_DOC}); ${grows()}`);
  };
  // Names IAM holds unique in an account whatever their case ("They aren't distinguished by case", same page): a
  // second resource given one fails its create with EntityAlreadyExists. Generated names can meet (pipeline X's
  // trigger role's policy `<prefix>-X-trigger-start-pipeline` is pipeline `X-trigger-start`'s `-pipeline` policy:
  // review s22-names N3); one problem per pair of resources, with the accounts where they meet.
  const holders = new Map<string, Map<string, string>>();
  const clashes = new Map<string, { kind: string; name: string; accounts: string[] }>();
  // Each name's key written once: a stage names its resources alike in most of its accounts, and a key made anew for
  // each account is a new text to hash at every lookup.
  const keysByKind = new Map<string, Map<string, string>>();
  const keyOf = (kind: string, name: string) => {
    let keys = keysByKind.get(kind);
    if (!keys) keysByKind.set(kind, (keys = new Map()));
    let key = keys.get(name);
    if (key === undefined) keys.set(name, (key = `${kind} ${name.toLowerCase()}`));
    return key;
  };
  const claim = (account: string, kind: string, name: unknown, holder: string) => {
    if (typeof name !== 'string') return;
    const names = holders.get(account) ?? holders.set(account, new Map()).get(account)!;
    const key = keyOf(kind, name);
    const first = names.get(key);
    if (first === undefined) names.set(key, holder);
    else if (first !== holder) {
      const pair = `${first} and ${holder}`;
      const clash = clashes.get(pair) ?? clashes.set(pair, { kind, name, accounts: [] }).get(pair)!;
      clash.accounts.push(account);
    }
  };

  for (const stage of stages) {
    const template = templates.get(stage.id)!;
    const compile = (expression: unknown) => resolver.compile(stage.id, expression);
    const sizes = policySizes(resolver, stage.id);
    const classes = alike.get(stage.id) ?? NO_CLASSES;
    // The sizes of a resource's policies (a role's trust, then its inline policies; a policy's document), measured once
    // per class of alike resources: a class's first resource → its policies' sizes.
    const measured = new Map<string, Size[]>();
    const sizesOf = (logicalId: string, documents: () => unknown[]): Size[] => {
      if (classes.members === 0 && classes.teamMembers === 0) return documents().map(sizes);
      const first = classes.measuredAs(logicalId);
      let found = measured.get(first);
      if (!found) measured.set(first, (found = documents().map(sizes)));
      return found;
    };
    // Keys, not entries: no pair made for each resource of each stage.
    const resources = template.Resources as Record<string, Resource>;
    for (const logicalId of Object.keys(resources)) {
      const resource = resources[logicalId];
      const p = resource.Properties ?? {};
      const all = resolver.accountsWith(stage.id, logicalId);
      if (all.length === 0) continue;
      const accounts = counted ? counted.of(all) : all;
      // Some accounts left to another of their class: only where they would count what it does (a policy whose size
      // reads more than the id's length, as one that reads a resource's ARN, is measured in each).
      const alikeIn = (...values: Array<Compiled | Size | undefined>) =>
        accounts === all || values.every((v) => v === undefined || (typeof v === 'function' ? !v.byAccount || counted!.sameSize(all, v) : v.fixed !== undefined));
      // The loops below go by index, not for-of: they run for every account of every IAM resource, mostly before V8 has
      // optimised this function, when each step of an iterator is an object made (about a third of this check's garbage).
      switch (resource.Type) {
        case 'AWS::IAM::Role': {
          const roleName = compile(p.RoleName);
          const [trust, ...inline] = sizesOf(logicalId, () => [p.AssumeRolePolicyDocument, ...((p.Policies as Array<{ PolicyDocument: unknown }> | undefined) ?? []).map((policy) => policy.PolicyDocument)]);
          const attached = ((p.ManagedPolicyArns as unknown[] | undefined) ?? []).map(compile);
          if (!alikeIn(roleName, trust, ...inline, ...attached)) return undefined;
          const holder = `${stage.id}/${logicalId}`;
          for (let i = 0; i < accounts.length; i++) {
            const account = accounts[i];
            const name = roleName.at(account);
            claim(account, 'role', name, holder);
            const role = roleUse(account, String(name), stage.id);
            adjustable('roleTrustPolicyChars', trust(account), () => `${stage.id} @ ${account}: ${logicalId}`, () => trustGrownBy(org, logicalId));
            for (let j = 0; j < inline.length; j++) {
              const chars = inline[j](account);
              role.inlineChars += chars;
              role.inline.push({ where: `${holder} ${shownName((p.Policies as Array<{ PolicyName?: unknown }>)[j].PolicyName)}`, chars });
            }
            for (let j = 0; j < attached.length; j++) role.attached.push(String(attached[j].at(account)));
          }
          break;
        }
        case 'AWS::IAM::Policy': {
          const [size] = sizesOf(logicalId, () => [p.PolicyDocument]);
          const roles = compile(p.Roles ?? []);
          if (!alikeIn(size, roles)) return undefined;
          for (let i = 0; i < accounts.length; i++) {
            const account = accounts[i];
            const chars = size(account);
            const names = flatValues(roles.at(account));
            for (let j = 0; j < names.length; j++) {
              const role = roleUse(account, names[j], stage.id);
              role.inlineChars += chars;
              role.inline.push({ where: `${stage.id}/${logicalId}`, chars });
            }
          }
          break;
        }
        case 'AWS::IAM::ManagedPolicy': {
          const [size] = sizesOf(logicalId, () => [p.PolicyDocument]);
          const roles = compile(p.Roles ?? []);
          const attachment = `${stage.id}/${logicalId}`;
          const policyName = p.ManagedPolicyName === undefined ? undefined : compile(p.ManagedPolicyName);
          if (!alikeIn(size, roles, policyName)) return undefined;
          for (let i = 0; i < accounts.length; i++) {
            const account = accounts[i];
            use(account).managedPolicies++;
            if (policyName) claim(account, 'managed policy', policyName.at(account), attachment);
            fixedQuota('managedPolicyChars', size(account), () => `${stage.id} @ ${account}: ${logicalId}`, () => largestStatements(p.PolicyDocument, sizes, account));
            const names = flatValues(roles.at(account));
            for (let j = 0; j < names.length; j++) roleUse(account, names[j], stage.id).attached.push(attachment);
          }
          break;
        }
        case 'AWS::IAM::InstanceProfile': {
          const profileName = p.InstanceProfileName === undefined ? undefined : compile(p.InstanceProfileName);
          if (!alikeIn(profileName)) return undefined;
          for (let i = 0; i < accounts.length; i++) {
            use(accounts[i]).instanceProfiles++;
            if (profileName) claim(accounts[i], 'instance profile', profileName.at(accounts[i]), `${stage.id}/${logicalId}`);
          }
          break;
        }
      }
    }
  }

  const accountName = new Map(org.accounts.map((a) => [a.id, a.name]));
  for (const [pair, { kind, name, accounts }] of clashes) {
    const shown = accounts.slice(0, 3).map((a) => `${accountName.get(a) ?? a} (${a})`).join(', ');
    const more = accounts.length > 3 ? ` and ${accounts.length - 3} more` : '';
    problems.push(
      `${pair} are both the ${kind} ${name} in account ${shown}${more}: IAM names are unique in an account whatever their case (${IAM_QUOTAS_DOC}), so the second would fail its create; ` +
        'rename one of the pipelines whose names make them meet',
    );
  }
  for (const [account, u] of byAccount) {
    const where = () => `account ${accountName.get(account) ?? account} (${account})`;
    const others = () => ' made by xstack, beside any the account already has';
    adjustable('rolesPerAccount', u.roles.size, where, others);
    adjustable('instanceProfilesPerAccount', u.instanceProfiles, where, others);
    adjustable('customerManagedPoliciesPerAccount', u.managedPolicies, where, others);
    u.roles.forEach((role, name) => {
      adjustable('managedPoliciesPerRole', role.attached.length, () => `${where()}: role ${name}`, () => ` (${role.attached.join(', ')})`);
      fixedQuota('roleInlinePolicyChars', role.inlineChars, () => `${where()}: role ${name}`, () => `its inline policies: ${largestFirst(role.inline.map((i) => ({ name: i.where, chars: i.chars })))}`);
    });
  }
  // A problem of a class's first account is its others' too: counted again, account by account, to name them.
  return counted && problems.length > 0 ? undefined : problems;
}

/** A name as a template writes it: the text, or its expression as JSON. */
const shownName = (name: unknown) => (typeof name === 'string' ? name : JSON.stringify(name));

/** Parts with their characters, largest first: the first three, and how many more (numbers as the quota message writes them). */
function largestFirst(parts: Array<{ name: string; chars: number }>): string {
  const sorted = [...parts].sort((a, b) => b.chars - a.chars);
  const shown = sorted.slice(0, 3).map((p) => `${p.name} (${p.chars} characters)`).join(', ');
  return sorted.length > 3 ? `${shown} and ${sorted.length - 3} more` : shown;
}

/** A statement's Sid, or that of the statement a condition keeps (Fn::If), where it has one. */
function sidOf(statement: unknown): string | undefined {
  const branches = (statement as { 'Fn::If'?: unknown } | null)?.['Fn::If'];
  const kept = Array.isArray(branches) ? [branches[1], branches[2]].find((b) => (b as { Sid?: unknown } | null)?.Sid !== undefined) : statement;
  const sid = (kept as { Sid?: unknown } | null | undefined)?.Sid;
  return typeof sid === 'string' ? sid : undefined;
}

/**
 * What takes a policy's characters in an account: its largest statements, by Sid, each measured as the policy is
 * (`sizes`, policySizes: IAM's count, with the account's values); a statement a condition leaves out counts none.
 * What makes them grow is the org file's: its accounts, repositories and roles.
 */
function largestStatements(document: unknown, sizes: (part: unknown) => Size, account: string): string {
  const statements = ([] as unknown[]).concat((document as { Statement?: unknown } | undefined)?.Statement ?? []);
  const parts = statements.flatMap((statement, i) => {
    const chars = sizes(statement)(account);
    return chars === 0 ? [] : [{ name: sidOf(statement) ?? `statement ${i + 1}`, chars }];
  });
  return `its largest statements: ${largestFirst(parts)}`;
}

/**
 * A policy's size as IAM counts it: its JSON without white space, with an
 * account's values in place of the template's expressions. Each document is
 * walked once: what no account changes is counted then, and only the
 * expressions that differ by account are resolved per account. Those that
 * read nothing of an account but its id (`readsOnlyAccountId`) are resolved
 * once per id length: an id of digits changes their JSON only by its length
 * (JSON escapes no digit), and the org file's ids are all 12 digits.
 */
export function policySizes(resolver: Resolver, stageId: string): (document: unknown) => Size {
  const sizeOf = (document: unknown): Size => {
    const varying: Compiled[] = [];
    const byOwnId: Compiled[] = [];
    // A part kept in some accounts only whose branches are objects (a statement: Fn::If [condition, statement,
    // AWS::NoValue]): each branch measured as the document's own parts are, where its condition sends it. The resolver
    // writes an object as JSON text, whose quotes would count escaped (review s59-second-read m2: 14,283 for 12,156).
    const branched: Array<(account: string) => number> = [];
    const fixedChars = fixedSize(document, (expression) => {
      const branches = (expression as { 'Fn::If'?: [string, unknown, unknown] })['Fn::If'];
      if (branches && (isPlainObject(branches[1]) || isPlainObject(branches[2]))) {
        const [condition, yes, no] = branches;
        const [ifYes, ifNo] = [yes, no].map((b) => ((b as { Ref?: unknown } | null)?.Ref === 'AWS::NoValue' ? () => 0 : sizeOf(b)));
        branched.push((account) => (resolver.holds(stageId, condition, account) ? ifYes(account) : ifNo(account)));
        return 0;
      }
      const c = resolver.compile(stageId, expression);
      if (c.fixed !== undefined) return jsonLength(c.fixed);
      (readsOnlyAccountId(expression) ? byOwnId : varying).push(c);
      return 0;
    });
    // Id length → the characters of the expressions in byOwnId, for an id of digits; any other id is measured as itself.
    const byIdLength = new Map<number, number>();
    const size = (account: string) => {
      let chars = fixedChars;
      if (byOwnId.length > 0) {
        const digits = DIGITS.test(account);
        let own = digits ? byIdLength.get(account.length) : undefined;
        if (own === undefined) {
          own = 0;
          for (let i = 0; i < byOwnId.length; i++) own += jsonLength(byOwnId[i].at(account));
          if (digits) byIdLength.set(account.length, own);
        }
        chars += own;
      }
      for (let i = 0; i < varying.length; i++) chars += jsonLength(varying[i].at(account));
      for (let i = 0; i < branched.length; i++) chars += branched[i](account);
      return chars;
    };
    return varying.length > 0 || branched.length > 0 ? Object.assign(size, { byAccount: true as const }) : size;
  };
  return sizeOf;
}

/** An object that is no intrinsic function (a statement, a condition block). */
const isPlainObject = (node: unknown): boolean => node !== null && typeof node === 'object' && !Array.isArray(node) && !isIntrinsic(node);

const DIGITS = /^[0-9]+$/;
/** The references of an Fn::Sub text (`${name}`). */
const SUB_REFERENCE = /\$\{([^}]*)\}/g;
/** The pseudo parameters the resolver reads as the account's id, or as the org's one value (its partition, its Region). */
const ACCOUNT_ID_AND_ORG_VALUES: ReadonlySet<string> = new Set(['AWS::AccountId', 'AWS::Partition', 'AWS::Region']);

/** Whether an expression reads nothing of an account but its id: `Ref: AWS::AccountId`, or a Sub text of it, the partition and the Region. */
function readsOnlyAccountId(expression: object): boolean {
  const e = expression as Record<string, unknown>;
  let only: string | undefined;
  for (const k in e) {
    if (!Object.hasOwn(e, k)) continue;
    if (only !== undefined) return false;
    only = k;
  }
  if (only === 'Ref') return e.Ref === 'AWS::AccountId';
  const text = only === 'Fn::Sub' ? e['Fn::Sub'] : undefined;
  if (typeof text !== 'string') return false;
  for (const [, name] of text.matchAll(SUB_REFERENCE)) if (!ACCOUNT_ID_AND_ORG_VALUES.has(name)) return false;
  return true;
}

/** The length of `JSON.stringify(value)`, strings and lists counted without writing them: a 1,000-account stage counts each role's values in each account. */
export function jsonLength(value: unknown): number {
  if (typeof value === 'string') return quotedLength(value);
  if (!Array.isArray(value)) return JSON.stringify(value).length;
  let length = 2 + Math.max(0, value.length - 1);
  // An item JSON cannot write (undefined, a hole) is written null.
  for (let i = 0; i < value.length; i++) length += value[i] === undefined ? 4 : jsonLength(value[i]);
  return length;
}

/** A character JSON writes escaped, or a surrogate (a lone one is escaped, a pair is not: counted by the loop). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * The length of a string as JSON writes it: in quotes, `"` and `\\` and the
 * short-escaped controls as two characters, other controls and lone
 * surrogates as six (\\uXXXX). https://tc39.es/ecma262/#sec-quotejsonstring
 */
function quotedLength(text: string): number {
  // Most texts hold nothing JSON escapes: told by one scan of the pattern, not a step per character in this function.
  if (!NEEDS_ESCAPE.test(text)) return text.length + 2;
  let length = text.length + 2;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && (c < 0xd800 || c > 0xdfff)) continue;
    if (c === 0x22 || c === 0x5c || c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d) length += 1;
    else if (c < 0x20) length += 5;
    else if (c <= 0xdbff && i + 1 < text.length && text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) <= 0xdfff) i++; // a pair, written as it is
    else length += 5;
  }
  return length;
}


const isIntrinsic = (node: unknown): node is Record<string, unknown> => {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return false;
  const keys = Object.keys(node);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
};

/**
 * A list with an item `Fn::If [<condition>, item, AWS::NoValue]` (account-switch.ts), whose items all resolve to
 * values rather than objects (the resolver writes an object as its JSON text, which would count its quotes escaped).
 */
function isSwitchedList(list: readonly unknown[]): boolean {
  let switched = false;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (typeof item === 'string') continue;
    if (!isIntrinsic(item)) return false;
    const branches = item['Fn::If'] as [string, unknown, unknown] | undefined;
    if (!branches) continue;
    if (typeof branches[1] !== 'string' && !isIntrinsic(branches[1])) return false;
    if ((branches[2] as { Ref?: string } | null)?.Ref !== 'AWS::NoValue') return false;
    switched = true;
  }
  return switched;
}

/** The characters of a node's JSON but for its expressions (`Ref`, `Fn::...`), which `expressionSize` counts. */
function fixedSize(node: unknown, expressionSize: (expression: object) => number): number {
  if (node === null || node === undefined) return 0;
  if (typeof node !== 'object') return jsonLength(node);
  // Loops, not reduce: this runs on every node of every policy of every stage. A hole counts 0, as reduce skipping it did.
  if (Array.isArray(node)) {
    // Items kept in some accounts only are absent from the list elsewhere: the list resolved as one drops them, where
    // each item counted alone would count an absent one as a value (a pipeline account's key policy names the source
    // accounts feeding it out of every source account's item, which would count each of the others).
    if (isSwitchedList(node)) return expressionSize(node);
    let chars = 2 + Math.max(0, node.length - 1);
    for (let i = 0; i < node.length; i++) chars += fixedSize(node[i], expressionSize);
    return chars;
  }
  // Own keys read with for-in (Object.keys's order) instead of a list of them made for every object.
  const o = node as Record<string, unknown>;
  let only: string | undefined;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    if (only !== undefined) {
      only = undefined;
      break;
    }
    only = k;
  }
  if (only !== undefined && (only === 'Ref' || only.startsWith('Fn::'))) return expressionSize(o);
  let chars = 2;
  let count = 0;
  for (const k in o) if (Object.hasOwn(o, k)) chars += (count++ > 0 ? 1 : 0) + quotedLength(k) + 1 + fixedSize(o[k], expressionSize);
  return chars;
}
