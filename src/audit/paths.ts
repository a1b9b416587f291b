/**
 * The access the org needs, path by path, each proved allowed on both sides
 * by the compiled policies; and the converse: every grant a resource policy
 * makes to a principal of another account is one of these paths.
 */
import { ARTIFACT_OBJECT_WRITE, KMS_ARTIFACT_DATA_KEY } from '../iam/grants';
import {
  ACCESS_NEEDS,
  agentInstallerIn,
  AWS_OWNED_ACCOUNT,
  CI_HOST_NEEDS,
  CI_NETWORK_NEEDS,
  CLOUDWATCH_AGENT_NEEDS,
  DEPLOY_TARGET_NEEDS,
  ciSessionContext,
  OTHER_ACCOUNT,
  PIPELINE_ACCOUNT_NEEDS,
  PIPELINE_NEEDS,
  REFUSED_THROUGH_ISOLATED_NETWORK,
  deeperSsoRole,
  someoneElsesRole,
  type AccessEnvironment,
  type CiHostEnvironment,
  type CiNetworkEnvironment,
  type InstanceEnvironment,
  type Need,
  type PipelineAccountEnvironment,
  type PipelineEnvironment,
  type ServiceNeed,
} from '../services/needs';
import { isGitAction, ISOLATED_ENDPOINTS } from '../services/vpc-endpoints';
import { artifactObjectKey, Names, SOURCE_ARTIFACT } from '../naming';
import { nameLike, otherRoleName, roleSourceSamples, sampleOf } from './samples';
import { deployTargetRoles } from '../stages/plan';
import { roleNameOf, rolePathAndName } from '../iam/role-path';
import { accountByName, accountOfEnvironment, repositoryByName, type Account, type Org } from '../org/model';
import type { Stage } from '../stages/model';
import { accountOf, contextKeys, deniedReason, endpointAllows, evaluate, GrantIndex, unreadConditions, literalMatches, matches, matchesResource, ownPolicyDecides, RequestAnswers, type AppliesMemo, type Decision, type Request } from './evaluate';
import { collectGrants, endpointPolicies, principalArnValues, principalName, vpcEndpoints, type PrincipalRef, type ResolvedStatement, type VpcEndpoint } from './grants';
import { Resolver } from './resolve';
import { listIn } from '../memo';
import type { CfnTemplate } from '../cfn/template';
import { forEachIdWithin, groupTeams, teamCandidates, tokenise, tokeniseLists, toTeamTokens, type AccountClass, type TeamMember, type TeamTokens } from './classes';
import { findTeams } from './teams';
import { comparedItems, pathReads, statementReads, type ComparedPath, type ComparedStatement } from './team-reads';
import { logicalId } from '../cfn/resources';
import type { AlikeResources } from '../checks/alike';
import { ACCOUNTS_LISTED } from './scale';
import { forEachMember, hasToken, isPlainKey, isToken, MAX_CLASSES, MAX_NAME_TOKENS, nameTokenFor, same, startProof, stillCertain, TOKEN_MARK, tokenFor, writtenApart } from './symbolic';

export interface AccessPath {
  /** What the path is for, in words. */
  purpose: string;
  principal: PrincipalRef;
  actions: readonly string[];
  resource: string;
  resourceAccount: string;
  context?: Record<string, string[]>;
  /** The entry of the service needs table (src/services/needs.ts) the path comes from. */
  need?: string;
  /** A path that must be refused (protected branches, another environment's artifacts). */
  denied?: boolean;
  /** The principal's own policies live outside the org file (IAM Identity Center permission sets, federated roles). */
  identityManagedElsewhere?: boolean;
  /** The resource is AWS's own (its account is AWS_OWNED_ACCOUNT), its policy outside the org file: the identity side is proved. */
  resourceManagedElsewhere?: boolean;
  /**
   * Undecided, neither needed nor refused: the resource side admits it (proved, with identityManagedElsewhere), while
   * the principal's own policy as xstack writes it (bootstrap's) does not grant it, so a policy attached to the role
   * outside the org file decides. The report's result is "undecided", as explain's answer (review s36-diff m1).
   */
  outsideDecides?: boolean;
  /**
   * The same path exists for every environment of a pipeline: what it is
   * for without naming the environment, and the pipeline account it is in.
   * A report of a large org shows each group as one row.
   */
  group?: { purpose: string; account: string; environment: string };
  /** A path of an account class: the accounts it stands for (the class's token is written for the account). */
  accounts?: readonly string[];
}

/** A path's result, as the report and the audit model write it: an undecided path's resource side admits it (outsideDecides). */
export const pathResult = (path: AccessPath, allowed: boolean): 'allowed' | 'refused' | 'undecided' => (!allowed ? 'refused' : path.outsideDecides ? 'undecided' : 'allowed');

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

export { AWS_OWNED_ACCOUNT } from '../services/needs';

/** The CI paths that go through the CI network's CodeCommit and STS endpoints (git-remote-codecommit's). */
const CI_CLONE_NEEDS: ReadonlySet<string> = new Set(ACCESS_NEEDS.filter((n) => n.who === 'ci' && !n.denied).map((n) => n.id));

/** A principal outside `account`: another account's, or anyone's (`*`). Services are the account's own. */
export const isForeignPrincipal = (p: PrincipalRef, account: string): boolean =>
  p.kind === 'any' || (p.kind === 'aws' && !same(accountOf(p.arn), account)) || (p.kind === 'federated' && !same(accountOf(p.provider), account));

/**
 * Proved by account class (see classes.ts), a path or grant with `accounts`
 * stands for each of them, with the class's token for the account; `weight`
 * counts it so.
 */
export interface AccessAnalysis {
  paths: AccessPath[];
  results: AccessResult[];
  grants: ResolvedStatement[];
  /** `grants` indexed for the evaluator: the report's reach tables and `xstack explain` ask it too. */
  index: GrantIndex;
  problems: string[];
  /** The CI network's VPC endpoints and what the proof asked of each, when the org has one. */
  network?: NetworkAnalysis;
  /**
   * The classes of alike teams the proof ran once (proveByTeams), when it ran so; none when it ran by account class.
   * In a class, each member team's statements (those of its accounts: its source account, its account class's token
   * or its pipeline accounts, in `grants`' order) and paths are, field by field and one for one, the first member's
   * with the first's tuple (`TeamMember`) written as `tokens` and the tokens as the member's own tuple (stage and
   * policy names are not compared); no statement or path of another team, or of no team, holds a member's value.
   * Every member's values have the first's lengths.
   */
  teamClasses?: ReadonlyArray<{ readonly members: readonly TeamMember[]; readonly tokens: TeamTokens }>;
}

/** A request the proof asked of an endpoint's policy: a CI path's action it must let through, or one it must refuse. */
export interface EndpointCheck {
  /** The endpoint's logical id in the CI network's template. */
  endpoint: string;
  purpose: string;
  request: Request;
  /** The endpoint must refuse it (REFUSED_THROUGH_ISOLATED_NETWORK). */
  refuse: boolean;
  /** Let through when it must be, refused when it must be. */
  passed: boolean;
  /** The endpoint policy's statement that decided it. */
  by?: ResolvedStatement;
}

export interface NetworkAnalysis {
  /** The CI network's stage. */
  stage: string;
  /** The account it is deployed to (the CI's). */
  account: string;
  endpoints: VpcEndpoint[];
  checks: EndpointCheck[];
}

const aws = (arn: string): PrincipalRef => ({ kind: 'aws', arn });

/**
 * A path of one member as its class's, made as such (not the member's path, then a copy): the member's id written as
 * the token, purpose the group's. The fields in the order the member's path has them, then the class's members.
 */
function classPath(
  member: string,
  c: AccountClass,
  group: { purpose: string; environment: string },
  fields: PathFields,
): AccessPath {
  const t = (text: string) => tokenise(text, member, c.token);
  const { principal } = fields;
  return {
    purpose: group.purpose,
    group: { purpose: group.purpose, account: c.token, environment: group.environment },
    need: fields.need,
    principal: principal.kind === 'aws' ? aws(t(principal.arn)) : principal,
    actions: fields.actions,
    resource: t(fields.resource),
    resourceAccount: t(fields.resourceAccount),
    context: fields.context && tokeniseLists(fields.context, member, c.token),
    ...(fields.resourceManagedElsewhere ? { resourceManagedElsewhere: true } : {}),
    ...(fields.identityManagedElsewhere ? { identityManagedElsewhere: true } : {}),
    ...(fields.denied ? { denied: true } : {}),
    ...(fields.outsideDecides ? { outsideDecides: true } : {}),
    accounts: c.members,
  };
}

/** What the session tag paths of a people role are for (services/needs.ts peopleRoleNeeds). */
function sessionTagPurposes(
  who: 'developers' | 'maintainers',
  roleKind: 'developer' | 'maintainer',
  source: string,
  keys: (e: AccessEnvironment) => readonly string[],
  otherSet: (e: AccessEnvironment) => string,
): Record<string, (e: AccessEnvironment, note: string) => string> {
  const target = `the ${roleKind} role of ${source}`;
  return {
    [`${who}-carry-session-tags`]: (e, note) => `${who} (${note}) carry their session's transitive tags (${keys(e).join(', ')}) into ${target}`,
    [`${who}-set-other-session-tag`]: (_e, note) => `${who} (${note}) may not add a session tag of another key on ${target}`,
    [`${who}-set-session-tags`]: (_e, note) => `${who} (${note}), for whom the org file names no transitive session tags, may not pass session tags to ${target}`,
    [`${who}-carry-session-tags-other-role`]: (_e, note) => `a role other than ${note} may not pass session tags to ${target}`,
    [`${who}-carry-session-tags-other-permission-set`]: (e, note) => `another permission set's role (${roleNameOf(otherSet(e))}), which ${note} matches only by a longer set name, may not pass session tags to ${target}`,
  };
}

