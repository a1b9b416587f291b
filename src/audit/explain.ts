/**
 * `xstack explain`: a question about the compiled policies answered offline,
 * by the evaluator the access proof uses (evaluate.ts), so the answer can
 * never disagree with the report's access matrix. Any of principal, action
 * and resource may be left out or given as a pattern (`*`, `?`); every
 * matching request is answered, allowed or refused, with the statements on
 * both sides that decide it. Beside the templates' statements it reads the
 * StackSet execution role's policy as `xstack bootstrap` writes it in each
 * account (src/deploy/execution-policy.ts), labelled `bootstrap: <Sid>`.
 */
import { anotherName, sampleOf } from './samples';
import type { CompiledOrg } from '../compile';
import { describeRefusal, evaluate, GrantIndex, matches, accountOf, type Decision, type Request } from './evaluate';
import { principalName, type PrincipalRef, type ResolvedStatement } from './grants';
import { analyseAccess, AWS_OWNED_ACCOUNT, type AccessAnalysis, type AccessPath } from './paths';
import { AWS_OWNED_BUCKETS, AWS_OWNED_DOCUMENTS } from '../iam/grants';
import type { Org } from '../org/model';
import { classesOf, contextFor, orgResources, type OrgResource } from './reach';
import { renderTemplate, type CfnTemplate } from '../cfn/template';
import { XstackError } from '../errors';
import { startProof, stillCertain, TOKEN_MARK } from './symbolic';
import { tokeniseLists } from './classes';
import { executionPolicy, keyActions, type ExecutionStatement } from '../deploy/execution-policy';
import { bootstrapGrants } from './execution-reach';
import { FEATURE_BRANCH, namesBranch, REFERENCES } from '../services/needs';
import { closest } from '../org/schema';

export interface ExplainQuery {
  principal?: string;
  action?: string;
  resource?: string;
  /** Condition keys of the request (`codecommit:References=refs/heads/main`); without them, each request is asked under the conditions its statements name. */
  context?: Record<string, string[]>;
}

export interface Answer {
  principal: string;
  action: string;
  resource: string;
  allowed: boolean;
  reason: string;
  /** The access path of the report this request belongs to, if any. */
  path?: string;
  context: Record<string, string[]>;
  identitySide: string[];
  resourceSide: string[];
  /** Why it is refused, citing the Deny or the side without an Allow. */
  refusedBy: string;
  /**
   * Not allowed by any statement of the templates, nor refused by one, for a principal whose own policies are outside
   * the org file, within its own account: AWS decides by those policies ("If either the identity-based policy or the
   * resource-based policy within the same account allows the request ... the request is still allowed",
   * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html).
   */
  undecided?: true;
  /** Proved once for these accounts (an account class); the principal and resource hold `{account}` for each. */
  accounts?: readonly string[];
  /**
   * The request's branch (`codecommit:References`) is one explain chose: the action names a branch and the question
   * named none, so it was asked for each branch the statements or protectedBranches name, and for another.
   */
  branchChosen?: 'named' | 'another';
  /**
   * The model's resource the question's ARN was read as: one whose id AWS makes when it creates it (a KMS key's,
   * `key/{pipeline-foundation/ArtifactKey}` in the model), which the compiled templates cannot know (generatedIdReading).
   */
  readAs?: string;
}

const label = (g: ResolvedStatement) => `${g.stage}: ${g.policy}`;
const UNDECIDED = "no statement of the templates allows or refuses it: the principal's own policies, outside the org file, decide (within its own account either side's Allow is enough)";
/** The execution role bootstrap made: its statements are read, but bootstrap detaches no policy it did not attach (bootstrap.ts ensureExecutionPolicies). */
const UNDECIDED_BOOTSTRAPPED =
  "no statement of the templates, nor of the execution policy `xstack bootstrap` writes, allows or refuses it: any other policy attached to the role, outside the org file, decides (bootstrap detaches none but its own; within its own account either side's Allow is enough)";
