/**
 * The setup template of a compile (dist/<org>/setup/, src/setup.ts) as the user deploys it, in target accounts of
 * the local emulator: a plain stack per account stands in for the setup StackSet's instances (the template is the
 * file as compiled, its parameters the administrator account and one role of it). A second call with another
 * compile's file stands for `update-stack-set`: it replaces the stacks (delete, then create), as moto's update of an
 * AWS::IAM::Role keeps the tags and policies it was created with (moto/iam/models.py Role.update_from_cloudformation_json
 * passes on only the description), where CloudFormation updates a role's Tags in place.
 */
import { CreateStackCommand, DeleteStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { expect } from 'vitest';
import type { CompiledOrg } from '../../src/compile';
import type { Aws } from '../../src/deploy/clients';

const STACK = 'xstack-setup';

export async function deploySetup(aws: Aws, compiled: CompiledOrg, accounts: readonly string[], administrator: string): Promise<void> {
  const TemplateBody = compiled.files.get(compiled.setup.path)!;
  expect(TemplateBody, compiled.setup.path).toBeDefined();
  const Parameters = [
    { ParameterKey: 'AdministratorAccountId', ParameterValue: administrator },
    { ParameterKey: 'TrustedRoleArns', ParameterValue: `arn:aws:iam::${administrator}:role/xstack` },
  ];
  for (const account of accounts) {
    const cfn = aws.cloudFormation(await aws.assume(`arn:aws:iam::${account}:role/AWSCloudFormationStackSetExecutionRole`));
    const exists = await cfn.send(new DescribeStacksCommand({ StackName: STACK })).then(
      (out) => out.Stacks?.some((s) => s.StackStatus !== 'DELETE_COMPLETE') ?? false,
      () => false,
    );
    if (exists) await cfn.send(new DeleteStackCommand({ StackName: STACK }));
    await cfn.send(new CreateStackCommand({ StackName: STACK, TemplateBody, Parameters, Capabilities: ['CAPABILITY_NAMED_IAM'] }));
    const status = (await cfn.send(new DescribeStacksCommand({ StackName: STACK }))).Stacks?.[0]?.StackStatus;
    expect(status, `${STACK} in ${account}`).toBe('CREATE_COMPLETE');
  }
}
