/**
 * Setup, SERVICE_MANAGED: the reader role `plan`, `deploy` and `destroy` read each target account with
 * (`--output-reader-role`), which with SERVICE_MANAGED nothing else creates: AWS makes the StackSets' own roles, and
 * bootstrap only reads (review s32-walkthrough M3). The same reads as the role SELF_MANAGED bootstrap makes
 * (src/deploy/reader-policy.ts readerPolicyForEveryAccount), each an action of access level List or Read, trusting
 * the roles of the administrator account (the management account or the StackSets delegated administrator) that run
 * xstack. Deployed once by the user: from the management account as a SERVICE_MANAGED StackSet with automatic
 * deployment to the org's OUs (README, "Setup templates"), and again when this file changes (a new
 * repository is a new name to read). One template for every account: its ARNs name the account the stack runs in.
 */
import { getAtt, sub } from '../src/cfn/intrinsics';
import { role } from '../src/cfn/resources';
import type { TemplateDefinition } from '../src/cfn/template';
import { policyDocument, statement } from '../src/iam/policy';
import type { Names } from '../src/naming';
import type { ReaderPolicy } from '../src/deploy/reader-policy';
import { READ_QUOTAS_REASON, readOrgEntities, SETUP_PARAMETERS, setupTrust } from './bootstrap-access';

export interface ServiceManagedReaderInput {
  names: Names;
  /** The reads, every account's in one document, its ARNs written for Fn::Sub. */
  reads: ReaderPolicy;
  /** The org file declares iamQuotas: bootstrap reads each account's through this role (bootstrap.ts quotasRefused). */
  readsQuotas: boolean;
}

export function serviceManagedReader({ names, reads, readsQuotas }: ServiceManagedReaderInput): TemplateDefinition {
  // ListStacks takes "*" only (reader-policy.ts FindInstanceStacks): the one resource not written for Fn::Sub.
  const resource = (r: string) => (r === '*' ? r : sub(r));
  const statements = reads.Statement.map((st) =>
    statement({
      sid: st.Sid,
      actions: st.Action,
      resources: st.Resource.map(resource),
      ...(st.Condition ? { conditions: { StringEquals: { 'aws:ResourceAccount': sub(st.Condition.StringEquals['aws:ResourceAccount']) } } } : {}),
    }),
  );
  // The role's own setup tag (src/setup.ts SETUP_DIGEST_TAG), which a refused read looks up to say whether this file
  // is the one deployed in the account.
  statements.push(statement({ sid: 'ReadOwnSetupTag', actions: ['iam:GetRole'], resources: [sub(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${names.outputReaderRole()}`)] }));
  // GetAccountSummary takes no resource type: "*" is its only resource (Service Authorization Reference); and near a
  // quota, the org's own entities by name (account-quotas.ts checkRoom).
  if (readsQuotas) statements.push(statement({ sid: 'ReadQuotas', actions: ['iam:GetAccountSummary'], resources: ['*'] }), readOrgEntities(names));
  return {
    description: `xstack setup (SERVICE_MANAGED): the reader role ${names.outputReaderRole()} that plan, deploy and destroy read this account with (--output-reader-role); deploy once, from the management account or the StackSets delegated administrator, to every target account`,
    parameters: SETUP_PARAMETERS,
    resources: role('ReaderRole', {
      name: names.outputReaderRole(),
      description: "xstack's reads in this account before and after the StackSets' operations (its stacks, retained buckets and repositories, the org's named roles); reads only",
      trust: setupTrust(),
      policies: [{ name: 'reads', document: policyDocument(statements) }],
      exceptions: [
        { rule: 'XS002', statement: 'FindInstanceStacks', reason: 'cloudformation:ListStacks takes no resource type, so "*" (Service Authorization Reference, list_awscloudformation.html): the org\'s instance stacks are found by name in its answer' },
        ...(readsQuotas ? [{ rule: 'XS002', statement: 'ReadQuotas', reason: READ_QUOTAS_REASON }] : []),
      ],
    }),
    outputs: { ReaderRoleArn: { description: 'The role plan, deploy and destroy assume here (--output-reader-role takes its name)', value: getAtt('ReaderRole', 'Arn') } },
  };
}
