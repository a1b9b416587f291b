/**
 * Every grant of the compiled org, resolved per account: identity policies
 * (attached to a role), role trust, key, bucket and event-bus policies. The
 * auditor's matrices and the access proof read this one model.
 */
import { asList, policyDocuments, statementKeptWhere, type PlainStatement, type PolicyKind } from '../checks/documents';
import { roleNameOf } from '../iam/role-path';
import type { Org } from '../org/model';
import { endpointServiceOf } from '../services/vpc-endpoints';
import { CompileError } from '../errors';
import type { CfnTemplate } from '../cfn/template';
import { globRegExp } from '../checks/service-authorization';
import { readOperator } from './evaluate';
import { roleSourceSamples } from './samples';
import { callerPolicyOf } from '../../templates/access-callers';
import type { Stage } from '../stages/model';
import { classifyAccounts, forEachIdWithin, readsTokenised, tokenise, tokeniseList, tokeniseLists, type AccountClass } from './classes';
import { memberId, type AlikeResources } from '../checks/alike';
import { all, fixed, flatValues, map, varying, type Compiled, type PerAccount, type Resolver, type Value } from './resolve';

/** `federated`: an identity provider's users (a web identity or SAML assertion it vouches for), by the provider's ARN. */
export type PrincipalRef = { kind: 'aws'; arn: string } | { kind: 'service'; service: string } | { kind: 'federated'; provider: string } | { kind: 'any' };

/** A principal by the name a policy gives it: its ARN, service, identity provider, or `*`. */
export const principalName = (p: PrincipalRef): string => (p.kind === 'aws' ? p.arn : p.kind === 'service' ? p.service : p.kind === 'federated' ? p.provider : '*');

export interface ResolvedStatement {
  stage: string;
  account: string;
  /** Resource logical id and statement Sid, e.g. `ArtifactKey/SourceRolesUseKey`. */
  policy: string;
  kind: PolicyKind;
  effect: 'Allow' | 'Deny';
  /** Identity policies: the role they are attached to. */
  attachedTo?: string;
  principals: PrincipalRef[];
  actions: string[];
  resources: string[];
  conditions: Record<string, Record<string, string[]>>;
  /** A statement of an account class: the accounts it stands for (`account` is then the class's token). */
  accounts?: readonly string[];
  /** A statement another account makes for each member of a class (a source role's policy): the class's token, which its texts hold. */
  madeFor?: string;
}

/** A statement's conditions in words, one clause per key (`StringEquals aws:SourceAccount = 1 | 2`), but for the keys `omit` says to leave out. */
/** The condition key naming the calling principal, as the statements' keys are compared: in lower case. */
export const PRINCIPAL_ARN = 'aws:principalarn';
const NO_ARNS: readonly string[] = [];
/** The ARNs a statement's aws:PrincipalArn conditions name, of the operators `of` takes (any); asked of every grant, so built only when there are some. */
export function principalArnValues(g: ResolvedStatement, of: (operator: string) => boolean = () => true): readonly string[] {
  let arns: string[] | undefined;
  for (const operator in g.conditions) {
    if (!of(operator)) continue;
    const keys = g.conditions[operator];
    // The length first: most keys are another, and lower-casing one makes a string.
    for (const key in keys) if (key.length === PRINCIPAL_ARN.length && key.toLowerCase() === PRINCIPAL_ARN) (arns ??= []).push(...keys[key]);
  }
  return arns ?? NO_ARNS;
}

export function conditionClauses(conditions: ResolvedStatement['conditions'], omit?: (key: string, operator: string) => boolean): string[] {
  // Loops, not entries/flatMap: asked for every statement of the report and the model.
  const clauses: string[] = [];
  for (const op in conditions) {
    const keys = conditions[op];
    for (const k in keys) if (!omit?.(k, op)) clauses.push(`${op} ${k} = ${keys[k].join(' | ')}`);
  }
  return clauses;
}

const flat = flatValues;

/**
 * A compiled expression's values as a flat list. A varying list equal to
 * the previous account's (a wired ARN every account receives alike) is that
 * same list, so the statements of a 1,000-account stage share what they
 * can, down to what `all` builds from them. Nothing downstream mutates them.
 */
type Values = PerAccount<string[]>;
const NONE: Values = fixed([]);
/** A loop, not every() with a closure made for each pair of lists: it compares every member's statements. */
function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
function values(c: Compiled): Values {
  if (c.fixed !== undefined) return map(c, flat);
  // The previous account's value, as compiled: the same value (not mutated, as said above) flattens to the same list.
  let lastValue: Value | undefined;
  let last: string[] | undefined;
  return varying((a) => {
    const value = c.at(a);
    if (last && value === lastValue) return last;
    lastValue = value;
    const list = flat(value);
    return last && sameList(last, list) ? last : (last = list);
  });
}

export interface CollectedGrants {
  grants: ResolvedStatement[];
  /** Account id → its class, when grants were collected by class (see classes.ts) and some accounts share one; empty otherwise. */
  classes: ReadonlyMap<string, AccountClass>;
}

/**
 * Every statement in every target account of its stage; with `byClass`, an
 * account that shares a class with others is not listed on its own: its
 * class's statements are, once, with the class's token for the account.
 * `resolver` keeps what it compiled: a second collection reuses it.
 * `alike`, each stage's classes of alike resources (alike.ts), where the caller has them: by class, a statement of a
 * resource past its class's second is not resolved where it can only join its first's class statement (`AlikeStatement`).
 */
