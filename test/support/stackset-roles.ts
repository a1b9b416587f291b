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
import { executionTrust } from '../../src/deploy/bootstrap';
import { namedExistingRoles } from '../../src/deploy/existing-roles';
import { roleNameOf, rolePathOf } from '../../src/iam/role-path';
import type { Org } from '../../src/org/model';

const trust = (principal: Record<string, string>) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: principal, Action: 'sts:AssumeRole' }] });

export async function createStackSetRoles(org: Org, aws: Aws, adminAccountId: string, options: { orgRoles?: boolean } = {}): Promise<void> {
  const s = org.stackSets;
  const ensure = async (iam: ReturnType<Aws['iam']>, name: string, document: string, path?: string) => {
    try {
      await iam.send(new GetRoleCommand({ RoleName: name }));
    } catch {
      await iam.send(new CreateRoleCommand({ RoleName: name, Path: path, AssumeRolePolicyDocument: document }));
    }
  };
  await ensure(aws.iam(), s.administrationRoleName, trust({ Service: 'cloudformation.amazonaws.com' }));
  // The execution role's trust as bootstrap writes it, so that a bootstrap run after this fixture finds it its own.
  const executionRoleTrust = JSON.stringify(executionTrust(org.partition, adminAccountId, [`arn:${org.partition}:iam::${adminAccountId}:role/${s.administrationRoleName}`]));
  for (const account of org.accounts) {
    const credentials = await aws.assume(`arn:${org.partition}:iam::${account.id}:role/OrganizationAccountAccessRole`);
    await ensure(aws.iam(credentials), s.executionRoleName, executionRoleTrust);
    if (options.orgRoles === false || account.role !== 'pipeline') continue;
    for (const { role } of namedExistingRoles(org)) await ensure(aws.iam(credentials), roleNameOf(role), trust({ AWS: `arn:${org.partition}:iam::${account.id}:root` }), rolePathOf(role));
  }
}
