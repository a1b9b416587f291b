/**
 * Stage 1, every pipeline account: the identities the rest of the account's
 * policies name, alone, so that they exist before any policy names them: the
 * CodePipeline service role (its permissions arrive with each pipeline,
 * templates/pipeline.ts), and the deployment targets' instance role and
 * instance profile (its artifact grants arrive with the key and bucket,
 * templates/pipeline-foundation.ts).
 */
import InstanceProfile from 'cloudform-types/types/iam/instanceProfile';
import { getAtt, ref } from '../src/cfn/intrinsics';
import { role } from '../src/cfn/resources';
import type { TemplateDefinition } from '../src/cfn/template';
import { CLOUDWATCH_AGENT_SERVER, EC2_TRUST_REASON, SSM_MANAGED_INSTANCE_CORE } from '../src/iam/grants';
import { serviceTrust } from '../src/iam/policy';
import type { Names } from '../src/naming';

export interface PipelineIdentityInput {
  names: Names;
  /** Attach the CloudWatch agent's managed policy to the deployment targets' role. */
  cloudWatchAgent: boolean;
  /** The org names existing instance roles: no role or instance profile of xstack's for the deployment targets. */
  existingInstanceRoles: boolean;
}

export function pipelineIdentity({ names, cloudWatchAgent, existingInstanceRoles }: PipelineIdentityInput): TemplateDefinition {
  const definition = ownInstanceRole(names, cloudWatchAgent);
  if (!existingInstanceRoles) return definition;
  const keep = (id: string) => !id.startsWith('DeployTarget');
  return {
    ...definition,
    description: "xstack pipeline-identity: CodePipeline service role of this pipeline account (the deployment targets' instance roles are the org's own)",
    resources: Object.fromEntries(Object.entries(definition.resources).filter(([id]) => keep(id))),
    outputs: Object.fromEntries(Object.entries(definition.outputs).filter(([id]) => keep(id))),
  };
}

function ownInstanceRole(names: Names, cloudWatchAgent: boolean): TemplateDefinition {
  return {
    description: 'xstack pipeline-identity: CodePipeline service role and deployment targets\' instance role of this pipeline account',
    parameters: {},
    resources: {
      ...role('PipelineRole', {
        name: names.pipelineRole(),
        description: 'CodePipeline service role; assumes the source account role for the CodeCommit source action',
        // AWS documents the CodePipeline service role's trust without confused-deputy conditions
        // and no page says CodePipeline sends aws:SourceArn/aws:SourceAccount when it assumes it:
        // a condition on them could fail CreatePipeline. Who may hand the role to CodePipeline is
        // governed by iam:PassRole instead. Recorded as an exception to XS005.
        // https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-service-role-cli.html
        trust: serviceTrust('codepipeline.amazonaws.com', {}),
        exceptions: [
          {
            rule: 'XS005',
            statement: 'TrustService',
            reason:
              'AWS documents the CodePipeline service role trust without aws:SourceArn/aws:SourceAccount and no page says CodePipeline sends them; only principals with iam:PassRole on this role can give it to a pipeline',
          },
        ],
      }),
      ...role('DeployTargetRole', {
        name: names.deployTargetRole(),
        description: 'EC2 instances CodeDeploy deploys to: the CodeDeploy agent downloads revisions with it; Systems Manager manages the instance',
        trust: serviceTrust('ec2.amazonaws.com', {}),
        awsManagedPolicies: [SSM_MANAGED_INSTANCE_CORE, ...(cloudWatchAgent ? [CLOUDWATCH_AGENT_SERVER] : [])],
        exceptions: [{ rule: 'XS005', statement: 'TrustService', reason: EC2_TRUST_REASON }],
      }),
      // https://docs.aws.amazon.com/codedeploy/latest/userguide/getting-started-create-iam-instance-profile.html
      DeployTargetInstanceProfile: new InstanceProfile({ InstanceProfileName: names.deployTargetRole(), Roles: [ref('DeployTargetRole')] }),
    },
    outputs: {
      PipelineRoleArn: { description: 'ARN of the CodePipeline service role', value: getAtt('PipelineRole', 'Arn') },
      PipelineRoleName: { description: 'Name of the CodePipeline service role', value: ref('PipelineRole') },
      DeployTargetRoleArn: {
        description: 'ARN of the deployment targets\' instance role',
        value: getAtt('DeployTargetRole', 'Arn'),
      },
      DeployTargetRoleName: { description: 'Name of the deployment targets\' instance role', value: ref('DeployTargetRole') },
      DeployTargetInstanceProfileName: {
        description: 'Instance profile to launch the deployment targets with',
        value: ref('DeployTargetInstanceProfile'),
      },
    },
  };
}