export function collectGrants(org: Org, stages: readonly Stage[], resolver: Resolver, byClass = false, alike?: ReadonlyMap<string, AlikeResources>): CollectedGrants {
  const compiled = stages.map((stage) => ({ stage, statements: compileStatements(org, stage, resolver, byClass ? alike?.get(stage.id) : undefined) }));
  let classes: ReadonlyMap<string, AccountClass> = new Map();
  if (byClass) {
    for (const stage of stages) {
      resolver.compileOutputs(stage.id);
      // Where each resource exists is part of an account's class key (the report lists an account's resources), policy or not.
      const first = stage.targets[0]?.id;
      if (first) for (const id of Object.keys(resolver.template(stage.id).Resources)) resolver.exists(stage.id, id, first);
    }
    classes = classifyAccounts(org, stages, (id) => resolver.template(id), resolver);
  }
  const grants: Array<ResolvedStatement | AlikeStatement> = [];
  for (const { stage, statements } of compiled) {
    const done = new Set<AccountClass>();
    const template = resolver.template(stage.id);
    // A family's statement exists only in its unit's accounts (its resource's condition): statements by condition,
    // each condition's given to the accounts it holds in (asked once), so a family of many units is not units × accounts.
    const byCondition = new Map<string | undefined, typeof statements>();
    for (const st of statements) {
      const condition = template.Resources[st.resource].Condition;
      const list = byCondition.get(condition);
      if (list) list.push(st);
      else byCondition.set(condition, [st]);
    }
    const listsIn = new Map<string, Array<typeof statements>>();
    for (const [condition, list] of byCondition) {
      for (const account of condition === undefined ? stage.targets.map((a) => a.id) : resolver.accountsWhere(stage.id, condition)) {
        const lists = listsIn.get(account);
        if (lists) lists.push(list);
        else listsIn.set(account, [list]);
      }
    }
    const order = new Map(statements.map((st, i) => [st, i]));
    for (const account of stage.targets) {
      const c = classes.get(account.id);
      // A class's statements are its first member's: the other members have nothing to add.
      if (c && done.has(c)) continue;
      const lists = listsIn.get(account.id) ?? [];
      const here = lists.length === 1 ? lists[0] : lists.flat().sort((a, b) => order.get(a)! - order.get(b)!);
      if (!c) {
        // The statements of alike resources' firsts and seconds resolved here, for the members after them.
        const made = new Map<CompiledStatement, ResolvedStatement>();
        for (const st of here) {
          if (st.absentIn?.(account.id)) continue;
          const first = st.alike && classes.size > 0 ? made.get(st.alike.first) : undefined;
          const second = first && made.get(st.alike!.second);
          if (second) {
            grants.push({ statement: st, account: account.id, first: first!, second });
            continue;
          }
          const g = st.at(account.id);
          if (st.leadsAlike) made.set(st, g);
          grants.push(g);
        }
      } else {
        done.add(c);
        // Each statement resolved here is new, and no one else's: made the class's in place.
        for (const { at, absentIn } of here) if (!absentIn?.(account.id)) grants.push(asClass(at(account.id), account.id, c));
      }
    }
  }
  if (classes.size === 0) return { grants: grants as ResolvedStatement[], classes };
  // Where an alike statement might not join its first's class statement, every statement is resolved and grouped as it is.
  return { grants: byMember(grants, classes) ?? byMember(grants.map((g) => ('statement' in g ? g.statement.at(g.account) : g)), classes)!, classes };
}

/** A statement of a stage, compiled once (`at`, its resolved form in any target account). */
interface CompiledStatement {
  resource: string;
  at: (account: string) => ResolvedStatement;
  absentIn?: (account: string) => boolean;
  /** The same statement of the first or second resource of a class of alike resources: what its later members' are read by. */
  leadsAlike?: boolean;
  /** A resource of a class of alike resources past its second: its statement, compiled only when resolved. */
  alike?: AlikeMember;
}

/** What a later member's statement is read by, without resolving it (see `AlikeStatement`). */
interface AlikeMember {
  /** The same statement (document and place in it) of the class's first resource, and of its second. */
  first: CompiledStatement;
  second: CompiledStatement;
  /** The account id each of the three resources is for: the first 12-digit number of its logical id (alike.ts `memberId`). */
  firstId: string;
  secondId: string;
  id: string;
  /** Its label (`policy`): read from its logical id and Sid. */
  policy: string;
  /**
   * Its role (an identity policy's) and its implicit resource (a trust policy's role), read in each account, where
   * they are not alike by their names (`roleNaming`); undefined where they are.
   */
  roles?: { attachedTo: Values | undefined; implicitResource: Values | undefined };
}

/**
 * A statement, in an account outside the classes, of a resource of a class of alike resources (alike.ts: the same
 * type, condition and policies but for the account id the logical id names, the first's policies referring to nothing
 * by that id, through references only) past its class's second, not resolved: its first's and second's statements
 * (`first`, `second`) were, in the same account. Its policies' texts are its first's with the first's id written as
 * its own where the class's placeholder stands, and their references (the same names) resolve alike in the account, so
 * each text it resolves to is the same pieces with its id between them as the first's with the first's id, and the
 * second's with the second's. byMember takes it as a member of the group its first joined, where that says why it
 * would have joined it resolved (`joinsAlike`), and resolves every statement again otherwise.
 */
interface AlikeStatement {
  statement: CompiledStatement;
  account: string;
  first: ResolvedStatement;
  second: ResolvedStatement;
}

