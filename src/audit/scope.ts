/**
 * What the report cannot see, stated plainly: the powers that come from
 * policies xstack does not compile, why, and the AWS feature that shows them.
 */
import { DEFAULT_STACKSETS } from '../org/load';
import type { Org, RoleSource } from '../org/model';
import type { ResolvedStatement } from './grants';
import type { Section } from './report';
import { executionRoleOf } from './reach';
import { Names } from '../naming';
import { rolePathAndName } from '../iam/role-path';
import { layoutPath } from '../stages/layout';
import { BOOTSTRAP_ACCESS_FILE, READER_ROLE_FILE } from '../setup';

export function scopeSection(org: Org, grants: readonly ResolvedStatement[]): Section {
  const reachable = instanceRolesReachable(grants);
  const admins = org.keyAdministratorRoles.length > 0 ? org.keyAdministratorRoles.join(', ') : 'none named';
  const passed = passedRoles(org, grants);
  return {
    id: 'scope',
    title: 'What this report cannot see',
    level: 2,
    blocks: [
      {
        kind: 'p',
        text:
          'Everything in this report is decided from the policies xstack compiles: the templates in this folder. Access that comes from policies outside them is not modelled. Each gap, why it exists, and what shows it:',
      },
      {
        kind: 'table',
        head: ['outside the model', 'why', 'what shows it'],
        rows: [
          [
            `The StackSet execution role's own rights (${executionRoleOf(org)})`,
            'CloudFormation acts as it to create, change and delete every resource of a stage, so it administers all of them. With self-managed permissions, `xstack bootstrap` creates it with the policy listed under "The StackSet execution role" (derived from these templates), and, where a role of that name already exists, stops (a step left to a person) while it holds any other policy, AdministratorAccess included, or trusts anyone bootstrap would not; a role made by StackSets itself (service-managed) may hold more, which this report cannot see. The key policies name it, and the report lists it under "administer" for every resource.',
            'IAM policy simulator on the role (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html); StackSets permissions: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html (service-managed: stacksets-exec-*, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-custom-execution-role.html)',
          ],
          [
            `Who may assume the StackSet execution role (${executionRoleOf(org)})`,
            `With self-managed permissions, \`xstack bootstrap\` writes its trust: the administrator account's administration role alone, and, after \`bootstrap --allow-delete-retained\` (for \`destroy --delete-retained\`), the identity that ran that, by aws:PrincipalArn, until the next bootstrap without the flag. Such a session may assume it directly in every target account, and so act as it there (above). The identities that run xstack are trusted instead on the reader role ${new Names(org.prefix).outputReaderRole()}, which only reads (under "The StackSet execution role"). The trust is written at bootstrap, from who ran it, so it is not in these templates.`,
            "The role's trust in each target account (aws iam get-role); bootstrap's output names the principals it admitted",
          ],
          setupRow(org),
          administrationRow(org),
          ...(passed.length > 0 ? [passedRolesRow(org, passed)] : []),
          ...(reachable.length > 0 ? [instanceOperatorsRow(org, reachable)] : []),
          [
            `Key administrators' own policies (${admins})`,
            (org.keyAdministratorRoles.length === 0 ? `No role of the org file administers the artifact keys: the key policy names the StackSet execution role (${executionRoleOf(org)}) alone, whose policy is bootstrap's (below). ` : '') +
              "The key policy lets these roles administer the artifact keys (kms:PutKeyPolicy among them, so they could grant themselves decrypt) only if their own IAM policy also allows it: a key policy naming the account narrows to these roles by aws:PrincipalArn and delegates the rest to IAM. Their IAM policies are not in the org file.",
            'Key policy and IAM: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html; the roles\' policies in the IAM policy simulator',
          ],
          [
            'Account administrators with IAM rights in a member account',
            `A principal allowed iam:PutRolePolicy, iam:UpdateAssumeRolePolicy, s3:PutBucketPolicy, events:PutPermission or events:RemovePermission (the bus policy), sqs:SetQueueAttributes (a queue's policy) or codecommit:* by its own policy can change the org\'s roles, buckets and repositories in its account; the buckets\', roles\' and repositories\' access is then whatever it writes. Keys are the exception as far as their policies go: they admit only the roles they name. Those are the key administrators (${[...org.keyAdministratorRoles, executionRoleOf(org)].join(', ')}), whose kms:PutKeyPolicy lets them grant anything on the key, and the roles that use the key (${keyUsers(org).join(', ')}), which can encrypt and decrypt with it (the deployment targets\' roles only decrypt, through S3). A principal that can change any of those roles\' trust or policies reaches the keys through them. Every one of those roles is admitted by aws:PrincipalArn, which matches any role of that name, not the role of today (so that the key policy admits a role of that name made again by another StackSet or by hand, its own policies attached again, where a Principal element would hold the deleted role\'s unique id: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles): one that can create a role of one of those names (where none exists, or after deleting it), and give it a policy that allows the key, reaches the keys too.`,
            'IAM Access Analyzer internal access findings (which principals of the organization reach a resource) and external access findings: https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-findings.html',
          ],
          ...callerRows(org),
          ...(org.deploymentTargets.instanceRoles ? [existingInstanceRolesRow(org.deploymentTargets.instanceRoles)] : []),
          [
            'Grants on the artifact keys (KMS grants)',
            'Beside its key policy, a key admits whoever a grant names: "No AWS principal … has any permissions to a KMS key unless they are explicitly allowed, and never denied, in a key policy, IAM policy, or grant", and a grant may name a principal of another account (https://docs.aws.amazon.com/kms/latest/developerguide/grants.html). The templates make no grant and give no role kms:CreateGrant, but a key administrator (above) may give itself kms:CreateGrant with kms:PutKeyPolicy, grant kms:Decrypt, and put the policy back: the grant stays, and neither this report nor `xstack verify` (whose drift detection compares the key policy) sees it.',
            '`aws kms list-grants --key-id <the ArtifactKeyArn output>` in each pipeline account ("To get a list of grants for a KMS key, use the AWS KMS ListGrants operation", https://docs.aws.amazon.com/kms/latest/developerguide/determining-access-grants.html); CloudTrail records CreateGrant',
          ],
          [
            'Service control and resource control policies (SCPs, RCPs), permissions boundaries and session policies set outside the org file',
            `They can only take permissions away, never grant: a path this report proves allowed may still be denied by an SCP or RCP, by a permissions boundary on a role (an Identity Center permission set's, say${org.permissionsBoundary ? '; the org file\'s own is described with the roles it bounds' : ''}), or by a session policy a tool passes when it assumes a role; nothing here is widened by one (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html).`,
            'AWS Organizations, the policies attached to each account and OU: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html; a role\'s boundary: aws iam get-role; session policies: the tool\'s configuration and CloudTrail\'s AssumeRole events',
          ],
          [
            'What was done (not what may be done)',
            'This report says who may act. Who did is in CloudTrail: its management events record AssumeRole, UpdatePipeline, StartPipelineExecution, CreateDeployment and policy changes, but "By default, trails and event data stores do not log data events" (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html), so an artifact written to or read from a bucket is recorded only where the organization turns S3 data events on.',
            `CloudTrail (an organization trail); the artifact buckets' server access logs, which the templates write to ${new Names(org.prefix, org.bucketGeneration).accessLogBucket('<account>', '<region>')} under artifacts/; KMS events in CloudTrail for the artifact keys`,
          ],
          [
            'What is deployed',
            'The report describes the templates; a template changed by hand after deployment, or drift, is not visible here.',
            `\`xstack verify\` (template hashes, instance lists and each instance CURRENT, StackSet drift detection). By hand, each stage is the StackSet ${org.prefix}-<stage> (the stages under "Accounts and stages"): \`aws cloudformation list-stack-instances --stack-set-name ${org.prefix}-<stage>\` lists its instances, each CURRENT if it runs the StackSet's template (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackInstanceSummary.html), and \`aws cloudformation detect-stack-set-drift --stack-set-name ${org.prefix}-<stage>\` starts a drift check (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DetectStackSetDrift.html)`,
          ],
        ],
      },
    ],
  };
}