/** The paths the org needs; a pipeline's paths in the accounts of a class are its class's, once. */
export function declaredPaths(org: Org, stages: readonly Stage[], resolver: Resolver, classes: ReadonlyMap<string, AccountClass> = new Map(), executionKeyActions?: ReadonlySet<string>): AccessPath[] {
  const names = new Names(org.prefix, org.bucketGeneration);
  const { partition, region } = org;
  const role = (account: string, name: string) => `arn:${partition}:iam::${account}:role/${name}`;
  const withAccessRoles = new Set(stages.flatMap((s) => (s.module === 'access-roles' ? s.targets.map((t) => t.id) : [])));
  const hasAccessRoles = (source: Account) => withAccessRoles.has(source.id);
  const output = (stage: string, account: string, name: string) => String(resolver.output(stage, account, name));
  const accountId = (name: string) => accountByName(org, name).id;
  const paths: AccessPath[] = [];
  // Needs asked once per pipeline account (or class) or source role, not per pipeline (ServiceNeed.onceFor): those asked.
  const asked = new Set<string>();

  for (const p of org.pipelines) {
    const repository = repositoryByName(org, p.repository);
    const s = accountId(repository.account);
    const groupPurposes = new Map<string, string>();
    const done = new Set<AccountClass>();
    const groupPurpose = (what: string) => groupPurposes.get(what) ?? groupPurposes.set(what, `${what} (${p.name}, each environment)`).get(what)!;
    for (const [environment] of p.branches) {
      const a = accountOfEnvironment(org, environment).id;
      const c = classes.get(a);
      if (c && done.has(c)) continue;
      const e: PipelineEnvironment = {
        partition,
        region,
        prefix: org.prefix,
        sourceAccount: s,
        pipelineAccount: a,
        repositoryArn: `arn:${partition}:codecommit:${region}:${s}:${p.repository}`,
        pipelineArn: `arn:${partition}:codepipeline:${region}:${a}:${names.pipeline(p.name)}`,
        artifactBucketArn: output('pipeline-foundation', a, 'ArtifactBucketArn'),
        sourceArtifact: `${output('pipeline-foundation', a, 'ArtifactObjectsArn').replace(/\*$/, '')}${artifactObjectKey(names.pipeline(p.name), SOURCE_ARTIFACT)}`,
        artifactKeyArn: output('pipeline-foundation', a, 'ArtifactKeyArn'),
        artifactKeyAlias: names.artifactKeyAlias(),
        pipelineRole: role(a, names.pipelineRole()),
        sourceRole: role(s, names.sourceRole(a)),
        forwarderRole: role(s, names.eventForwarderRole()),
        forwardingRuleArn: `arn:${partition}:events:${region}:${s}:rule/${names.forwardingRule(p.repository, p.branches[0][1], 1)}`,
        triggerRole: role(a, names.triggerRole(p.name)),
        triggerRuleArn: `arn:${partition}:events:${region}:${a}:rule/${names.triggerRule(p.name)}`,
        sourceDeadLetterQueueArn: `arn:${partition}:sqs:${region}:${s}:${names.forwardingDeadLetterQueue()}`,
        pipelineDeadLetterQueueArn: `arn:${partition}:sqs:${region}:${a}:${names.triggerDeadLetterQueue()}`,
        deployTargetRole: role(a, names.deployTargetRole()),
        codeDeployRole: role(a, names.codeDeployRole(p.name)),
        codeDeployApplicationArn: `arn:${partition}:codedeploy:${region}:${a}:application:${names.codeDeployApplication(p.name)}`,
        deploymentGroupArn: `arn:${partition}:codedeploy:${region}:${a}:deploymentgroup:${names.codeDeployApplication(p.name)}/${names.codeDeployGroup(p.name)}`,
        deploymentConfigArn: `arn:${partition}:codedeploy:${region}:${a}:deploymentconfig:${p.deploy.deploymentConfig}`,
        agentInstaller: agentInstallerIn(partition, region),
      };
      const on = `${p.name} in ${environment}`;
      // The org's own instance roles: their trust is outside the templates (not proved); their grants are, per role.
      const existing = org.deploymentTargets.instanceRoles;
      const variants = (need: ServiceNeed): Array<{ e: PipelineEnvironment; which: string }> =>
        !need.deployTarget || !existing ? [{ e, which: '' }] : need.deployTarget === 'trust' ? [] : existing.map((r) => ({ e: { ...e, deployTargetRole: role(a, r) }, which: existing.length > 1 ? ` as ${r}` : '' }));
      for (const need of PIPELINE_NEEDS) {
        // What a need asked once is for: the pipeline account (or class), or the source role of a source account in it.
        const once = need.onceFor === 'source role' ? `${repository.account}, ` : need.onceFor ? '' : undefined;
        if (once !== undefined) {
          const key = `${need.id} ${once === '' ? '' : s} ${c?.token ?? a}`;
          if (asked.has(key)) continue;
          asked.add(key);
        }
        for (const { e, which } of variants(need)) {
          const what = `${need.purpose}${which}`;
          const group = { purpose: once === undefined ? groupPurpose(what) : `${what} (${once}each environment)`, environment };
          const resourceAccount = need.side === 'source' ? s : need.side === 'aws' ? AWS_OWNED_ACCOUNT : need.side === 'outside' ? OTHER_ACCOUNT : a;
          const fields = fieldsOf(need, e, resourceAccount);
          if (c) paths.push(classPath(a, c, group, fields));
          else paths.push({ purpose: `${what} (${once === undefined ? on : `${once}${environment}`})`, group: { purpose: group.purpose, account: a, environment }, ...fields });
        }
      }
      if (c) done.add(c);
    }
  }

  // The role is xstack's only without instanceRoles: the org's own roles' Systems Manager permissions are the org's (DEPLOY_TARGET_NEEDS).
  if (!org.deploymentTargets.instanceRoles) paths.push(...deployTargetPaths(org, names, classes));
  paths.push(...pipelineAccountPaths(org, names, resolver, output, classes, executionKeyActions));

  // Pairs of accounts are listed where the report lists accounts; environmentIsolation checks every size.
  if (org.accounts.filter((a) => a.role === 'pipeline').length <= ACCOUNTS_LISTED) paths.push(...isolationPaths(org, names, output, classes));

  // The CI network's own service paths (flow logs), in its one account.
  const network = stages.find((s) => s.module === 'ci-network');
  const networkAccount = network?.targets[0]?.id;
  if (network && networkAccount) {
    const e: CiNetworkEnvironment = {
      account: networkAccount,
      partition,
      region,
      flowLogRole: role(networkAccount, names.flowLogRole()),
      flowLogGroupArn: String(resolver.resolve(network.id, networkAccount, { 'Fn::GetAtt': ['FlowLogGroup', 'Arn'] })),
    };
    for (const need of CI_NETWORK_NEEDS) paths.push({ purpose: need.purpose, ...fieldsOf(need, e, networkAccount) });
  }

  const { developers, ci } = org.access;
  // The CI host's own paths (src/services/needs.ts CI_HOST_NEEDS), when it runs on EC2 with xstack's instance profile.
  if (ci && ci.runtime.kind === 'ec2') {
    const ciAccount = accountId(ci.account);
    const e: CiHostEnvironment = { partition, region, account: ciAccount, instanceRole: role(ciAccount, names.ciInstanceRole()), imageRepositories: names.ciImageRepositories() };
    const isolated = ci.network !== undefined && !ci.network.nat;
    for (const need of CI_HOST_NEEDS) {
      // A request an AWS service signs (a presigned URL) has no IAM side of the org's: only its network path is proved.
      if ((need.when === 'isolated' && !isolated) || need.networkOnly) continue;
      paths.push({ purpose: need.purpose, ...fieldsOf(need, e, ciAccount) });
    }
  }
  // On EKS with Pod Identity, EKS assumes the CI role for the service account and tags the session with it
  // (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html).
  if (ci && ci.runtime.kind === 'eks-pod-identity') {
    const ciAccount = accountId(ci.account);
    const { cluster, namespace, serviceAccount } = ci.runtime;
    const podIdentity = (refused: { purpose: string; cluster?: string; namespace?: string; serviceAccount?: string } | undefined): AccessPath => ({
      purpose: refused?.purpose ?? `EKS Pod Identity assumes the CI role for service account ${namespace}/${serviceAccount} of cluster ${cluster}`,
      need: refused ? 'ci-eks-pod-identity-other' : 'ci-eks-pod-identity',
      principal: { kind: 'service', service: 'pods.eks.amazonaws.com' },
      actions: ['sts:AssumeRole', 'sts:TagSession'],
      resource: role(ciAccount, names.ciInstanceRole()),
      resourceAccount: ciAccount,
      context: {
        'aws:SourceAccount': [ciAccount],
        'aws:RequestTag/kubernetes-namespace': [refused?.namespace ?? namespace],
        'aws:RequestTag/kubernetes-service-account': [refused?.serviceAccount ?? serviceAccount],
        'aws:RequestTag/eks-cluster-arn': [`arn:${partition}:eks:${region}:${ciAccount}:cluster/${refused?.cluster ?? cluster}`],
      },
      ...(refused ? { denied: true } : {}),
    });
    paths.push(podIdentity(undefined));
    // What each of the trust's conditions keeps out: a pod of another cluster, namespace or service account
    // (the session tags EKS sets: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html).
    paths.push(
      podIdentity({ purpose: 'EKS Pod Identity may not assume the CI role for a pod of another cluster', cluster: 'someone-elses' }),
      podIdentity({ purpose: `EKS Pod Identity may not assume the CI role for service account ${serviceAccount} of another namespace`, namespace: 'someone-elses' }),
      podIdentity({ purpose: `EKS Pod Identity may not assume the CI role for another service account of namespace ${namespace}`, serviceAccount: 'someone-elses' }),
    );
  }
  // With IRSA, the pod's service account token, which the cluster's OIDC provider vouches for, is exchanged for the CI
  // role's credentials (AssumeRoleWithWebIdentity); the token's subject names the namespace and service account and
  // its audience is STS (https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html).
  if (ci && ci.runtime.kind === 'eks-irsa') {
    const ciAccount = accountId(ci.account);
    const { oidcIssuer, namespace, serviceAccount } = ci.runtime;
    const webIdentity = (refused?: { purpose: string; subject?: string; audience?: string }): AccessPath => ({
      purpose: refused?.purpose ?? `a pod of service account ${namespace}/${serviceAccount} assumes the CI role with its web identity token (IRSA)`,
      need: refused ? 'ci-eks-irsa-other' : 'ci-eks-irsa',
      principal: { kind: 'federated', provider: `arn:${partition}:iam::${ciAccount}:oidc-provider/${oidcIssuer}` },
      actions: ['sts:AssumeRoleWithWebIdentity'],
      resource: role(ciAccount, names.ciInstanceRole()),
      resourceAccount: ciAccount,
      context: {
        [`${oidcIssuer}:sub`]: [refused?.subject ?? `system:serviceaccount:${namespace}:${serviceAccount}`],
        [`${oidcIssuer}:aud`]: [refused?.audience ?? 'sts.amazonaws.com'],
      },
      ...(refused ? { denied: true } : {}),
    });
    paths.push(
      webIdentity(),
      webIdentity({ purpose: `a pod of another service account of namespace ${namespace} may not assume the CI role (IRSA)`, subject: `system:serviceaccount:${namespace}:someone-elses` }),
      webIdentity({ purpose: `a pod of service account ${serviceAccount} of another namespace may not assume the CI role (IRSA)`, subject: `system:serviceaccount:someone-elses:${serviceAccount}` }),
      webIdentity({ purpose: 'a token issued for another audience than STS may not assume the CI role (IRSA)', audience: 'someone-elses' }),
    );
  }
  // The CI role's policy names each source account's reader role or, past its size, the role's name in any account of
  // the organization, held there by aws:ResourceOrgID (templates/ci-identity.ts): either way a role of that name in an
  // account outside the organization is refused it. Asked once for the org, of the CI role's own policy alone: the other
  // role's trust is someone else's (resourceManagedElsewhere), and aws:ResourceOrgID is absent for an account outside
  // the organization, "included in the request context only if the account that owns the resource is a member of an
  // organization" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceorgid).
  // Without it, the organization-scoped form's condition was proved to refuse nothing.
  if (ci) {
    paths.push({
      purpose: `the CI role may not assume a role named ${names.ciReaderRole()} in an account outside the organization`,
      need: 'ci-assume-reader-outside-org',
      principal: aws(role(accountId(ci.account), names.ciInstanceRole())),
      actions: ['sts:AssumeRole'],
      resource: role(OTHER_ACCOUNT, names.ciReaderRole()),
      resourceAccount: OTHER_ACCOUNT,
      context: ciSessionContext({ ciRuntime: ci.runtime.kind, ciNetwork: ci.network !== undefined }),
      resourceManagedElsewhere: true,
      denied: true,
    });
  }
  // Each source account's repositories, in the org file's order (an org of teams has hundreds of each).
  const repositoriesOf = new Map<string, Array<Org['repositories'][number]>>();
  for (const r of org.repositories) listIn(repositoriesOf, r.account).push(r);
  const developerSources = roleSourceSamples(org, developers?.assumedBy ?? []);
  const maintainerSources = roleSourceSamples(org, developers?.maintainers ?? []);
  for (const source of org.accounts.filter((a) => a.role === 'source')) {
    const s = source.id;
    const repos = (repositoriesOf.get(source.name) ?? []).map((r) => `arn:${partition}:codecommit:${region}:${s}:${r.name}`);
    if (!hasAccessRoles(source)) continue;
    // From the access needs table (src/services/needs.ts): one path per entry and what it is per.
    const base: AccessEnvironment = {
      sourceAccount: s,
      repositoryArn: '',
      ciInstanceRole: ci ? role(accountId(ci.account), names.ciInstanceRole()) : '',
      ciReaderRole: role(s, names.ciReaderRole()),
      ...(ci ? { ciRuntime: ci.runtime.kind } : {}),
      ciNetwork: ci?.network !== undefined,
      developerRole: role(s, names.developerRole()),
      developerSource: '',
      developerOther: '',
      developerOtherSet: '',
      maintainerRole: role(s, names.maintainerRole()),
      maintainerSource: '',
      maintainerOther: '',
      maintainerOtherSet: '',
      developerTagKeys: [],
      maintainerTagKeys: [],
      protectedBranch: '',
      listRepositories: developers?.listRepositories ?? true,
    };
    const repositoryName = (arn: string) => arn.split(':').pop();
    // A protected branch no pipeline of the repository deploys: its rows prove the protection, and release nothing.
    const deployed = (arn: string, branch: string) => org.pipelines.some((p) => p.repository === repositoryName(arn) && p.branches.some(([, b]) => b === branch));
    const protectionOnly = (e: AccessEnvironment) => (deployed(e.repositoryArn, e.protectedBranch) ? '' : ` (protection only: no pipeline of ${repositoryName(e.repositoryArn)} deploys ${e.protectedBranch})`);
    const purposeOf: Record<string, (e: AccessEnvironment, note: string) => string> = {
      'ci-assume-reader': () => `CI assumes the pull-only role of ${source.name}`,
      'ci-assume-reader-imdsv1': () => `the CI role's credentials, taken through IMDSv1, may not assume the pull-only role of ${source.name}`,
      'ci-assume-reader-outside-vpc': () => `the CI role's credentials may not assume the pull-only role of ${source.name} from outside a VPC endpoint`,
      'ci-assume-reader-other-vpc': () => `the CI role's credentials may not assume the pull-only role of ${source.name} from another VPC than the one they were delivered to`,
      'ci-pull': (e) => `CI pulls ${repositoryName(e.repositoryArn)}`,
      'developers-assume': (_e, note) => `developers (${note}) assume the developer role of ${source.name}, carrying the source identity their session has`,
      'developers-set-fresh-source-identity': (_e, note) => `developers (${note}) may not set a source identity of their choosing on the developer role of ${source.name}`,
      'developers-assume-other-role': (_e, note) => `a role other than ${note} may not assume the developer role of ${source.name}`,
      'developers-assume-other-permission-set': (e, note) => `another permission set's role (${roleNameOf(e.developerOtherSet)}), which ${note} matches only by a longer set name, may not assume the developer role of ${source.name}`,
      'developers-assume-deeper-sso-path': (e, note) => `a role deeper under Identity Center's path (${rolePathAndName(deeperSsoRole(e.developerSource))}), which ${note} would match as ArnLike's * spans /, may not assume the developer role of ${source.name}`,
      'ci-assume-reader-other-role': () => `a role of ${ci?.account} other than the CI role may not assume the pull-only role of ${source.name}`,
      'developers-work': (e) => `developers work on ${repositoryName(e.repositoryArn)}`,
      'developers-list-repositories': () => `developers list the repositories of ${source.name}`,
      'developers-protected-branch': (e) => `developers may not change ${e.protectedBranch} of ${repositoryName(e.repositoryArn)}${protectionOnly(e)}`,
      'maintainers-assume': (_e, note) => `maintainers (${note}) assume the maintainer role of ${source.name}, carrying the source identity their session has`,
      'maintainers-set-fresh-source-identity': (_e, note) => `maintainers (${note}) may not set a source identity of their choosing on the maintainer role of ${source.name}`,
      'maintainers-assume-other-role': (_e, note) => `a role other than ${note} may not assume the maintainer role of ${source.name}`,
      'maintainers-assume-other-permission-set': (e, note) => `another permission set's role (${roleNameOf(e.maintainerOtherSet)}), which ${note} matches only by a longer set name, may not assume the maintainer role of ${source.name}`,
      'maintainers-assume-deeper-sso-path': (e, note) => `a role deeper under Identity Center's path (${rolePathAndName(deeperSsoRole(e.maintainerSource))}), which ${note} would match as ArnLike's * spans /, may not assume the maintainer role of ${source.name}`,
      ...sessionTagPurposes('developers', 'developer', source.name, (e) => e.developerTagKeys, (e) => e.developerOtherSet),
      ...sessionTagPurposes('maintainers', 'maintainer', source.name, (e) => e.maintainerTagKeys, (e) => e.maintainerOtherSet),
      'maintainers-assume-developer': (_e, note) => `developers (${note}) may not assume the maintainer role of ${source.name}`,
      'maintainers-work': (e) => `maintainers work on ${repositoryName(e.repositoryArn)}`,
      'maintainers-list-repositories': () => `maintainers list the repositories of ${source.name}`,
      'maintainers-release': (e) => `maintainers change ${e.protectedBranch} of ${repositoryName(e.repositoryArn)}${protectionOnly(e)}`,
    };
    for (const need of ACCESS_NEEDS) {
      if ((need.who === 'ci' && !ci) || (need.who === 'developers' && !developers) || (need.who === 'maintainers' && maintainerSources.length === 0)) continue;
      const variants: Array<{ e: AccessEnvironment; note: string }> =
        need.per === 'source account'
          ? [{ e: base, note: '' }]
          : need.per === 'developer role'
            ? developerSources.map((d) => ({ e: { ...base, developerSource: d.arn, developerOther: d.other, developerOtherSet: d.otherSet, developerTagKeys: d.tagKeys }, note: d.note }))
            : need.per === 'maintainer role'
              ? maintainerSources.map((d) => ({ e: { ...base, maintainerSource: d.arn, maintainerOther: d.other, maintainerOtherSet: d.otherSet, maintainerTagKeys: d.tagKeys }, note: d.note }))
            : need.per === 'repository'
              ? repos.map((r) => ({ e: { ...base, repositoryArn: r }, note: '' }))
              : repos.flatMap((r) => (developers?.protectedBranches ?? []).map((b) => ({ e: { ...base, repositoryArn: r, protectedBranch: b }, note: '' })));
      // A CI entry asks what the CI's runtime makes its session ask (ci-assume-reader: sts:TagSession too on Pod Identity).
      const asking = ci && need.grantOn ? { ...need, grant: need.grantOn(ci.runtime.kind) } : need;
      for (const { e, note } of variants) {
        if (need.when && !need.when(e)) continue;
        paths.push({ purpose: purposeOf[need.id](e, note), ...fieldsOf(asking, e, s) });
      }
    }
  }
  return paths;
}