function compileStatements(org: Org, stage: Stage, resolver: Resolver, alike?: AlikeResources): CompiledStatement[] {
  const template = resolver.template(stage.id);
  const v = (e: unknown) => values(resolver.compile(stage.id, e));
  // Each resource's documents' statements, each class of alike resources' second resource (by its first), and how its
  // first's and second's role is named where that is the same (null where not).
  const statementsOf = new Map<string, CompiledStatement[][]>();
  const secondOf = new Map<string, string>();
  const leadNaming = new Map<string, RoleNaming | null>();
  const namedAlike = (alike: AlikeResources, kind: PolicyKind, later: LaterAlike): boolean => {
    let lead = leadNaming.get(later.firstResource);
    if (lead === undefined) {
      const first = roleNaming(org, template, alike, kind, later.firstResource, later.firstId);
      lead = first !== undefined && first === roleNaming(org, template, alike, kind, later.secondResource, later.secondId) ? first : null;
      leadNaming.set(later.firstResource, lead);
    }
    return lead !== null && roleNaming(org, template, alike, kind, later.resource, later.id) === lead;
  };
  // The endpoint policies are the network layer: reported, not part of who-may-do-what.
  return policyDocuments(template)
    .filter((doc) => doc.kind !== 'endpoint')
    .flatMap((doc) => {
      const resource = template.Resources[doc.resource];
      const p = (resource.Properties ?? {}) as Record<string, unknown>;
      const docs = statementsOf.get(doc.resource) ?? statementsOf.set(doc.resource, []).get(doc.resource)!;
      const found = alike && laterAlike(alike, doc.resource, docs.length, doc.kind, doc.statements.length, statementsOf, secondOf);
      // An identity policy is each of its roles' (a managed policy may be attached to several: one statement per role).
      const rolesOf = (): Array<Values | undefined> =>
        doc.kind !== 'identity'
          ? [undefined]
          : resource.Type === 'AWS::IAM::Role'
            ? [v({ 'Fn::GetAtt': [doc.resource, 'Arn'] })]
            : p.Roles === undefined
              ? attachedRoles(attachedByTheOrg(org, stage, doc.resource))
              : attachedRoles(templateRoles(roleArns(org, v(p.Roles)), stage));
      // A trust policy's resource is its role; a key policy's "*" is its key.
      const implicitResourceOf = (): Values | undefined => (doc.kind === 'trust' || doc.kind === 'key' ? v({ 'Fn::GetAtt': [doc.resource, 'Arn'] }) : undefined);
      // A later member's `j`th statement, compiled (`compiled()`) only when resolved: byMember reads it by its first and second.
      const alikeStatement = (s: PlainStatement, j: number, later: LaterAlike, compiled: () => (account: string) => ResolvedStatement, roles?: AlikeMember['roles']): CompiledStatement => {
        let at: ((account: string) => ResolvedStatement) | undefined;
        const first = later.first[j];
        const second = later.second[j];
        first.leadsAlike = second.leadsAlike = true;
        return {
          resource: doc.resource,
          at: (account) => (at ??= compiled())(account),
          alike: { first, second, firstId: later.firstId, secondId: later.secondId, id: later.id, policy: `${doc.resource}/${s.Sid ?? '(no Sid)'}`, ...(roles ? { roles } : {}) },
        };
      };
      // Read now, so that the account classes (classes.ts) are keyed by where it exists.
      if (resource.Condition && stage.targets.length > 0) resolver.exists(stage.id, doc.resource, stage.targets[0].id);
      if (found && namedAlike(alike, doc.kind, found)) {
        // Its role and trust resource are alike too (one role, named as its first's and second's but for its id): read
        // only where a statement of it is resolved. Nothing else is read of it here (an identity or trust policy is
        // none that refuseOtherResources reads).
        let read: { role: Values | undefined; implicitResource: Values | undefined } | undefined;
        const compiled = doc.statements.map((s, j) =>
          alikeStatement(s, j, found, () => compileStatement(stage.id, doc.resource, doc.kind, s, doc.versioned, (read ??= { role: rolesOf()[0], implicitResource: implicitResourceOf() }).role, read.implicitResource, v)),
        );
        docs.push(compiled);
        return compiled;
      }
      const attachedTo = rolesOf();
      const implicitResource = implicitResourceOf();
      refuseOtherResources(stage, resolver, doc.resource, doc.kind, p, doc.statements, v);
      // Its role and trust resource are read by each of its statements in an account: made once there.
      const later = found && attachedTo.length === 1 && { ...found, role: attachedTo[0] && lastAccountOf(attachedTo[0]), implicitResource: implicitResource && lastAccountOf(implicitResource) };
      // A role past an account's own count (the policy names more roles in another account) is no statement there.
      const compiled = attachedTo.flatMap((role, i) =>
        doc.statements.map((s, j): CompiledStatement => {
          // Compiled (and refused, as its first was not) only when resolved.
          if (later) return alikeStatement(s, j, later, () => compileStatement(stage.id, doc.resource, doc.kind, s, doc.versioned, role, implicitResource, v), { attachedTo: later.role, implicitResource: later.implicitResource });
          const kept = keptIn(stage, resolver, s);
          const absentIn =
            i > 0 && role ? (kept ? (account: string) => !kept.has(account) || role.at(account).length === 0 : (account: string) => role.at(account).length === 0) : kept && ((account: string) => !kept.has(account));
          return {
            resource: doc.resource,
            at: compileStatement(stage.id, doc.resource, doc.kind, s, doc.versioned, role, implicitResource, v),
            ...(absentIn ? { absentIn } : {}),
          };
        }),
      );
      docs.push(compiled);
      return compiled;
    });
}

/**
 * The accounts a statement only some accounts keep is in (`Fn::If [condition, statement, AWS::NoValue]` in its
 * document: checks/documents.ts statementKeptWhere), or undefined for one its document always holds.
 */
function keptIn(stage: Stage, resolver: Resolver, s: PlainStatement): ReadonlySet<string> | undefined {
  const where = statementKeptWhere(s);
  if (!where) return undefined;
  const holds = new Set(resolver.accountsWhere(stage.id, where.condition));
  return where.holds ? holds : new Set(stage.targets.map((a) => a.id).filter((a) => !holds.has(a)));
}

/** `values`, its last account's list kept: asked again for that account, not made again. */
function lastAccountOf(values: Values): Values {
  if (values.fixed !== undefined) return values;
  let account: string | undefined;
  let list: string[] = [];
  return varying((a) => (a === account ? list : ((account = a), (list = values.at(a)))));
}

/** A later member's document (`laterAlike`): the same document's statements of its class's first and second resources, and the three resources with their account ids. */
interface LaterAlike {
  first: CompiledStatement[];
  second: CompiledStatement[];
  resource: string;
  firstResource: string;
  secondResource: string;
  id: string;
  firstId: string;
  secondId: string;
}

/**
 * For a document (the `index`th of its resource) of a resource past the second of its class of alike resources: the
 * same document's statements of the class's first and second resources, and the three resources' account ids. Only an
 * identity or trust policy (the others are checked against their resource's ARN here) whose first's and second's
 * documents are of its kind and number of statements (the caller asks that it has one role). Undefined for any other.
 */
function laterAlike(
  alike: AlikeResources,
  resource: string,
  index: number,
  kind: PolicyKind,
  count: number,
  statementsOf: ReadonlyMap<string, CompiledStatement[][]>,
  secondOf: Map<string, string>,
): LaterAlike | undefined {
  const firstResource = alike.first(resource);
  if (firstResource === resource) return undefined;
  const secondResource = secondOf.get(firstResource) ?? secondOf.set(firstResource, resource).get(firstResource)!;
  if (secondResource === resource || (kind !== 'identity' && kind !== 'trust')) return undefined;
  const first = statementsOf.get(firstResource)?.[index];
  const second = statementsOf.get(secondResource)?.[index];
  const firstId = memberId(firstResource);
  const secondId = memberId(secondResource);
  const id = memberId(resource);
  if (!first || !second || first.length !== count || second.length !== count || !firstId || !secondId || !id) return undefined;
  return { first, second, resource, firstResource, secondResource, id, firstId, secondId };
}

/** How a document's one role is named (`roleNaming`): by its own RoleName, by a text in its Roles, or by a Ref in its Roles to a role of the class of alike resources whose first that is. */
type RoleNaming = typeof OWN_NAME | typeof TEXT_NAME | string;
const OWN_NAME = Symbol('its own RoleName');
const TEXT_NAME = Symbol('a text in its Roles');

