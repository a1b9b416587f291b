/**
 * One pipeline, a unit of the `pipelines` family (src/stages/family.ts), in
 * every pipeline account whose environment the pipeline runs: the pipeline (its source action runs with the
 * source account's role, PollForSourceChanges off), its permissions on the
 * pipeline role, the CodeDeploy application and deployment group, and the rule
 * that starts it when its branch changes in the source account.
 *
 * No parameters: what other stages made is known by name (the pipeline and
 * source roles, the artifact bucket) or imported from this account's
 * pipeline-foundation stack (the key's ARN); the branch and environment of
 * each account are chosen by the template's conditions.
 */
import Application from 'cloudform-types/types/codeDeploy/application';
import DeploymentGroup from 'cloudform-types/types/codeDeploy/deploymentGroup';
import Rule from 'cloudform-types/types/events/rule';
import ManagedPolicy from 'cloudform-types/types/iam/managedPolicy';
import { deadLetterConfig } from '../src/cfn/dead-letter';
import { pipelineV2 } from '../src/cfn/extensions';
import { IntrinsicFunction } from 'cloudform-types/types/dataTypes';
import { arn, getAtt, ref, sub, type Value } from '../src/cfn/intrinsics';
import { role } from '../src/cfn/resources';
import type { TemplateDefinition } from '../src/cfn/template';
import {
  ARTIFACT_BUCKET_READ,
  ARTIFACT_OBJECT_READ_WRITE,
  CODECOMMIT_BRANCH_EVENT,
  CODEDEPLOY_EC2_TARGETS,
  CODEDEPLOY_PIPELINE_ACTION,
  CODEPIPELINE_START,
  KMS_ARTIFACT_DATA_KEY,
  STS_ASSUME_ROLE,
} from '../src/iam/grants';
import { policyDocument, serviceTrust, statement } from '../src/iam/policy';
import { SOURCE_ACTION, SOURCE_ARTIFACT, SOURCE_STAGE, type Names } from '../src/naming';
import type { Pipeline } from '../src/org/model';

export interface PipelineInput {
  names: Names;
  pipeline: Pipeline;
  sourceAccountId: string;
  /** The branch this account's pipeline tracks, and the environment the account runs (src/cfn/account-switch.ts). */
  branch: Value<string>;
  environment: Value<string>;
  /** The application's tag group as the deployment group's item, in the accounts that select by it only (src/cfn/account-switch.ts `item`). */
  applicationTagGroup: <T>(group: T) => T | IntrinsicFunction;
}