/** The fields of a path that a need gives, before its purpose and, by class, its token. */
type PathFields = Pick<AccessPath, 'need' | 'principal' | 'actions' | 'resource' | 'resourceAccount' | 'context' | 'resourceManagedElsewhere' | 'identityManagedElsewhere' | 'denied' | 'outsideDecides'>;

/**
 * A need of any table resolved against `e`: its path's fields, with the account its resource is in. A resource of
 * AWS's own (AWS_OWNED_ACCOUNT) has its policy outside the org file, as a need may also say of its resource.
 */
function fieldsOf<E>(need: Need<E>, e: E, resourceAccount: string): PathFields {
  return {
    need: need.id,
    principal: need.principal(e),
    actions: need.grant.actions,
    resource: need.resource(e),
    resourceAccount,
    ...(need.context ? { context: need.context(e) } : {}),
    ...(need.resourceManagedElsewhere || resourceAccount === AWS_OWNED_ACCOUNT ? { resourceManagedElsewhere: true } : {}),
    ...(need.identityManagedElsewhere ? { identityManagedElsewhere: true } : {}),
    ...(need.denied ? { denied: true } : {}),
  };
}

/** Paths made once per pipeline account, or once per class of them: each need `needsOf` gives for the account, in turn. */
function perPipelineAccount(org: Org, classes: ReadonlyMap<string, AccountClass>, needsOf: (account: Account) => Array<{ purpose: string; fields: PathFields }>): AccessPath[] {
  const paths: AccessPath[] = [];
  const done = new Set<AccountClass>();
  for (const account of org.accounts.filter((a) => a.role === 'pipeline')) {
    const c = classes.get(account.id);
    if (c && done.has(c)) continue;
    if (c) done.add(c);
    const environment = account.environment ?? account.name;
    for (const { purpose, fields } of needsOf(account)) {
      const group = { purpose: `${purpose} (each environment)`, environment };
      paths.push(c ? classPath(account.id, c, group, fields) : { purpose: `${purpose} (${environment})`, group: { ...group, account: account.id }, ...fields });
    }
  }
  return paths;
}

/**
 * The deployment targets' own paths (src/services/needs.ts DEPLOY_TARGET_NEEDS) with xstack's instance role, in each
 * pipeline account: the role is the account's, so once per account (not per pipeline), and a class's accounts once.
 */
function deployTargetPaths(org: Org, names: Names, classes: ReadonlyMap<string, AccountClass>): AccessPath[] {
  return perPipelineAccount(org, classes, (account) => {
    const e: InstanceEnvironment = { partition: org.partition, region: org.region, account: account.id, instanceRole: `arn:${org.partition}:iam::${account.id}:role/${names.deployTargetRole()}`, agentLogGroups: names.agentLogGroups() };
    return [...DEPLOY_TARGET_NEEDS, ...(org.deploymentTargets.cloudWatchAgent ? CLOUDWATCH_AGENT_NEEDS : [])].map((need) => ({
      purpose: need.purpose,
      fields: fieldsOf(need, e, need.awsOwned ? AWS_OWNED_ACCOUNT : account.id),
    }));
  });
}

/**
 * Each pipeline account's artifact store, once (PIPELINE_ACCOUNT_NEEDS): its access logs' delivery, and each
 * administrator of its key (the StackSet execution role and keyAdministratorRoles, a name pattern by a sample).
 * The key policy admits every administrator through IAM (the account, narrowed by aws:PrincipalArn), so an
 * administrator does what its own policy allows too: the org file's roles' policies are outside it, while the
 * execution role's is bootstrap's, which grants it the key actions its handlers call (`executionKeyActions`), not
 * all the key policy admits (review s36-audit F2). The rest (kms:CancelKeyDeletion) is a path of its own, undecided:
 * the key policy keeps it for the role as the way back from a scheduled deletion, for whoever adds it to the role's
 * policy, where no keyAdministratorRoles can. Without them (SERVICE_MANAGED: StackSets' own role), one path.
 * Another role of the account is asked once for each role the key policy names (PipelineAccountNeed.otherThan), named
 * after it, so that no narrowing of the key policy can be widened with the proof green (review s59-proof M2).
 */
function pipelineAccountPaths(
  org: Org,
  names: Names,
  resolver: Resolver,
  output: (stage: string, account: string, name: string) => string,
  classes: ReadonlyMap<string, AccountClass>,
  executionKeyActions?: ReadonlySet<string>,
): AccessPath[] {
  const administrators = [org.stackSets.executionRoleName, ...org.keyAdministratorRoles];
  // The roles the key policy lets use the key in the account (templates/pipeline-foundation.ts PipelineRoleUsesKey,
  // DeployTargetsDecryptViaS3); the source roles, of the source accounts, have their own samples (PIPELINE_NEEDS).
  const keyUsers = [names.pipelineRole(), ...deployTargetRoles(org, names)];
  // Asked of every pipeline account, made once: for each administrator and user, a role named after it that none of
  // them is nor matches, and the access log bucket's ARN as one expression (the resolver compiles an expression once,
  // by the object's identity).
  const taken = [...administrators, ...keyUsers];
  const others = { 'key administrators': administrators, 'key users': keyUsers };
  const otherRolesAfter = Object.fromEntries(Object.entries(others).map(([roles, named]) => [roles, named.map((name) => ({ name, other: nameLike(name, taken) }))])) as Record<keyof typeof others, Array<{ name: string; other: string }>>;
  const accessLogBucketArn = { 'Fn::GetAtt': ['AccessLogBucket', 'Arn'] };
  return perPipelineAccount(org, classes, (account) => {
    const base: PipelineAccountEnvironment = {
      partition: org.partition,
      region: org.region,
      account: account.id,
      artifactBucketArn: output('pipeline-foundation', account.id, 'ArtifactBucketArn'),
      accessLogBucketArn: String(resolver.resolve('pipeline-foundation', account.id, accessLogBucketArn)),
      artifactKeyArn: output('pipeline-foundation', account.id, 'ArtifactKeyArn'),
      keyAdministrator: '',
      otherRole: '',
    };
    return PIPELINE_ACCOUNT_NEEDS.flatMap((need) => {
      if (need.otherThan) {
        const { roles, purpose } = need.otherThan;
        return otherRolesAfter[roles].map(({ name, other }) => ({ purpose: purpose(name, other), fields: fieldsOf(need, { ...base, otherRole: `arn:${org.partition}:iam::${account.id}:role/${other}` }, account.id) }));
      }
      if (!need.perKeyAdministrator) return [{ purpose: need.purpose, fields: fieldsOf(need, base, account.id) }];
      return administrators.flatMap((name) => {
        const fields = fieldsOf(need, { ...base, keyAdministrator: `arn:${org.partition}:iam::${account.id}:role/${sampleOf(name)}` }, account.id);
        const own = name === org.stackSets.executionRoleName && executionKeyActions ? fields.actions.filter((a) => executionKeyActions.has(a)) : fields.actions;
        const rest = fields.actions.filter((a) => !own.includes(a));
        return [
          ...(own.length > 0 ? [{ purpose: `${name} ${need.purpose}`, fields: { ...fields, actions: own } }] : []),
          ...(rest.length > 0
            ? [{ purpose: `the key policy also admits ${name} to ${rest.join(', ')}, which bootstrap's policy does not grant it: only a policy added to the role outside the org file would (the way back from a scheduled key deletion)`, fields: { ...fields, actions: rest, outsideDecides: true } }]
            : []),
        ];
      });
    });
  });
}

/**
 * Environments are isolated: the source role one pipeline account assumes may
 * not write another pipeline account's artifacts nor use its key. Proved for
 * every ordered pair of pipeline accounts reading the same source account
 * (called only where the report lists accounts, so at most 12 × 11 pairs;
 * adding an account adds its pairs and changes no other); accounts proved by
 * class are left out, since a pair names two members.
 */