/**
 * A later member's document (`later`) is read with one role whose ARN (its `attachedTo`, an identity policy's; its
 * resource, a trust policy's) is, for it and its class's first and second, the same pieces with the resource's account
 * id between them, as each text its policies resolve to is (see `AlikeStatement`), where the three are named alike
 * (`roleNaming`, the first's and second's asked once per class: `leadNaming`): then it joins its first's group without
 * its role being read (`joinsAlike`). So where the ARN is made of a name that alike.ts compares (`RoleName`, `Roles`:
 * the class's text with the member's id in its placeholder's places) as the resolver writes it, unchanged, into
 * `arn:…:iam::<account>:role/<name>`:
 * - a role's own policy (its trust policy, an inline policy): its Fn::GetAtt Arn, of its `RoleName` as a text;
 * - a managed policy's: its `Roles` one role, named by a text, or by a Ref to a role of the template whose `RoleName`
 *   is a text, of one class of alike resources for the three (the Ref names each one's own role), with the same id as
 *   the policy's; and no role of the org's own with a path (`roleArns` would write that path for a name it holds).
 * Undefined for any other (read with a few property reads, nothing resolved).
 */
function roleNaming(org: Org, template: CfnTemplate, alike: AlikeResources, kind: PolicyKind, resource: string, id: string): RoleNaming | undefined {
  if (kind === 'trust' || template.Resources[resource].Type === 'AWS::IAM::Role') return namedByText(template, resource) ? OWN_NAME : undefined;
  if ((org.deploymentTargets.instanceRoles ?? []).length > 0) return undefined;
  const roles = template.Resources[resource].Properties?.Roles;
  if (!Array.isArray(roles) || roles.length !== 1) return undefined;
  const role: unknown = roles[0];
  if (typeof role === 'string') return TEXT_NAME;
  const ref = role !== null && typeof role === 'object' && Object.keys(role).length === 1 ? (role as { Ref?: unknown }).Ref : undefined;
  return typeof ref === 'string' && namedByText(template, ref) && memberId(ref) === id ? alike.first(ref) : undefined;
}

/** Whether a logical id is a role of the template whose RoleName is a text. */
const namedByText = (template: CfnTemplate, logicalId: string): boolean => template.Resources[logicalId]?.Type === 'AWS::IAM::Role' && typeof template.Resources[logicalId].Properties?.RoleName === 'string';

/**
 * A bucket, queue or bus policy's statements name only the resource it is attached to (a bucket's objects too): the
 * proof matches such a statement to every resource of its account that it names (evaluate.ts), where AWS applies it
 * to its own resource alone ("Resource-based policies are attached to a resource",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_identity-vs-resource.html), so a statement naming
 * `*` or another resource would grant or deny in the proof what it does not on AWS (review s31-evaluator m4). Read
 * in one account the resource exists in; a value the compile cannot know (`{…}`) is not judged. Refused: `*`, a
 * value without wildcards that is neither the resource nor (a bucket) one of its objects, and a pattern that matches
 * another resource of its kind in the template (the proof would apply the statement there too: `acme-*`
 * beside two buckets) or that runs past the resource's ARN into another name (`…-g2/*`). A pattern that matches no
 * other resource of the template is matched by the proof as AWS would, to this one (review s32-diff 3).
 */
function refuseOtherResources(stage: Stage, resolver: Resolver, id: string, kind: PolicyKind, p: Record<string, unknown>, statements: readonly PlainStatement[], v: (e: unknown) => Values): void {
  const own = attachedArns(kind, p, v);
  const account = resolver.accountsWith(stage.id, id)[0] ?? stage.targets[0]?.id;
  if (!own || account === undefined) return;
  const ownArns = own.at(account);
  if (ownArns.some((arn) => arn.includes('{'))) return;
  const others = othersOfKind(resolver.template(stage.id), kind, ownArns, v, account);
  const within = (r: string, arn: string) => r === arn || (kind === 'bucket' && r.startsWith(`${arn}/`));
  const fits = (r: string) => {
    const wildcard = r.search(/[*?]/);
    if (wildcard < 0) return ownArns.some((arn) => within(r, arn));
    const literal = r.slice(0, wildcard);
    // Past the ARN, the next character must be the object separator: `…-g2/*` names another bucket.
    if (ownArns.some((arn) => literal.startsWith(arn) && !within(literal, arn))) return false;
    const pattern = globRegExp(r);
    return !others.some((arn) => pattern.test(arn) || (kind === 'bucket' && pattern.test(`${arn}/object`)));
  };
  const problems = statements.flatMap((st) =>
    st.Resource === undefined
      ? []
      : v(st.Resource)
          .at(account)
          .filter((r) => !r.includes('{') && (r === '*' || !fits(r)))
          .map((r) => `${stage.id}: ${id}/${st.Sid ?? '(no Sid)'} names ${r}, not the ${kind} its policy is attached to (${ownArns.join(', ')}): a resource policy applies to its own resource only, and the access proof reads it so; name that resource${kind === 'bucket' ? ' or its objects' : ''}`),
  );
  if (problems.length > 0) throw new CompileError('ACCESS_ANALYSIS_FAILED', problems);
}

/** The ARNs of the template's other buckets (or buses, or queues) in an account: what a pattern in one's policy must not match. */
function othersOfKind(template: CfnTemplate, kind: PolicyKind, ownArns: readonly string[], v: (e: unknown) => Values, account: string): string[] {
  const type = kind === 'bucket' ? 'AWS::S3::Bucket' : kind === 'queue' ? 'AWS::SQS::Queue' : undefined;
  if (!type) return [];
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === type)
    .flatMap(([rid]) => v({ 'Fn::GetAtt': [rid, 'Arn'] }).at(account))
    .filter((arn) => !arn.includes('{') && !ownArns.includes(arn));
}

