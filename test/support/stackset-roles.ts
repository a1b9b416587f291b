/**
 * A test fixture, not what AWS needs: the two StackSet roles without their
 * policies, which moto does not evaluate anyway. It is what `xstack bootstrap`
 * makes (test/deploy-bootstrap.test.ts runs the real one), in a tenth of the
 * calls, so that each rollout test starts fast. And, unless `orgRoles: false`,
 * the roles the org file names as existing (instanceRoles, keyAdministratorRoles
 * that are not patterns) in each pipeline account, at their paths, as the org
 * has them on AWS and as `--local` makes them (src/deploy/local-roles.ts):
 * plan and deploy read them first (src/deploy/existing-roles.ts).
 */
import { CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import type { Aws } from '../../src/deploy/clients';
import { namedExistingRoles } from '../../src/deploy/existing-roles';
import { roleNameOf, rolePathOf } from '../../src/iam/role-path';
import type { Org } from '../../src/org/model';

const trust = (principal: Record<string, string>) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: principal, Action: 'sts:AssumeRole' }] });

export async function createStackSetRoles(org: Org, aws: Aws, adminAccountId: string, options: { orgRoles?: boolean } = {}): Promise<void> {
  const s = org.stackSets;
  const ensure = async (iam: ReturnType<Aws['iam']>, name: string, principal: Record<string, string>, path?: string) => {
    try {
      await iam.send(new GetRoleCommand({ RoleName: name }));
    } catch {
      await iam.send(new CreateRoleCommand({ RoleName: name, Path: path, AssumeRolePolicyDocument: trust(principal) }));
    }
  };
  await ensure(aws.iam(), s.administrationRoleName, { Service: 'cloudformation.amazonaws.com' });
  for (const account of org.accounts) {
    const credentials = await aws.assume(`arn:${org.partition}:iam::${account.id}:role/OrganizationAccountAccessRole`);
    await ensure(aws.iam(credentials), s.executionRoleName, { AWS: `arn:${org.partition}:iam::${adminAccountId}:role/${s.administrationRoleName}` });
    if (options.orgRoles === false || account.role !== 'pipeline') continue;
    for (const { role } of namedExistingRoles(org)) await ensure(aws.iam(credentials), roleNameOf(role), { AWS: `arn:${org.partition}:iam::${account.id}:root` }, rolePathOf(role));
  }
}