/** An answer's `undecided`: refused only for want of an Allow on the identity side, which is the principal's own, outside the model. */
const undecided = (request: Request, d: Decision): boolean =>
  !d.allowed && request.identityManagedElsewhere === true && d.refusedBy !== undefined && 'missing' in d.refusedBy && (d.refusedBy.missing === 'both' || d.refusedBy.missing === 'identity');
/**
 * A request decided, and whether it is undecided. An execution role bootstrap writes the policy of is asked with that
 * policy as its identity side: a request it allows only if some other policy of the role did (the resource side admits
 * it, and bootstrap's policy does not grant it) is undecided, as the matrix's undecided paths are (paths.ts
 * `outsideDecides`; review s36-diff m1: explain answered ALLOWED for the role's kms:CancelKeyDeletion). Any other
 * principal outside the templates is asked as the proof asks it, its own side taken as allowing.
 */
function decide(index: GrantIndex, request: Request, organizationId: string | undefined, bootstrapped: ReadonlySet<string>): { d: Decision; open: boolean; undecidedBy: string } {
  if (!request.outsideOrg) return decideAs(index, request, organizationId, bootstrapped);
  // An account the org file does not name may be in the organization or not (an organization has other accounts):
  // asked both ways, and where an org-scoped condition makes them differ, undecided (review s37-diff m2).
  const outside = decideAs(index, request, organizationId, bootstrapped);
  const inside = decideAs(index, { ...request, outsideOrg: undefined }, organizationId, bootstrapped);
  if (inside.d.allowed === outside.d.allowed) return outside;
  const ids = [...request.outsideOrg].sort();
  const allowing = inside.d.allowed ? inside : outside;
  return {
    d: { ...allowing.d, allowed: false },
    open: true,
    undecidedBy: `whether account${ids.length > 1 ? 's' : ''} ${ids.join(', ')}, which the org file does not name, ${ids.length > 1 ? 'are' : 'is'} in the organization decides it: an org-scoped condition (aws:PrincipalOrgID, aws:ResourceOrgID) allows it only if ${ids.length > 1 ? 'they are' : 'it is'}${inside.d.allowed ? '' : ' not'}`,
  };
}

function decideAs(index: GrantIndex, request: Request, organizationId: string | undefined, bootstrapped: ReadonlySet<string>): { d: Decision; open: boolean; undecidedBy: string } {
  const isBootstrapped = request.principal.kind === 'aws' && bootstrapped.has(request.principal.arn);
  if (isBootstrapped && request.identityManagedElsewhere) {
    const known = evaluate(index, { ...request, identityManagedElsewhere: false }, organizationId);
    if (known.allowed) return { d: known, open: false, undecidedBy: '' };
    const d = evaluate(index, request, organizationId);
    if (d.allowed) return { d: { ...known, grantedBy: d.grantedBy }, open: true, undecidedBy: UNDECIDED_BY_BOOTSTRAP };
    return { d, open: undecided(request, d), undecidedBy: UNDECIDED_BOOTSTRAPPED };
  }
  const d = evaluate(index, request, organizationId);
  return { d, open: undecided(request, d), undecidedBy: isBootstrapped ? UNDECIDED_BOOTSTRAPPED : UNDECIDED };
}
/** The execution role, where the resource side admits what bootstrap's policy does not grant. */
const UNDECIDED_BY_BOOTSTRAP =
  "the resource side admits it, and the execution policy `xstack bootstrap` writes does not grant it: any other policy attached to the role, outside the org file, decides (bootstrap detaches none but its own)";
/** The account ids a question names: in its principal, its resource and its context's values. */
const idsIn = (query: ExplainQuery): string[] =>
  [...`${query.principal ?? ''} ${query.resource ?? ''} ${Object.values(query.context ?? {}).flat().join(' ')}`.matchAll(/\d{12}/g)].map((m) => m[0]);