/** The ARNs of the resources a bucket, queue or bus policy is attached to, as the template names them; undefined for other policies. */
function attachedArns(kind: PolicyKind, p: Record<string, unknown>, v: (e: unknown) => Values): Values | undefined {
  switch (kind) {
    case 'bucket':
      return v({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', p.Bucket]] });
    case 'event-bus': {
      // EventBusName takes a name or an ARN; left out, the account's default bus (AWS::Events::EventBusPolicy).
      const name = p.EventBusName ?? 'default';
      return typeof name === 'string' && name.startsWith('arn:') ? v(name) : v({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/', name]] });
    }
    case 'queue':
      // Queues holds URLs; a queue's ARN is its GetAtt Arn, read where the template refers to the queue.
      return all(
        asList(p.Queues).map((q) => ((q as { Ref?: unknown })?.Ref !== undefined ? v({ 'Fn::GetAtt': [String((q as { Ref: unknown }).Ref), 'Arn'] }) : fixed(['{queue}']))),
        (lists) => lists.flat(),
      );
    default:
      return undefined;
  }
}

/** A VPC endpoint of a stage: its logical id, service, type, and its policy's statements (none: AWS's default, full access). */
export interface VpcEndpoint {
  endpoint: string;
  service: string;
  type: string;
  statements?: ResolvedStatement[];
}

/**
 * The VPC endpoints of a stage, in template order, each resolved in the
 * stage's one target account (the CI network's): the network layer a request
 * from inside the VPC also passes.
 */
export function vpcEndpoints(stage: Stage, resolver: Resolver): VpcEndpoint[] {
  const template = resolver.template(stage.id);
  const account = stage.targets[0]?.id;
  if (!account) return [];
  const v = (e: unknown) => values(resolver.compile(stage.id, e));
  const policies = new Map(policyDocuments(template).filter((d) => d.kind === 'endpoint').map((doc) => [doc.resource, doc]));
  const out: VpcEndpoint[] = [];
  for (const id in template.Resources) {
    const resource = template.Resources[id];
    if (resource.Type !== 'AWS::EC2::VPCEndpoint') continue;
    const properties = resource.Properties as { ServiceName?: unknown; VpcEndpointType?: string };
    const doc = policies.get(id);
    out.push({
      endpoint: id,
      service: endpointServiceOf(String(resolver.resolve(stage.id, account, properties.ServiceName))),
      type: properties.VpcEndpointType ?? 'Gateway',
      ...(doc ? { statements: doc.statements.map((s) => compileStatement(stage.id, id, doc.kind, s, doc.versioned, undefined, undefined, v)(account)) } : {}),
    });
  }
  return out;
}

/** The endpoints of a stage that have a policy, by service name. */
export function endpointPolicies(endpoints: readonly VpcEndpoint[]): Map<string, { endpoint: string; statements: ResolvedStatement[] }> {
  return new Map(endpoints.flatMap((e) => (e.statements ? [[e.service, { endpoint: e.endpoint, statements: e.statements }] as const] : [])));
}

/** One member's statement as its class's: the member's id written as the token, standing for every member. */
const forClass = (g: ResolvedStatement, account: string, c: AccountClass): ResolvedStatement => asClass({ ...g }, account, c);

/** `g`, a statement no one else holds yet (just resolved, or a copy), made its class's in place: no copy of its fields. */
function asClass(g: ResolvedStatement, account: string, c: AccountClass): ResolvedStatement {
  let conditions = g.conditions;
  for (const operator in g.conditions) {
    const keys = tokeniseLists(g.conditions[operator], account, c.token);
    // A copy only once some operator's keys name the account.
    if (keys !== g.conditions[operator]) conditions = { ...(conditions === g.conditions ? g.conditions : conditions), [operator]: keys };
  }
  const named = g.principals.some((p) => p.kind === 'aws' && p.arn.includes(account));
  g.account = c.token;
  if (g.attachedTo !== undefined) g.attachedTo = tokenise(g.attachedTo, account, c.token);
  if (named) g.principals = g.principals.map((p) => (p.kind === 'aws' ? { kind: 'aws', arn: tokenise(p.arn, account, c.token) } : p));
  g.resources = tokeniseList(g.resources, account, c.token);
  g.conditions = conditions;
  g.accounts = c.members;
  return g;
}

/**
 * An account outside the classes (a source account) may hold one statement
 * per member (a source role per pipeline account, and its grants). Those
 * that name exactly one member, and read the same for every member of its
 * class once its id is the token, are the class's statement, once; any
 * other statement stays as it is (and one that names members keeps the
 * proof from holding by class: see exactLookups).
 */
function byMember(statements: ReadonlyArray<ResolvedStatement | AlikeStatement>, classes: ReadonlyMap<string, AccountClass>): ResolvedStatement[] | undefined {
  // In order: a group stands where its first member stood.
  const kept: Array<ResolvedStatement | Group> = [];
  // By token and label, the groups whose statements differ.
  const groups = new Map<string, Group[]>();
  // The group each statement an alike statement is read by joined, and as which member's.
  const joined = new Map<ResolvedStatement, { group: Group; member: string }>();
  for (const g of statements) {
    if ('statement' in g) {
      // Not resolved: a member of its first's group, where joinsAlike says why; every statement is resolved otherwise.
      const group = joinsAlike(g, joined, classes);
      if (!group) return undefined;
      group.members.push(g);
      group.ids.add(g.statement.alike!.id);
      group.unresolved = true;
      continue;
    }
    if (g.accounts !== undefined) {
      kept.push(g);
      continue;
    }
    const member = memberNamedBy(g, classes);
    const c = typeof member === 'string' ? classes.get(member) : undefined;
    if (typeof member !== 'string' || !c) {
      kept.push(g);
      continue;
    }
    // Its label too: the logical id of a member's resource carries the member's id. Members of a
    // class may sit in several parts of one stage (source-identity-x, -2, …): the stage is not compared.
    const policy = tokenise(g.policy, member, c.token);
    const key = `${c.token}\u0000${policy}`;
    let alike = groups.get(key);
    if (!alike) groups.set(key, (alike = []));
    let group: Group | undefined;
    for (const x of alike) {
      if (!readsAsClass(x.statement, g, member, c.token)) continue;
      group = x;
      break;
    }
    if (!group) {
      // Only a statement that starts a group is written as the class's: the others are compared with it in place.
      // forClass makes a new object: set on it rather than copied again (the same fields, in the same order).
      const statement = forClass(g, member, c);
      statement.account = g.account;
      statement.policy = policy;
      statement.madeFor = c.token;
      alike.push((group = { c, statement, members: [], ids: new Set() }));
      kept.push(group);
    }
    group.members.push(g);
    group.ids.add(member);
    joined.set(g, { group, member });
  }
  const out: ResolvedStatement[] = [];
  for (const x of kept) {
    if (!('members' in x)) out.push(x);
    // A group is the class's statement only when every member has it, once: counted by member, as one member's
    // statement twice must not stand for another's that has none (review s49-mutations-8); named by the first part's stage
    // (the report names every part of a split stage by the whole). Its first member is resolved: an alike
    // statement joins its first's group after it.
    // (Its statement is its own copy, made by forClass: named so in place.)
    else if (x.ids.size === x.c.members.length && x.members.length === x.ids.size) {
      x.statement.stage = (x.members[0] as ResolvedStatement).stage;
      out.push(x.statement);
    }
    // Its members one by one: those not resolved would be, so every statement is resolved and grouped again.
    else if (x.unresolved) return undefined;
    else for (const m of x.members) out.push(m as ResolvedStatement);
  }
  return out;
}

/**
 * The group an alike statement (`g`, of resource R, a member of the class of alike resources of first F and second S,
 * for accounts r, f and s) would join resolved, or undefined where that is not certain. Write W(x) for what a resource
 * of that class for account x resolves to in g's account: each of its texts is the same pieces P0, P1, …, Pk with x
 * between each two, for x = r, f or s, the pieces the same for the three (alike.ts: their policies' texts are the
 * class's with the id where its placeholder stands, their references the same names, resolved in the same account by
 * the resolver's references, Fn::If and Sub, which hold any text as it is); its label `R/Sid` too (alike.ts: a
 * class's logical ids are one name shape with each one's id where its placeholder stands, none holding the placeholder
 * character, and the Sid is a text of its policy); and its role and trust policy's resource where `roleNaming` says
 * so (its statement has no `roles` then), but elsewhere, where they are read here. It is certain when:
 * - F's and S's statements, W(f) and W(s), joined one group G as f's and s's, so that G's statement Q is each with its
 *   id written as the token T: the same pieces with T between them where no piece holds f (an f in a piece, as W(s)
 *   holds it too, would stay in s's, unless digits beside it, which Q shows, made it part of another id), and the
 *   texts compared exactly (actions, services, condition keys) hold none of those places (f and s differ there);
 * - in Q's texts, no digit or token character stands beside T, and no 12-digit window of its digits is an account
 *   of the classes: the pieces then hold no member's id, and an id between them is a 12-digit run of its own (in
 *   Q's label likewise, or R's label is compared with Q's: `labelAlone`);
 * - r is a member of G's class, and R's role and trust resource, where read, read as Q's with r as T.
 * W(r) then names r alone (Q holds T, as W(f) named f), reads as Q with r written as T, and is compared with G's
 * statement by its key (token and label) and reading: it joins G, the first group that reads so (two groups of one
 * key never read alike: the second's first statement would have joined the first).
 */
function joinsAlike(g: AlikeStatement, joined: ReadonlyMap<ResolvedStatement, { group: Group; member: string }>, classes: ReadonlyMap<string, AccountClass>): Group | undefined {
  const { firstId, secondId, id, policy, roles } = g.statement.alike!;
  const first = joined.get(g.first);
  const second = joined.get(g.second);
  if (!first || first.group !== second?.group || first.member !== firstId || second.member !== secondId) return undefined;
  const { group } = first;
  const { statement: q, c } = group;
  if (classes.get(id) !== c || id === firstId || id === secondId || !(group.alone ??= tokenAloneIn(q, c.token, classes))) return undefined;
  const as = (written: string | undefined, text: string | undefined) => (written === undefined || text === undefined ? written === text : readsTokenised(written, text, id, c.token));
  // Its label is certain to read so where the class statement's holds the token alone: not compared then.
  if (!(group.labelAlone ??= aloneIn(q.policy, c.token, classes)) && !as(q.policy, policy)) return undefined;
  if (!roles) return group;
  const { attachedTo, implicitResource } = roles;
  return as(q.attachedTo, attachedTo?.at(g.account)[0]) && (!implicitResource || sameLists(q.resources, implicitResource.at(g.account), as)) ? group : undefined;
}

/** Whether, in the texts a class's statement reads by member (memberNamedBy), its token has no digit or token character beside it, and no 12-digit window of digits is an account of the classes. */
function tokenAloneIn(q: ResolvedStatement, token: string, classes: ReadonlyMap<string, AccountClass>): boolean {
  const alone = (text: string | undefined): boolean => aloneIn(text, token, classes);
  if (!alone(q.attachedTo) || !q.resources.every(alone)) return false;
  for (const p of q.principals) if (p.kind === 'aws' && !alone(p.arn)) return false;
  for (const operator in q.conditions) for (const key in q.conditions[operator]) if (!q.conditions[operator][key].every(alone)) return false;
  return true;
}

/** Whether, in a text, a class's token has no digit or token character beside it, and no 12-digit window of digits is an account of the classes. */
function aloneIn(text: string | undefined, token: string, classes: ReadonlyMap<string, AccountClass>): boolean {
  if (text === undefined) return true;
  for (let at = text.indexOf(token); at >= 0; at = text.indexOf(token, at + token.length)) {
    if (besideToken(text.charCodeAt(at - 1)) || besideToken(text.charCodeAt(at + token.length))) return false;
  }
  let named = false;
  forEachIdWithin(text, (id) => (named ||= classes.has(id)));
  return !named;
}

/** A digit, or a character tokens are made of (symbolic.ts: U+E000 to U+F000); NaN (past either end of a text) is neither. */
const besideToken = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 0xe000 && c <= 0xf000);

const SEVERAL = Symbol('several members');

/**
 * The one member of a class whose id a statement names, SEVERAL when it names more than one, undefined for none: every
 * 12-digit run in its texts, as /\d{12}/g reads them.
 */
function memberNamedBy(g: ResolvedStatement, classes: ReadonlyMap<string, AccountClass>): string | typeof SEVERAL | undefined {
  // Module functions and loops, not a closure per statement: asked of every statement outside the classes.
  let named = membersIn(g.attachedTo, classes, undefined);
  for (const p of g.principals) if (p.kind === 'aws') named = membersIn(p.arn, classes, named);
  named = membersInList(g.resources, classes, named);
  for (const operator in g.conditions) for (const key in g.conditions[operator]) named = membersInList(g.conditions[operator][key], classes, named);
  return named;
}

function membersInList(texts: readonly string[], classes: ReadonlyMap<string, AccountClass>, named: string | typeof SEVERAL | undefined): string | typeof SEVERAL | undefined {
  // Holes skipped, as forEach did.
  for (let i = 0; i < texts.length; i++) if (i in texts) named = membersIn(texts[i], classes, named);
  return named;
}

/** `named` (the member found so far, SEVERAL, or undefined) with the members whose ids `text` holds. */
function membersIn(text: string | undefined, classes: ReadonlyMap<string, AccountClass>, named: string | typeof SEVERAL | undefined): string | typeof SEVERAL | undefined {
  // A list may hold no value where one was expected (Fn::Select past its end): nothing to read.
  if (text === undefined || named === SEVERAL) return named;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) run = 0;
    else if (++run === 12) {
      const id = text.slice(i - 11, i + 1);
      if (classes.has(id) && id !== named) named = named === undefined ? id : SEVERAL;
      run = 0;
    }
  }
  return named;
}

/**
 * Whether a class's statement reads the same as one member's statement `g` made the class's (forClass, with its
 * account, policy and madeFor set as byMember sets them), but for their stage (a split stage's parts) and members
 * (a thousand ids): what their JSON would tell, field by field and in order, without writing `g` as the class's
 * (most of a class's statements are compared, and only the first of each group is kept).
 */
function readsAsClass(x: ResolvedStatement, g: ResolvedStatement, member: string, token: string): boolean {
  const as = (written: string | undefined, text: string | undefined) => (written === undefined || text === undefined ? written === text : readsTokenised(written, text, member, token));
  return (
    x.account === g.account &&
    as(x.policy, g.policy) &&
    x.kind === g.kind &&
    x.effect === g.effect &&
    as(x.attachedTo, g.attachedTo) &&
    x.madeFor === token &&
    sameList(x.actions, g.actions) &&
    sameLists(x.resources, g.resources, as) &&
    samePrincipals(x.principals, g.principals, as) &&
    sameConditions(x.conditions, g.conditions, as)
  );
}

/** Two lists the same, item by item, by `same`. */
function sameLists(a: readonly string[], b: readonly string[], same: (a: string, b: string) => boolean): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
  return true;
}

