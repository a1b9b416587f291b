/**
 * The AWS managed policies the templates attach, as data: their documents
 * as AWS publishes them (default version), so that the access proof reads
 * what a role attached to one may do, like any policy the templates write.
 * AWS changes a managed policy's default version on its own; the version
 * here is the one read, with its page, and a managed policy the templates
 * attach without an entry here is left out of the proof (its grants are
 * then not proved, and nothing else relies on them).
 *
 * AWS publishes these documents without Sids; each statement here gets one,
 * so that the report and the proof can name it
 * (`<role>/<policy>.<Sid>`).
 */
import type { PlainStatement } from '../checks/documents';

export interface AwsManagedPolicy {
  readonly name: string;
  /** The default version the statements were read from. */
  readonly version: string;
  /** The AWS Managed Policy Reference page holding the document. */
  readonly doc: string;
  readonly statements: readonly PlainStatement[];
}

/**
 * Systems Manager's core on an EC2 instance: the SSM Agent registers the
 * instance, runs associations and commands (ec2messages) and Session Manager's
 * channels (ssmmessages). Every Resource is "*", as AWS writes it; it also
 * lets the instance read any SSM parameter of its account (ssm:GetParameter,
 * ssm:GetParameters), which the report shows.
 */
export const AMAZON_SSM_MANAGED_INSTANCE_CORE: AwsManagedPolicy = {
  name: 'AmazonSSMManagedInstanceCore',
  version: 'v2',
  doc: 'https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonSSMManagedInstanceCore.html',
  statements: [
    {
      Sid: 'SystemsManagerCore',
      Effect: 'Allow',
      Action: [
        'ssm:DescribeAssociation',
        'ssm:GetDeployablePatchSnapshotForInstance',
        'ssm:GetDocument',
        'ssm:DescribeDocument',
        'ssm:GetManifest',
        'ssm:GetParameter',
        'ssm:GetParameters',
        'ssm:ListAssociations',
        'ssm:ListInstanceAssociations',
        'ssm:PutInventory',
        'ssm:PutComplianceItems',
        'ssm:PutConfigurePackageResult',
        'ssm:UpdateAssociationStatus',
        'ssm:UpdateInstanceAssociationStatus',
        'ssm:UpdateInstanceInformation',
      ],
      Resource: '*',
    },
    {
      Sid: 'SessionManagerChannels',
      Effect: 'Allow',
      Action: ['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
      Resource: '*',
    },
    {
      Sid: 'RunCommandMessages',
      Effect: 'Allow',
      Action: ['ec2messages:AcknowledgeMessage', 'ec2messages:DeleteMessage', 'ec2messages:FailMessage', 'ec2messages:GetEndpoint', 'ec2messages:GetMessages', 'ec2messages:SendReply'],
      Resource: '*',
    },
  ],
};

export const AWS_MANAGED_POLICIES: ReadonlyMap<string, AwsManagedPolicy> = new Map([[AMAZON_SSM_MANAGED_INSTANCE_CORE.name, AMAZON_SSM_MANAGED_INSTANCE_CORE]]);

/** The AWS managed policy an ARN of ManagedPolicyArns names (its text, `arn:${AWS::Partition}:iam::aws:policy/<name>`), if known. */
export function awsManagedPolicyOf(arnText: string): AwsManagedPolicy | undefined {
  const marker = ':iam::aws:policy/';
  const at = arnText.indexOf(marker);
  return at < 0 ? undefined : AWS_MANAGED_POLICIES.get(arnText.slice(at + marker.length));
}
