/**
 * Each source account: the roles people and CI reach its repositories with,
 * through git-remote-codecommit and AWS CLI profiles; no IAM users, no SSH
 * keys. The developer role pulls and pushes (pushes to protected branches
 * denied); the maintainer role, where the org names maintainers, writes the
 * protected branches too; the CI role only pulls, and only the CI account's instance role may
 * assume it.
 */
import { arn, type Value } from '../src/cfn/intrinsics';
import { role } from '../src/cfn/resources';
import type Resource from 'cloudform-types/types/resource';
import { newRecord, type OutputSpec, type TemplateDefinition } from '../src/cfn/template';
import { CARRIED_SOURCE_IDENTITY_ONLY, ciAssumeReaderGrant, CODECOMMIT_BRANCH_WRITES, CODECOMMIT_DEVELOPER, CODECOMMIT_LIST_REPOSITORIES, CODECOMMIT_PULL, STS_ASSUME_ROLE, STS_SET_SOURCE_IDENTITY, STS_TAG_SESSION } from '../src/iam/grants';
import { policyDocument, rolesByArn, statement, type Conditions, type PolicyDocument } from '../src/iam/policy';
import { packWithin } from '../src/iam/policy-size';
import { LIMITS } from '../src/limits';
import type { Names } from '../src/naming';
import type { CiRuntime, DeveloperAccess, RoleSource } from '../src/org/model';
import { namesOnePermissionSet, SSO_PATHS } from '../src/iam/role-path';


export interface AccessRolesInput {
  names: Names;
  repositories: readonly string[];
  /** Developer access, with the account id of each role source resolved (and of each maintainers' source). */
  developers?: DeveloperAccess & { sourceAccountIds: readonly string[]; maintainerAccountIds: readonly string[] };
  /**
   * The CI, when the CI role is made: its trust names the CI account's CI role by name, and admits what the CI's
   * runtime makes that role's session ask (sts:TagSession too on EKS Pod Identity: grants.ts ciAssumeReaderGrant).
   */
  ci?: { accountId: string; runtime: CiRuntime['kind'] };
}


/**
 * A role two or more path segments below sso.amazonaws.com/: `*` spans `/` but needs each `/` written here, so it
 * matches `<a>/<b>/<name>` and deeper and neither admitted form (`<name>`, `<region>/<name>`). ArnLike (and so
 * ArnNotLike) checks each of an ARN's "six colon-delimited components ... separately and each can include a
 * multi-character match wildcard (*)"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN):
 * a role's path and name are one component, in which `*` takes `/` too.
 */
export const DEEPER_SSO_PATH = 'aws-reserved/sso.amazonaws.com/*/*/*';

/**
 * The ARNs a source's names and patterns admit, in each Identity Center path form; and those its trust must refuse
 * all the same (ArnNotLike): another permission set's role that a pattern matches only by a longer set name, and a
 * role deeper than Identity Center makes them.
 */
export function sourceArns(source: RoleSource, accountId: string): { admitted: Value<string>[]; refused: Value<string>[] } {
  return {
    admitted: source.roleNames.flatMap((r) => (source.sso ? SSO_PATHS : ['']).map((path) => arn(`iam::${accountId}:role/${path}${r}`))),
    refused: source.sso
      ? [...source.roleNames.filter(namesOnePermissionSet).map((r) => arn(`iam::${accountId}:role/${SSO_PATHS[0]}*${r}_*`)), arn(`iam::${accountId}:role/${DEEPER_SSO_PATH}`)]
      : [],
  };
}

/** sts:TagSession for one source's roles, for the transitive tag keys the org file names for it. */
function tagSessionStatement(sid: string, accountId: string, source: RoleSource) {
  const { admitted, refused } = sourceArns(source, accountId);
  return statement({
    sid,
    principal: { AWS: arn(`iam::${accountId}:root`) },
    actions: STS_TAG_SESSION.actions,
    conditions: {
      ArnLike: { 'aws:PrincipalArn': admitted },
      ...(refused.length > 0 ? { ArnNotLike: { 'aws:PrincipalArn': refused } } : {}),
      // Ignoring case: STS session tag keys "are not case sensitive, but case is preserved"
      // (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html, Tags), so an identity provider's
      // `Team` is the org file's `team` (review s28-callers m1).
      'ForAllValues:StringEqualsIgnoreCase': { 'aws:TagKeys': [...source.transitiveTagKeys] },
    },
  });
}