function samePrincipals(a: readonly PrincipalRef[], b: readonly PrincipalRef[], same: (a: string, b: string) => boolean): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!samePrincipal(a[i], b[i], same)) return false;
  return true;
}

/** `same` compares AWS principals' ARNs, the only principals a class's statement writes its token in (asClass). */
function samePrincipal(a: PrincipalRef, b: PrincipalRef, same: (a: string, b: string) => boolean): boolean {
  switch (a.kind) {
    case 'aws':
      return b.kind === 'aws' && same(a.arn, b.arn);
    case 'service':
      return b.kind === 'service' && a.service === b.service;
    case 'federated':
      return b.kind === 'federated' && a.provider === b.provider;
    case 'any':
      return b.kind === 'any';
  }
}

/** Same operators, keys and values (by `same`) in the same order (as JSON compares them). */
function sameConditions(a: ResolvedStatement['conditions'], b: ResolvedStatement['conditions'], same: (a: string, b: string) => boolean): boolean {
  const operators = Object.keys(a);
  if (!sameList(operators, Object.keys(b))) return false;
  for (const operator of operators) {
    const keys = Object.keys(a[operator]);
    if (!sameList(keys, Object.keys(b[operator]))) return false;
    for (const key of keys) if (!sameLists(a[operator][key], b[operator][key], same)) return false;
  }
  return true;
}

