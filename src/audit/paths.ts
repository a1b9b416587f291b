/**
 * The access the org needs, path by path, each proved allowed on both sides
 * by the compiled policies; and the converse: every grant a resource policy
 * makes to a principal of another account is one of these paths.
 */
import {
  ARTIFACT_OBJECT_READ_WRITE,
  ARTIFACT_OBJECT_WRITE,
  CODECOMMIT_BRANCH_WRITES,
  CODECOMMIT_DEVELOPER,
  CODECOMMIT_PULL,
  CODECOMMIT_SOURCE_ACTION,
  CODEPIPELINE_START,
  EVENTS_PUT,
  KMS_ARTIFACT_DATA_KEY,
  STS_ASSUME_ROLE,
} from '../iam/grants';
import { Names } from '../naming';
import { accountByName, accountOfEnvironment, repositoryByName, type Org } from '../org/model';
import type { Stage } from '../stages/model';
import { accountOf, evaluate, GrantIndex, matches, type Decision, type Request } from './evaluate';
import { collectGrants, type PrincipalRef, type ResolvedStatement } from './grants';
import { Resolver } from './resolve';
import type { CfnTemplate } from '../cfn/template';
import { tokenise, tokeniseLists, type AccountClass } from './classes';
import { ACCOUNTS_LISTED } from './scale';
import { hasToken, isPlainKey, isToken, same, startProof, stillCertain } from './symbolic';

export interface AccessPath {
  /** What the path is for, in words. */
  purpose: string;
  principal: PrincipalRef;
  actions: readonly string[];
  resource: string;
  resourceAccount: string;
  context?: Record<string, string[]>;
  /** A path that must be refused (protected branches). */
  denied?: boolean;
  /** The principal's own policies live outside the org file (IAM Identity Center permission sets, federated roles). */
  identityManagedElsewhere?: boolean;
  /**
   * The same path exists for every environment of a pipeline: what it is
   * for without naming the environment, and the pipeline account it is in.
   * A report of a large org shows each group as one row.
   */
  group?: { purpose: string; account: string; environment: string };
  /** A path of an account class: the accounts it stands for (the class's token is written for the account). */
  accounts?: readonly string[];
}

export interface AccessResult {
  path: AccessPath;
  action: string;
  allowed: boolean;
  reason: string;
  /** The statements that allow it, on each side. */
  grantedBy: readonly ResolvedStatement[];
  /** When refused: the Deny that refuses it, or the side with no Allow (evaluate.ts). */
  refusedBy: Decision['refusedBy'];
}

/** A principal outside `account`: another account's, or anyone's (`*`). Services are the account's own. */
export const isForeignPrincipal = (p: PrincipalRef, account: string): boolean => p.kind === 'any' || (p.kind === 'aws' && !same(accountOf(p.arn), account));

/**
 * Proved by account class (see classes.ts), a path or grant with `accounts`
 * stands for each of them, with the class's token for the account; `weight`
 * counts it so.
 */
export interface AccessAnalysis {
  paths: AccessPath[];
  results: AccessResult[];
  grants: ResolvedStatement[];
  problems: string[];
}

const aws = (arn: string): PrincipalRef => ({ kind: 'aws', arn });
const describePrincipal = (p: PrincipalRef) => (p.kind === 'aws' ? p.arn : p.kind === 'service' ? p.service : '*');

/** A concrete role ARN matching a role-name pattern (`AWSReservedSSO_Developer_*`). */
const sampleOf = (pattern: string) => pattern.replace(/\*/g, 'x0').replace(/\?/g, 'x');

/** The paths of one member as its class's: the member's id written as the token. */
function forClass(path: AccessPath, account: string, c: AccountClass): AccessPath {
  const t = (text: string) => tokenise(text, account, c.token);
  return {
    ...path,
    purpose: path.group!.purpose,
    principal: path.principal.kind === 'aws' ? aws(t(path.principal.arn)) : path.principal,
    resource: t(path.resource),
    resourceAccount: t(path.resourceAccount),
    context: path.context && tokeniseLists(path.context, account, c.token),
    group: { ...path.group!, account: c.token },
    accounts: c.members,
  };
}

