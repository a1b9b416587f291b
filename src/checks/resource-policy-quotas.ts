/**
 * The size limits of the resource-based policies xstack writes, checked at
 * compile time as IAM's are (iam-quotas.ts): each VPC endpoint policy, KMS key
 * policy, S3 bucket policy, event bus policy and SQS queue policy of every stage, measured as
 * the stack of each target account receives it (that account's conditions,
 * pseudo parameters and names resolved, with the same measure as IAM's
 * documents). Past a limit the compile fails naming the stage, the account,
 * the resource, the size, the limit and its page, and what the policy grows
 * with; nothing is emitted that the service would refuse halfway through a
 * rollout. The limits and their pages: RESOURCE_POLICY_LIMITS (src/limits.ts).
 *
 * The measure is the compact JSON (no white space), and a policy may take
 * RESOURCE_POLICY_SHARE of its limit: no page says how CloudFormation writes
 * the document it sends, and the endpoint, key and bucket limits count white
 * space or bytes (see RESOURCE_POLICY_SHARE; README, "verify once").
 */
import type { CfnTemplate } from '../cfn/template';
import { flatValues, type Resolver } from '../audit/resolve';
import { RESOURCE_POLICY_LIMITS, RESOURCE_POLICY_SHARE, type ResourcePolicyKind } from '../limits';
import type { Org } from '../org/model';
import type { Stage } from '../stages/model';
import { asList, awsPrincipals } from './documents';
import { policySizes } from './iam-quotas';
import { grouped } from '../count';

/** The event bus policy size in force: what the org file says AWS raised, else EventBridge's default. */
export const busPolicyCharsOf = (org: Org): number => org.eventBridgeQuotas.busPolicyChars ?? RESOURCE_POLICY_LIMITS['event-bus'].limit;

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** A resource's policy as its service receives it, or undefined for a resource without one. */
function resourcePolicy(resource: Resource): { kind: ResourcePolicyKind; document: unknown } | undefined {
  const p = resource.Properties ?? {};
  switch (resource.Type) {
    case 'AWS::EC2::VPCEndpoint':
      // Without one AWS attaches its default full-access policy, which is small.
      return p.PolicyDocument === undefined ? undefined : { kind: 'endpoint', document: p.PolicyDocument };
    case 'AWS::KMS::Key':
      return p.KeyPolicy === undefined ? undefined : { kind: 'key', document: p.KeyPolicy };
    case 'AWS::S3::BucketPolicy':
      return { kind: 'bucket', document: p.PolicyDocument };
    case 'AWS::SQS::QueuePolicy':
      return { kind: 'queue', document: p.PolicyDocument };
    case 'AWS::Events::EventBusPolicy':
      // The bus keeps one policy: this statement under its StatementId, beside any others the bus has.
      return p.Statement === undefined ? undefined : { kind: 'event-bus', document: { Version: '2012-10-17', Statement: [{ Sid: p.StatementId, ...(p.Statement as object) }] } };
  }
  return undefined;
}

export function resourcePolicyQuotaProblems(org: Org, stages: readonly Stage[], templates: ReadonlyMap<string, CfnTemplate>, resolver: Resolver): string[] {
  const problems: string[] = [];
  const accountName = new Map(org.accounts.map((a) => [a.id, a.name]));
  for (const stage of stages) {
    const resources = templates.get(stage.id)!.Resources as Record<string, Resource>;
    let sizes: ReturnType<typeof policySizes> | undefined;
    for (const logicalId of Object.keys(resources)) {
      const found = resourcePolicy(resources[logicalId]);
      if (!found) continue;
      const accounts = resolver.accountsWith(stage.id, logicalId);
      if (accounts.length === 0) continue;
      for (const [account, empty] of emptyElements(found.document, accounts, (condition) => resolver.accountsWhere(stage.id, condition))) {
        problems.push(`${stage.id} @ ${accountName.get(account) ?? account} (${account}): ${logicalId}: ${empty}`);
      }
      sizes ??= policySizes(resolver, stage.id);
      const size = sizes(found.document);
      const limit = found.kind === 'event-bus' ? busPolicyCharsOf(org) : RESOURCE_POLICY_LIMITS[found.kind].limit;
      const allowed = Math.floor(limit * RESOURCE_POLICY_SHARE);
      for (let i = 0; i < accounts.length; i++) {
        const n = size(accounts[i]);
        if (n <= allowed) continue;
        const account = accounts[i];
        problems.push(
          `${stage.id} @ ${accountName.get(account) ?? account} (${account}): ${logicalId}: ${sizeText(org, found.kind, n, limit, allowed)}; ` +
            growth(org, found.kind, named(resolver, stage.id, account, found.document), account),
        );
      }
    }
  }
  return problems;
}