const TOKEN = new RegExp(`${TOKEN_MARK}[\\uE100-\\uEFFF]`, 'g');
/** A query value matches a candidate either way round: the query may be a pattern, and so may the candidate (`AWSReservedSSO_Developer_*`). */
const fitsEither = (query: string | undefined, candidate: string, caseInsensitive = false) =>
  query === undefined || matches(query, candidate, caseInsensitive) || matches(candidate, query, caseInsensitive);

export function explain(compiled: CompiledOrg, query: ExplainQuery): Answer[] {
  return explainer(compiled)(query);
}

/**
 * What a question is asked against: an analysis, its statements and the execution role's (bootstrap) indexed as the
 * proof indexes them, the org's resources.
 */
interface Ground {
  access: AccessAnalysis;
  grants: readonly ResolvedStatement[];
  index: GrantIndex;
  resources: readonly OrgResource[];
  orgRoles: ReadonlySet<string>;
  /** The execution roles whose policy bootstrap writes (bootstrapGrants). */
  bootstrapped: ReadonlySet<string>;
  classes: ReturnType<typeof classesOf>;
}

function ground(compiled: CompiledOrg, access: AccessAnalysis, templates: ReadonlyMap<string, CfnTemplate>, execution: readonly ExecutionStatement[]): Ground {
  const classes = classesOf(access);
  const resources = orgResources(compiled.org, compiled.stages, templates, classes);
  const bootstrap = bootstrapGrants(compiled.org, compiled.stages.flatMap((s) => s.targets.map((a) => a.id)), execution, classes);
  const grants = [...access.grants, ...bootstrap];
  return {
    access,
    grants,
    // The bootstrap statements added to the proof's index, not the proof's indexed again (as reach.ts does).
    index: bootstrap.length > 0 ? new GrantIndex(bootstrap, access.index) : access.index,
    resources,
    orgRoles: new Set(resources.filter((r) => r.kind === 'role').map((r) => r.arn)),
    bootstrapped: new Set(bootstrap.map((g) => g.attachedTo!)),
    classes,
  };
}

/** The statements bootstrap would write, or none where it writes none (service-managed) or cannot derive them (the report says why). */
function bootstrapStatements(compiled: CompiledOrg): ExecutionStatement[] {
  if (compiled.org.stackSets.permissionModel === 'SERVICE_MANAGED') return [];
  try {
    return executionPolicy(compiled);
  } catch (error) {
    if (error instanceof XstackError) return [];
    throw error;
  }
}

/**
 * The compiled org made ready for many questions. A question naming two
 * accounts of one class (a member's role, another member's key) cannot be
 * asked of the class's proof, where one token stands for one account at a
 * time: it is asked of the same analysis made account by account.
 */
export function explainer(compiled: CompiledOrg): (query: ExplainQuery) => Answer[] {
  const templates = new Map(compiled.stages.map((s) => [s.id, renderTemplate(s.definition)]));
  const execution = bootstrapStatements(compiled);
  const proved = ground(compiled, compiled.access, templates, execution);
  let flat: Ground | undefined;
  return (query) => {
    const members = new Set(idsIn(query).filter((id) => proved.classes.has(id)));
    // As the compile asked it: the execution role's key administration, of the key actions bootstrap grants it.
    const again = () => analyseAccess(compiled.org, compiled.stages, templates, { byClass: false, ...(execution.length > 0 ? { executionKeyActions: keyActions(execution) } : {}) });
    const onFlat = () => {
      const g = (flat ??= ground(compiled, again(), templates, execution));
      startProof(new Map([...g.classes.values()].map((c) => [c.token, c])).values());
      return ask(compiled.org, g, query);
    };
    if (members.size > 1) return onFlat();
    startProof(new Map([...proved.classes.values()].map((c) => [c.token, c])).values());
    const answers = ask(compiled.org, proved, query);
    // A comparison the class's token could not answer for every member (symbolic.ts) makes the answers unsure: asked
    // again account by account, as the proof does when it gives up a class (review s37-evaluator E1).
    return stillCertain() ? answers : onFlat();
  };
}