/** The paths the org needs; a pipeline's paths in the accounts of a class are its class's, once. */
export function declaredPaths(org: Org, stages: readonly Stage[], resolver: Resolver, classes: ReadonlyMap<string, AccountClass> = new Map()): AccessPath[] {
  const names = new Names(org.prefix);
  const { partition, region } = org;
  const role = (account: string, name: string) => `arn:${partition}:iam::${account}:role/${name}`;
  const stageIds = new Set(stages.map((s) => s.id));
  const output = (stage: string, account: string, name: string) => String(resolver.output(stage, account, name));
  const paths: AccessPath[] = [];

  // Shared by every environment's paths: a 1,000-account org has 11 paths per pipeline and environment.
  const encryptedWithKms = { 's3:x-amz-server-side-encryption': ['aws:kms'] };
  const viaArtifactAlias = { 'kms:ResourceAliases': [names.artifactKeyAlias()] };
  const fromCodeCommit = { 'events:source': ['aws.codecommit'] };
  const codepipeline: PrincipalRef = { kind: 'service', service: 'codepipeline.amazonaws.com' };
  const events: PrincipalRef = { kind: 'service', service: 'events.amazonaws.com' };

  for (const p of org.pipelines) {
    const repository = repositoryByName(org, p.repository);
    const s = accountByName(org, repository.account).id;
    const repoArn = `arn:${partition}:codecommit:${region}:${s}:${p.repository}`;
    const sourceRole = role(s, names.sourceRole());
    const sourceRolePrincipal = aws(sourceRole);
    const forwarderRole = role(s, names.eventForwarderRole());
    const forwarderPrincipal = aws(forwarderRole);
    const forwarderContext = { 'aws:SourceAccount': [s], 'aws:SourceArn': [`arn:${partition}:events:${region}:${s}:rule/${names.forwardingRule(1)}`] };
    const groupPurposes = new Map<string, string>();
    const done = new Set<AccountClass>();
    const groupPurpose = (what: string) => groupPurposes.get(what) ?? groupPurposes.set(what, `${what} (${p.name}, each environment)`).get(what)!;
    for (const [environment] of p.branches) {
      const a = accountOfEnvironment(org, environment).id;
      const c = classes.get(a);
      if (c && done.has(c)) continue;
      const pipelineRole = role(a, names.pipelineRole());
      const pipelineRolePrincipal = aws(pipelineRole);
      const objects = `${output('pipeline-foundation', a, 'ArtifactObjectsArn').replace(/\*$/, '')}${p.name}/SourceArtifact/artifact.zip`;
      const key = output('pipeline-foundation', a, 'ArtifactKeyArn');
      const pipelineArn = `arn:${partition}:codepipeline:${region}:${a}:${names.pipeline(p.name)}`;
      const triggerRole = role(a, names.triggerRole(p.name));
      const on = `${p.name} in ${environment}`;
      const each = (what: string, path: Omit<AccessPath, 'purpose' | 'group'>): AccessPath => ({
        purpose: `${what} (${on})`,
        group: { purpose: groupPurpose(what), account: a, environment },
        ...path,
      });
      const environmentPaths = [
        each('CodePipeline runs as the pipeline role', { principal: codepipeline, actions: STS_ASSUME_ROLE.actions, resource: pipelineRole, resourceAccount: a, context: { 'aws:SourceAccount': [a], 'aws:SourceArn': [pipelineArn] } }),
        each('the pipeline role assumes the source role', { principal: pipelineRolePrincipal, actions: STS_ASSUME_ROLE.actions, resource: sourceRole, resourceAccount: s }),
        each('the source role reads the repository', { principal: sourceRolePrincipal, actions: CODECOMMIT_SOURCE_ACTION.actions, resource: repoArn, resourceAccount: s }),
        each('the source role writes the source artifact', { principal: sourceRolePrincipal, actions: ARTIFACT_OBJECT_WRITE.actions, resource: objects, resourceAccount: a, context: encryptedWithKms }),
        each('the source role encrypts with the artifact key', { principal: sourceRolePrincipal, actions: KMS_ARTIFACT_DATA_KEY.actions, resource: key, resourceAccount: a, context: viaArtifactAlias }),
        each('the pipeline role reads and writes artifacts', { principal: pipelineRolePrincipal, actions: ARTIFACT_OBJECT_READ_WRITE.actions, resource: objects, resourceAccount: a, context: encryptedWithKms }),
        each('the pipeline role uses the artifact key', { principal: pipelineRolePrincipal, actions: KMS_ARTIFACT_DATA_KEY.actions, resource: key, resourceAccount: a }),
        each('the source account forwards branch events to the pipeline account', { principal: forwarderPrincipal, actions: EVENTS_PUT.actions, resource: `arn:${partition}:events:${region}:${a}:event-bus/default`, resourceAccount: a, context: fromCodeCommit }),
        each('EventBridge runs the forwarding rules as the forwarder role', { principal: events, actions: STS_ASSUME_ROLE.actions, resource: forwarderRole, resourceAccount: s, context: forwarderContext }),
        each('EventBridge runs the trigger as the trigger role', { principal: events, actions: STS_ASSUME_ROLE.actions, resource: triggerRole, resourceAccount: a, context: { 'aws:SourceAccount': [a], 'aws:SourceArn': [`arn:${partition}:events:${region}:${a}:rule/${names.triggerRule(p.name)}`] } }),
        each('the trigger role starts the pipeline', { principal: aws(triggerRole), actions: CODEPIPELINE_START.actions, resource: pipelineArn, resourceAccount: a }),
      ];
      if (c) done.add(c);
      paths.push(...(c ? environmentPaths.map((path) => forClass(path, a, c)) : environmentPaths));
    }
  }

  const { developers, ci } = org.access;
  for (const source of org.accounts.filter((a) => a.role === 'source')) {
    const s = source.id;
    const repos = org.repositories.filter((r) => r.account === source.name).map((r) => `arn:${partition}:codecommit:${region}:${s}:${r.name}`);
    if (ci && stageIds.has(`access-roles-${source.name}`)) {
      const instanceRole = role(accountByName(org, ci.account).id, names.ciInstanceRole());
      paths.push({ purpose: `CI assumes the pull-only role of ${source.name}`, principal: aws(instanceRole), actions: STS_ASSUME_ROLE.actions, resource: role(s, names.ciReaderRole()), resourceAccount: s });
      for (const repo of repos) paths.push({ purpose: `CI pulls ${repo.split(':').pop()}`, principal: aws(role(s, names.ciReaderRole())), actions: CODECOMMIT_PULL.actions, resource: repo, resourceAccount: s });
    }
    if (developers && stageIds.has(`access-roles-${source.name}`)) {
      for (const from of developers.assumedBy) {
        const account = accountByName(org, from.account).id;
        for (const name of from.roleNames) {
          const arn = role(account, `${from.sso ? `aws-reserved/sso.amazonaws.com/${region}/` : ''}${sampleOf(name)}`);
          paths.push({ purpose: `developers (${name} in ${from.account}) assume the developer role of ${source.name}`, principal: aws(arn), actions: STS_ASSUME_ROLE.actions, resource: role(s, names.developerRole()), resourceAccount: s, context: { 'aws:MultiFactorAuthPresent': ['true'] }, identityManagedElsewhere: true });
        }
      }
      const developer = aws(role(s, names.developerRole()));
      for (const repo of repos) {
        paths.push({ purpose: `developers work on ${repo.split(':').pop()}`, principal: developer, actions: CODECOMMIT_DEVELOPER.actions, resource: repo, resourceAccount: s, context: { 'codecommit:References': ['refs/heads/feature/x'] } });
        for (const branch of developers.protectedBranches) {
          paths.push({ purpose: `developers may not push to ${branch} of ${repo.split(':').pop()}`, principal: developer, actions: CODECOMMIT_BRANCH_WRITES.actions, resource: repo, resourceAccount: s, context: { 'codecommit:References': [`refs/heads/${branch}`] }, denied: true });
        }
      }
    }
  }
  return paths;
}