function isolationPaths(org: Org, names: Names, output: (stage: string, account: string, name: string) => string, classes: ReadonlyMap<string, AccountClass>): AccessPath[] {
  const paths: AccessPath[] = [];
  for (const source of org.accounts.filter((a) => a.role === 'source')) {
    const repositories = new Set(org.repositories.filter((r) => r.account === source.name).map((r) => r.name));
    const consumers = [
      ...new Set(org.pipelines.filter((p) => repositories.has(p.repository)).flatMap((p) => p.branches.map(([environment]) => accountOfEnvironment(org, environment)))),
    ].filter((a) => !classes.has(a.id));
    if (consumers.length < 2) continue;
    for (const a of consumers) {
      const principal = aws(`arn:${org.partition}:iam::${source.id}:role/${names.sourceRole(a.id)}`);
      const what = `the source role of ${a.environment} may not`;
      for (const other of consumers) {
        if (other === a) continue;
        const objects = `${output('pipeline-foundation', other.id, 'ArtifactObjectsArn').replace(/\*$/, '')}${artifactObjectKey('any-pipeline', SOURCE_ARTIFACT)}`;
        paths.push(
          { purpose: `${what} write ${other.environment}'s artifacts`, principal, actions: ARTIFACT_OBJECT_WRITE.actions, resource: objects, resourceAccount: other.id, context: { 's3:x-amz-server-side-encryption': ['aws:kms'] }, denied: true },
          { purpose: `${what} use ${other.environment}'s artifact key`, principal, actions: KMS_ARTIFACT_DATA_KEY.actions, resource: output('pipeline-foundation', other.id, 'ArtifactKeyArn'), resourceAccount: other.id, context: { 'kms:ViaService': [`s3.${org.region}.amazonaws.com`] }, denied: true },
        );
      }
    }
  }
  return [...paths, ...sharedBucketPaths(org, names, output, classes)];
}

/**
 * Teams are isolated where their pipelines share a pipeline account: the source role another source account holds
 * for that account may not read or replace a pipeline's source artifact there (review s59-proof M1; the grants:
 * src/stages/plan.ts sharedArtifactFolders). Asked for every ordered pair of source accounts feeding one pipeline
 * account, of the first pipeline of the one in that account; accounts proved by class are left out, as above.
 */
function sharedBucketPaths(org: Org, names: Names, output: (stage: string, account: string, name: string) => string, classes: ReadonlyMap<string, AccountClass>): AccessPath[] {
  const sourceOf = new Map(org.repositories.map((r) => [r.name, accountByName(org, r.account)]));
  const paths: AccessPath[] = [];
  for (const account of org.accounts.filter((a) => a.role === 'pipeline' && !classes.has(a.id))) {
    // Each feeding source account, with its first pipeline in this account, in file order.
    const firstPipeline = new Map<Account, string>();
    for (const p of org.pipelines) {
      const source = sourceOf.get(p.repository);
      if (source && p.branches.some(([environment]) => environment === account.environment) && !firstPipeline.has(source)) firstPipeline.set(source, p.name);
    }
    if (firstPipeline.size < 2) continue;
    for (const [owner, pipeline] of firstPipeline) {
      const artifact = `${output('pipeline-foundation', account.id, 'ArtifactObjectsArn').replace(/\*$/, '')}${artifactObjectKey(names.pipeline(pipeline), SOURCE_ARTIFACT)}`;
      for (const other of firstPipeline.keys()) {
        if (other === owner) continue;
        paths.push({
          purpose: `the source role of ${account.environment} in ${other.name} may not read or replace ${pipeline}'s source artifact there (its repository is in ${owner.name})`,
          principal: aws(`arn:${org.partition}:iam::${other.id}:role/${names.sourceRole(account.id)}`),
          actions: ARTIFACT_OBJECT_WRITE.actions,
          resource: artifact,
          resourceAccount: account.id,
          context: { 's3:x-amz-server-side-encryption': ['aws:kms'] },
          denied: true,
        });
      }
    }
  }
  return paths;
}

/**
 * The CI runs inside the CI network: its requests also pass the VPC
 * endpoints' policies (sts for assuming the pull-only role, git-codecommit
 * for git over HTTPS, codecommit for CodeCommit's API,
 * https://docs.aws.amazon.com/codecommit/latest/userguide/codecommit-and-interface-VPC.html).
 * Each CI path is asked of the endpoint its action goes through; an endpoint
 * policy that does not let it through is a problem naming the path. What was
 * asked of each endpoint is kept for the report.
 */
function throughEndpoints(org: Org, stages: readonly Stage[], resolver: Resolver, paths: readonly AccessPath[]): { network?: NetworkAnalysis; problems: string[] } {
  const network = stages.find((s) => s.module === 'ci-network');
  if (!network) return { problems: [] };
  const all = vpcEndpoints(network, resolver);
  const endpoints = endpointPolicies(all);
  const codecommit = (git: boolean) => [...endpoints.keys()].find((k) => k.startsWith(git ? 'git-codecommit' : 'codecommit'));
  const via = (action: string) => {
    const a = action.toLowerCase();
    return a.startsWith('sts:') ? 'sts' : a.startsWith('codecommit:') ? codecommit(isGitAction(a)) : undefined;
  };
  const problems: string[] = [];
  const checks: EndpointCheck[] = [];
  for (const path of paths.filter((p) => p.need !== undefined && CI_CLONE_NEEDS.has(p.need))) {
    const passed: Passed[] = [];
    for (const action of path.actions) {
      const service = via(action);
      const endpoint = service === undefined ? undefined : endpoints.get(service);
      if (!endpoint) {
        problems.push(`${path.purpose}: ${action} goes through no VPC endpoint of ${network.id} with a policy (expected ${service ?? 'one'})`);
        continue;
      }
      const request: Request = { principal: path.principal, action, resource: path.resource, resourceAccount: path.resourceAccount, context: path.context };
      const d = endpointAllows(endpoint.statements, request, org.organizationId);
      checks.push({ endpoint: endpoint.endpoint, purpose: path.purpose, request, refuse: false, passed: d.allowed, by: d.by });
      if (!d.allowed) problems.push(`${path.purpose}: ${principalName(path.principal)} may not ${action} on ${path.resource} through ${network.id}'s ${endpoint.endpoint}: ${d.by ? `denied by ${d.by.policy}` : 'no statement of its endpoint policy allows it'}`);
      else passed.push({ endpoint, request });
    }
    problems.push(...refusedToOthers(org, network, path.purpose, passed, checks, true));
  }
  problems.push(...throughIsolatedEndpoints(org, network, endpoints, checks));
  problems.push(...unusedEndpointGrants(all, checks));
  return { network: { stage: network.id, account: network.targets[0]?.id ?? '', endpoints: all, checks }, problems };
}

/**
 * The same request signed by someone else must not pass the endpoint: by a role of an account outside the org, by a
 * role of the signer's own name there, and, where only the org's roles may use the endpoint (`roles`: CodeCommit and STS for CI's clones), by another role of the
 * principal's account, named in the row. An endpoint policy's `aws:PrincipalAccount` and `aws:PrincipalArn` are what keep them out
 * (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html). Each is added to `checks`.
 */
function refusedToOthers(org: Org, network: Stage, purpose: string, passed: readonly Passed[], checks: EndpointCheck[], onlyRoles: boolean): string[] {
  const principal = passed[0]?.request.principal;
  if (principal?.kind !== 'aws') return [];
  const others: Array<[string, string]> = [
    ['a role of an account outside the org', `arn:${org.partition}:iam::${OTHER_ACCOUNT}:role/someone-elses`],
    // The signer's own name in an account outside the org: kept out by the account (aws:PrincipalAccount), or, where an
    // endpoint names the org's roles by name in any account, by the organization (aws:PrincipalOrgID, absent for a
    // principal outside it), which this request is the one to prove.
    [`a role named ${rolePathAndName(principal.arn)} in an account outside the org`, `arn:${org.partition}:iam::${OTHER_ACCOUNT}:role/${rolePathAndName(principal.arn)}`],
  ];
  // The account named: the signer's own (the CI role's for STS, the source account's reader role's for CodeCommit).
  if (onlyRoles) others.push([`another role of account ${accountOf(principal.arn)}`, someoneElsesRole(principal.arn)]);
  const problems: string[] = [];
  // Each other signer's requests together, in the path's order, so that the report shows them as one row per endpoint.
  for (const [who, arn] of others) {
    const what = `${who} may not do what ${purpose} does`;
    for (const { endpoint, request } of passed) {
      const refused: Request = { ...request, principal: aws(arn) };
      const d = endpointAllows(endpoint.statements, refused, org.organizationId);
      checks.push({ endpoint: endpoint.endpoint, purpose: what, request: refused, refuse: true, passed: !d.allowed, by: d.by });
      if (d.allowed) problems.push(`${what}: ${network.id}'s ${endpoint.endpoint} lets ${arn} ${request.action} on ${request.resource} through (${d.by?.policy})`);
    }
  }
  return problems;
}

/** A request an endpoint let through, as it must. */
interface Passed {
  endpoint: { endpoint: string; statements: readonly ResolvedStatement[] };
  request: Request;
}

/**
 * The converse for endpoint policies: each action and resource an endpoint's Allow statement lets through is one of a
 * request the proof sent through it and must let through, so an action or repository added "just in case" fails. A
 * policy two endpoints share, as ECR recommends for ecr.api and ecr.dkr (src/services/vpc-endpoints.ts), is used by
 * what either lets through.
 */
function unusedEndpointGrants(endpoints: readonly VpcEndpoint[], checks: readonly EndpointCheck[]): string[] {
  const shape = (s: ResolvedStatement) => JSON.stringify([s.policy.split('/').pop(), s.effect, s.principals, s.actions, s.resources, s.conditions]);
  const letThrough = new Map<string, EndpointCheck[]>();
  for (const c of checks) if (!c.refuse && c.passed && c.by) listIn(letThrough, shape(c.by)).push(c);
  const problems: string[] = [];
  for (const e of endpoints) {
    for (const s of e.statements ?? []) {
      if (s.effect !== 'Allow') continue;
      const asked = letThrough.get(shape(s)) ?? [];
      const unneeded = (what: string) => problems.push(`${s.stage} @ ${s.account}: ${s.policy} lets ${what} through, which no declared path sends through ${e.endpoint}`);
      for (const action of s.actions) if (!asked.some((c) => c.request.action.toLowerCase() === action.toLowerCase())) unneeded(action);
      for (const resource of s.resources) if (!asked.some((c) => literalMatches(resource, c.request.resource))) unneeded(`${s.actions.join(', ')} on ${resource}`);
    }
  }
  return problems;
}

/**
 * An isolated CI network (no NAT): the CI host's own requests (src/services/needs.ts CI_HOST_NEEDS) pass the endpoint
 * of their service, which must let each through, and the requests REFUSED_THROUGH_ISOLATED_NETWORK must be refused
 * by it (no write to any bucket, whoever signs it). An endpoint whose service takes no policy
 * (src/services/vpc-endpoints.ts) allows everything: its paths are not asked. Each request asked is added to `checks`.
 */