/**
 * What a principal needs besides iam:PassRole to have a service act as a role that trusts it, by the service's
 * principal, with the service's name. A service not listed here is named by its principal, with its create or update call.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/permission-to-pass-iam-roles.html
 * https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html ("Permissions for IAM principals that publish flow logs")
 * https://docs.aws.amazon.com/eks/latest/userguide/pod-id-association.html
 */
const PASSING_CALLS: Readonly<Record<string, { service: string; call: string }>> = {
  'codepipeline.amazonaws.com': { service: 'CodePipeline', call: 'codepipeline:CreatePipeline or UpdatePipeline' },
  'ec2.amazonaws.com': { service: 'EC2', call: 'ec2:RunInstances, or ec2:AssociateIamInstanceProfile or ReplaceIamInstanceProfileAssociation on an instance the principal already controls' },
  'events.amazonaws.com': { service: 'EventBridge', call: 'events:PutTargets on a rule the role\'s trust names (events:PutRule to make one of such a name)' },
  'codedeploy.amazonaws.com': { service: 'CodeDeploy', call: 'codedeploy:CreateDeploymentGroup or UpdateDeploymentGroup in the application its trust names' },
  'vpc-flow-logs.amazonaws.com': { service: 'VPC Flow Logs', call: 'ec2:CreateFlowLogs naming it as the flow log\'s DeliverLogsPermissionArn' },
  'pods.eks.amazonaws.com': { service: 'EKS Pod Identity', call: 'eks:CreatePodIdentityAssociation or UpdatePodIdentityAssociation, for the cluster, namespace and service account its trust names' },
};

