/**
 * Pre-flight: the roles the org file names but xstack does not create (src/iam/role-path.ts) exist in each pipeline
 * account, at the path the org file gives them, before any StackSet operation.
 *
 * Why before, and not left to CloudFormation: an instance role is named by name in the DeployTargetArtifactsPolicy's
 * `Roles`, whose attach fails when the role is not there, in pipeline-foundation in every pipeline account, in its
 * wave, after the earlier waves were rolled out; and by ARN, path included, as a value of the artifact key policy's
 * `aws:PrincipalArn` under the account root, which KMS does not check ("The principals in the key policy must exist
 * and be visible to KMS" asks it of principals only: CreateKey `Policy`,
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html), so a role on another path fails no stage
 * and its targets' first download is refused by the key. IAM names a role by its path and name (`role/service-role/app-server`,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns), and a role's name
 * is unique in its account whatever its path, so one `GetRole` by name says both whether it is there and where
 * (`Role.Path`, https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html); a missing role is
 * `NoSuchEntity` (same page), branched on by its name.
 *
 * What each kind of role risks, and so what the check does:
 * - deploymentTargets.instanceRoles: values of the key policy's `aws:PrincipalArn` (DeployTargetsDecryptViaS3), and
 *   the `Roles` of the DeployTargetArtifactsPolicy (by name): missing, the stage fails; on another path, the targets'
 *   decrypt is refused. Refused.
 * - keyAdministratorRoles: values of the key policy's `ArnLike` on `aws:PrincipalArn`, not principals, which KMS does
 *   not check (the page above asks it of principals only). On another path the entry can never match the role (its
 *   ARN has that path): the org file is wrong, refused. Missing, the key is created with one administrator fewer
 *   until a role of that path and name exists (the condition is read at each request): a note, as a compile notes an
 *   org with no key administrator (src/stages/plan.ts keyAdministratorNote). Patterns (`*`, `?`) name no one role and
 *   are not read.
 */
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { XstackError } from '../errors';
import { roleNameOf, rolePathOf, type ExistingRole } from '../iam/role-path';

export { namedExistingRoles, type ExistingRole, type ExistingRoleKind } from '../iam/role-path';
import type { Account } from '../org/model';
import { roleOf, type Aws } from './clients';
import { grantOrName, type Target } from './retained';

/** What GetRole found of one role in one account where it is not as the org file names it. */
export interface RoleFinding {
  account: Pick<Account, 'id' | 'name'>;
  role: ExistingRole;
  /** `missing`: NoSuchEntity; else the path the role has, not the org file's. */
  found: 'missing' | { path: string };
  /** Refuses the deploy (below); else a note. */
  refuses: boolean;
}

/** IAM's answer for a role that is not there (GetRole: NoSuchEntity, 404), as the SDK names it or as the wire does. */
export const isNoSuchEntity = (error: unknown): boolean => {
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'NoSuchEntityException' || name === 'NoSuchEntity';
};

/**
 * GetRole's answer for a role name: its path, or undefined for NoSuchEntity. A refused read is `refused`'s error,
 * which names the reader and what to grant.
 */
async function pathOf(aws: Aws, target: Target, roleName: string, refused: (e: { name?: string; message?: string }) => Promise<XstackError>): Promise<string | undefined> {
  // The credentials first: a refused AssumeRole surfaces here, before any IAM call (AssumeRoleError names the role).
  if (typeof target.credentials === 'function') await target.credentials();
  try {
    const out = await aws.iam(target.credentials, target.region).send(new GetRoleCommand({ RoleName: roleName }));
    // IAM's Role.Path is required in its answer; one that lacks it is not a path to compare.
    if (!out.Role?.Path) throw new XstackError('EXISTING_ROLE_UNREADABLE', `account ${target.account}: GetRole ${roleName} answered without the role's path`);
    return out.Role.Path;
  } catch (error) {
    // AssumeRoleError (a refused AssumeRole, raised by the credential provider) is one, and names the role.
    if (error instanceof XstackError) throw error;
    const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    if (isNoSuchEntity(error)) return undefined;
    if (e.name === 'AccessDenied' || e.name === 'AccessDeniedException' || e.$metadata?.httpStatusCode === 403) throw await refused(e);
    throw error;
  }
}