function ask(org: Org, { access, grants, index, resources, orgRoles, bootstrapped, classes }: Ground, asked_: ExplainQuery): Answer[] {
  // A bare role name (`platform-admin`, `acme-*`) stands for that role in any account; a service is named by its host name.
  const bare = asked_.principal !== undefined && !asked_.principal.startsWith('arn:') && !asked_.principal.endsWith('.amazonaws.com') && asked_.principal !== '*';
  const named = bare ? { ...asked_, principal: `arn:${org.partition}:iam::*:role/${asked_.principal}` } : asked_;
  // Proved by class, a member's account is its class's token: a question naming a member's id is asked with the token, as the proof was, and answered with the id.
  const member = idsIn(named).find((id) => classes.has(id));
  const token = member ? classes.get(member)!.token : undefined;
  // The context too: a path's context names its account as the token (review s37-evaluator E1: aws:SourceAccount).
  const query = token
    ? { ...named, principal: named.principal?.replaceAll(member!, token), resource: named.resource?.replaceAll(member!, token), ...(named.context ? { context: tokeniseLists(named.context, member!, token) } : {}) }
    : named;
  const plain = (s: string) => (token ? s.replaceAll(token, member!) : s).replace(TOKEN, '{account}');
  // A key a declared path names by its own id (the proof's `key/someone-elses`, another key of the account) is that key.
  const reading = access.paths.some((p) => p.resource === query.resource) ? undefined : generatedIdReading(resources, query.resource);
  if (reading) return ask(org, { access, grants, index, resources, orgRoles, bootstrapped, classes }, { ...asked_, resource: plain(reading.arn) }).map((a) =>
    a.resource === plain(reading.arn) ? { ...a, resource: asked_.resource!, readAs: reading.logical } : a,
  );
  const fits = (q: string | undefined, candidate: string, caseInsensitive = false) => fitsEither(q, candidate, caseInsensitive) || fitsEither(q, plain(candidate), caseInsensitive);
  const answers: Answer[] = [];
  const answer = (request: Request, path?: AccessPath, branchChosen?: Answer['branchChosen']): Answer => {
    const { d, open, undecidedBy } = decide(index, request, org.organizationId, bootstrapped);
    return {
      principal: plain(principalName(request.principal)),
      action: request.action,
      resource: plain(request.resource),
      allowed: d.allowed,
      reason: plain(d.reason),
      path: path && plain(path.purpose),
      context: Object.fromEntries(Object.entries(request.context ?? {}).map(([key, values]) => [key, values.map(plain)])),
      // A statement of a class's account carries the class's token in its logical id too (SourceRole<token>In…).
      identitySide: d.grantedBy.filter((g) => g.kind === 'identity').map((g) => plain(label(g))),
      resourceSide: d.grantedBy.filter((g) => g.kind !== 'identity').map((g) => plain(label(g))),
      refusedBy: d.allowed ? '' : open ? undecidedBy : plain(describeRefusal(d.refusedBy, label)),
      ...(open ? { undecided: true as const } : {}),
      accounts: token ? undefined : path?.accounts,
      ...(branchChosen ? { branchChosen } : {}),
    };
  };
  // An account id the org file does not name: its requests are asked without aws:PrincipalOrgID or aws:ResourceOrgID
  // too (decide: undecided where that changes the answer), not only as the org's (review s37-evaluator E7: a bus of
  // another account was asked as the org's).
  const orgAccounts = new Set(org.accounts.map((a) => a.id));
  const outsideOf = (principal: PrincipalRef, resourceAccount: string): Pick<Request, 'outsideOrg'> => {
    const outside = [principal.kind === 'aws' ? accountOf(principal.arn) : '', resourceAccount].filter((id) => /^\d{12}$/.test(id) && !orgAccounts.has(id));
    return outside.length > 0 ? { outsideOrg: new Set(outside) } : {};
  };
  const asked = new Set<string>();
  const key = (r: Request) => `${principalName(r.principal)}\u0000${r.action.toLowerCase()}\u0000${r.resource}\u0000${JSON.stringify(r.context ?? {})}`;

  // The report's own requests first: each declared path, asked exactly as the proof asked it.
  for (const result of access.results) {
    const p = result.path;
    if (!fits(query.principal, principalName(p.principal)) || !fits(query.action, result.action, true) || !fits(query.resource, p.resource)) continue;
    if (query.context && !sameContext(query.context, p.context ?? {})) continue;
    const request: Request = { principal: p.principal, action: result.action, resource: p.resource, resourceAccount: p.resourceAccount, context: p.context, identityManagedElsewhere: p.identityManagedElsewhere, resourceManagedElsewhere: p.resourceManagedElsewhere };
    asked.add(key(request));
    answers.push(answer(request, p));
  }

  // Then every other request the statements make possible, or the one asked for when all three are given.
  const principals = candidatesPrincipals(grants, orgRoles, query.principal, fits);
  const actionsOf = (statements: readonly ResolvedStatement[]) =>
    query.action && !/[*?]/.test(query.action) ? [query.action] : [...new Set(statements.flatMap((g) => g.actions))].filter((a) => !a.includes('*') && fitsEither(query.action, a, true)).sort();
  // Bootstrap's actions (every handler permission of the templates' types) asked of the execution roles only, whose policy it is.
  const templateActions = actionsOf(access.grants);
  const executionActions = bootstrapped.size > 0 ? actionsOf(grants) : templateActions;
  const probes = resourceProbes(resources, query.resource, fits);
  for (const principal of principals) {
    for (const action of principal.kind === 'aws' && bootstrapped.has(principal.arn) ? executionActions : templateActions) {
      for (const probe of probes) {
        const base = { principal, action, resource: probe.arn, resourceAccount: probe.account };
        const statements = [...(principal.kind === 'aws' ? index.identity(principal.arn, action) : []), ...index.resourcePolicies(probe.account, action)];
        for (const { context: made, branchChosen } of contextsOf(org, action, statements, query.context)) {
          // A context made from the statements' conditions takes the resource's own account for aws:ResourceAccount,
          // which the resource decides, not the statement that names it (review s36-audit: a staging bucket was asked
          // with the dev account's id).
          const context = query.context || probe.account === AWS_OWNED_ACCOUNT ? made : withResourceAccount(made, probe.account);
          const request: Request = {
            ...base,
            context,
            identityManagedElsewhere: principal.kind === 'aws' && !orgRoles.has(principal.arn),
            ...(probe.account === AWS_OWNED_ACCOUNT ? { resourceManagedElsewhere: true } : {}),
            ...outsideOf(principal, probe.account),
          };
          if (asked.has(key(request))) continue;
          asked.add(key(request));
          // Either reading of an account the org file does not name (decide) may be the one that speaks to it.
          const readings = [evaluate(index, request, org.organizationId), ...(request.outsideOrg ? [evaluate(index, { ...request, outsideOrg: undefined }, org.organizationId)] : [])];
          // A refusal is worth telling when some statement speaks to it, or when the exact request was asked.
          if (probe.exact || readings.some((d) => d.allowed || d.grantedBy.length > 0 || (d.refusedBy !== undefined && 'deny' in d.refusedBy))) answers.push(answer(request, undefined, branchChosen));
        }
      }
    }
  }
  return answers;
}