interface PassedRole {
  /** Its name, or the form of the names of one role per pipeline (`<prefix>-<pipeline>-trigger`). */
  name: string;
  service: string;
}

/**
 * The roles the templates make that trust a service (their trust statements with a service principal): the pipeline
 * role, the instance roles, the trigger, CodeDeploy, event forwarder and flow-log roles, and whatever a template adds,
 * in the order the templates list them. A role made for each pipeline is named once, by its form.
 */
function passedRoles(org: Org, grants: readonly ResolvedStatement[]): PassedRole[] {
  const names = new Names(org.prefix);
  const perPipeline = new Map(org.pipelines.flatMap((p) => [[names.triggerRole(p.name), names.triggerRole('<pipeline>')], [names.codeDeployRole(p.name), names.codeDeployRole('<pipeline>')]]));
  const out = new Map<string, PassedRole>();
  for (const g of grants) {
    if (g.kind !== 'trust' || g.effect !== 'Allow') continue;
    for (const p of g.principals) {
      if (p.kind !== 'service') continue;
      for (const arn of g.resources) {
        const role = rolePathAndName(arn);
        const name = perPipeline.get(role) ?? role;
        if (!out.has(`${name} ${p.service}`)) out.set(`${name} ${p.service}`, { name, service: p.service });
      }
    }
  }
  return [...out.values()];
}