interface Group {
  c: AccountClass;
  statement: ResolvedStatement;
  members: Array<ResolvedStatement | AlikeStatement>;
  /** The members (account ids) whose statements it holds. */
  ids: Set<string>;
  /** Some member is an alike statement, not resolved. */
  unresolved?: boolean;
  /** Whether its statement's token stands alone (tokenAloneIn), once asked. */
  alone?: boolean;
  /** Whether its statement's label holds its token alone (aloneIn), once asked. */
  labelAlone?: boolean;
}

/** The roles a policy attaches to, and the most it attaches to in any one account. */
interface AttachedRoles {
  roles: Values;
  count: number;
}

/**
 * Each role of a policy on its own: `count` copies, as many as the account with the most has (a caller policy's roles
 * are the org file's sources of each account, which may differ in number: review s39-fuzz 1); where an account has
 * fewer, the copies past its count are empty there, and no statement (compileStatements).
 */
function attachedRoles({ roles, count }: AttachedRoles): Values[] {
  return Array.from({ length: Math.max(count, 1) }, (_, i) => map(roles, (list) => (i < list.length ? [list[i]] : [])));
}

/** A policy's `Roles`: their number is the template's, the same in every account, read in its first. */
function templateRoles(roles: Values, stage: Stage): AttachedRoles {
  return { roles, count: roles.fixed?.length ?? (stage.targets.length > 0 ? roles.at(stage.targets[0].id).length : 0) };
}

/**
 * The roles a managed policy the templates attach to nothing is for, in the account it is deployed in: the caller
 * policies of templates/access-callers.ts, which the org attaches to the developers' (maintainers') own roles, or
 * their permission set takes by name. The proof asks as the samples of those roles (samples.ts), so their grants are
 * the samples': the developers' side of their path is proved as the policy has it once attached, and the README says
 * to attach it. Any other such policy is no role's.
 */
function attachedByTheOrg(org: Org, stage: Stage, logicalId: string): AttachedRoles {
  const role = stage.module === 'access-callers' ? callerPolicyOf(logicalId) : undefined;
  const samples = roleSourceSamples(org, (role === 'developer' ? org.access.developers?.assumedBy : role === 'maintainer' ? org.access.developers?.maintainers : undefined) ?? []);
  const byAccount = new Map<string, number>();
  for (const s of samples) byAccount.set(s.account, (byAccount.get(s.account) ?? 0) + 1);
  // As many roles as the account with the most (review s39-fuzz 1), counted from the samples, not by asking each target.
  return { roles: varying((account) => samples.filter((s) => s.account === account).map((s) => s.arn)), count: Math.max(0, ...byAccount.values()) };
}

/**
 * The ARNs of the roles a policy names by `Roles`, in the account it is deployed in. `Roles` holds names; an existing
 * role the org names with a path has that path in its ARN (src/iam/role-path.ts).
 */
function roleArns(org: Org, names: Values): Values {
  const pathed = new Map((org.deploymentTargets.instanceRoles ?? []).map((role) => [roleNameOf(role), role]));
  return varying((a) => names.at(a).map((name) => `arn:${org.partition}:iam::${a}:role/${pathed.get(name) ?? name}`));
}

/** A statement's principals: anyone's (`"*"`), then its AWS ARNs (`*` anyone's), its services, its identity providers; one list, no spreads (made for each account where they differ). */
function principalsOf(anyone: boolean, arns: readonly string[], services: readonly string[], providers: readonly string[]): PrincipalRef[] {
  const out: PrincipalRef[] = anyone ? [{ kind: 'any' }] : [];
  for (const arn of arns) out.push(arn === '*' ? { kind: 'any' } : { kind: 'aws', arn });
  for (const name of services) out.push({ kind: 'service', service: name });
  for (const provider of providers) out.push({ kind: 'federated', provider });
  return out;
}

/** The kinds of principal the proof reads (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html). */
const READ_PRINCIPALS = ['AWS', 'Service', 'Federated'];