/**
 * A role people assume from roles of the org's accounts (developers, maintainers): work on the repositories, and where
 * `protectedRefs` names branches, every branch write denied on them (codecommit:References).
 */
function peopleRole(
  logicalId: string,
  p: { name: string; description: string; sid: string; sources: readonly RoleSource[]; sourceAccountIds: readonly string[]; repositoryArns: readonly Value<string>[]; protectedRefs: readonly string[]; listRepositories: boolean },
): Record<string, Resource> {
  const principalArns = p.sources.flatMap((s, i) => sourceArns(s, p.sourceAccountIds[i]).admitted);
  // Another permission set whose name only begins as a named one's is refused (src/iam/role-path.ts namesOnePermissionSet).
  // One ARN for both path forms: a refusal may match deeper paths too (no Identity Center role has them), and ArnLike's
  // `*` spans `/` and may match nothing, so `sso.amazonaws.com/*<set>_*_*` covers the role with and without the home
  // Region's segment, at half the trust policy's characters (2,048 by default). And any role deeper than Identity
  // Center's paths (DEEPER_SSO_PATH).
  // Two sources of one account refuse its deeper paths once.
  const refused = [...new Map(p.sources.flatMap((s, i) => sourceArns(s, p.sourceAccountIds[i]).refused).map((a) => [JSON.stringify(a), a])).values()];
  // No aws:MultiFactorAuthPresent and no MaxSessionDuration: the role is always assumed by role chaining, which
  // carries no MFA flag (the page services/needs.ts cites for its developers-assume path:
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html) and lasts one hour
  // at most (the org file refuses both: src/org/load.ts).
  const conditions: Conditions = {
    ArnLike: { 'aws:PrincipalArn': principalArns },
    ...(refused.length > 0 ? { ArnNotLike: { 'aws:PrincipalArn': refused } } : {}),
  };
  const repositoryArns = [...p.repositoryArns];
  return role(logicalId, {
    name: p.name,
    description: p.description,
    trust: policyDocument([
      statement({
        // Account roots as principals so that roles matched by pattern (SSO roles carry a random
        // suffix) can be named; the condition admits exactly those roles.
        sid: p.sid,
        principal: { AWS: [...new Set(p.sourceAccountIds)].map((id) => arn(`iam::${id}:root`)) },
        actions: STS_ASSUME_ROLE.actions,
        conditions,
      }),
      // The session tags a source's identity provider marks transitive, where the org file names their keys: for that
      // source's roles only, and those keys only (ForAllValues: every key of the request is one of them; aws:TagKeys
      // "Use this key to compare the tag keys in a request with the keys that you specify in the policy",
      // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-tagkeys).
      // Whether IAM counts the tags a chained session inherits in aws:TagKeys is not documented: if it does not, the
      // condition holds for them and still refuses a key the caller adds (README "Not yet").
      ...p.sources.flatMap((source, i) => (source.transitiveTagKeys.length === 0 ? [] : [tagSessionStatement(`${p.sid}CarrySessionTags${i + 1}`, p.sourceAccountIds[i], source)])),
      statement({
        // A source identity carried from the caller's session only (grants.ts CARRIED_SOURCE_IDENTITY_ONLY), for the
        // same roles only.
        sid: `${p.sid}CarrySourceIdentity`,
        principal: { AWS: [...new Set(p.sourceAccountIds)].map((id) => arn(`iam::${id}:root`)) },
        actions: STS_SET_SOURCE_IDENTITY.actions,
        conditions: { ...conditions, ...CARRIED_SOURCE_IDENTITY_ONLY },
      }),
    ]),
    // The first policy holds the list, the Deny and the repositories that fit; each next one the next repositories.
    policies: packedPolicies('codecommit-developer', repositoryArns, (arns, first) =>
      policyDocument([
        statement({ sid: 'WorkOnRepositories', actions: CODECOMMIT_DEVELOPER.actions, resources: arns }),
        // The console's repository list: every repository name of the account, on "*" (no resource type). Git needs
        // none of it (GitPull and GitPush take the repository); access.developers.listRepositories: false leaves it out.
        ...(first && p.listRepositories ? [statement({ sid: 'ListRepositories', actions: CODECOMMIT_LIST_REPOSITORIES.actions, resources: '*' })] : []),
        ...(first && p.protectedRefs.length > 0
          ? [
              statement({
                sid: 'DenyWritesToProtectedBranches',
                effect: 'Deny',
                actions: CODECOMMIT_BRANCH_WRITES.actions,
                // Every repository of the account, not the list: a Deny wider than the Allow grants nothing, and a
                // list would be written twice into one managed policy, halving how many repositories it holds
                // (review s58-scale M1).
                resources: arn(`codecommit:\${AWS::Region}:\${AWS::AccountId}:*`),
                // https://docs.aws.amazon.com/codecommit/latest/userguide/how-to-conditional-branch.html
                conditions: { StringEqualsIfExists: { 'codecommit:References': [...p.protectedRefs] }, Null: { 'codecommit:References': 'false' } },
              }),
            ]
          : []),
      ]),
    ),
    exceptions: p.listRepositories ? [{ rule: 'XS002', statement: 'ListRepositories', reason: CODECOMMIT_LIST_REPOSITORIES.resourceStarReason ?? '' }] : [],
  });
}

