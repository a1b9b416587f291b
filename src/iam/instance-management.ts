/**
 * What the SSM Agent on xstack's EC2 hosts may do, as statements: the grants
 * of src/iam/grants.ts, each scoped to the resource type the Service
 * Authorization Reference gives its actions, "*" only for actions without one
 * (with the grant's recorded reason). In place of AmazonSSMManagedInstanceCore,
 * whose every statement is on "*" and which also reads every SSM parameter of
 * the account. The access proof requires each path these statements open,
 * on the resource its request names (src/services/needs.ts: CI_HOST_NEEDS
 * for the CI host, DEPLOY_TARGET_NEEDS for the deployment targets).
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
 */
import { arn, sub } from '../cfn/intrinsics';
import type { Exception } from '../cfn/resources';
import {
  CLOUDWATCH_AGENT_CONFIG,
  CLOUDWATCH_AGENT_MANAGE_DOCUMENT_ARN,
  CLOUDWATCH_AGENT_PACKAGE_ARN,
  CLOUDWATCH_AGENT_DESCRIBE,
  CLOUDWATCH_AGENT_LOG_GROUPS,
  CLOUDWATCH_AGENT_LOG_STREAMS,
  CLOUDWATCH_AGENT_METRICS,
  CLOUDWATCH_AGENT_NAMESPACE,
  CODEDEPLOY_AGENT_PACKAGE_ARN,
  CONFIGURE_PACKAGE_DOCUMENT_ARN,
  SESSION_MANAGER_CHANNELS,
  SESSION_MANAGER_INSTANCE,
  SSM_AGENT_ASSOCIATION_STATUS,
  SSM_AGENT_ASSOCIATIONS,
  SSM_AGENT_PACKAGES_AND_COMMANDS,
  SSM_PACKAGE_DOCUMENT,
  SSM_RUN_DOCUMENT,
  type Grant,
} from './grants';
import { statement, type Statement } from './policy';
import { PolicyError } from '../errors';

/** Statements of one purpose and the exceptions their "*" resources need (rule XS002). */
export interface Statements {
  statements: Statement[];
  exceptions: Exception[];
}

/** This account's EC2 instances of the Region (ssm's `instance` resource type). */
const THIS_ACCOUNTS_INSTANCES = arn('ec2:${AWS::Region}:${AWS::AccountId}:instance/*');
/** This account's State Manager associations of the Region (ssm's `association` resource type). */
const THIS_ACCOUNTS_ASSOCIATIONS = arn('ssm:${AWS::Region}:${AWS::AccountId}:association/*');

/** A statement on "*" for a grant whose actions have no resource type, with its recorded reason. */
function withoutResourceType(sid: string, grant: Grant): Statements {
  if (!grant.resourceStarReason) throw new PolicyError(`${grant.name}: "*" needs the grant's resourceStarReason`);
  return { statements: [statement({ sid, actions: grant.actions, resources: '*' })], exceptions: [{ rule: 'XS002', statement: sid, reason: grant.resourceStarReason }] };
}

const join = (...parts: Statements[]): Statements => ({ statements: parts.flatMap((p) => p.statements), exceptions: parts.flatMap((p) => p.exceptions) });

/** Session Manager reaches the instance: AWS's minimal instance-profile policy for it. */
export function sessionManagerStatements(): Statements {
  return join(
    { statements: [statement({ sid: 'SessionManagerRegisters', actions: SESSION_MANAGER_INSTANCE.actions, resources: THIS_ACCOUNTS_INSTANCES })], exceptions: [] },
    withoutResourceType('SessionManagerChannels', SESSION_MANAGER_CHANNELS),
  );
}

/**
 * The CodeDeploy agent installed and updated through Systems Manager (the
 * AWSCodeDeployAgent Distributor package, run by AWS-ConfigureAWSPackage).
 */
export function codeDeployAgentThroughSsmStatements(): Statements {
  return join(
    {
      statements: [
        // Each action on its own resource types: all three on the instance; UpdateInstanceAssociationStatus alone names
        // the association too (ListInstanceAssociations and PutComplianceItems have no `association` resource type).
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
        statement({ sid: 'AgentAssociations', actions: SSM_AGENT_ASSOCIATIONS.actions, resources: THIS_ACCOUNTS_INSTANCES }),
        statement({ sid: 'AgentAssociationStatus', actions: SSM_AGENT_ASSOCIATION_STATUS.actions, resources: THIS_ACCOUNTS_ASSOCIATIONS }),
        statement({ sid: 'ConfigurePackageDocument', actions: SSM_RUN_DOCUMENT.actions, resources: sub(CONFIGURE_PACKAGE_DOCUMENT_ARN) }),
        statement({ sid: 'CodeDeployAgentPackage', actions: SSM_PACKAGE_DOCUMENT.actions, resources: sub(CODEDEPLOY_AGENT_PACKAGE_ARN) }),
      ],
      exceptions: [],
    },
    withoutResourceType('AgentPackagesAndCommands', SSM_AGENT_PACKAGES_AND_COMMANDS),
  );
}

/**
 * The CloudWatch agent on the deployment targets, in place of CloudWatchAgentServerPolicy (src/iam/grants.ts): its log
 * groups under `logGroups` (a name's start) and their streams, its metrics in its namespace, its configuration in this
 * account's Parameter Store, and the list actions it describes its host with.
 */
export function cloudWatchAgentStatements(logGroups: string): Statements {
  const groups = arn(`logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${logGroups}*`);
  return join(
    {
      statements: [
        statement({ sid: 'AgentLogGroups', actions: CLOUDWATCH_AGENT_LOG_GROUPS.actions, resources: groups }),
        statement({ sid: 'AgentLogStreams', actions: CLOUDWATCH_AGENT_LOG_STREAMS.actions, resources: arn(`logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${logGroups}*:log-stream:*`) }),
        statement({ sid: 'AgentConfiguration', actions: CLOUDWATCH_AGENT_CONFIG.actions, resources: arn('ssm:${AWS::Region}:${AWS::AccountId}:parameter/AmazonCloudWatch-*') }),
        // Installed and kept configured through Systems Manager, as the CodeDeploy agent is (codeDeployAgentThroughSsmStatements).
        statement({ sid: 'CloudWatchAgentPackage', actions: SSM_PACKAGE_DOCUMENT.actions, resources: sub(CLOUDWATCH_AGENT_PACKAGE_ARN) }),
        statement({ sid: 'CloudWatchAgentManageDocument', actions: SSM_RUN_DOCUMENT.actions, resources: sub(CLOUDWATCH_AGENT_MANAGE_DOCUMENT_ARN) }),
      ],
      exceptions: [],
    },
    withCondition(withoutResourceType('AgentMetrics', CLOUDWATCH_AGENT_METRICS), { StringEquals: { 'cloudwatch:namespace': CLOUDWATCH_AGENT_NAMESPACE } }),
    withoutResourceType('AgentDescribes', CLOUDWATCH_AGENT_DESCRIBE),
  );
}

/** The statements with a condition added to each. */
const withCondition = (part: Statements, conditions: NonNullable<Statement['Condition']>): Statements => ({
  statements: part.statements.map((s) => ({ ...s, Condition: conditions })),
  exceptions: part.exceptions,
});