function passedRolesRow(org: Org, passed: readonly PassedRole[]): string[] {
  const names = new Names(org.prefix);
  const services = [...new Set(passed.map((r) => r.service))];
  const serviceName = (s: string) => PASSING_CALLS[s]?.service ?? s;
  const calls = services.map((s) => `for ${passed.filter((r) => r.service === s).map((r) => r.name).join(', ')} (${serviceName(s)}), ${PASSING_CALLS[s]?.call ?? "the service's create or update call that names the role"}`);
  const has = (name: string) => passed.some((r) => r.name === name);
  const reaches = [
    ...(has(names.pipelineRole()) ? ['through the pipeline role, the source role in the source account and the repositories it reads'] : []),
    ...(org.access.ci?.runtime.kind === 'ec2' && has(names.ciInstanceRole()) ? ['through the CI instance role, the pull-only role of every source account'] : []),
    ...(has(names.triggerRole('<pipeline>')) ? ["through a trigger role, a start of its pipeline, whose rule's target may carry a source revision override"] : []),
    ...(has(names.eventForwarderRole()) ? ["through the event forwarder role, the source account's CodeCommit events put on the pipeline accounts' event buses (what their bus policies admit from it), which start pipelines but do not change what they deploy"] : []),
    ...(has(names.flowLogRole()) ? ["through the flow-log role, writes to the log groups its policy names"] : []),
  ];
  return [
    `Who may pass the roles services assume (${passed.map((r) => r.name).filter((n, i, all) => all.indexOf(n) === i).join(', ')})`,
    `These roles trust a service (${services.map(serviceName).join(', ')}) with no condition on who asked for them, or one that names only the resource the service acts for: any principal whose own policy allows iam:PassRole on one, with the service's create or update rights, acts as it without changing any trust or policy: ${calls.join('; ')}. ${reaches.length > 0 ? `That reaches, ${reaches.join('; ')}. ` : ''}Those principals' policies are the accounts' own.`,
    "iam:PassRole: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html; an instance's role: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/permission-to-pass-iam-roles.html; a flow log's: https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html; IAM Access Analyzer, or the policy simulator on the accounts' roles and users",
  ];
}

/**
 * Who writes every stage: the StackSets live in one account, and CloudFormation there acts as the administration
 * role, which may assume the execution role in every target account (self-managed,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html); service-managed
 * StackSets live in the management account, reached from it or from a delegated administrator (CreateStackSet, CallAs,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html). The org file does not
 * name that account; a deploy records it in the layout file (src/stages/layout.ts StackSetsHome), which the row points to.
 */