/**
 * The contexts a request is asked under: the question's `--context`, else the conditions its statements name
 * (contextFor). An action that names a branch (`codecommit:References` in its Service Authorization Reference entry:
 * CodeCommit's branch writes, https://docs.aws.amazon.com/codecommit/latest/userguide/how-to-conditional-branch.html)
 * asked without one is asked once for each branch the statements or protectedBranches name and once for another
 * branch, never without the key: a question without a branch then reads every branch's answer, where one request
 * without the key would pass the protected-branch Deny's `Null … false` clause and answer ALLOWED for every branch.
 */
function contextsOf(org: Org, action: string, statements: readonly ResolvedStatement[], given: ExplainQuery['context']): Array<{ context: Record<string, string[]>; branchChosen?: Answer['branchChosen'] }> {
  const context = given ?? contextFor(statements);
  if (!namesBranch(action) || (given && Object.keys(given).some(isReferences))) return [{ context }];
  const rest = Object.fromEntries(Object.entries(context).filter(([k]) => !isReferences(k)));
  const named = namedBranches(org, statements);
  return [
    ...[...new Set(named.map(sampleOf))].map((ref) => ({ context: { ...rest, [REFERENCES]: [ref] }, branchChosen: 'named' as const })),
    { context: { ...rest, [REFERENCES]: [anotherBranch(named)] }, branchChosen: 'another' as const },
  ];
}

