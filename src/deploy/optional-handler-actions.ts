/**
 * Handler permissions that serve one optional property. A type's registry schema lists every action its handlers
 * may call (resource-permissions.ts), including those they call only for a property a template may leave out: the
 * initial commit of a repository, a deployment made with its deployment group, a pipeline run after an update.
 * Granting them where no template sets the property would let the StackSet execution role commit to any branch of
 * the org's repositories, deploy any revision and start every pipeline, prod included, which nothing it deploys
 * needs. So the execution policy grants each of them only when some resource of its type sets the property.
 *
 * Only actions that change something or read data are listed (the initial commit's zip is read with s3:GetObject,
 * which on the org's buckets would read their artifacts): the handlers' other reads stay granted whatever the
 * template sets (a read the handler makes regardless would otherwise fail the stack). The property each action serves is the one
 * AWS's template reference describes as doing what the action does (the page beside each entry).
 */
import type { CfnResource } from '../cfn/template';

interface OptionalActions {
  /** The actions only `neededBy` resources need. */
  readonly actions: readonly string[];
  /** Whether a resource of the type sets what the actions serve. */
  readonly neededBy: (properties: Readonly<Record<string, unknown>>) => boolean;
}

const sets = (property: string) => (properties: Readonly<Record<string, unknown>>) => properties[property] !== undefined;