/** The declared cross-account paths into each account, by principal, for the extra-grant check. */
class PathIndex {
  private readonly byAccount = new Map<string, { all: AccessPath[]; byPrincipal: Map<string, AccessPath[]> }>();
  constructor(paths: readonly AccessPath[]) {
    for (const p of paths) {
      // Only a cross-account need justifies a grant to another account's principal, or to anyone's.
      if (p.denied || p.principal.kind !== 'aws' || !isForeignPrincipal(p.principal, p.resourceAccount)) continue;
      let entry = this.byAccount.get(p.resourceAccount);
      if (!entry) this.byAccount.set(p.resourceAccount, (entry = { all: [], byPrincipal: new Map() }));
      entry.all.push(p);
      for (const key of [p.principal.arn, `account:${accountOf(p.principal.arn)}`]) {
        const list = entry.byPrincipal.get(key);
        if (list) list.push(p);
        else entry.byPrincipal.set(key, [p]);
      }
    }
  }
  /** Whether a declared path covers one grant of a resource policy to one principal. */
  covers(g: ResolvedStatement, principal: PrincipalRef, action: string): boolean {
    const entry = this.byAccount.get(g.account);
    const candidates =
      principal.kind === 'any' ? entry?.all : principal.kind === 'aws' ? entry?.byPrincipal.get(principal.arn.endsWith(':root') ? `account:${accountOf(principal.arn)}` : principal.arn) : undefined;
    const a = action.toLowerCase();
    return (candidates ?? []).some((p) => p.actions.some((x) => x.toLowerCase() === a) && g.resources.some((r) => matches(r, p.resource)));
  }
}