function throughIsolatedEndpoints(org: Org, network: Stage, endpoints: ReturnType<typeof endpointPolicies>, checks: EndpointCheck[]): string[] {
  const ci = org.access.ci;
  if (!ci || ci.runtime.kind !== 'ec2' || !ci.network || ci.network.nat) return [];
  const names = new Names(org.prefix, org.bucketGeneration);
  const ciAccount = accountByName(org, ci.account).id;
  const e: CiHostEnvironment = { partition: org.partition, region: org.region, account: ciAccount, instanceRole: `arn:${org.partition}:iam::${ciAccount}:role/${names.ciInstanceRole()}`, imageRepositories: names.ciImageRepositories() };
  const withoutPolicy = new Set(ISOLATED_ENDPOINTS.filter((x) => 'none' in x.policy).map((x) => x.service));
  const problems: string[] = [];
  const ask = (purpose: string, service: string, request: Request, refuse: boolean) => {
    const endpoint = endpoints.get(service);
    if (!endpoint) return undefined;
    const decision = endpointAllows(endpoint.statements, request, org.organizationId);
    checks.push({ endpoint: endpoint.endpoint, purpose, request, refuse, passed: decision.allowed !== refuse, by: decision.by });
    return { endpoint, decision };
  };
  for (const need of CI_HOST_NEEDS) {
    if (need.endpoint === undefined || withoutPolicy.has(need.endpoint)) continue;
    const requestFor = (action: string): Request => ({ principal: need.principal(e), action, resource: need.resource(e), resourceAccount: ciAccount, context: need.context?.(e) });
    if (need.denied) {
      // The host's own request each endpoint it may take must refuse, as its role must (another repository of the
      // account); endpoint by endpoint, so that the report folds each one's actions into one row.
      for (const endpoint of [need.endpoint, ...(need.alsoThrough ?? [])]) {
        for (const action of need.grant.actions) {
          const request = requestFor(action);
          const asked = ask(need.purpose, endpoint, request, true);
          if (asked?.decision.allowed) problems.push(`${need.purpose}: ${network.id}'s ${asked.endpoint.endpoint} lets ${principalName(request.principal)} ${action} on ${request.resource} through (${asked.decision.by?.policy})`);
        }
      }
      continue;
    }
    const passed: Passed[] = [];
    for (const action of need.grant.actions) {
      const request = requestFor(action);
      const asked = ask(need.purpose, need.endpoint, request, false);
      if (!asked) problems.push(`${need.purpose}: ${action} goes through no VPC endpoint of ${network.id} with a policy (expected ${need.endpoint})`);
      else if (!asked.decision.allowed) {
        problems.push(`${need.purpose}: ${principalName(request.principal)} may not ${action} on ${request.resource} through ${network.id}'s ${asked.endpoint.endpoint}: ${asked.decision.by ? `denied by ${asked.decision.by.policy}` : 'no statement of its endpoint policy allows it'}`);
      } else passed.push({ endpoint: asked.endpoint, request });
    }
    problems.push(...refusedToOthers(org, network, need.purpose, passed, checks, false));
  }
  // Whoever signs it: each request passes the endpoint on its own ("the endpoint policy does not override or replace
  // identity-based policies or resource-based policies", https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html),
  // so a statement admitting one signer (the CI host's role, by aws:PrincipalArn) lets that one through. Asked as
  // anyone's request (a presigned URL's), shown in the report; and as the CI host's role and another role of its
  // account, signed in the request's header too, which must be refused as well (review s37-evaluator E6: asked as
  // anyone only, such a statement was met only by the check of statements no declared path sends, which does not name
  // the refused write it lets through).
  const signers: PrincipalRef[] = [{ kind: 'aws', arn: e.instanceRole }, { kind: 'aws', arn: `arn:${org.partition}:iam::${ciAccount}:role/${otherRoleName([names.ciInstanceRole()])}` }];
  for (const refused of REFUSED_THROUGH_ISOLATED_NETWORK) {
    const request: Request = { principal: { kind: 'any' }, action: refused.action, resource: refused.resource(e), resourceAccount: AWS_OWNED_ACCOUNT, context: refused.context };
    const asked = ask(refused.purpose, refused.endpoint, request, true);
    if (!asked) {
      problems.push(`${refused.purpose}: ${network.id} has no ${refused.endpoint} endpoint with a policy, so AWS's default lets ${refused.action} through`);
      continue;
    }
    // A request signed in its header as well as a presigned one (s3:authType REST-HEADER, REST-QUERY-STRING:
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policy-s3-sigv4-conditions.html).
    const contexts = [refused.context, ...(refused.context?.['s3:authType'] ? [{ ...refused.context, 's3:authType': ['REST-HEADER'] }] : [])];
    let through = asked.decision.allowed ? { principal: request.principal, by: asked.decision.by } : undefined;
    for (const principal of signers) {
      for (const context of contexts) {
        if (through) break;
        const d = endpointAllows(asked.endpoint.statements, { ...request, principal, context }, org.organizationId);
        if (d.allowed) through = { principal, by: d.by };
      }
    }
    if (through) problems.push(`${refused.purpose}: ${network.id}'s ${asked.endpoint.endpoint} lets ${principalName(through.principal)} ${refused.action} on ${request.resource} through (${through.by?.policy})`);
  }
  return problems;
}

/**
 * Every size, as a rule over the grants rather than a pair of paths: a
 * pipeline account's bucket and key policies admit no source role but its
 * own, and a source role's grants on artifacts name its own pipeline
 * account's bucket (pinned by aws:ResourceAccount) and key only. Statements
 * of a class carry the token for both, so one check holds for every member.
 */
function environmentIsolation(org: Org, grants: readonly ResolvedStatement[]): string[] {
  const names = new Names(org.prefix, org.bucketGeneration);
  const ownerOf = (arn: string) => names.sourceRoleFor(arn);
  const problems: string[] = [];
  // Per pipeline account (or class token): the source accounts its bucket policy lets at artifacts, and those it lets
  // at every artifact (the bucket's objects, `<bucket>/*`), which only a pipeline account fed by one may do.
  const writers = new Map<string, { all: Set<string>; whole: Set<string>; policies: Set<string>; stage: string }>();
  for (const g of grants) {
    if (g.effect !== 'Allow') continue;
    if (g.kind === 'key' || g.kind === 'bucket') {
      // Named as a principal, or (an account root narrowed to it) by aws:PrincipalArn.
      const admitted = [...g.principals.flatMap((p) => (p.kind === 'aws' ? [p.arn] : [])), ...principalArnValues(g)];
      for (const arn of admitted) {
        const owner = ownerOf(arn);
        if (owner !== undefined && owner !== g.account) problems.push(`${g.stage} @ ${g.account}: ${g.policy} admits ${arn}, the source role of another pipeline account`);
        if (owner === undefined || g.kind !== 'bucket' || !g.actions.some((a) => ARTIFACT_OBJECT_WRITE.actions.includes(a))) continue;
        const w = writers.get(g.account) ?? writers.set(g.account, { all: new Set(), whole: new Set(), policies: new Set(), stage: g.stage }).get(g.account)!;
        const source = accountOf(arn)!;
        w.all.add(source);
        if (g.resources.some((r) => WHOLE_BUCKET.test(r))) {
          w.whole.add(source);
          w.policies.add(g.policy);
        }
      }
    }
    const owner = g.kind === 'identity' && g.attachedTo ? ownerOf(g.attachedTo) : undefined;
    if (owner === undefined) continue;
    for (const action of g.actions) {
      const service = action.split(':')[0].toLowerCase();
      const pinned =
        service === 's3' ? g.conditions.StringEquals?.['aws:ResourceAccount']?.every((a) => a === owner) === true : service === 'kms' ? g.resources.every((r) => accountOf(r) === owner) : true;
      if (!pinned) problems.push(`${g.stage} @ ${g.account}: ${g.policy} lets ${g.attachedTo} use ${action} beyond pipeline account ${owner}'s own artifacts`);
    }
  }
  for (const [account, w] of writers) {
    if (w.all.size > 1 && w.whole.size > 0) problems.push(`${w.stage} @ ${account}: ${[...w.policies].join(', ')} lets the source roles of ${[...w.whole].join(', ')} at every artifact of a bucket that source accounts ${[...w.all].join(', ')} all write: each must be held to its own pipelines' folders`);
  }
  return problems;
}

/** A bucket's every object: `arn:<partition>:s3:::<bucket>/*`. */
const WHOLE_BUCKET = /^arn:[^:]+:s3:::[^/]+\/\*$/;

/**
 * A statement's principals, an account root narrowed by `aws:PrincipalArn` standing for the roles it admits, each
 * checked against the declared paths: each literal ARN (ArnEquals, src/iam/policy.ts rolesByArn; or a value of
 * ArnLike without a wildcard, which names one role as ArnEquals does: review s60-second-read, a role added to the
 * developers' ArnLike list compiled green); and the root itself for the patterns among them (any role of its account
 * a path uses; what a pattern may name is rule XS017's, src/iam/wildcards.ts).
 */
function narrowedPrincipals(g: ResolvedStatement): readonly PrincipalRef[] {
  const values = principalArnValues(g, (operator) => operator === 'ArnEquals' || operator === 'StringEquals' || operator === 'ArnLike' || operator === 'StringLike');
  if (values.length === 0) return g.principals;
  const pattern = (arn: string) => arn.includes('*') || arn.includes('?');
  return g.principals.flatMap((p) => {
    if (p.kind !== 'aws' || !p.arn.endsWith(':root')) return [p];
    const account = accountOf(p.arn);
    const mine = values.filter((arn) => accountOf(arn) === account);
    return [...mine.filter((arn) => !pattern(arn)).map((arn): PrincipalRef => ({ kind: 'aws', arn })), ...(mine.some(pattern) ? [p] : [])];
  });
}

/**
 * Whether an identity statement's ArnLike or ArnEquals on aws:PrincipalArn, if it has one, admits the role it is
 * attached to (returns true without one). Other operators on the key are left to the evaluator.
 */
function appliesTo(g: ResolvedStatement, role: string): boolean {
  const like = principalArnValues(g, (operator) => operator === 'ArnLike');
  const equal = principalArnValues(g, (operator) => operator === 'ArnEquals');
  if (like.length === 0 && equal.length === 0) return true;
  return like.some((pattern) => matches(pattern, role)) || equal.includes(role);
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
    return (candidates ?? []).some((p) => p.actions.some((x) => x.toLowerCase() === a) && g.resources.some((r) => matchesResource(r, p.resource)));
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
  /** A resolver over the same stages and templates to reuse (it keeps what it compiled). */
  resolver?: Resolver;
  /**
   * The key actions bootstrap's policy grants the StackSet execution role (execution-policy.ts `keyActions`): those its
   * administration of each artifact key is asked for (pipelineAccountPaths). Without them, all the key policy admits.
   */
  executionKeyActions?: ReadonlySet<string>;
  /** Each stage's classes of alike resources (alike.ts), where the caller has them: by class, what their later members grant is read from their firsts' (grants.ts `AlikeStatement`). */
  alike?: ReadonlyMap<string, AlikeResources>;
  /**
   * By class, prove alike teams once per class of teams (proveByTeams), their results written for each: the same
   * analysis as by account class. Default true; false proves by account class only (a test compares the two).
   */
  byTeams?: boolean;
}

export function analyseAccess(org: Org, stages: readonly Stage[], templates?: ReadonlyMap<string, CfnTemplate>, options: AnalyseOptions = {}): AccessAnalysis {
  const resolver = options.resolver ?? new Resolver(org, stages, templates);
  const byClass = options.byClass ?? org.accounts.filter((a) => a.role === 'pipeline').length > ACCOUNTS_LISTED;
  // Undefined when a class proof gives up or fails: a failing org is analysed account by account, so its messages name the accounts.
  return (byClass ? prove(org, stages, resolver, true, options.executionKeyActions, options.alike, options.byTeams ?? true) : undefined) ?? prove(org, stages, resolver, false, options.executionKeyActions)!;
}

/** The analysis by classes of teams alone (proveByTeams), undefined where it gives up: for tests, which ask that it is used. */
export function analyseByTeams(org: Org, stages: readonly Stage[], templates?: ReadonlyMap<string, CfnTemplate>): AccessAnalysis | undefined {
  const resolver = new Resolver(org, stages, templates);
  const { grants, classes } = collectGrants(org, stages, resolver, true);
  return proveByTeams(org, stages, resolver, grants, declaredPaths(org, stages, resolver, classes), classes);
}

/**
 * The analysis. By class, undefined when the proof might not hold in every
 * member or fails; when no accounts share a class, the grants collected are
 * every account's, and the proof is the account-by-account one. With
 * `byTeams`, alike teams are proved once per class of teams (proveByTeams),
 * and by account class where that gives up.
 */
function prove(
  org: Org,
  stages: readonly Stage[],
  resolver: Resolver,
  byClass: boolean,
  executionKeyActions?: ReadonlySet<string>,
  alike?: ReadonlyMap<string, AlikeResources>,
  byTeams = false,
): AccessAnalysis | undefined {
  const { grants, classes } = collectGrants(org, stages, resolver, byClass, alike);
  const paths = declaredPaths(org, stages, resolver, classes, executionKeyActions);
  return (byTeams ? proveByTeams(org, stages, resolver, grants, paths, classes) : undefined) ?? proveWith(org, stages, resolver, grants, paths, classes);
}

/**
 * The proof of these grants and paths, `classes` its classes (account id → class). `endpointPaths`: the paths whose
 * way through the CI network's endpoints is checked (the org's own, where `paths` are a team class's).
 */