/** A branch none of `named` matches: the proof's feature branch, unless one does. */
const anotherBranch = (named: readonly string[]): string =>
  named.some((ref) => matches(ref, FEATURE_BRANCH)) ? anotherName(named, (name) => `refs/heads/${name}`) : FEATURE_BRANCH;

const isReferences = (key: string) => key.toLowerCase() === REFERENCES.toLowerCase();

/** `context` with aws:ResourceAccount, where it has the key, set to the account that holds the resource. */
function withResourceAccount(context: Record<string, string[]>, account: string): Record<string, string[]> {
  const key = Object.keys(context).find((k) => k.toLowerCase() === 'aws:resourceaccount');
  return key === undefined ? context : { ...context, [key]: [account] };
}

/** The branches (`refs/heads/…`, maybe patterns) the org's protectedBranches and the statements' conditions name, in that order. */
function namedBranches(org: Org, statements: readonly ResolvedStatement[]): string[] {
  const named = new Set((org.access.developers?.protectedBranches ?? []).map((b) => `refs/heads/${b}`));
  for (const s of statements) {
    for (const [operator, keys] of Object.entries(s.conditions)) {
      // Null's values say whether the key is there (`false`), not a branch.
      if (operator !== 'Null') for (const [k, values] of Object.entries(keys)) if (isReferences(k)) values.forEach((v) => named.add(v));
    }
  }
  return [...named];
}

const sameContext = (a: Record<string, string[]>, b: Record<string, string[]>) =>
  Object.entries(a).every(([k, v]) => Object.entries(b).some(([bk, bv]) => bk.toLowerCase() === k.toLowerCase() && bv.some((x) => v.includes(x))));

/** The principals the statements speak of, a pattern as one (asked with a name it matches), filtered by the query. */
type Fits = (query: string | undefined, candidate: string) => boolean;
function candidatesPrincipals(grants: readonly ResolvedStatement[], orgRoles: ReadonlySet<string>, query: string | undefined, fits: Fits): PrincipalRef[] {
  const arns = new Set<string>(orgRoles);
  const services = new Set<string>();
  for (const g of grants) {
    if (g.attachedTo) arns.add(g.attachedTo);
    for (const p of g.principals) if (p.kind === 'aws' && !p.arn.endsWith(':root')) arns.add(p.arn);
    else if (p.kind === 'service') services.add(p.service);
    // A root or `*` narrowed by aws:PrincipalArn stands for the ARNs the condition names.
    for (const keys of Object.values(g.conditions)) for (const [k, v] of Object.entries(keys)) if (k.toLowerCase() === 'aws:principalarn' && g.kind !== 'identity') v.forEach((a) => arns.add(a));
  }
  if (query && !/[*?]/.test(query)) {
    if (query.startsWith('arn:')) return [{ kind: 'aws', arn: query }];
    return [{ kind: 'service', service: query }];
  }
  return [
    ...[...arns].filter((a) => fits(query, a)).sort().map((a): PrincipalRef => ({ kind: 'aws', arn: sampleOf(a) })),
    ...[...services].filter((s) => fits(query, s)).sort().map((s): PrincipalRef => ({ kind: 'service', service: s })),
  ];
}

