/**
 * The local emulator only: its accounts are new, so the roles the org file says exist already there
 * (deploymentTargets.instanceRoles, keyAdministratorRoles that are not patterns; src/deploy/existing-roles.ts) are
 * made in each pipeline account, at their paths, as the org has them on AWS. Without them plan and deploy --local would
 * refuse (or note) what is true of the emulator and of no real org. On AWS nothing makes these roles: they are the
 * org's, and plan and deploy read them. Trust: EC2 for an instance role (what it is for), the account for a key
 * administrator; moto evaluates neither.
 */
import { CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import type { CompiledOrg } from '../compile';
import { roleNameOf, rolePathOf } from '../iam/role-path';
import type { Aws } from './clients';
import { isNoSuchEntity, namedExistingRoles } from './existing-roles';

/** Makes each named role missing in each pipeline account; returns the roles made, as `path/name in account`. */
export async function makeOrgRolesLocally(compiled: CompiledOrg, aws: Aws): Promise<string[]> {
  const { org } = compiled;
  const roles = namedExistingRoles(org);
  const accounts = new Set(compiled.stages.filter((s) => s.module === 'pipeline-foundation').flatMap((s) => s.targets.map((a) => a.id)));
  const made: string[] = [];
  for (const account of [...accounts].sort()) {
    // moto lets the caller assume any role, as OrganizationAccountAccessRole does in accounts Organizations created.
    const iam = aws.iam(await aws.assume(`arn:${org.partition}:iam::${account}:role/OrganizationAccountAccessRole`), org.region);
    for (const { role, kind } of roles) {
      const name = roleNameOf(role);
      const there = await iam.send(new GetRoleCommand({ RoleName: name })).then(
        () => true,
        (e: unknown) => {
          if (isNoSuchEntity(e)) return false;
          throw e;
        },
      );
      if (there) continue;
      const principal = kind === 'deploymentTargets.instanceRoles' ? { Service: 'ec2.amazonaws.com' } : { AWS: `arn:${org.partition}:iam::${account}:root` };
      const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: principal, Action: 'sts:AssumeRole' }] });
      await iam.send(new CreateRoleCommand({ RoleName: name, Path: rolePathOf(role), AssumeRolePolicyDocument: trust }));
      made.push(`${role} in ${account}`);
    }
  }
  return made;
}