export interface AnalyseOptions {
  /**
   * Prove pipeline accounts that differ only in their id once per class
   * (classes.ts). Default: when the org has more pipeline accounts than the
   * report lists one by one. The analysis falls back to account by account
   * whenever a class's proof might not hold for each member, or fails.
   */
  byClass?: boolean;
}

export function analyseAccess(org: Org, stages: readonly Stage[], templates?: ReadonlyMap<string, CfnTemplate>, options: AnalyseOptions = {}): AccessAnalysis {
  const resolver = new Resolver(org, stages, templates);
  const byClass = options.byClass ?? org.accounts.filter((a) => a.role === 'pipeline').length > ACCOUNTS_LISTED;
  // Undefined when a class proof gives up or fails: a failing org is analysed account by account, so its messages name the accounts.
  return (byClass ? prove(org, stages, resolver, true) : undefined) ?? prove(org, stages, resolver, false)!;
}

/**
 * The analysis. By class, undefined when the proof might not hold in every
 * member or fails; when no accounts share a class, the grants collected are
 * every account's, and the proof is the account-by-account one.
 */
function prove(org: Org, stages: readonly Stage[], resolver: Resolver, byClass: boolean): AccessAnalysis | undefined {
  const { grants, classes } = collectGrants(org, stages, resolver, byClass);
  const classed = classes.size > 0;
  const paths = declaredPaths(org, stages, resolver, classes);
  if (classed && !exactLookups(grants, paths, classes)) return undefined;
  startProof(new Set(classes.values()));
  const index = new GrantIndex(grants);
  const declared = new PathIndex(paths);
  const results: AccessResult[] = [];
  const problems: string[] = [];
  // By class, the first comparison some member could answer otherwise, or the first problem, ends the attempt.
  const givenUp = () => classed && (!stillCertain() || problems.length > 0);
  for (const path of paths) {
    if (givenUp()) return undefined;
    // A path's actions are mostly granted by the same statements: those results share one list, kept
    // at its size (a list grown by push keeps spare room, and 1,000 accounts make 50,000 results).
    let granted: readonly ResolvedStatement[] = [];
    for (const action of path.actions) {
      const request: Request = {
        principal: path.principal,
        action,
        resource: path.resource,
        resourceAccount: path.resourceAccount,
        context: path.context,
        identityManagedElsewhere: path.identityManagedElsewhere,
      };
      const d = evaluate(index, request, org.organizationId);
      if (d.grantedBy.length !== granted.length || d.grantedBy.some((g, i) => g !== granted[i])) granted = d.grantedBy.slice();
      results.push({ path, action, allowed: d.allowed, reason: d.reason, grantedBy: granted, refusedBy: d.refusedBy });
      const ok = path.denied ? !d.allowed : d.allowed;
      if (!ok) {
        problems.push(
          path.denied
            ? `${path.purpose}: ${describePrincipal(path.principal)} may ${action} on ${path.resource}, which must be refused`
            : `${path.purpose}: ${describePrincipal(path.principal)} may not ${action} on ${path.resource}: ${d.reason}`,
        );
      }
    }
  }
  // Nothing beyond the declared paths for principals outside the resource's account.
  for (const g of grants) {
    if (givenUp()) return undefined;
    if (g.effect !== 'Allow' || g.kind === 'identity') continue;
    for (const principal of g.principals) {
      if (!isForeignPrincipal(principal, g.account)) continue;
      for (const action of g.actions) {
        if (!declared.covers(g, principal, action)) {
          problems.push(`${g.stage} @ ${g.account}: ${g.policy} grants ${action} on ${g.resources.join(', ')} to ${describePrincipal(principal)}, which no declared access path needs`);
        }
      }
    }
  }
  return givenUp() ? undefined : { paths, results, grants, problems };
}

/**
 * The evaluator and the path index look statements and paths up by account
 * and by role ARN, with plain map lookups. Those answer for every member
 * when a token is the whole account (isPlainKey) and no key without a token
 * names a member's account: then a key with a token equals, for any member,
 * only the same key, since accounts and classes never share an id.
 */
function exactLookups(grants: readonly ResolvedStatement[], paths: readonly AccessPath[], classes: ReadonlyMap<string, AccountClass>): boolean {
  const account = (id: string) => isToken(id) || (!hasToken(id) && !classes.has(id));
  const arn = (s: string) => isPlainKey(s) && (hasToken(s) || !classes.has(accountOf(s)));
  const principal = (p: PrincipalRef) => p.kind !== 'aws' || arn(p.arn);
  return (
    grants.every((g) => account(g.account) && (g.attachedTo === undefined || arn(g.attachedTo)) && g.principals.every(principal)) &&
    paths.every((p) => account(p.resourceAccount) && principal(p.principal))
  );
}
