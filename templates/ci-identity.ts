/**
 * The CI account: the role its EC2 instances (the CI, e.g. a Jenkins
 * container host) run with, and its instance profile. It holds no CodeCommit
 * permission itself; it may only assume the pull-only CI role of each source
 * account (templates/access-roles.ts). No long-lived keys, no SSH keys.
 */
import InstanceProfile from 'cloudform-types/types/iam/instanceProfile';
import { arn, getAtt, ref } from '../src/cfn/intrinsics';
import { role } from '../src/cfn/resources';
import type { TemplateDefinition } from '../src/cfn/template';
import { EC2_TRUST_REASON, STS_ASSUME_ROLE } from '../src/iam/grants';
import { policyDocument, serviceTrust, statement } from '../src/iam/policy';
import type { Names } from '../src/naming';

export function ciIdentity(names: Names, sourceAccountIds: readonly string[]): TemplateDefinition {
  return {
    description: 'xstack ci-identity: instance role and profile the CI runs with',
    parameters: {},
    resources: {
      ...role('CiInstanceRole', {
        name: names.ciInstanceRole(),
        description: 'EC2 instances of the CI; may only assume the pull-only CI role of each source account',
        trust: serviceTrust('ec2.amazonaws.com', {}),
        exceptions: [{ rule: 'XS005', statement: 'TrustService', reason: EC2_TRUST_REASON }],
        policies: [
          {
            name: 'assume-ci-reader-roles',
            document: policyDocument([
              statement({
                sid: 'AssumeCiReaderRoles',
                actions: STS_ASSUME_ROLE.actions,
                resources: sourceAccountIds.map((id) => arn(`iam::${id}:role/${names.ciReaderRole()}`)),
              }),
            ]),
          },
        ],
      }),
      CiInstanceProfile: new InstanceProfile({ InstanceProfileName: names.ciInstanceRole(), Roles: [ref('CiInstanceRole')] }),
    },
    outputs: {
      CiInstanceRoleArn: { description: 'ARN of the CI instance role', value: getAtt('CiInstanceRole', 'Arn'), principalOf: 'CiInstanceRole' },
      CiInstanceProfileName: { description: 'Instance profile to launch the CI with', value: ref('CiInstanceProfile') },
    },
  };
}
