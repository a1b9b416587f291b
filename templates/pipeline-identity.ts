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
import { EC2_TRUST_REASON } from '../src/iam/grants';
import { cloudWatchAgentStatements, codeDeployAgentThroughSsmStatements, sessionManagerStatements } from '../src/iam/instance-management';
import { policyDocument, serviceTrust } from '../src/iam/policy';
import type { Names } from '../src/naming';

export interface PipelineIdentityInput {
  names: Names;
  /** Let the deployment targets' CloudWatch agent write its log groups (under Names.agentLogGroups) and metrics. */
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
  // Systems Manager on the deployment targets: Session Manager, and the CodeDeploy agent's install and updates through
  // the AWSCodeDeployAgent Distributor package; not AmazonSSMManagedInstanceCore, which also reads every SSM parameter of
  // the account and runs Inventory and Patch Manager (src/iam/instance-management.ts).
  // https://docs.aws.amazon.com/codedeploy/latest/userguide/codedeploy-agent-operations-install-ssm.html
  const sessionManager = sessionManagerStatements();
  const agent = codeDeployAgentThroughSsmStatements();
  // In place of the AWS managed CloudWatchAgentServerPolicy, whose logs statement is on "*" (src/iam/grants.ts).
  const cloudWatch = cloudWatchAgent ? cloudWatchAgentStatements(names.agentLogGroups()) : undefined;
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
        description: 'EC2 instances CodeDeploy deploys to: the CodeDeploy agent downloads revisions with it; Session Manager reaches it; Systems Manager installs the CodeDeploy agent',
        trust: serviceTrust('ec2.amazonaws.com', {}),
        policies: [
          { name: 'session-manager', document: policyDocument(sessionManager.statements) },
          { name: 'codedeploy-agent-through-ssm', document: policyDocument(agent.statements) },
          ...(cloudWatch ? [{ name: 'cloudwatch-agent', document: policyDocument(cloudWatch.statements) }] : []),
        ],
        exceptions: [{ rule: 'XS005', statement: 'TrustService', reason: EC2_TRUST_REASON }, ...sessionManager.exceptions, ...agent.exceptions, ...(cloudWatch?.exceptions ?? [])],
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