/**
 * The elements of a policy that name nothing in some account it is deployed in: a Principal with no principal, a
 * condition key with no value, an empty Action or Resource list, as its Fn::If items (kept where their condition
 * holds, AWS::NoValue elsewhere) leave them there. A policy must name its principal ("You must use the Principal
 * element in resource-based policies",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html), whose grammar is `"*"`
 * or a map of entries (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html); the service
 * refuses the rest as malformed, in that account's stack alone, halfway through a rollout (review s59-second-read B1).
 * Read once for the document, as the sets of accounts each part is in (`holdsIn`: a condition's accounts), not
 * account by account: at 250 teams a key policy's principal list has an item per team. Each (account, problem).
 */
export function emptyElements(document: unknown, accounts: readonly string[], holdsIn: (condition: string) => readonly string[]): Array<[string, string]> {
  const all: ReadonlySet<string> = new Set(accounts);
  const none: ReadonlySet<string> = new Set();
  const conditions = new Map<string, ReadonlySet<string>>();
  const where = (condition: string) => conditions.get(condition) ?? conditions.set(condition, new Set(holdsIn(condition))).get(condition)!;
  const union = (sets: Iterable<ReadonlySet<string>>): ReadonlySet<string> => {
    let out: Set<string> | undefined;
    for (const set of sets) {
      if (set.size === all.size) return all;
      for (const a of set) (out ??= new Set()).add(a);
    }
    return out ?? none;
  };
  // The accounts where a value is there (not AWS::NoValue, and a list not empty).
  const presentIn = (value: unknown): ReadonlySet<string> => {
    if (Array.isArray(value)) return union(value.map(presentIn));
    if (value === null || typeof value !== 'object') return all;
    const o = value as Record<string, unknown>;
    if (o.Ref === 'AWS::NoValue') return none;
    const branches = o['Fn::If'] as [string, unknown, unknown] | undefined;
    if (!branches) return all;
    const holds = where(branches[0]);
    const yes = presentIn(branches[1]);
    const no = presentIn(branches[2]);
    // Most items are `Fn::If [accounts, item, AWS::NoValue]`: there where the condition holds, no account read beside.
    const kept = yes === all ? holds : new Set([...holds].filter((a) => yes.has(a)));
    return no.size === 0 ? kept : union([kept, new Set([...no].filter((a) => !holds.has(a)))]);
  };
  // A statement's own value where it is kept (its Fn::If's branch there), with the accounts it is kept in.
  const statementsIn = (item: unknown, kept: ReadonlySet<string>): Array<[Record<string, unknown>, ReadonlySet<string>]> => {
    const branches = (item as { 'Fn::If'?: [string, unknown, unknown] } | null)?.['Fn::If'];
    if (!branches) return item !== null && typeof item === 'object' && !Array.isArray(item) && (item as { Ref?: unknown }).Ref !== 'AWS::NoValue' ? [[item as Record<string, unknown>, kept]] : [];
    const holds = where(branches[0]);
    return [...statementsIn(branches[1], new Set([...kept].filter((a) => holds.has(a)))), ...statementsIn(branches[2], new Set([...kept].filter((a) => !holds.has(a))))];
  };
  const out: Array<[string, string]> = [];
  const missing = (kept: ReadonlySet<string>, value: unknown, text: string) => {
    if (kept.size === 0) return;
    const there = presentIn(value);
    for (const a of kept) if (!there.has(a)) out.push([a, text]);
  };
  const list = (document as { Statement?: unknown } | null)?.Statement;
  for (const item of Array.isArray(list) ? list : list ? [list] : []) {
    for (const [s, kept] of statementsIn(item, all)) {
      const name = `statement ${typeof s.Sid === 'string' ? s.Sid : '(no Sid)'}`;
      if (s.Principal !== undefined && s.Principal !== '*') missing(kept, Object.values(s.Principal as object), `${name} names no principal here; expected one, or the statement left out where it has none`);
      if (s.Action !== undefined) missing(kept, s.Action, `${name} names no action here`);
      if (s.Resource !== undefined) missing(kept, s.Resource, `${name} names no resource here`);
      for (const [operator, keys] of Object.entries((s.Condition ?? {}) as Record<string, Record<string, unknown>>)) {
        for (const [key, value] of Object.entries(keys)) missing(kept, value, `${name}: condition ${operator} ${key} has no value here`);
      }
    }
  }
  return out;
}

const sourceAccounts = (n: number) => `${grouped(n)} source account${n === 1 ? '' : 's'}`;

function sizeText(org: Org, kind: ResourcePolicyKind, n: number, limit: number, allowed: number): string {
  const { what, unit, terms, doc } = RESOURCE_POLICY_LIMITS[kind];
  const declared = kind === 'event-bus' && org.eventBridgeQuotas.busPolicyChars !== undefined;
  const whose = declared ? `the ${what} size the org file declares (eventBridgeQuotas.busPolicyChars), ${grouped(limit)} ${unit} (${doc})` : `the ${what} limit of ${grouped(limit)} ${unit} (${terms}; ${doc})`;
  return (
    `${what} of ${grouped(n)} ${unit} as compact JSON, over ${grouped(allowed)}: ${Math.round(RESOURCE_POLICY_SHARE * 100)}% of ${whose}, ` +
    'the rest kept for the white space CloudFormation may send, which no page states'
  );
}