function proveWith(
  org: Org,
  stages: readonly Stage[],
  resolver: Resolver,
  grants: ResolvedStatement[],
  paths: AccessPath[],
  classes: ReadonlyMap<string, AccountClass>,
  endpointPaths: readonly AccessPath[] = paths,
): AccessAnalysis | undefined {
  const classed = classes.size > 0;
  startProof(new Set(classes.values()));
  if (classed && !exactLookups(grants, paths, classes)) return undefined;
  const index = new GrantIndex(grants);
  const declared = new PathIndex(paths);
  const results: AccessResult[] = [];
  const problems: string[] = [];
  // By class, the first comparison some member could answer otherwise, or the first problem, ends the attempt.
  const givenUp = () => classed && (!stillCertain() || problems.length > 0);
  const memo: AppliesMemo = new RequestAnswers();
  const usage = new StatementUsage();
  // Each request's allowing statements, written again for the next: a result keeps a copy (below), when they differ.
  const allowing: ResolvedStatement[] = [];
  for (const path of paths) {
    if (givenUp()) return undefined;
    // A path's actions are mostly granted by the same statements: those results share one list, kept
    // at its size (a list grown by push keeps spare room, and 1,000 accounts make 50,000 results).
    let granted: readonly ResolvedStatement[] = [];
    // One request per path, its action set in turn (evaluate keeps no request).
    const request: Request = {
      principal: path.principal,
      action: '',
      resource: path.resource,
      resourceAccount: path.resourceAccount,
      context: path.context,
      identityManagedElsewhere: path.identityManagedElsewhere,
      resourceManagedElsewhere: path.resourceManagedElsewhere,
    };
    memo.clear();
    // What StatementUsage keeps of the path's principal: one text per path, not one per action and statement.
    const principal = principalKey(path.principal);
    for (const action of path.actions) {
      request.action = action;
      const d = evaluate(index, request, org.organizationId, memo, allowing);
      if (!sameStatements(d.grantedBy, granted)) granted = d.grantedBy.slice();
      results.push({ path, action, allowed: d.allowed, reason: d.reason, grantedBy: granted, refusedBy: d.refusedBy });
      if (!path.denied) usage.record(granted, action, path.resource, principal);
      // A refusal the principal's own policies (outside the org file) could overturn within its account is not one proved.
      const ok = path.denied ? !d.allowed && !ownPolicyDecides(d) : d.allowed;
      if (!ok) {
        problems.push(
          !path.denied
            ? `${path.purpose}: ${principalName(path.principal)} may not ${action} on ${path.resource}: ${d.reason}`
            : d.allowed
              ? `${path.purpose}: ${principalName(path.principal)} may ${action} on ${path.resource}, which must be refused`
              : `${path.purpose}: ${principalName(path.principal)} ${action} on ${path.resource} must be refused, and is not proved so: within its account the principal's own policies, outside the org file, could allow it (no statement of the templates refuses it)`,
        );
      }
    }
  }
  const network = throughEndpoints(org, stages, resolver, endpointPaths);
  problems.push(...network.problems);
  // A condition the model reads otherwise than IAM would make a proof above say what AWS would not.
  problems.push(...unreadConditions(grants, contextKeys(paths.map((p) => p.context))));
  if (network.network) {
    const statements = network.network.endpoints.flatMap((e) => e.statements ?? []);
    problems.push(...unreadConditions(statements, contextKeys(network.network.checks.map((c) => c.request.context))));
  }
  // Nothing beyond the declared paths for principals outside the resource's account.
  for (const g of grants) {
    if (givenUp()) return undefined;
    if (g.effect !== 'Allow' || g.kind === 'identity') continue;
    for (const principal of narrowedPrincipals(g)) {
      if (!isForeignPrincipal(principal, g.account)) continue;
      for (const action of g.actions) {
        if (!declared.covers(g, principal, action)) {
          problems.push(`${g.stage} @ ${g.account}: ${g.policy} grants ${action} on ${g.resources.join(', ')} to ${principalName(principal)}, which no declared access path needs`);
        }
      }
    }
  }
  // Nor any statement's action, resource or principal that allows no declared path: a role's policy, a trust, a key,
  // bucket or bus policy (StatementUsage; the check above also asks each of another account's principals per action).
  for (const g of grants) {
    if (givenUp()) return undefined;
    if (g.effect === 'Allow' && (g.kind === 'identity' || g.principals.length > 0)) problems.push(...usage.unused(g));
  }
  problems.push(...environmentIsolation(org, grants));
  return givenUp() ? undefined : { paths, results, grants, index, problems, ...(network.network ? { network: network.network } : {}) };
}

/** A statement's usage: what of it the declared paths it allows ask. */
interface Usage {
  actions: Set<string>;
  resources: Set<string>;
  /** Principals as `service:<name>`, `aws:<arn>`, or `any`. */
  principals: Set<string>;
  /** The same, each class token written as each member's id (made when a lookup as written fails). */
  eachMember?: { resources: Set<string>; principals: Set<string> };
}

const principalKey = (p: PrincipalRef): string => (p.kind === 'aws' ? `aws:${p.arn}` : p.kind === 'service' ? `service:${p.service}` : p.kind === 'federated' ? `federated:${p.provider}` : 'any');

/**
 * What each statement allows of the declared paths (refused or not: a refusal is a problem of its own): the actions,
 * resources and principals, as the paths write them. Every action, every resource and (in a resource policy) every
 * principal of an Allow statement must be one of some declared path's, so a grant no service or person of the org
 * needs fails the compile. Actions and resources are each checked, not each pair: an action on a resource of a type
 * it does not take is inert.
 */
class StatementUsage {
  private readonly byStatement = new Map<ResolvedStatement, Usage>();

  /** `principal`: as principalKey writes it. */
  record(granted: readonly ResolvedStatement[], action: string, resource: string, principal: string): void {
    for (let i = 0; i < granted.length; i++) {
      let u = this.byStatement.get(granted[i]);
      if (!u) this.byStatement.set(granted[i], (u = { actions: new Set(), resources: new Set(), principals: new Set() }));
      u.actions.add(action);
      u.resources.add(resource);
      u.principals.add(principal);
    }
  }

  /** Each action, resource and principal of `g` that allows no declared path, as a problem naming the statement. */
  unused(g: ResolvedStatement): string[] {
    // An identity statement held by aws:PrincipalArn to roles its role is not never applies to it: IAM puts the
    // principal's own ARN in that key (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
    // One managed policy attached to several roles holds such statements (templates/access-callers.ts CarrySessionTags).
    if (g.kind === 'identity' && g.attachedTo !== undefined && !appliesTo(g, g.attachedTo)) return [];
    const u = this.byStatement.get(g);
    const to = g.kind === 'identity' ? g.attachedTo : g.principals.map(principalName).join(', ');
    const problems: string[] = [];
    const unneeded = (what: string) => problems.push(`${g.stage} @ ${g.account}: ${g.policy} grants ${what}, which no declared access path needs`);
    for (const action of g.actions) if (!u || !(u.actions.has(action) || sameActionIn(u.actions, action))) unneeded(`${action} on ${g.resources.join(', ')} to ${to}`);
    if (!u) return problems;
    for (const resource of g.resources) {
      if (u.resources.has(resource) || anyMatched(resource, u.resources)) continue;
      const { resources } = eachMemberOf(u);
      if (!resources.has(resource) && !anyMatched(resource, resources)) unneeded(`${g.actions.join(', ')} on ${resource} to ${to} (its paths are on ${listed(u.resources)})`);
    }
    if (g.kind === 'identity') return problems;
    for (const principal of narrowedPrincipals(g)) {
      if (admitsSome(principal, u.principals) || admitsSome(principal, eachMemberOf(u).principals)) continue;
      unneeded(`${g.actions.join(', ')} on ${g.resources.join(', ')} to ${principalName(principal)} (its paths are of ${listed(u.principals)})`);
    }
    return problems;
  }
}

/**
 * A usage with each class token written as each member's id: a class's path stands for each member's, and a statement
 * one account makes per member (the forwarder's, naming each member's bus) uses it for the member it names.
 */
function eachMemberOf(u: Usage): NonNullable<Usage['eachMember']> {
  return (u.eachMember ??= {
    resources: new Set([...u.resources].flatMap(forEachMember)),
    principals: new Set([...u.principals].flatMap(forEachMember)),
  });
}

/**
 * Every text the evaluator and the path index look up by, and each ARN's account (a class with tied tokens: read by
 * writtenApart, since the texts' name tokens answer no shape).
 */
function lookupKeys(grants: readonly ResolvedStatement[], paths: readonly AccessPath[]): string[] {
  const keys: string[] = [];
  const arn = (s: string) => keys.push(s, accountOf(s));
  for (const g of grants) {
    keys.push(g.account);
    if (g.attachedTo !== undefined) arn(g.attachedTo);
    for (const p of g.principals) if (p.kind === 'aws') arn(p.arn);
  }
  for (const p of paths) {
    keys.push(p.resourceAccount);
    if (p.principal.kind === 'aws') arn(p.principal.arn);
  }
  return keys;
}

/** Whether a statement's principal admits one of the paths' principals: itself, or an account root any principal of its account. */
function admitsSome(principal: PrincipalRef, principals: ReadonlySet<string>): boolean {
  if (principal.kind === 'any') return principals.size > 0;
  if (principals.has(principalKey(principal))) return true;
  if (principal.kind !== 'aws' || !principal.arn.endsWith(':root')) return false;
  const account = accountOf(principal.arn);
  for (const p of principals) if (p.startsWith('aws:') && accountOf(p.slice(4)) === account) return true;
  return false;
}

/** A few of a problem's texts, then how many more: a statement used by a path per account would list thousands. */
function listed(texts: ReadonlySet<string>, shown = 5): string {
  const all = [...texts];
  return all.length <= shown ? all.join(', ') : `${all.slice(0, shown).join(', ')}, … ${all.length - shown} more`;
}

/** Whether a set holds an action written in another case (IAM's actions are case-insensitive): asked only when the exact one is not there. */
function sameActionIn(actions: ReadonlySet<string>, action: string): boolean {
  const a = action.toLowerCase();
  for (const x of actions) if (x.toLowerCase() === a) return true;
  return false;
}

/** Whether a statement's resource pattern matches one of the paths' resources (for every member, by class: literalMatches). */
function anyMatched(pattern: string, resources: ReadonlySet<string>): boolean {
  for (const r of resources) if (literalMatches(pattern, r)) return true;
  return false;
}