function administrationRow(org: Org): string[] {
  // Not the account a deploy recorded in the layout file: the compile's output is the same with or without that record
  // (test/layout.test.ts), so the report says where to read it.
  const names = `${org.prefix}-<stage>, one per stage`;
  const selfManaged = org.stackSets.permissionModel === 'SELF_MANAGED';
  const role = org.stackSets.administrationRoleName;
  const where = `not named in the org file: it is the account whose credentials \`xstack bootstrap\` and \`xstack deploy\` run with${selfManaged ? `, where bootstrap made the administration role ${role}` : ''}, and each deploy records it (with its Region) in ${layoutPath(org.recordedFile)}, as org.administratorAccount (and org.stackSetsRegion)`;
  const account = 'the account xstack runs from';
  // A StackSet's ARN carries the Region deploy ran in (--region, recorded as org.stackSetsRegion, which may differ from the
  // org's), and a service-managed one the management account's id, whoever created it: "StackSets are created in the
  // management account, including StackSets that are created by delegated administrators"
  // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html, CallAs; review s57-deploy m6).
  const stackSetOwner = selfManaged ? '<administrator account>' : '<management account>';
  return [
    `Who may run StackSets operations on the org's StackSets, or deploy the org file (the administrator account: ${account}${selfManaged ? `; administration role ${role}` : ''})`,
    (selfManaged
      ? `Every stage is a StackSet (${names}) of the administrator account (${where}). CloudFormation there acts as the administration role ${role}, which may assume the execution role ${executionRoleOf(org)} in every target account. So a principal of that account allowed cloudformation:UpdateStackSet, CreateStackInstances, UpdateStackInstances or DeleteStackInstances on those StackSets, or allowed to change the administration role's trust or policies, rewrites every stage: every pipeline, branch, role, key and bucket policy this report describes, in every account. ` +
        `So does one allowed to run any other StackSet of that account that acts as ${role}, or to create one (cloudformation:CreateStackSet takes no resource type): ${
          role === DEFAULT_STACKSETS.administrationRoleName
            ? `a StackSet made without AdministrationRoleARN acts as ${role}, AWS's default name, with no iam:PassRole ("Specify an IAM role only if you are using customized administrator roles to control which users or groups can manage specific StackSets", CreateStackSet), so any principal of that account allowed to create a StackSet and its instances reaches the execution roles; name another stackSets.administrationRoleName, and iam:PassRole on it becomes the gate. `
            : `with a name of its own, a StackSet acts as ${role} only for a caller allowed iam:PassRole on it, and any other StackSet of that account made so reaches the execution roles as well. `
        }`
      : `Every stage is a service-managed StackSet (${names}) of the organization's management account, reached from it or from a delegated administrator (${where}); StackSets acts in each account as the role it made there. So a principal of those accounts allowed cloudformation:UpdateStackSet, CreateStackInstances, UpdateStackInstances or DeleteStackInstances on those StackSets rewrites every stage: every pipeline, branch, role, key and bucket policy this report describes, in every account. `) +
      `So does whoever may change the org file (and its layout file) and run \`xstack deploy\` with such credentials: a pipeline's branch in an environment (\`pipelines.<name>.branches\`), the roles, the accounts. Who may merge to the org file's repository is part of release control. Those principals' policies, and that repository's rules, are not in these templates.`,
    `In the ${selfManaged ? 'administrator account' : 'management account, and in each delegated administrator'}: ${selfManaged ? `aws iam get-role --role-name ${role} (its trust) and aws iam list-role-policies / list-attached-role-policies (what it may assume); aws cloudformation list-stack-sets, then describe-stack-set for each (AdministrationRoleARN: every StackSet that acts as the role); ` : ''}IAM Access Analyzer, or the policy simulator, on cloudformation:UpdateStackSet for arn:${org.partition}:cloudformation:<StackSets Region>:${stackSetOwner}:stackset/${org.prefix}-*${selfManaged ? `, on cloudformation:CreateStackSet, on iam:PassRole for the role ${role}, and on iam:UpdateAssumeRolePolicy, iam:PutRolePolicy, iam:AttachRolePolicy for it` : ''}; the org file repository's branch protection. StackSets permissions: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html`,
  ];
}

/**
 * How an operator reaches an instance's role with no iam:PassRole, by what the role's own policy lets the instance's
 * SSM Agent do (the templates' grants): Session Manager's channels (ssmmessages) open a shell to whoever may
 * ssm:StartSession; Run Command's (ec2messages) run what whoever may ssm:SendCommand sends; State Manager's
 * (ssm:ListInstanceAssociations, "required for State Manager to function") run the documents of whoever may
 * ssm:CreateAssociation on the instance.
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-setting-up-messageAPIs.html
 */
const INSTANCE_ENTRIES: ReadonlyArray<{ channel: (action: string) => boolean; call: string }> = [
  { channel: (a) => a.startsWith('ssmmessages:'), call: 'ssm:StartSession' },
  // The messageAPIs page: where it may, SSM Agent also receives Command documents through the ssmmessages channels,
  // and through ec2messages otherwise (review s22-diff D2).
  { channel: (a) => a.startsWith('ssmmessages:') || a.startsWith('ec2messages:'), call: 'ssm:SendCommand' },
  { channel: (a) => a === 'ssm:ListInstanceAssociations', call: 'ssm:CreateAssociation' },
];

interface ReachableRole {
  role: string;
  calls: string[];
}

