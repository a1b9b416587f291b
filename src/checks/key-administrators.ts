/**
 * The org file's key administrators (keyAdministratorRoles) against the roles the org itself creates. Each entry is an
 * ArnLike pattern in every artifact key's AdministerKey statement (templates/pipeline-foundation.ts), so a pattern that
 * matches one of the org's own roles (`acme-*`, `*-deploy-target`) lets that role, a pipeline's or the deployment
 * targets' instance role among them, administer the keys (kms:PutKeyPolicy, ScheduleKeyDeletion) once its own policy
 * allows it. Refused here, naming the entry and the roles it matches (review s50-input M5); the access proof refused
 * an exact name only, with a message about the execution role that named neither.
 */
import type { Org } from '../org/model';
import type { RoleIndex } from '../stages/proof';
import { globRegExp } from './service-authorization';

export function keyAdministratorProblems(org: Org, roles: RoleIndex): string[] {
  // The roles a stage creates, by name, and those the org file names as the deployment targets' (instanceRoles): each
  // uses the key, and would administer it too.
  const created = [...roles.keys()];
  return org.keyAdministratorRoles.flatMap((pattern, i) => {
    // ArnLike on `role/<pattern>`: a role of no path is matched by its name (`*` and `?` as wildcards, case-sensitive).
    const matches = globRegExp(pattern);
    const mine = [...new Set(created.filter((name) => matches.test(name)))].sort();
    if (mine.length === 0) return [];
    const shown = mine.length > 3 ? `${mine.slice(0, 3).join(', ')}, … ${mine.length - 3} more` : mine.join(', ');
    return [
      `${org.recordedFile}: keyAdministratorRoles[${i}]: '${pattern}' matches ${mine.length === 1 ? 'a role' : 'roles'} of the org's own (${shown}), which would then administer every artifact key (kms:PutKeyPolicy, kms:ScheduleKeyDeletion) as far as its own policy allows; expected the roles of the people or tools that administer the keys, by a name or pattern no role of the org matches`,
    ];
  });
}