/**
 * A role's grant on the account's repositories as managed policies, each within IAM's 6,144 characters (fixed:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): `name` for the first, `name-2`, `name-3`,
 * … for the repositories past it, in the org file's order (review s58-scale M1: one policy held about 30 repositories
 * with protected branches). Each counts toward the role's managed policies, which the compile's IAM check counts.
 */
function packedPolicies(name: string, repositoryArns: readonly Value<string>[], document: (arns: Value<string>[], first: boolean) => PolicyDocument): Array<{ name: string; document: PolicyDocument }> {
  return packWithin(repositoryArns, LIMITS.managedPolicyChars, (arns, index) => document([...arns], index === 0)).map((arns, index) => ({
    name: index === 0 ? name : `${name}-${index + 1}`,
    document: document(arns, index === 0),
  }));
}

export function accessRoles(input: AccessRolesInput): TemplateDefinition {
  const { names, developers } = input;
  const repositoryArns = input.repositories.map((r) => arn(`codecommit:\${AWS::Region}:\${AWS::AccountId}:${r}`));
  // Keyed by logical ids of its own: a newRecord (src/cfn/template.ts says why).
  const resources = newRecord<Resource>();
  const outputs: Record<string, OutputSpec> = {};

  if (developers) {
    const protectedRefs = developers.protectedBranches.map((b) => `refs/heads/${b}`);
    Object.assign(resources, peopleRole('DeveloperRole', {
      name: names.developerRole(),
      description: 'Developers: pull, push, pull requests and their review on this account\'s repositories',
      sid: 'DevelopersAssume',
      sources: developers.assumedBy,
      sourceAccountIds: developers.sourceAccountIds,
      repositoryArns,
      protectedRefs,
      listRepositories: developers.listRepositories,
    }));
    outputs.DeveloperRoleArn = { description: 'ARN of the developer role', value: arn(`iam::\${AWS::AccountId}:role/${names.developerRole()}`) };
    if (developers.maintainers.length > 0) {
      // The developer's grants without the Deny: maintainers release to the protected branches (merge, push).
      Object.assign(resources, peopleRole('MaintainerRole', {
        name: names.maintainerRole(),
        description: 'Maintainers: the developer role\'s work, and writes to the protected branches, on this account\'s repositories',
        sid: 'MaintainersAssume',
        sources: developers.maintainers,
        sourceAccountIds: developers.maintainerAccountIds,
        repositoryArns,
        protectedRefs: [],
        listRepositories: developers.listRepositories,
      }));
      outputs.MaintainerRoleArn = { description: 'ARN of the maintainer role', value: arn(`iam::\${AWS::AccountId}:role/${names.maintainerRole()}`) };
    }
  }

  if (input.ci) {
    const { accountId, runtime } = input.ci;
    Object.assign(resources, role('CiReaderRole', {
      name: names.ciReaderRole(),
      description: 'CI: pull only, assumed by the CI account\'s instance role',
      trust: policyDocument([
        statement({
          sid: 'CiInstanceAssumes',
          ...rolesByArn(arn(`iam::${accountId}:root`), arn(`iam::${accountId}:role/${names.ciInstanceRole()}`)),
          actions: ciAssumeReaderGrant(runtime).actions,
        }),
      ]),
      policies: packedPolicies('codecommit-pull', repositoryArns, (arns) => policyDocument([statement({ sid: 'PullRepositories', actions: CODECOMMIT_PULL.actions, resources: arns })])),
    }));
    outputs.CiReaderRoleArn = { description: 'ARN of the pull-only CI role', value: arn(`iam::\${AWS::AccountId}:role/${names.ciReaderRole()}`) };
  }

  return {
    description: 'xstack access-roles: developer and CI roles for this account\'s CodeCommit repositories',
    parameters: {},
    resources,
    outputs,
  };
}