/** The roles whose own policies let an instance's SSM Agent take sessions, commands or associations, with the calls that reach them, by role name. */
function instanceRolesReachable(grants: readonly ResolvedStatement[]): ReachableRole[] {
  const calls = new Map<string, Set<string>>();
  for (const g of grants) {
    const attachedTo = g.attachedTo;
    if (g.kind !== 'identity' || g.effect !== 'Allow' || !attachedTo?.includes(':role/')) continue;
    for (const entry of INSTANCE_ENTRIES) {
      if (!g.actions.some(entry.channel)) continue;
      const role = rolePathAndName(attachedTo);
      calls.set(role, (calls.get(role) ?? new Set()).add(entry.call));
    }
  }
  return [...calls]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([role, held]) => ({ role, calls: INSTANCE_ENTRIES.map((e) => e.call).filter((c) => held.has(c)) }));
}

/**
 * Who reaches an instance role with no iam:PassRole: an operator of the instance. Session Manager's default user is
 * "ssm-user", which SSM Agent adds "to /etc/sudoers (Linux)" (https://github.com/aws/amazon-ssm-agent/releases/tag/2.3.68.0);
 * Run Command and State Manager run as the agent does, "using root permissions (Linux)"
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/fleet-manager-manage-os-user-accounts.html); and any
 * process of the instance "retrieves the security credentials provided by the role from the instance metadata item
 * iam/security-credentials/role-name" (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-security-credentials.html),
 * credentials that the templates bind to no instance or network.
 */
function instanceOperatorsRow(org: Org, reachable: readonly ReachableRole[]): string[] {
  const names = new Names(org.prefix);
  const targets = new Set([names.deployTargetRole(), ...(org.deploymentTargets.instanceRoles ?? [])]);
  const ci = reachable.some((r) => r.role === names.ciInstanceRole());
  const deploy = reachable.some((r) => targets.has(r.role));
  return [
    `Who may open a session on, or send commands to, the instances of these roles: ${reachable.map((r) => `${r.role} (${r.calls.join(', ')})`).join('; ')}`,
    'The templates give these roles what the instance\'s SSM Agent needs to take a session, a command or an association (the calls in brackets are the ones each lets in). A principal whose own policy allows one of those calls on such an instance acts there as root (a session opens as ssm-user, which the agent makes a sudoer; commands and associations run as the agent, as root), and so as the instance\'s role: any process of the instance reads the role\'s credentials from the instance metadata, and those credentials work from anywhere until they expire. It needs no iam:PassRole and changes no trust or policy. ' +
      (ci ? 'Through the CI instance role that is the pull-only role of every source account. ' : '') +
      (deploy ? 'On a deployment target it is also what the environment runs, whatever the branch and the pipeline under "Release control" say, and the artifacts of its account through S3. ' : '') +
      'EC2 gives a role only to an instance profile of its account; who operates the instances is decided by those principals\' policies, which are the accounts\' own. These are the roles whose own policies let the agent in; in an account where Systems Manager\'s Default Host Management Configuration is on, every instance is a managed node whatever its role\'s policy, and this row is a lower bound.',
    'IAM Access Analyzer, or the policy simulator, on ssm:StartSession, ssm:SendCommand and ssm:CreateAssociation; Session Manager\'s ssm-user: https://github.com/aws/amazon-ssm-agent/releases/tag/2.3.68.0; root through SSM Agent: https://docs.aws.amazon.com/systems-manager/latest/userguide/fleet-manager-manage-os-user-accounts.html; instance credentials: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-security-credentials.html',
  ];
}

/**
 * The roles the artifact keys' policies admit to use them (templates/pipeline-foundation.ts): each pipeline account's
 * pipeline role and deployment targets' role (or the org's own instance roles), and the source role each source account
 * holds for it.
 */
function keyUsers(org: Org): string[] {
  const names = new Names(org.prefix);
  const targets = org.deploymentTargets.instanceRoles ?? [names.deployTargetRole()];
  return [names.pipelineRole(), ...targets, `${names.sourceRole('<pipeline account>')} in the source accounts`];
}