/** What a policy names in an account: its distinct principal ARNs, resource ARNs and condition values. */
interface Named {
  principals: Set<string>;
  resources: Set<string>;
  conditionValues: Set<string>;
}

/** Read only for a policy over its limit: each statement resolved in the account (a statement kept in some accounts only is read there). */
function named(resolver: Resolver, stageId: string, account: string, document: unknown): Named {
  const out: Named = { principals: new Set(), resources: new Set(), conditionValues: new Set() };
  const values = (expression: unknown) => flatValues(resolver.resolve(stageId, account, expression));
  for (let statement of asList((document as { Statement?: unknown }).Statement)) {
    const branches = (statement as { 'Fn::If'?: [string, unknown, unknown] })['Fn::If'];
    if (branches) statement = resolver.holds(stageId, branches[0], account) ? branches[1] : branches[2];
    if (!statement || typeof statement !== 'object' || 'Ref' in statement) continue;
    const s = statement as { Principal?: unknown; Resource?: unknown; Condition?: Record<string, Record<string, unknown>> };
    for (const p of awsPrincipals(s.Principal)) for (const v of values(p)) out.principals.add(v);
    for (const r of asList(s.Resource)) for (const v of values(r)) out.resources.add(v);
    for (const byKey of Object.values(s.Condition ?? {})) for (const v of Object.values(byKey)) for (const x of values(v)) out.conditionValues.add(x);
  }
  return out;
}

/** The account of an ARN (its fifth field), or undefined for `*` (in an ARN too: `arn:…:iam::*:role/…`) and other values. */
const accountOf = (value: string): string | undefined => {
  const account = value.startsWith('arn:') ? value.split(':')[4] : value;
  return /^\d{12}$/.test(account) ? account : undefined;
};

/** Account ids named by these values, but `own`. */
function otherAccounts(values: Iterable<string>, own: string): Set<string> {
  const out = new Set<string>();
  for (const v of values) {
    const a = accountOf(v);
    if (a && a !== own) out.add(a);
  }
  return out;
}

function growth(org: Org, kind: ResourcePolicyKind, n: Named, account: string): string {
  const others = otherAccounts([...n.principals, ...n.conditionValues], account).size;
  switch (kind) {
    case 'endpoint': {
      const services = new Map<string, number>();
      for (const r of n.resources) {
        const service = r.startsWith('arn:') ? r.split(':')[2] : r;
        services.set(service, (services.get(service) ?? 0) + 1);
      }
      const byService = [...services].map(([s, k]) => `${s}: ${grouped(k)}`).join(', ');
      // No other account in its conditions: the CI reader roles named by the organization (templates/ci-network.ts
      // ciEndpointPrincipals), so only the Resource list grows.
      const byOrganization = otherAccounts(n.conditionValues, account).size === 0;
      return (
        `it lists ${grouped(n.resources.size)} resources (${byService}) of ${grouped(otherAccounts(n.resources, account).size)} accounts, and ${grouped(n.conditionValues.size)} condition values; ` +
        (byOrganization
          ? "it grows with the source accounts holding the repositories the CI network may pull from (each one's codecommit:<region>:<account>:*; the CI reader roles are named by the organization), about 415 of them at most in us-east-1, fewer with a longer Region name"
          : 'it grows with the repositories the CI network may pull from and the source accounts holding them (each source account\'s id and CI reader role)')
      );
    }
    case 'key':
      return (
        `it names ${grouped(n.principals.size)} principals and ${grouped(n.conditionValues.size)} condition values: ${sourceAccounts(others)} feeding this account (root and source role each), ` +
        `${grouped(org.keyAdministratorRoles.length)} key administrators (keyAdministratorRoles, beside the StackSet execution role) and ` +
        `${grouped(org.deploymentTargets.instanceRoles?.length ?? 1)} deployment-target roles (deploymentTargets.instanceRoles); each of them makes it grow`
      );
    case 'bucket':
      return `it names ${grouped(n.principals.size)} principals: ${sourceAccounts(others)} feeding this account, each with its root and source role in every statement that admits them; it grows with each source account`;
    case 'queue':
      // src/cfn/dead-letter.ts: the rules by their name pattern, one statement whatever their number.
      return `it names ${grouped(n.conditionValues.size)} condition values; the queue policies xstack writes name their rules by a name pattern (src/cfn/dead-letter.ts) and grow with neither rules nor accounts: a change there made this one grow`;
    case 'event-bus': {
      const raise = org.eventBridgeQuotas.busPolicyChars === undefined ? '; AWS raises the size on request (Service Quotas: Amazon EventBridge, Event bus policy size): then set eventBridgeQuotas.busPolicyChars in the org file' : '';
      return (
        `it names ${sourceAccounts(others)} feeding this account (root and event forwarder role each), and statements the account's default bus already has count as well; ` +
        `it grows with each source account${raise}`
      );
    }
  }
}