export function pipeline({ names, pipeline: p, sourceAccountId, branch, environment, applicationTagGroup }: PipelineInput): TemplateDefinition {
  const pipelineName = names.pipeline(p.name);
  const application = names.codeDeployApplication(p.name);
  const group = names.codeDeployGroup(p.name);
  const codedeploy = (resource: string) => arn(`codedeploy:\${AWS::Region}:\${AWS::AccountId}:${resource}`);
  const pipelineArn = arn(`codepipeline:\${AWS::Region}:\${AWS::AccountId}:${pipelineName}`);
  const repositoryArn = arn(`codecommit:\${AWS::Region}:${sourceAccountId}:${p.repository}`);

  const pipelineRoleArn = arn(`iam::\${AWS::AccountId}:role/${names.pipelineRole()}`);
  const sourceRoleArn = arn(`iam::${sourceAccountId}:role/${names.sourceRole('${AWS::AccountId}')}`);
  const bucket = names.artifactBucket('${AWS::AccountId}', '${AWS::Region}');
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html
  const keyArn = new IntrinsicFunction('Fn::ImportValue', names.artifactKeyExport());
  const thisAccount = { StringEquals: { 'aws:ResourceAccount': ref('AWS::AccountId') } };
  // A managed policy per pipeline on the account's one pipeline role: IAM counts it against the
  // managed policies a role may have (checked at compile time, src/checks/iam-quotas.ts), not against
  // the 10,240 characters all inline policies of a role share.
  const pipelinePolicy = new ManagedPolicy({
    ManagedPolicyName: names.pipelinePolicy(p.name),
    // Create-only and the policy is named: a wording change is refused by plan/deploy (src/deploy/replacements.ts).
    Description: `What pipeline ${pipelineName} does as the pipeline role`,
    Roles: [names.pipelineRole()],
    PolicyDocument: policyDocument([
      // AWS's minimum service-role policy pins every S3 grant to the account: a bucket of the same
      // name elsewhere is not this one. https://docs.aws.amazon.com/codepipeline/latest/userguide/how-to-custom-role.html
      statement({ sid: 'ReadWriteArtifacts', actions: ARTIFACT_OBJECT_READ_WRITE.actions, resources: arn(`s3:::${bucket}/*`), conditions: thisAccount }),
      statement({ sid: 'ReadArtifactBucket', actions: ARTIFACT_BUCKET_READ.actions, resources: arn(`s3:::${bucket}`), conditions: thisAccount }),
      statement({ sid: 'UseArtifactKey', actions: KMS_ARTIFACT_DATA_KEY.actions, resources: keyArn }),
      statement({ sid: 'AssumeSourceRole', actions: STS_ASSUME_ROLE.actions, resources: sourceRoleArn }),
      statement({
        sid: 'DeployWithCodeDeploy',
        actions: CODEDEPLOY_PIPELINE_ACTION.actions,
        resources: [
          codedeploy(`application:${application}`),
          codedeploy(`deploymentgroup:${application}/${group}`),
          codedeploy(`deploymentconfig:${p.deploy.deploymentConfig}`),
        ],
      }),
    ]),
  });

  const codeDeployRole = role('CodeDeployRole', {
    name: names.codeDeployRole(p.name),
    description: `CodeDeploy service role of ${application}`,
    // https://docs.aws.amazon.com/codedeploy/latest/userguide/security_confused_deputy.html
    trust: serviceTrust('codedeploy.amazonaws.com', {
      StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
      ArnLike: { 'aws:SourceArn': codedeploy(`deploymentgroup:${application}/*`) },
    }),
    policies: [
      {
        name: 'find-deployment-targets',
        document: policyDocument([statement({ sid: 'FindTaggedInstances', actions: CODEDEPLOY_EC2_TARGETS.actions, resources: '*' })]),
      },
    ],
    exceptions: [{ rule: 'XS002', statement: 'FindTaggedInstances', reason: CODEDEPLOY_EC2_TARGETS.resourceStarReason ?? '' }],
  });

  const triggerRole = role('TriggerRole', {
    name: names.triggerRole(p.name),
    description: `EventBridge starts ${pipelineName} with this role`,
    trust: serviceTrust('events.amazonaws.com', {
      StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
      ArnLike: { 'aws:SourceArn': arn(`events:\${AWS::Region}:\${AWS::AccountId}:rule/${names.triggerRule(p.name)}`) },
    }),
    policies: [
      { name: 'start-pipeline', document: policyDocument([statement({ sid: 'StartPipeline', actions: CODEPIPELINE_START.actions, resources: pipelineArn })]) },
    ],
  });

  const codePipeline = pipelineV2({
    Name: pipelineName,
    PipelineType: 'V2',
    ExecutionMode: 'QUEUED',
    RoleArn: pipelineRoleArn,
    ArtifactStore: {
      Type: 'S3',
      Location: sub(bucket),
      EncryptionKey: { Id: keyArn, Type: 'KMS' },
    },
    Stages: [
      {
        Name: SOURCE_STAGE,
        Actions: [
          {
            Name: SOURCE_ACTION,
            ActionTypeId: { Category: 'Source', Owner: 'AWS', Provider: 'CodeCommit', Version: '1' },
            RoleArn: sourceRoleArn,
            Configuration: {
              RepositoryName: p.repository,
              BranchName: branch,
              // The trigger rule below starts the pipeline; polling would double-start it.
              PollForSourceChanges: false,
              OutputArtifactFormat: 'CODE_ZIP',
            },
            OutputArtifacts: [{ Name: SOURCE_ARTIFACT }],
            Namespace: 'SourceVariables',
            RunOrder: 1,
          },
        ],
      },
      {
        Name: 'Deploy',
        Actions: [
          {
            Name: 'Deploy',
            ActionTypeId: { Category: 'Deploy', Owner: 'AWS', Provider: 'CodeDeploy', Version: '1' },
            Configuration: { ApplicationName: ref('CodeDeployApplication'), DeploymentGroupName: ref('DeploymentGroup') },
            InputArtifacts: [{ Name: SOURCE_ARTIFACT }],
            // No Namespace: the CodeDeploy action's reference lists no output variables
            // (https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeDeploy.html), and a namespace
            // would tell a reader of the template that some exist (review s46-templates m3). The source action's has them.
            RunOrder: 1,
          },
        ],
      },
    ],
  }).dependsOn('PipelinePolicy');

  return {
    description: `xstack pipeline ${p.name}: pipeline of repository ${p.repository}, its deploy stage and trigger`,
    parameters: {},
    resources: {
      PipelinePolicy: pipelinePolicy,
      Pipeline: codePipeline,
      ...codeDeployRole,
      CodeDeployApplication: new Application({ ApplicationName: application, ComputePlatform: 'Server' }),
      DeploymentGroup: new DeploymentGroup({
        ApplicationName: ref('CodeDeployApplication'),
        DeploymentGroupName: group,
        ServiceRoleArn: getAtt('CodeDeployRole', 'Arn'),
        DeploymentConfigName: p.deploy.deploymentConfig,
        // Tag groups, all of which an instance must carry ("The deployment group includes only Amazon EC2 instances
        // identified by all the tag groups"): the environment's, and the application's where the org has one for the
        // pipeline (src/org/load.ts withApplicationTags), in the accounts it applies in. Always a tag set, never
        // Ec2TagFilters, which "cannot be used in the same template as" it (a family template holds many pipelines' groups):
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-codedeploy-deploymentgroup-ec2tagset.html
        Ec2TagSet: {
          Ec2TagSetList: [
            { Ec2TagGroup: [{ Key: p.deploy.ec2TagKey, Value: environment, Type: 'KEY_AND_VALUE' }] },
            // An Fn::If item (AWS::NoValue where it does not apply), which cloudform-types' item type does not take.
            ...(p.deploy.applicationTagKey !== undefined ? [applicationTagGroup({ Ec2TagGroup: [{ Key: p.deploy.applicationTagKey, Value: p.name, Type: 'KEY_AND_VALUE' }] }) as { Ec2TagGroup: Array<{ Key: string; Value: string; Type: string }> }] : []),
          ],
        },
        AutoRollbackConfiguration: { Enabled: true, Events: ['DEPLOYMENT_FAILURE'] },
      }).dependsOn('CodeDeployRoleFindDeploymentTargets'), // CodeDeploy checks its role's permissions when the group is created
      ...triggerRole,
      TriggerRule: new Rule({
        Name: names.triggerRule(p.name),
        Description: `Starts ${pipelineName} when its branch of ${p.repository} changes in the source account`,
        State: 'ENABLED',
        EventPattern: {
          source: [CODECOMMIT_BRANCH_EVENT.source],
          'detail-type': [CODECOMMIT_BRANCH_EVENT.detailType],
          account: [sourceAccountId],
          resources: [repositoryArn],
          detail: { referenceType: ['branch'], event: ['referenceCreated', 'referenceUpdated'], referenceName: [branch] },
        },
        // A start EventBridge cannot make goes to this account's queue (pipeline-foundation).
        Targets: [{ Id: 'pipeline', Arn: pipelineArn, RoleArn: getAtt('TriggerRole', 'Arn'), DeadLetterConfig: deadLetterConfig(names.triggerDeadLetterQueue()) }],
      }),
    },
    outputs: {
      // The deterministic name rather than Ref: the local emulator does not create pipelines.
      PipelineName: { description: 'Name of the pipeline', value: pipelineName },
      PipelineArn: { description: 'ARN of the pipeline', value: pipelineArn },
    },
  };
}