/**
 * A statement the proof could not read faithfully is refused, never skipped: a `NotAction`, `NotResource` or
 * `NotPrincipal` matches everything but what it lists (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html),
 * and a condition operator the evaluator does not read would make a Deny never apply (review s16-evaluator 4, 5).
 */
function refuseUnread(stage: string, policy: string, s: PlainStatement, versioned: boolean): void {
  const problems: string[] = [];
  // Without Version 2012-10-17 IAM reads `${aws:…}` as text, where the proof would replace it (review s31-evaluator m8).
  if (!versioned && holdsPolicyVariable(s.Condition)) {
    problems.push(`${stage}: ${policy}: a policy variable in a document without Version 2012-10-17, where IAM reads it as literal text ("variables like \${aws:username} are treated as literal strings", reference_policies_variables.html); give the document Version 2012-10-17`);
  }
  for (const element of ['NotAction', 'NotResource', 'NotPrincipal']) {
    if (element in s) problems.push(`${stage}: ${policy} uses ${element}, which the access proof does not read; write the statement with ${element.slice(3)}`);
  }
  // Read as written: "The Effect element is required … Valid values for Effect are Allow and Deny. The Effect value is
  // case sensitive" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_effect.html). Any
  // other value would be read here as one of the two, where IAM refuses the policy (review s57-evaluator m1).
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') problems.push(`${stage}: ${policy}: Effect ${s.Effect === undefined ? 'missing' : JSON.stringify(s.Effect)}, where IAM takes exactly "Allow" or "Deny" (case sensitive)`);
  // A principal of a kind the proof does not read (CanonicalUser) would be dropped, and what it admits never asked.
  if (s.Principal && typeof s.Principal === 'object') {
    for (const kind in s.Principal) if (!READ_PRINCIPALS.includes(kind)) problems.push(`${stage}: ${policy}: a ${kind} principal is not one the access proof reads (${READ_PRINCIPALS.join(', ')})`);
    // {"AWS": "*"}: IAM makes it "*" for anonymous users only ("For anonymous users, the following elements are
    // equivalent", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html), and
    // whether it admits service principals is not documented ("Some services behave differently when you specify
    // Principal: '*' or Principal: { AWS: \"*\" }", https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_iam.AnyPrincipal.html): neither reading is sound for both the
    // proof of needed access and the proof of refusal, so it is refused (review s31-evaluator m5, s32-diff 6).
    const aws = (s.Principal as Record<string, unknown>).AWS;
    // A role session principal, `arn:<partition>:sts::<account>:assumed-role/<role>/<session>` ("Role session principals",
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html), is never what the
    // proof's requests carry (a role's ARN): a statement naming one would never apply in the proof, where AWS applies
    // it to that session (review s57-evaluator m2).
    if (JSON.stringify(aws ?? null).includes(':assumed-role/')) problems.push(`${stage}: ${policy}: a role session principal (sts::…:assumed-role/…), which the access proof does not read (its requests carry the role's ARN); name the role, with aws:PrincipalArn if need be`);
    if ((Array.isArray(aws) ? aws : [aws]).includes('*')) problems.push(`${stage}: ${policy}: Principal {"AWS": "*"}, which IAM documents as "*" for anonymous users only, and whose reach to service principals it does not document, so the access proof cannot read it either way; write "Principal": "*" (anyone, with conditions) or name the principals`);
  }
  for (const operator in s.Condition) {
    if (!readOperator(operator)) problems.push(`${stage}: ${policy}: the condition operator ${operator} is not one the access proof reads (String…, Arn…, Numeric…, Bool and Null, with …IfExists, ForAnyValue: and ForAllValues:)`);
  }
  if (problems.length > 0) throw new CompileError('ACCESS_ANALYSIS_FAILED', problems);
}

/** Whether a raw condition holds an IAM policy variable: `${…}` in a plain text, or `${!…}` (escaped for CloudFormation) in a Sub. */
function holdsPolicyVariable(node: unknown, inSub = false): boolean {
  if (typeof node === 'string') return inSub ? node.includes('${!') : node.includes('${');
  if (Array.isArray(node)) return node.some((x) => holdsPolicyVariable(x, inSub));
  if (node === null || typeof node !== 'object') return false;
  return Object.entries(node).some(([key, value]) => (key === 'Fn::Sub' ? holdsPolicyVariable(Array.isArray(value) ? value[0] : value, true) : holdsPolicyVariable(value, inSub)));
}

/** A statement of a stage, compiled once: its resolved form in any target account. */
function compileStatement(
  stage: string,
  resourceId: string,
  kind: PolicyKind,
  s: PlainStatement,
  versioned: boolean,
  attachedTo: Values | undefined,
  implicitResource: Values | undefined,
  v: (e: unknown) => Values,
): (account: string) => ResolvedStatement {
  refuseUnread(stage, `${resourceId}/${s.Sid ?? '(no Sid)'}`, s, versioned);
  const principal = s.Principal as Record<string, unknown> | string | undefined;
  const aws = principal && typeof principal === 'object' && principal.AWS !== undefined ? v(principal.AWS) : undefined;
  const service = principal && typeof principal === 'object' && principal.Service !== undefined ? v(principal.Service) : undefined;
  const federated = principal && typeof principal === 'object' && principal.Federated !== undefined ? v(principal.Federated) : undefined;
  const principals = all([aws ?? NONE, service ?? NONE, federated ?? NONE], ([arns, services, providers]) => principalsOf(principal === '*', arns, services, providers));
  const conditionKeys: Array<{ operator: string; key: string; value: Values }> = [];
  for (const operator in s.Condition) for (const key in s.Condition[operator]) conditionKeys.push({ operator, key, value: v(s.Condition[operator][key]) });
  const conditions = all(
    conditionKeys.map((c) => c.value),
    (lists) => {
      const out: ResolvedStatement['conditions'] = {};
      for (let i = 0; i < conditionKeys.length; i++) (out[conditionKeys[i].operator] ??= {})[conditionKeys[i].key] = lists[i];
      return out;
    },
  );
  const resources = implicitResource ?? v(s.Resource);
  const policy = `${resourceId}/${s.Sid ?? '(no Sid)'}`;
  const effect = s.Effect === 'Deny' ? 'Deny' : 'Allow';
  const actions = asList(s.Action).map(String);
  // One object shape for every statement (attachedTo is undefined off identity policies): 26,000 of them at 1,000 accounts.
  return (account) => ({
    stage,
    account,
    policy,
    kind,
    effect,
    attachedTo: attachedTo?.at(account)[0],
    principals: principals.at(account),
    actions,
    resources: resources.at(account),
    conditions: conditions.at(account),
    accounts: undefined,
  });
}