/**
 * The org's own instance roles (deploymentTargets.instanceRoles): xstack grants them the revision's download, the key's
 * use through S3 and the CodeDeploy agent's bucket, and proves those; their trust and their Systems Manager permissions
 * (src/services/needs.ts DEPLOY_TARGET_NEEDS, proved for xstack's own role) are the org's.
 */
function existingInstanceRolesRow(roles: readonly string[]): string[] {
  return [
    `The deployment targets' own instance roles (${roles.join(', ')})`,
    "The org file names existing roles for the deployment targets, so xstack makes no instance role: it grants these roles the revision's download, the artifact key's use through S3 and the CodeDeploy agent's resource kit bucket, and proves those paths for each. Their trust, and what Session Manager and the CodeDeploy agent's install through Systems Manager need of them (proved for xstack's own role when it makes one), are in the roles' own policies, which the org file does not hold.",
    "The roles in the IAM policy simulator (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html); what Systems Manager needs: https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html, https://docs.aws.amazon.com/codedeploy/latest/userguide/codedeploy-agent-operations-install-ssm.html",
  ];
}

/**
 * Where the people who use the developer (and maintainer) roles come from, one row per kind of role source the org
 * file names (access.developers.assumedBy, maintainers): IAM Identity Center's permission sets, roles an identity
 * provider's users assume (SAML or OIDC), or an account's own roles. Who reaches each is decided outside the templates,
 * each kind somewhere else (review s50-audit M2: the Identity Center row was written for every org). None without
 * access.developers.
 */
function callerRows(org: Org): string[][] {
  const developers = org.access.developers;
  if (!developers) return [];
  const names = new Names(org.prefix);
  const withMaintainers = developers.maintainers.length > 0;
  const roles = withMaintainers ? 'developer and maintainer roles' : 'developer role';
  const policies = `${names.assumePolicy('developer')}${withMaintainers ? ` (${names.assumePolicy('maintainer')})` : ''}`;
  const proved = `Their side of the path is proved as the policy ${policies} that the access-callers StackSet makes in their accounts gives it`;
  const sources = [...developers.assumedBy, ...developers.maintainers];
  const listed = (kind: (s: RoleSource) => boolean) => [...new Set(sources.filter(kind).map((s) => `${s.roleNames.join(', ')} in ${s.account}`))].join('; ');
  const rows: string[][] = [];
  if (sources.some((s) => s.sso)) {
    rows.push([
      'IAM Identity Center permission sets',
      `Developers${withMaintainers ? ' and maintainers' : ''} reach the ${roles} from roles that permission sets provision (${listed((s) => s.sso)}); the permission sets' policies live in Identity Center. ${proved}, once the permission set takes it by name (customer managed policy reference): that reference, and whatever else the permission set grants, are Identity Center's. Who is assigned each permission set decides who works on the repositories${withMaintainers ? ", and who is assigned the maintainers' decides who writes the protected branches" : ''}: the assignments are Identity Center's, not in these templates.`,
      'The permission sets in IAM Identity Center: https://docs.aws.amazon.com/singlesignon/latest/userguide/permissionsets.html',
    ]);
  }
  if (sources.some((s) => s.federated)) {
    rows.push([
      'Federated roles (SAML or OIDC)',
      `Developers${withMaintainers ? ' and maintainers' : ''} reach the ${roles} from roles an identity provider's users assume (${listed((s) => s.federated)}). Each such role's trust (its identity provider and the conditions on it, such as SAML:aud), the provider's mapping of users and groups to it, and the policies attached to it are that account's own and the provider's, not in these templates: whoever the provider maps to one of them works on the repositories${withMaintainers ? ' (the maintainers\' roles: writes the protected branches)' : ''}. ${proved}, once attached to the role.`,
      'In each account: aws iam get-role (the trust), aws iam list-attached-role-policies and list-role-policies, aws iam list-saml-providers and list-open-id-connect-providers; the identity provider\'s assignments: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers.html',
    ]);
  }
  if (sources.some((s) => !s.sso && !s.federated)) {
    rows.push([
      'Roles of the people accounts',
      `Developers${withMaintainers ? ' and maintainers' : ''} reach the ${roles} from roles of their accounts (${listed((s) => !s.sso && !s.federated)}): who may assume those roles (their trusts) and what else they may do (their policies) are those accounts' own, not in these templates. ${proved}, once attached to the role.`,
      'In each account: aws iam get-role (the trust), aws iam list-attached-role-policies and list-role-policies; IAM Access Analyzer: https://docs.aws.amazon.com/IAM/latest/UserGuide/what-is-access-analyzer.html',
    ]);
  }
  // MFA and session length (review s50-audit m6): a chained AssumeRole carries no MFA context, so the trusts cannot test
  // it, and role chaining caps the session at an hour (README, "Developers, MFA and session length").
  rows.push([
    'MFA and session length',
    `The developer${withMaintainers ? ' and maintainer roles\' trusts do' : " role's trust does"} not test MFA: those roles are always assumed by role chaining, whose credentials carry no MFA information, which a role session cannot supply, so aws:MultiFactorAuthPresent never holds there. MFA is enforced, or not, where the first session is made: ${[...new Set(sources.map((s) => (s.sso ? "IAM Identity Center's sign-in" : s.federated ? "the identity provider's sign-in" : "the trust of the roles the org file names")))].join(', ')}. A chained session lasts one hour at most (role chaining), and the profiles renew it.`,
    'MFA-protected API access: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html; role chaining: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-role-chaining',
  ]);
  return rows;
}