/** The same statements in the same order (a loop: asked for every result of the proof). */
function sameStatements(a: readonly ResolvedStatement[], b: readonly ResolvedStatement[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The evaluator and the path index look statements and paths up by account
 * and by role ARN, with plain map lookups. Those answer for every member
 * when a token is the whole account (isPlainKey) and no key without a token
 * names a member's account: then a key with a token equals, for any member,
 * only the same key, since accounts and classes never share an id.
 */
function exactLookups(grants: readonly ResolvedStatement[], paths: readonly AccessPath[], classes: ReadonlyMap<string, AccountClass>): boolean {
  if ([...new Set(classes.values())].some((c) => c.tied !== undefined)) return writtenApart(lookupKeys(grants, paths));
  const account = (id: string) => isToken(id) || (!hasToken(id) && !classes.has(id));
  // A key without a token names no member, neither in its account field nor at its end (where a token may stand).
  const arn = (s: string) => isPlainKey(s) && (hasToken(s) || (!classes.has(accountOf(s)) && !classes.has(s.slice(-12))));
  const principal = (p: PrincipalRef) => p.kind !== 'aws' || arn(p.arn);
  return (
    grants.every((g) => account(g.account) && (g.attachedTo === undefined || arn(g.attachedTo)) && g.principals.every(principal)) &&
    paths.every((p) => account(p.resourceAccount) && principal(p.principal))
  );
}

/** Separators of the texts a team class compares (statementText, pathText): no value holds them. */
const FIELD = '\u0001';

/**
 * What the proof decides by of a statement, as one text: a member's tuple is written as tokens in it in one pass,
 * since no value spans a separator. Its stage, label and accounts are left out: they are read only in a problem's
 * words (a proof with problems gives up, and the account classes' proof words them) and in a refusal's reason, which
 * is written for each member from its own statement (deniedReason).
 */
function statementText(g: ResolvedStatement): string {
  let s = `${g.account}${FIELD}${g.kind}${FIELD}${g.effect}${FIELD}${g.attachedTo === undefined ? '-' : `+${g.attachedTo}`}${FIELD}${g.madeFor === undefined ? '-' : `+${g.madeFor}`}`;
  for (const p of g.principals) s += `${FIELD}p${principalKey(p)}`;
  for (const a of g.actions) s += `${FIELD}a${a}`;
  for (const r of g.resources) s += `${FIELD}r${r}`;
  for (const operator in g.conditions) {
    s += `${FIELD}o${operator}`;
    const keys = g.conditions[operator];
    for (const key in keys) {
      s += `${FIELD}k${key}`;
      for (const v of keys[key]) s += `${FIELD}v${v}`;
    }
  }
  return s;
}

/** What the proof decides by of a path, as one text (as statementText): its purpose, group and accounts are left out (words and the report's). */
function pathText(p: AccessPath): string {
  const flags = `${p.denied ? 'd' : ''}${p.identityManagedElsewhere ? 'i' : ''}${p.resourceManagedElsewhere ? 'r' : ''}${p.outsideDecides ? 'o' : ''}`;
  let s = `${p.need === undefined ? '-' : `+${p.need}`}${FIELD}${principalKey(p.principal)}${FIELD}${p.resource}${FIELD}${p.resourceAccount}${FIELD}${flags}`;
  for (const a of p.actions) s += `${FIELD}a${a}`;
  if (p.context) {
    s += `${FIELD}c`;
    for (const key in p.context) {
      s += `${FIELD}k${key}`;
      for (const v of p.context[key]) s += `${FIELD}v${v}`;
    }
  }
  return s;
}

/** A list with `write` applied to each text: the list itself where that changes none (nothing mutates them). */
function writtenList(list: readonly string[], write: (text: string) => string): string[] {
  let out: string[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const text = write(list[i]);
    if (out) out.push(text);
    else if (text !== list[i]) (out = list.slice(0, i)).push(text);
  }
  // The list as it was: ResolvedStatement's lists are typed mutable, and nothing mutates them.
  return out ?? (list as string[]);
}

/** A principal with `write` applied to its name. */
function writtenPrincipal(p: PrincipalRef, write: (text: string) => string): PrincipalRef {
  switch (p.kind) {
    case 'aws':
      return { kind: 'aws', arn: write(p.arn) };
    case 'service':
      return { kind: 'service', service: write(p.service) };
    case 'federated':
      return { kind: 'federated', provider: write(p.provider) };
    default:
      return p;
  }
}

/** A statement with `write` applied to each text statementText holds (a new object; its fields in the same order). */
function writtenStatement(g: ResolvedStatement, write: (text: string) => string): ResolvedStatement {
  const conditions: ResolvedStatement['conditions'] = {};
  for (const operator in g.conditions) {
    const keys: Record<string, string[]> = {};
    for (const key in g.conditions[operator]) keys[write(key)] = writtenList(g.conditions[operator][key], write);
    conditions[write(operator)] = keys;
  }
  return {
    ...g,
    account: write(g.account),
    policy: write(g.policy),
    ...(g.attachedTo !== undefined ? { attachedTo: write(g.attachedTo) } : {}),
    principals: g.principals.map((p) => writtenPrincipal(p, write)),
    actions: writtenList(g.actions, write),
    resources: writtenList(g.resources, write),
    conditions,
    ...(g.madeFor !== undefined ? { madeFor: write(g.madeFor) } : {}),
  };
}

/** A path with `write` applied to each text pathText holds (a new object; its fields in the same order). */
function writtenPath(p: AccessPath, write: (text: string) => string): AccessPath {
  let context: Record<string, string[]> | undefined;
  if (p.context) {
    context = {};
    for (const key in p.context) context[write(key)] = writtenList(p.context[key], write);
  }
  return {
    ...p,
    purpose: write(p.purpose),
    principal: writtenPrincipal(p.principal, write),
    actions: writtenList(p.actions, write),
    resource: write(p.resource),
    resourceAccount: write(p.resourceAccount),
    ...(context ? { context } : {}),
    ...(p.need !== undefined ? { need: write(p.need) } : {}),
    ...(p.group ? { group: { purpose: write(p.group.purpose), account: write(p.group.account), environment: write(p.group.environment) } } : {}),
  };
}

/**
 * A team of a team class, with its statements and paths (their places in the org's lists, in order): the k-th of
 * each is the class's k-th (alikeTeams), so in each account the statements stand in the same order (the proof's index
 * lists an account's, or a role's, in the grants' order: evaluate.ts GrantIndex).
 */
interface ClassedTeam extends TeamMember {
  readonly grants: number[];
  readonly paths: number[];
}

/** A team class: its teams (the first's items, written as its tokens, are proved), its tokens and its proof class. */
interface TeamClass {
  readonly teams: readonly ClassedTeam[];
  readonly tokens: TeamTokens;
  readonly proof: AccountClass;
  /** By the k-th statement and path: its copies proved, one per pipeline account where it holds the account class's token, else one. */
  readonly grantCopies: ResolvedStatement[][];
  readonly pathCopies: AccessPath[][];
}

/** The copies of a member past its class's first: none (its first's stand for it). */
const NO_ITEMS: readonly never[] = [];

/** The tokens texts are compared with (alikeTeams): any no text holds, the same for every team, from the last down. */
function comparisonTokens(pipelines: number, hashes: number): ComparedTokens {
  const account = tokenFor(MAX_CLASSES - 1);
  const tokens: TeamTokens = {
    source: tokenFor(MAX_CLASSES - 2),
    pipelines: Array.from({ length: pipelines }, (_, j) => tokenFor(MAX_CLASSES - 3 - j)),
    key: nameTokenFor(MAX_NAME_TOKENS - 1),
    logical: nameTokenFor(MAX_NAME_TOKENS - 2),
    hashes: Array.from({ length: hashes }, (_, h) => nameTokenFor(MAX_NAME_TOKENS - 3 - h)),
  };
  // In slotValues's order.
  const slots = new Map([tokens.source, tokens.key, tokens.logical, ...tokens.pipelines, ...tokens.hashes, account].map((token, slot) => [token, slot]));
  return { account, tokens, slots };
}

/**
 * A team's forwarding rules' hashes (naming.ts forwardingRule), by repository and branch, each once, with the `fwd-`
 * before them in the rule's name: a name token's value is not all digits (symbolic.ts), and a hash of ten hexadecimal
 * digits is, one time in a hundred.
 */
function forwardingHashes(names: Names, pipelinesOf: ReadonlyMap<string, readonly Org['pipelines'][number][]>, repositories: readonly string[]): string[] {
  const lead = 'fwd-';
  const start = names.forwardingRulePattern().length - 1 - lead.length;
  const hashes = new Set<string>();
  for (const r of repositories) for (const p of pipelinesOf.get(r) ?? []) for (const [, branch] of p.branches) hashes.add(names.forwardingRule(r, branch, 1).slice(start, start + lead.length + 10));
  return [...hashes];
}

/**
 * The proof once per class of alike teams (classes.ts), from the account classes' (or accounts') grants and paths.
 * Each class's first team's statements and paths, with its tuple written as tokens, stand for every member team's,
 * which are left out of the proof; an item holding the team's account class token is proved once per pipeline
 * account (the token written as that environment's). Then each path's results are written for each member team: its
 * own statements for the class's, in the org's order of paths; where a path stood for several pipeline accounts, the
 * results of each must agree. That is what the proof by account class (or by account) gives for the team, as the
 * proof by tied tokens holds step for step in each member (symbolic.ts). Undefined where no teams are alike, a
 * member's value stands in a text outside its own, a result reads otherwise, or the proof gives up: the proof by
 * account class runs then.
 */
function proveByTeams(org: Org, stages: readonly Stage[], resolver: Resolver, grants: ResolvedStatement[], paths: AccessPath[], classes: ReadonlyMap<string, AccountClass>): AccessAnalysis | undefined {
  const found = findTeams(org);
  if (!found) return undefined;
  const names = new Names(org.prefix, org.bucketGeneration);
  const pipelinesOf = new Map<string, Org['pipelines'][number][]>();
  for (const p of org.pipelines) listIn(pipelinesOf, p.repository).push(p);
  const candidates: ClassedTeam[] = teamCandidates(found.list, classes, (key) => logicalId(key), (t) => forwardingHashes(names, pipelinesOf, t.repositories)).map((m) => ({ ...m, grants: [], paths: [] }));
  if (candidates.length < 2) return undefined;
  // Each team's items: the statements in its accounts (its account class's token or pipeline accounts, its source
  // account), the paths into or from them; a path between two teams' accounts puts both out.
  const ownerOf = new Map<string, ClassedTeam>();
  for (const t of candidates) {
    ownerOf.set(t.source, t);
    if (t.accountToken !== undefined) ownerOf.set(t.accountToken, t);
    else for (const id of t.pipelines) ownerOf.set(id, t);
  }
  grants.forEach((g, i) => ownerOf.get(g.account)?.grants.push(i));
  const out = new Set<ClassedTeam>();
  paths.forEach((p, i) => {
    const byResource = ownerOf.get(p.resourceAccount);
    const byPrincipal = p.principal.kind === 'aws' ? ownerOf.get(accountOf(p.principal.arn)) : p.principal.kind === 'federated' ? ownerOf.get(accountOf(p.principal.provider)) : undefined;
    if (byResource && byPrincipal && byResource !== byPrincipal) out.add(byResource).add(byPrincipal);
    else (byResource ?? byPrincipal)?.paths.push(i);
  });
  const accountClasses = new Set(classes.values()).size;
  const widest = Math.max(...candidates.map((t) => t.pipelines.length));
  const hashes = Math.max(...candidates.map((t) => t.hashes.length));
  if (accountClasses + 3 + widest > MAX_CLASSES || 3 + hashes > MAX_NAME_TOKENS) return undefined;
  const compared = comparisonTokens(widest, hashes);
  // A team whose value stands outside its own items is left out, and the classes made again (a few times at most).
  let lists: TeamProofLists | undefined;
  for (let round = 0; ; round++) {
    const grouped = groupTeams(
      candidates.filter((t) => !out.has(t)),
      (t) => [t.accountToken === undefined, t.key.length, t.logical.length, t.pipelines.length, t.hashes.length, t.grants.length, t.paths.length].join(' '),
      (t, first) => alikeTeams(t, first, grants, paths, compared),
    );
    lists = grouped.length === 0 ? undefined : teamProofLists(grouped, grants, paths, classes);
    if (!lists) return undefined;
    const named = membersNamedOutside(lists.teamClasses, lists.grants, lists.paths);
    if (named.size === 0) break;
    if (round === MAX_ROUNDS) return undefined;
    for (const t of named) out.add(t as ClassedTeam);
  }
  const { pathAt, copyOf, proofClasses } = lists;

  const proved = proveWith(org, stages, resolver, lists.grants, lists.paths, proofClasses, paths);
  if (!proved) return undefined;
  const resultsOf = new Map<AccessPath, AccessResult[]>();
  for (const r of proved.results) listIn(resultsOf, r.path).push(r);
  // Each class path's results as templates, the same for each of its copies (else undefined), made once for every member.
  const templates = new Map<AccessPath[], ResultTemplate[] | undefined>();
  const results: AccessResult[] = [];
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i];
    const at = pathAt[i];
    if (!at) {
      // A path of no member team: its results as proved, where no class's statement decides them.
      for (const r of resultsOf.get(path) ?? []) {
        if (r.grantedBy.some((g) => copyOf.has(g)) || (r.refusedBy && 'deny' in r.refusedBy && copyOf.has(r.refusedBy.deny))) return undefined;
        results.push(r);
      }
      continue;
    }
    const { c, team } = at;
    const copies = c.pathCopies[at.k];
    let list = templates.get(copies);
    if (!templates.has(copies)) templates.set(copies, (list = resultTemplates(copies.map((copy) => resultsOf.get(copy) ?? []), c, copyOf, path.actions.length)));
    if (!list) return undefined;
    // The member's own statement for each of the class's.
    const own = (x: number | ResolvedStatement) => (typeof x === 'number' ? grants[team.grants[x]] : x);
    let granted: readonly ResolvedStatement[] = [];
    for (let j = 0; j < list.length; j++) {
      const t = list[j];
      // As the proof shares one list between a path's results, while the statements are the same.
      if (j === 0 || !t.sameAsBefore) granted = t.grantedBy.map(own);
      const refusedBy = t.deny === undefined ? t.refusedBy : { deny: own(t.deny) };
      results.push({ path, action: path.actions[j], allowed: t.allowed, reason: t.deny === undefined ? t.reason : deniedReason(own(t.deny)), grantedBy: granted, refusedBy });
    }
  }
  return {
    paths,
    results,
    grants,
    index: new GrantIndex(grants),
    problems: proved.problems,
    ...(proved.network ? { network: proved.network } : {}),
    teamClasses: lists.teamClasses.map((c) => ({ members: c.teams, tokens: c.tokens })),
  };
}

/** The proof's lists for these classes of teams (groupTeams), what their results are written back by, and the proof's classes. */
interface TeamProofLists {
  teamClasses: TeamClass[];
  grants: ResolvedStatement[];
  paths: AccessPath[];
  /** By place in the org's paths: a member team's path, its team and its place among the team's (the class's k-th). */
  pathAt: ReadonlyArray<{ c: TeamClass; team: ClassedTeam; k: number } | undefined>;
  /** A class's copy of its k-th statement. */
  copyOf: ReadonlyMap<ResolvedStatement, { c: TeamClass; k: number }>;
  proofClasses: ReadonlyMap<string, AccountClass>;
}