/** The org file's role `asNamed` (`path/name`), read by its name: its path, or undefined where it is not there. */
const pathOfNamed = (aws: Aws, target: Target, roleName: string, asNamed: string) =>
  pathOf(aws, target, roleName, async (e) =>
    new XstackError(
      'EXISTING_ROLE_CHECK_REFUSED',
      `account ${target.account}: could not tell whether the role ${asNamed} the org file names exists: ${roleOf(target.credentials) ?? 'the reader credentials'} may not iam:GetRole on it (${e.name ?? 'Error'}: ${e.message ?? ''}); ${await grantOrName(target, `grant iam:GetRole on arn:${target.partition}:iam::${target.account}:role/${roleName} and arn:${target.partition}:iam::${target.account}:role/*/${roleName} (the role at any path: IAM authorizes the read against its real ARN)`)}`,
      { cause: e },
    ),
  );

/**
 * Whether a role of this name is in the target account, at any path (a role's name is unique in its account): one a
 * template names, which a create there meets ("already exists"; src/cfn/retained-names.ts namedRoles). A refused read
 * is NAMED_ROLE_CHECK_REFUSED, naming the reader and what to grant.
 */
export async function roleNamedExists(aws: Aws, target: Target, roleName: string): Promise<boolean> {
  const path = await pathOf(aws, target, roleName, async (e) =>
    new XstackError(
      'NAMED_ROLE_CHECK_REFUSED',
      `account ${target.account}: could not tell whether a role ${roleName} is in the way of the stack to create there: ${roleOf(target.credentials) ?? 'the reader credentials'} may not iam:GetRole on it (${e.name ?? 'Error'}: ${e.message ?? ''}); ${await grantOrName(target, `grant iam:GetRole on arn:${target.partition}:iam::${target.account}:role/${roleName}`)}`,
      { cause: e },
    ),
  );
  return path !== undefined;
}

/** Accounts read at once: a bound on open connections and on IAM's request rate, which the SDK's adaptive retry paces. */
const CONCURRENT_ACCOUNTS = 8;

/**
 * Reads each named role in each account, one GetRole per (account, role name) and nothing else: the calls are
 * accounts × distinct role names, each answered once, whatever the org's StackSets, waves or pipelines, and the
 * account's reader credentials are the ones deploy already holds for its retained-resource checks (one AssumeRole per
 * account and run). A name the org file gives twice (an instance role that is also a key administrator) is read once
 * and each entry compared with the one answer. Findings in the accounts' order, then the roles'.
 */
export async function checkExistingRoles(
  aws: Aws,
  accounts: readonly Pick<Account, 'id' | 'name'>[],
  roles: readonly ExistingRole[],
  targetOf: (account: string) => Target,
  /** Whether a read that failed in an account leaves that account out (no finding) instead of failing the check. */
  leftOut?: (account: string, error: unknown) => Promise<boolean>,
): Promise<RoleFinding[]> {
  if (roles.length === 0) return [];
  const names = [...new Set(roles.map((r) => roleNameOf(r.role)))];
  const perAccount: RoleFinding[][] = new Array(accounts.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < accounts.length; i = next++) {
      const account = accounts[i];
      const target = targetOf(account.id);
      const paths = new Map<string, string | undefined>();
      try {
        for (const name of names) paths.set(name, await pathOfNamed(aws, target, name, roles.find((r) => roleNameOf(r.role) === name)!.role));
      } catch (error) {
        if (!(await leftOut?.(account.id, error))) throw error;
        perAccount[i] = [];
        continue;
      }
      perAccount[i] = roles.flatMap((role): RoleFinding[] => {
        const path = paths.get(roleNameOf(role.role));
        if (path === undefined) return [{ account, role, found: 'missing', refuses: role.kind === 'deploymentTargets.instanceRoles' }];
        // Paths are compared as IAM gives them: case-sensitive, as the ARN the key policy writes is.
        return path === rolePathOf(role.role) ? [] : [{ account, role, found: { path }, refuses: true }];
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_ACCOUNTS, accounts.length) }, worker));
  return perAccount.flat();
}

const accountText = (a: Pick<Account, 'id' | 'name'>) => `${a.name} (${a.id})`;

/** As the org file should write it: the path IAM gave, without its slashes at either end, then the name. */
const asWritten = (path: string, role: string) => `${path.replace(/^\/|\/$/g, '')}${path === '/' ? '' : '/'}${roleNameOf(role)}`;

/** Findings of one role and one kind of answer as a line: the accounts (up to five named), the role, what was found, and what would be right. */
export function findingText(f: RoleFinding, accounts: readonly Pick<Account, 'id' | 'name'>[] = [f.account]): string {
  const shown = accounts.slice(0, 5).map(accountText).join(', ');
  const more = accounts.length > 5 ? ` and ${accounts.length - 5} more` : '';
  const where = `${accounts.length === 1 ? 'account' : 'accounts'} ${shown}${more}: ${f.role.kind} '${f.role.role}'`;
  const there = accounts.length === 1 ? 'the account' : 'these accounts';
  const name = roleNameOf(f.role.role);
  if (f.found === 'missing') {
    return f.refuses
      ? `${where}: no role ${name} in ${there} (GetRole: NoSuchEntity); create it at path ${rolePathOf(f.role.role)}, or leave it out of the org file`
      : `${where}: no role ${name} in ${there} (GetRole: NoSuchEntity); it administers no artifact key there until a role of that name is made at path ${rolePathOf(f.role.role)}`;
  }
  return `${where}: role ${name} is at path ${f.found.path} instead of ${rolePathOf(f.role.role)}; write '${asWritten(f.found.path, f.role.role)}' in the org file`;
}

/** One line per role and answer, its accounts together (a role missing from every pipeline account is one line, not one per account). */
export function findingsText(findings: readonly RoleFinding[]): string[] {
  const groups = new Map<string, RoleFinding[]>();
  for (const f of findings) {
    const key = `${f.role.kind}|${f.role.role}|${f.found === 'missing' ? '' : f.found.path}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  return [...groups.values()].map((same) => findingText(same[0], same.map((f) => f.account)));
}

const WHY_REFUSED =
  'pipeline-foundation names these roles in its artifact key policy by ARN, path included, and KMS refuses a key policy whose principals do not exist (CreateKey, https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html); a key administrator on another path would never match the ArnLike that names it';

/** The refusal: every line of findingsText of the refusing findings, in one error. */
export function existingRolesRefusal(lines: readonly string[]): XstackError {
  return new XstackError('EXISTING_ROLES_NOT_FOUND', `nothing was changed: the org file names roles that are not there as named:\n${lines.map((line) => `  ${line}`).join('\n')}\n  ${WHY_REFUSED}`);
}
