/**
 * What the report cannot see, stated plainly: the powers that come from
 * policies xstack does not compile, why, and the AWS feature that shows them.
 */
import type { Org } from '../org/model';
import type { Section } from './report';
import { executionRoleOf } from './reach';
import { Names } from '../naming';

export function scopeSection(org: Org): Section {
  const admins = org.keyAdministratorRoles.length > 0 ? org.keyAdministratorRoles.join(', ') : 'none named';
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
            "With self-managed permissions, `xstack bootstrap` writes its trust: the administrator account's administration role, and the identities that ran bootstrap (and its --output-reader-role), each by aws:PrincipalArn. Those operators' sessions may assume it directly in every target account, and so act as it there (above). The trust is written at bootstrap, from who ran it, so it is not in these templates.",
            "The role's trust in each target account (aws iam get-role); bootstrap's output names the principals it admitted",
          ],
          [
            `Who may pass the roles services assume (${passedRoles(org).join(', ')})`,
            "These roles trust a service (CodePipeline, EC2) with no condition on who asked for them: any principal whose own policy allows iam:PassRole on one, with the service's create or update rights (codepipeline:CreatePipeline or UpdatePipeline, ec2:RunInstances), acts as it without changing any trust or policy. Through the pipeline role that reaches the source role in the source account and the repositories it reads; through the CI instance role, the pull-only role of every source account. Those principals' policies are the accounts' own.",
            'iam:PassRole: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html; IAM Access Analyzer, or the policy simulator on the accounts\' roles and users',
          ],
          [
            `Key administrators' own policies (${admins})`,
            "The key policy lets these roles administer the artifact keys (kms:PutKeyPolicy among them, so they could grant themselves decrypt) only if their own IAM policy also allows it: a key policy naming the account narrows to these roles by aws:PrincipalArn and delegates the rest to IAM. Their IAM policies are not in the org file.",
            'Key policy and IAM: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html; the roles\' policies in the IAM policy simulator',
          ],
          [
            'Account administrators with IAM rights in a member account',
            `A principal allowed iam:PutRolePolicy, iam:UpdateAssumeRolePolicy, s3:PutBucketPolicy or codecommit:* by its own policy can change the org\'s roles, buckets and repositories in its account; the buckets\', roles\' and repositories\' access is then whatever it writes. Keys are the exception as far as their policies go: they admit only the roles they name. Those are the key administrators (${[...org.keyAdministratorRoles, executionRoleOf(org)].join(', ')}), whose kms:PutKeyPolicy lets them grant anything on the key, and the roles that use the key (${keyUsers(org).join(', ')}), which can encrypt and decrypt with it (the deployment targets\' roles only decrypt, through S3). A principal that can change any of those roles\' trust or policies reaches the keys through them.`,
            'IAM Access Analyzer internal access findings (which principals of the organization reach a resource) and external access findings: https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-findings.html',
          ],
          [
            'IAM Identity Center permission sets',
            `Developers${org.access.developers?.maintainers.length ? ' and maintainers' : ''} reach the developer${org.access.developers?.maintainers.length ? ' and maintainer roles' : ' role'} from roles that permission sets provision (AWSReservedSSO_*); the permission sets' policies live in Identity Center, so for those paths only the trust side is proved. Who is assigned each permission set decides who works on the repositories${org.access.developers?.maintainers.length ? ", and who is assigned the maintainers' decides who writes the protected branches" : ''}: the assignments are Identity Center's, not in these templates.`,
            'The permission sets in IAM Identity Center: https://docs.aws.amazon.com/singlesignon/latest/userguide/permissionsets.html',
          ],
          ...(org.deploymentTargets.instanceRoles ? [existingInstanceRolesRow(org.deploymentTargets.instanceRoles)] : []),
          [
            'Service control and resource control policies (SCPs, RCPs)',
            'They can only take permissions away, never grant: a path this report proves allowed may still be denied by an SCP, and nothing here is widened by one.',
            'AWS Organizations, the policies attached to each account and OU: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html',
          ],
          [
            'What is deployed',
            'The report describes the templates; a template changed by hand after deployment, or drift, is not visible here.',
            '`xstack verify` (template hashes, instance lists, StackSet drift detection)',
          ],
        ],
      },
    ],
  };
}

/** The roles xstack makes that trust a service with no condition on the caller: the pipeline role, the deployment targets' and the CI's instance roles. */
function passedRoles(org: Org): string[] {
  const names = new Names(org.prefix);
  return [names.pipelineRole(), ...(org.deploymentTargets.instanceRoles ? [] : [names.deployTargetRole()]), ...(org.access.ci?.runtime.kind === 'ec2' ? [names.ciInstanceRole()] : [])];
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