/** Objects of the buckets, and the SSM documents, of AWS's own the templates may name (src/iam/grants.ts), in any partition and Region. */
const AWS_OWNED_RESOURCES = [...Object.values(AWS_OWNED_BUCKETS).map((b) => b.objects), ...AWS_OWNED_DOCUMENTS].map(
  (text) => new RegExp(`^${text.replace(/[.*+?^()|[\]\\]/g, (c) => (c === '*' ? '.+' : `\\${c}`)).replace(/\$\{AWS::(Partition|Region)\}/g, '[a-z0-9-]+')}$`),
);

/**
 * A resource whose id AWS makes when it creates it is in the model by its logical id (`…:key/{pipeline-foundation/ArtifactKey}`,
 * src/audit/reach.ts): an exact ARN of its shape with a concrete id (what `deploy` prints, or the console shows) is
 * that resource, the one of its kind the template makes in that account, so the question is asked of it and the
 * answer says so (review s46-cli M1: a deployed key's ARN was answered REFUSED for every role its policy admits).
 * Undefined for any other question, and where the account holds several such resources of the kind (none does).
 */
function generatedIdReading(resources: readonly OrgResource[], query: string | undefined): { arn: string; logical: string } | undefined {
  if (query === undefined || /[*?{}]/.test(query)) return undefined;
  const found: Array<{ arn: string; logical: string }> = [];
  for (const r of resources) {
    // KMS keys only: the one resource whose id AWS makes that the model names so (review s46-diff n2).
    if (r.kind !== 'key') continue;
    const open = r.arn.lastIndexOf('/{');
    if (open < 0 || !r.arn.endsWith('}')) continue;
    const prefix = r.arn.slice(0, open + 1);
    const id = query.slice(prefix.length);
    if (query.startsWith(prefix) && id.length > 0 && !/[/:]/.test(id)) found.push({ arn: r.arn, logical: r.arn.slice(open + 2, -1) });
  }
  return found.length === 1 ? found[0] : undefined;
}

/** The resources the query names: the org's, a bucket's objects as one sample object, an object of a bucket or a document of AWS's own, or exactly what was asked. */
function resourceProbes(resources: readonly OrgResource[], query: string | undefined, fits: Fits): Array<{ arn: string; account: string; exact?: boolean }> {
  const owner = (arn: string) =>
    accountOf(arn) || resources.find((r) => r.kind === 'bucket' && (arn === r.arn || arn.startsWith(`${r.arn}/`)))?.account || (AWS_OWNED_RESOURCES.some((o) => o.test(arn)) ? AWS_OWNED_ACCOUNT : undefined);
  if (query && !/[*?]/.test(query)) {
    const account = owner(query);
    if (!account) throw new ExplainError(`cannot tell which account owns '${query}': name a resource the org creates (an ARN with an account, or one of its buckets or their objects)`);
    return [{ arn: query, account, exact: true }];
  }
  return resources.flatMap((r) => [r, ...(r.kind === 'bucket' ? [{ ...r, arn: `${r.arn}/object` }] : [])]).filter((r) => fits(query, r.arn)).map((r) => ({ arn: r.arn, account: r.account }));
}

/**
 * The --context keys no condition of the compiled org reads (every policy the templates write, the VPC endpoints'
 * among them, and the execution policy bootstrap writes), each with the key read that is nearest to it, if any: such
 * a key changes no answer.
 */