/** How many times the classes of teams are made again, each time without the teams named outside their own items. */
const MAX_ROUNDS = 3;

/**
 * The proof's lists: the org's, each class's first team's items as the class's copies (once per pipeline account
 * where an item holds the team's account class's token, else once), the other members' left out. Undefined where
 * the tokens run out.
 */
function teamProofLists(grouped: readonly ClassedTeam[][], grants: readonly ResolvedStatement[], paths: readonly AccessPath[], classes: ReadonlyMap<string, AccountClass>): TeamProofLists | undefined {
  const accountClasses = new Set(classes.values()).size;
  // Tokens: account tokens after the account classes', name tokens from the first.
  let nextAccount = accountClasses;
  let nextName = 0;
  const teamClasses: TeamClass[] = [];
  for (const members of grouped) {
    const [first] = members;
    const n = first.pipelines.length;
    if (nextAccount + n + 1 > MAX_CLASSES || nextName + 2 + first.hashes.length > MAX_NAME_TOKENS) return undefined;
    const tokens: TeamTokens = {
      pipelines: Array.from({ length: n }, () => tokenFor(nextAccount++)),
      source: tokenFor(nextAccount++),
      key: nameTokenFor(nextName++),
      logical: nameTokenFor(nextName++),
      hashes: first.hashes.map(() => nameTokenFor(nextName++)),
    };
    const each = (value: (t: ClassedTeam) => string) => members.map(value);
    const proof: AccountClass = {
      token: tokens.pipelines[0],
      members: each((t) => t.pipelines[0]),
      tied: [
        ...tokens.pipelines.slice(1).map((token, j) => ({ token, kind: 'account' as const, values: each((t) => t.pipelines[j + 1]) })),
        { token: tokens.source, kind: 'account', values: each((t) => t.source) },
        { token: tokens.key, kind: 'key', values: each((t) => t.key) },
        { token: tokens.logical, kind: 'logical', values: each((t) => t.logical) },
        ...tokens.hashes.map((token, h) => ({ token, kind: 'key' as const, values: each((t) => t.hashes[h]) })),
      ],
    };
    // The first team's item, once per pipeline account where it holds its account class's token.
    const copies = <T>(item: T, text: string, written: (item: T, write: (text: string) => string) => T): T[] =>
      (first.accountToken !== undefined && text.includes(first.accountToken) ? tokens.pipelines : tokens.pipelines.slice(0, 1)).map((as) => written(item, (x) => toTeamTokens(x, first, tokens, as)));
    teamClasses.push({
      teams: members,
      tokens,
      proof,
      grantCopies: first.grants.map((i) => copies(grants[i], statementText(grants[i]), writtenStatement)),
      pathCopies: first.paths.map((i) => copies(paths[i], pathText(paths[i]), writtenPath)),
    });
  }

  // The proof's lists: the org's, each class's first team's items as the class's copies, the other members' left out.
  // By place in the org's lists: a member's item's copies (none past a class's first team), and a path's team.
  const grantAt: Array<readonly ResolvedStatement[] | undefined> = new Array(grants.length);
  const pathAt: Array<{ c: TeamClass; team: ClassedTeam; k: number } | undefined> = new Array(paths.length);
  const provedPathsAt: Array<readonly AccessPath[] | undefined> = new Array(paths.length);
  const copyOf = new Map<ResolvedStatement, { c: TeamClass; k: number }>();
  const proofClasses = new Map(classes);
  for (const c of teamClasses) {
    c.teams.forEach((team, n) => {
      team.grants.forEach((i, k) => (grantAt[i] = n === 0 ? c.grantCopies[k] : NO_ITEMS));
      team.paths.forEach((i, k) => {
        pathAt[i] = { c, team, k };
        provedPathsAt[i] = n === 0 ? c.pathCopies[k] : NO_ITEMS;
      });
      for (const id of team.pipelines) proofClasses.set(id, c.proof);
    });
    c.grantCopies.forEach((list, k) => list.forEach((g) => copyOf.set(g, { c, k })));
  }
  const provedGrants: ResolvedStatement[] = [];
  for (let i = 0; i < grants.length; i++) {
    const copies = grantAt[i];
    if (!copies) provedGrants.push(grants[i]);
    else for (const g of copies) provedGrants.push(g);
  }
  const provedPaths: AccessPath[] = [];
  for (let i = 0; i < paths.length; i++) {
    const copies = provedPathsAt[i];
    if (!copies) provedPaths.push(paths[i]);
    else for (const p of copies) provedPaths.push(p);
  }

  return { teamClasses, grants: provedGrants, paths: provedPaths, pathAt, copyOf, proofClasses };
}

/** A class path's result for any member: its statements as the class's k-th (a number) or themselves (an item of no member). */
interface ResultTemplate {
  allowed: boolean;
  reason: string;
  grantedBy: Array<number | ResolvedStatement>;
  /** The same statements as the result before it. */
  sameAsBefore: boolean;
  /** A refusal by a Deny: the class's statement; else the refusal as proved. */
  deny?: number | ResolvedStatement;
  refusedBy: AccessResult['refusedBy'];
}

/**
 * A class path's results, one list per copy (one per pipeline account where it holds the account class's token), as
 * templates: undefined where a copy's results read otherwise than the first's, a statement is another class's or
 * stands twice, a reason holds a token, or a copy has not one result per action.
 */
function resultTemplates(lists: readonly AccessResult[][], c: TeamClass, copyOf: ReadonlyMap<ResolvedStatement, { c: TeamClass; k: number }>, actions: number): ResultTemplate[] | undefined {
  const template = (x: ResolvedStatement): number | ResolvedStatement | undefined => {
    const copy = copyOf.get(x);
    return !copy ? x : copy.c === c ? copy.k : undefined;
  };
  const out: ResultTemplate[] = [];
  for (const list of lists) if (list.length !== actions) return undefined;
  for (let j = 0; j < actions; j++) {
    let first: ResultTemplate | undefined;
    for (const list of lists) {
      const r = list[j];
      const grantedBy: Array<number | ResolvedStatement> = [];
      for (const g of r.grantedBy) {
        const x = template(g);
        if (x === undefined || grantedBy.includes(x)) return undefined;
        grantedBy.push(x);
      }
      const deny = r.refusedBy && 'deny' in r.refusedBy ? template(r.refusedBy.deny) : undefined;
      if (r.refusedBy && 'deny' in r.refusedBy ? deny === undefined : hasToken(r.reason) || (r.refusedBy && 'notAcrossAccounts' in r.refusedBy && hasToken(r.refusedBy.notAcrossAccounts))) return undefined;
      const t: ResultTemplate = { allowed: r.allowed, reason: r.reason, grantedBy, sameAsBefore: j > 0 && sameItems(grantedBy, out[j - 1].grantedBy), ...(deny !== undefined ? { deny } : {}), refusedBy: r.refusedBy };
      if (!first) first = t;
      else if (!sameTemplate(t, first)) return undefined;
    }
    out.push(first!);
  }
  return out;
}

const sameItems = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Two copies' results alike: a path proved once per pipeline account must read the same for each. */
function sameTemplate(a: ResultTemplate, b: ResultTemplate): boolean {
  if (a.allowed !== b.allowed || !sameItems(a.grantedBy, b.grantedBy) || a.deny !== b.deny) return false;
  // A Deny's reason names its statement, the member's own (deniedReason): the same statement, the same reason.
  if (a.deny !== undefined) return true;
  return a.reason === b.reason && JSON.stringify(a.refusedBy) === JSON.stringify(b.refusedBy);
}

/**
 * Whether a team's statements and paths are `first`'s, one for one in the lists' order, with `first`'s tuple written
 * as tokens (`compared`) and the tokens written as the team's values: what a class's copy, written for the member,
 * must read (symbolic.ts writes a member's values for its tokens, and leaves every other text as it is).
 */
function alikeTeams(team: ClassedTeam, first: ClassedTeam, grants: readonly ResolvedStatement[], paths: readonly AccessPath[], compared: ComparedTokens): boolean {
  let written = writtenFirsts.get(first);
  if (!written) {
    const write = (text: string) => toTeamTokens(text, first, compared.tokens, compared.account);
    const compare = comparedItems(compared.slots);
    written = { grants: first.grants.map((i) => compare.statement(writtenStatement(grants[i], write))), paths: first.paths.map((i) => compare.path(writtenPath(paths[i], write))) };
    writtenFirsts.set(first, written);
  }
  const values = slotValues(compared, team);
  for (let k = 0; k < team.grants.length; k++) if (!statementReads(written.grants[k], grants[team.grants[k]], values)) return false;
  for (let k = 0; k < team.paths.length; k++) if (!pathReads(written.paths[k], paths[team.paths[k]], values)) return false;
  return true;
}
/** Each class's first team's items with its tuple as the compared tokens (alikeTeams), each text as it is compared. */
const writtenFirsts = new WeakMap<ClassedTeam, { grants: ComparedStatement[]; paths: ComparedPath[] }>();

interface ComparedTokens {
  tokens: TeamTokens;
  account: string;
  /** Each token's slot: its place among a member's values (slotValues). */
  slots: ReadonlyMap<string, number>;
}

/**
 * A member's value for each slot (comparisonTokens' order): where it has none (fewer pipeline accounts or hashes than
 * the widest team, no account class), the token itself, as a token with no value is read as it stands.
 */
function slotValues(compared: ComparedTokens, team: TeamMember): string[] {
  const { tokens } = compared;
  return [
    team.source,
    team.key,
    team.logical,
    ...tokens.pipelines.map((token, j) => team.pipelines[j] ?? token),
    ...tokens.hashes.map((token, h) => team.hashes[h] ?? token),
    team.accountToken ?? compared.account,
  ];
}

/**
 * Every place any of `names` stands in a text, each place tried: the names by their first character (a flag per UTF-16
 * code) and, for each, the lengths of the names starting with it, looked up in a set. A text is read once, and at a
 * place only the few lengths its character starts are sliced, not a thousand names tried in turn.
 */
class NameFinder {
  private readonly names: ReadonlySet<string>;
  /** First character code → the distinct lengths of the names starting with it. */
  private readonly lengths = new Map<number, number[]>();
  private readonly starts = new Uint8Array(0x10000);

  constructor(names: readonly string[]) {
    this.names = new Set(names);
    for (const name of this.names) {
      const c = name.charCodeAt(0);
      this.starts[c] = 1;
      const lengths = this.lengths.get(c) ?? this.lengths.set(c, []).get(c)!;
      if (!lengths.includes(name.length)) lengths.push(name.length);
    }
  }

  /** Calls `f` with each name at each place of `text` it starts at (several where names of several lengths start there). */
  forEachIn(text: string, f: (name: string) => void): void {
    for (let at = 0; at < text.length; at++) {
      const c = text.charCodeAt(at);
      if (this.starts[c] === 0) continue;
      for (const n of this.lengths.get(c)!) {
        if (at + n > text.length) continue;
        const piece = text.slice(at, at + n);
        if (this.names.has(piece)) f(piece);
      }
    }
  }
}

/**
 * Whether a member team's value (its account class's token, a source or pipeline account's id, a key, its logical-id
 * form, a hash) stands literally in a text the proof reads: in an item of no member, or in a class's copies (its
 * first team's items with its tuple as tokens): those teams. Such a team is not alike but for its tuple: it is left
 * out of the classes of teams.
 */
function membersNamedOutside(teamClasses: readonly TeamClass[], grants: readonly ResolvedStatement[], paths: readonly AccessPath[]): Set<TeamMember> {
  // Each value's team: the values are each one team's (findTeams), but a name may be another's too (t001 in t0011).
  const teamOf = new Map<string, TeamMember>();
  for (const c of teamClasses) {
    for (const t of c.teams) {
      for (const value of [t.source, ...t.pipelines, t.key, t.logical, ...t.hashes]) teamOf.set(value, t);
      if (t.accountToken !== undefined) teamOf.set(t.accountToken, t);
    }
  }
  const names = [...teamOf.keys()].filter((value) => !hasToken(value) && !/^\d{12}$/.test(value));
  const named = new NameFinder(names);
  const found = new Set<TeamMember>();
  const add = (value: string) => {
    const t = teamOf.get(value);
    if (t) found.add(t);
  };
  const read = (text: string) => {
    forEachIdWithin(text, add);
    // Each place a name starts, every name starting there (`t001` and `t0011` in `t0011-`).
    named.forEachIn(text, add);
    for (let at = text.indexOf(TOKEN_MARK); at >= 0; at = text.indexOf(TOKEN_MARK, at + 1)) add(text.slice(at, at + 2));
  };
  for (const g of grants) read(statementText(g));
  for (const p of paths) read(pathText(p));
  return found;
}