export const OPTIONAL_HANDLER_ACTIONS: Readonly<Record<string, readonly OptionalActions[]>> = {
  // Code: "Information about code to be committed to a repository after it is created", from an S3 object (Code.S3).
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-codecommit-repository.html
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-codecommit-repository-code.html
  'AWS::CodeCommit::Repository': [{ actions: ['codecommit:CreateCommit', 's3:GetObject', 's3:GetObjectVersion'], neededBy: sets('Code') }],
  // Deployment: "If you specify this property, your target application revision is deployed as soon as the
  // provisioning process is complete."
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-codedeploy-deploymentgroup.html
  // StopDeployment stops the deployment that property made (an update's). RegisterOnPremisesInstance registers an
  // on-premises instance: an inference, not a sentence of AWS's, that only a group deploying to on-premises instances
  // (OnPremisesInstanceTagFilters, OnPremisesTagSet) could have the handler call it; xstack's groups select EC2
  // instances by tag (README "verify once").
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-codedeploy-deploymentgroup.html
  'AWS::CodeDeploy::DeploymentGroup': [
    { actions: ['codedeploy:CreateDeployment', 'codedeploy:RegisterApplicationRevision', 'codedeploy:StopDeployment'], neededBy: sets('Deployment') },
    { actions: ['codedeploy:RegisterOnPremisesInstance'], neededBy: (p) => p.OnPremisesInstanceTagFilters !== undefined || p.OnPremisesTagSet !== undefined },
  ],
  // Groups, Users: the groups and users the policy is attached to; xstack attaches its managed policies to roles only
  // (Roles). A policy someone attached to a user or group by hand would make its delete fail (IAM's DeletePolicy
  // detaches nothing by itself), as it would have before: these actions were granted on role and policy ARNs, where
  // they authorize nothing.
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-managedpolicy.html
  'AWS::IAM::ManagedPolicy': [
    { actions: ['iam:AttachGroupPolicy', 'iam:DetachGroupPolicy'], neededBy: sets('Groups') },
    { actions: ['iam:AttachUserPolicy', 'iam:DetachUserPolicy'], neededBy: sets('Users') },
  ],
  // ResourcePolicyDocument: the log group's resource policy; FieldIndexPolicies: "Creates or updates a field index
  // policy for the specified log group" (PutIndexPolicy). Neither is set on xstack's flow-log group.
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-loggroup.html
  // https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutIndexPolicy.html
  //
  // DataProtectionPolicy: a data protection policy's audit findings may go to Firehose or S3; "Create a data protection
  // policy with Firehose as an audit destination" needs logs:PutDataProtectionPolicy, logs:CreateLogDelivery and
  // firehose:TagDeliveryStream (the tag lets CloudWatch Logs' service-linked role write to every stream carrying it).
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/data-protection-policy-permissions.html
  // KmsKeyId: "The Amazon Resource Name (ARN) of the KMS key to use when encrypting log data", set on a group by
  // AssociateKmsKey (the update handler's; DisassociateKmsKey when it is taken away).
  // https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_AssociateKmsKey.html
  'AWS::Logs::LogGroup': [
    { actions: ['logs:PutResourcePolicy', 'logs:DeleteResourcePolicy'], neededBy: sets('ResourcePolicyDocument') },
    { actions: ['logs:PutIndexPolicy', 'logs:DeleteIndexPolicy'], neededBy: sets('FieldIndexPolicies') },
    { actions: ['logs:PutDataProtectionPolicy', 'logs:CreateLogDelivery', 'firehose:TagDeliveryStream'], neededBy: sets('DataProtectionPolicy') },
    { actions: ['logs:AssociateKmsKey', 'logs:DisassociateKmsKey'], neededBy: sets('KmsKeyId') },
  ],
  // LogDestinationType: "The type of destination for the flow log data", cloud-watch-logs unless it says otherwise.
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-flowlog.html
  // To CloudWatch Logs, the principal creating the flow log needs iam:PassRole on the role it names, nothing more
  // (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-cwl.html); to S3, logs:CreateLogDelivery and
  // logs:DeleteLogDelivery, and s3:GetBucketPolicy with s3:PutBucketPolicy for the policy attached to the bucket
  // (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3.html); to Firehose, the log deliveries and
  // iam:CreateServiceLinkedRole (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-Firehose.html).
  // A destination chosen by a condition (not a literal) counts as another destination.
  'AWS::EC2::FlowLog': [
    {
      actions: ['iam:CreateServiceLinkedRole', 'logs:CreateLogDelivery', 'logs:DeleteLogDelivery', 's3:GetBucketPolicy', 's3:PutBucketPolicy'],
      neededBy: (p) => p.LogDestinationType !== undefined && p.LogDestinationType !== 'cloud-watch-logs',
    },
  ],
  // ServiceNetworkArn: "The Amazon Resource Name (ARN) of a service network that will be associated with the VPC
  // endpoint of type service-network"; ServiceRegion: the Region of the endpoint service, for a cross-Region endpoint
  // (vpce:AllowMultiRegion). xstack's endpoints are of its own Region's AWS services.
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-vpcendpoint.html
  'AWS::EC2::VPCEndpoint': [
    { actions: ['vpc-lattice:CreateServiceNetworkVpcEndpointAssociation'], neededBy: sets('ServiceNetworkArn') },
    { actions: ['vpce:AllowMultiRegion'], neededBy: sets('ServiceRegion') },
  ],
  // MetadataTableConfiguration / MetadataConfiguration: the bucket's S3 Metadata tables, kept in an S3 table bucket
  // (s3tables:*, reads of that table too: without one there is none to read), configured with the bucket's
  // s3:*BucketMetadata*TableConfiguration writes (its read, GetBucketMetadataTableConfiguration, stays: the read handler
  // calls it). xstack's buckets have none.
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucket.html
  'AWS::S3::Bucket': [
    {
      actions: [
        's3:CreateBucketMetadataTableConfiguration',
        's3:DeleteBucketMetadataTableConfiguration',
        's3:UpdateBucketMetadataAnnotationTableConfiguration',
        's3:UpdateBucketMetadataInventoryTableConfiguration',
        's3:UpdateBucketMetadataJournalTableConfiguration',
        's3tables:CreateNamespace',
        's3tables:CreateTable',
        's3tables:CreateTableBucket',
        's3tables:GetTable',
        's3tables:GetTableMetadataLocation',
        's3tables:PutTableBucketPolicy',
        's3tables:PutTableEncryption',
        's3tables:PutTablePolicy',
        's3tables:UpdateTableMetadataLocation',
      ],
      neededBy: (p) => p.MetadataTableConfiguration !== undefined || p.MetadataConfiguration !== undefined,
    },
  ],
  // TagSpecifications: "The tags to apply to the launch template on creation" (ResourceType launch-template); the
  // registry schema says CloudFormation tags it no other way (tagging.taggable false: no stack tags), and the tags in
  // LaunchTemplateData are the launched instances', written into the template's data, not tagged by the handler.
  // xstack's CI host launch template sets it (the tag its writes are held to, execution-policy.ts
  // launchTemplateStatements), so they are granted there, on launch templates only.
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-launchtemplate.html
  'AWS::EC2::LaunchTemplate': [{ actions: ['ec2:CreateTags', 'ec2:DeleteTags'], neededBy: sets('TagSpecifications') }],
  'AWS::CodePipeline::Pipeline': [
    // RestartExecutionOnUpdate: "Indicates whether to rerun the CodePipeline pipeline after you update it"; false or
    // absent, the update does not start it.
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-codepipeline-pipeline.html
    { actions: ['codepipeline:StartPipelineExecution'], neededBy: (p) => p.RestartExecutionOnUpdate !== undefined && p.RestartExecutionOnUpdate !== false },
    // PassConnection passes a connection to a service that takes a connection ARN, such as a pipeline's source
    // action (its ConnectionArn); a pipeline whose actions name no connection passes none.
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodestarconnections.html
    // https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodestarConnectionSource.html
    { actions: ['codestar-connections:PassConnection'], neededBy: (p) => namesAConnection(p.Stages) },
    // DisableInboundStageTransitions: "Represents the input of a DisableStageTransition action"; without it the
    // handler has no transition to disable or enable.
    { actions: ['codepipeline:DisableStageTransition', 'codepipeline:EnableStageTransition'], neededBy: sets('DisableInboundStageTransitions') },
  ],
};

/** The handler actions a resource of this type needs: its type's, less the optional ones it does not set. */
export function handlerActionsFor(all: readonly string[], resources: readonly CfnResource[]): readonly string[] {
  const optional = OPTIONAL_HANDLER_ACTIONS[resources[0]?.Type ?? ''];
  if (!optional) return all;
  const unused = new Set(optional.filter((o) => !resources.some((r) => o.neededBy(r.Properties ?? {}))).flatMap((o) => o.actions));
  return all.filter((a) => !unused.has(a));
}

/**
 * Whether a ConnectionArn key is anywhere in the stages, an account's Fn::If branch included: keys are literal in a
 * template (no intrinsic function makes one), so a pipeline without the key names no connection.
 */
function namesAConnection(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(namesAConnection);
  if (typeof value !== 'object' || value === null) return false;
  // Own keys with for-in, without a list of entries made for every object of every pipeline (~750 at 250 teams, none naming one).
  for (const key in value) if (Object.hasOwn(value, key) && (key === 'ConnectionArn' || namesAConnection((value as Record<string, unknown>)[key]))) return true;
  return false;
}
