/**
 * A test fixture, not what AWS needs: the two StackSet roles without their
 * policies, which moto does not evaluate anyway. It is what `xstack bootstrap`
 * makes (test/deploy-bootstrap.test.ts runs the real one), in a tenth of the
 * calls, so that each rollout test starts fast.
 */
import { CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import type { Aws } from '../../src/deploy/clients';
import type { Org } from '../../src/org/model';

const trust = (principal: Record<string, string>) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: principal, Action: 'sts:AssumeRole' }] });

export async function createStackSetRoles(org: Org, aws: Aws, adminAccountId: string): Promise<void> {
  const s = org.stackSets;
  const ensure = async (iam: ReturnType<Aws['iam']>, name: string, principal: Record<string, string>) => {
    try {
      await iam.send(new GetRoleCommand({ RoleName: name }));
    } catch {
      await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust(principal) }));
    }
  };
  await ensure(aws.iam(), s.administrationRoleName, { Service: 'cloudformation.amazonaws.com' });
  for (const account of org.accounts) {
    const credentials = await aws.assume(`arn:${org.partition}:iam::${account.id}:role/OrganizationAccountAccessRole`);
    await ensure(aws.iam(credentials), s.executionRoleName, { AWS: `arn:${org.partition}:iam::${adminAccountId}:role/${s.administrationRoleName}` });
  }
}
