/**
 * Roles the org file names as administrators' or people's, against the roles the org itself creates: a name or pattern
 * that matches one of the org's own gives that role what the org file meant for someone else.
 *
 * The key administrators (keyAdministratorRoles): each entry is an
 * ArnLike pattern in every artifact key's AdministerKey statement (templates/pipeline-foundation.ts), so a pattern that
 * matches one of the org's own roles (`acme-*`, `*-deploy-target`) lets that role, a pipeline's or the deployment
 * targets' instance role among them, administer the keys (kms:PutKeyPolicy, ScheduleKeyDeletion) once its own policy
 * allows it. Refused here, naming the entry and the roles it matches (review s50-input M5); the access proof refused
 * an exact name only, with a message about the execution role that named neither.
 */
import { accountByName, type Org } from '../org/model';
import type { RoleIndex } from '../stages/proof';
import { globRegExp } from './service-authorization';

/**
 * The names a pattern matches as ArnLike matches `role/<pattern>`: a role of no path by its name (`*` and `?` as
 * wildcards, case-sensitive: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN),
 * sorted.
 */
function matchedBy(pattern: string, names: readonly string[]): string[] {
  const matches = globRegExp(pattern);
  return names.filter((name) => matches.test(name)).sort();
}

/** A problem's list of matched roles: the first three, then how many more. */
const listed = (names: readonly string[]) => (names.length > 3 ? `${names.slice(0, 3).join(', ')}, … ${names.length - 3} more` : names.join(', '));
const aRoleOrRoles = (names: readonly string[]) => (names.length === 1 ? 'a role' : 'roles');

export function keyAdministratorProblems(org: Org, roles: RoleIndex): string[] {
  // The roles a stage creates, by name, and those the org file names as the deployment targets' (instanceRoles): each
  // uses the key, and would administer it too.
  const created = [...roles.keys()];
  return org.keyAdministratorRoles.flatMap((pattern, i) => {
    const mine = matchedBy(pattern, created);
    if (mine.length === 0) return [];
    return [
      `${org.recordedFile}: keyAdministratorRoles[${i}]: '${pattern}' matches ${aRoleOrRoles(mine)} of the org's own (${listed(mine)}), which would then administer every artifact key (kms:PutKeyPolicy, kms:ScheduleKeyDeletion) as far as its own policy allows; expected the roles of the people or tools that administer the keys, by a name or pattern no role of the org matches`,
    ];
  });
}

/**
 * The roles access.developers names (assumedBy, maintainers), outside IAM Identity Center, against the roles the org
 * creates in the same account: the developer and maintainer roles' trusts admit them by ARN (templates/access-roles.ts),
 * so naming the CI host's role, say, would let the pull-only CI assume the role that pushes (review s50-input m2).
 * Identity Center's roles live under its own path, which no role of the org's has.
 */
export function roleSourceProblems(org: Org, roles: RoleIndex): string[] {
  const developers = org.access.developers;
  if (!developers) return [];
  const sources = [
    ...developers.assumedBy.map((s, i) => ({ s, field: `access.developers.assumedBy[${i}]`, role: 'developer' })),
    ...developers.maintainers.map((s, i) => ({ s, field: `access.developers.maintainers[${i}]`, role: 'maintainer' })),
  ];
  return sources.flatMap(({ s, field, role }) => {
    if (s.sso) return [];
    const account = accountByName(org, s.account)?.id;
    const inAccount = account === undefined ? [] : [...roles].filter(([, byAccount]) => byAccount.has(account)).map(([name]) => name);
    return s.roleNames.flatMap((pattern, j) => {
      const mine = matchedBy(pattern, inAccount);
      if (mine.length === 0) return [];
      return [
        `${org.recordedFile}: ${field}.roleNames[${j}]: '${pattern}' matches ${aRoleOrRoles(mine)} the org creates in ${s.account} (${listed(mine)}), which the ${role} role would then trust; expected the roles people work from, by a name or pattern no role of the org matches`,
      ];
    });
  });
}