export function unreadContextKeys(compiled: CompiledOrg, keys: readonly string[]): Array<{ key: string; near?: string }> {
  if (keys.length === 0) return [];
  const read = new Set<string>();
  const readIn = (condition: unknown) => {
    for (const operator of Object.values(condition as Record<string, unknown>)) if (operator && typeof operator === 'object') for (const key of Object.keys(operator)) read.add(key);
  };
  // A statement's Condition is an object of operators; a resource's is the name of a template condition (a string).
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') for (const [key, value] of Object.entries(node)) (key === 'Condition' && value && typeof value === 'object' && !Array.isArray(value) ? readIn : walk)(value);
  };
  for (const stage of compiled.stages) walk(renderTemplate(stage.definition).Resources);
  for (const s of bootstrapStatements(compiled)) readIn(s.Condition ?? {});
  const lower = new Set([...read].map((k) => k.toLowerCase()));
  return keys.filter((key) => !lower.has(key.toLowerCase())).map((key) => {
    const near = closest(key, [...read].sort());
    return near ? { key, near } : { key };
  });
}

export class ExplainError extends XstackError {
  constructor(message: string) {
    super('EXPLAIN_INVALID', message);
  }
}

/** What a branch explain chose says beside the request's context. */
const BRANCH_CHOSEN: Record<NonNullable<Answer['branchChosen']>, string> = {
  named: `(a branch the policies or protectedBranches name: the action's requests name the branch they write, so each is asked; --context ${REFERENCES}=refs/heads/<branch> asks for one)`,
  another: '(another branch, which no policy names)',
};

/** The answers as text: one block per request, allowed or refused, with both sides' statements. */
export function renderAnswers(answers: readonly Answer[]): string {
  // Not a verdict by itself: nothing allows it, and which side refuses is a resource's to say (review s36-audit).
  if (answers.length === 0) return 'No request matches: no statement of the compiled org speaks of it, and no access path of the report does, so nothing in the templates allows it; give --resource to ask of one resource, refused or undecided.\n';
  const lines: string[] = [];
  for (const a of answers) {
    lines.push(`${a.allowed ? 'ALLOWED' : a.undecided ? 'UNDECIDED' : 'REFUSED'}  ${a.principal}  ${a.action}  ${a.resource}`);
    if (a.readAs) lines.push(`  read as: the org's ${a.readAs} in that account (its id is made when it is created, so the compiled policies name it by its logical id; another key of the account is asked as key/someone-elses)`);
    if (a.path) lines.push(`  access path: ${a.path}${a.accounts ? ` (proved for each of ${a.accounts.length} accounts)` : ''}`);
    // Several values in brackets, so that one value holding '|' or ',' never reads as several (review s50-audit m8).
    const context = Object.entries(a.context).map(([k, v]) => `${k}=${v.length === 1 ? v[0] : `[${v.join(', ')}]`}`);
    lines.push(`  request context: ${context.join(', ') || '(none)'}${a.branchChosen ? ` ${BRANCH_CHOSEN[a.branchChosen]}` : ''}`);
    lines.push(`  identity side allows: ${a.identitySide.join('; ') || '(nothing)'}`);
    lines.push(`  resource side allows: ${a.resourceSide.join('; ') || '(nothing)'}`);
    lines.push(a.allowed ? `  because: ${a.reason}` : a.undecided ? `  undecided: ${a.refusedBy}` : `  refused: ${a.refusedBy}`);
  }
  const allowed = answers.filter((a) => a.allowed).length;
  const open = answers.filter((a) => a.undecided).length;
  lines.push('', `${answers.length} request${answers.length === 1 ? '' : 's'}: ${allowed} allowed, ${answers.length - allowed - open} refused${open > 0 ? `, ${open} undecided (the principal's own policies decide)` : ''}.`);
  return `${lines.join('\n')}\n`;
}