/**
 * The setup template (src/setup.ts: dist/<org>/setup/), deployed by hand, and the role bootstrap reaches the target
 * accounts through: outside the stages, so outside the paths and the cross-account grants this report proves, and each
 * trusting principals a deploy-time parameter or the account's own setup names (review s50-audit M1).
 */
function setupRow(org: Org): string[] {
  const names = new Names(org.prefix);
  if (org.stackSets.permissionModel === 'SERVICE_MANAGED') {
    return [
      `The setup template's reader role (${READER_ROLE_FILE} in the compile's dist/<org>/ folder: ${names.outputReaderRole()})`,
      `Deployed by hand from the management account or the StackSets delegated administrator, outside the stages, so outside the paths and the cross-account grants this report proves: it trusts the roles its TrustedRoleArns parameter names, a deploy-time value in no file here, and only reads (the stacks' outputs and what plan and deploy look up).`,
      `The setup StackSet's or stack's parameters (aws cloudformation describe-stack-set or describe-stacks: TrustedRoleArns); in a target account, aws iam get-role --role-name ${names.outputReaderRole()}`,
    ];
  }
  return [
    `Who may use bootstrap's access role (its --access-role: OrganizationAccountAccessRole by default, AWSControlTowerExecution, or ${names.bootstrapAccessRole()}, which the setup template ${BOOTSTRAP_ACCESS_FILE} beside the templates, in the compile's dist/<org>/ folder, makes)`,
    `\`xstack bootstrap\` reaches each target account through that role and writes the StackSet execution role's trust and policies with it, so whoever may assume it can do the same at any time, between bootstraps: make the execution role trust anyone and give it any policy, and act as it (above). ${names.bootstrapAccessRole()} trusts the administrator account's roles that the setup template's TrustedRoleArns parameter names (by aws:PrincipalArn), a deploy-time value in no file here. The setup template is deployed by hand, outside the stages: its role and its grant to the administrator account are outside the paths and the cross-account grants this report proves.`,
    `In each target account: aws iam get-role --role-name <the access role> (its trust); for ${names.bootstrapAccessRole()}, the setup StackSet's or stack's parameters (aws cloudformation describe-stack-set or describe-stacks: TrustedRoleArns)`,
  ];
}
