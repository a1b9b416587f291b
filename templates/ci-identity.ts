/**
 * The CI account: the role the CI (e.g. Jenkins) runs with. It holds no
 * CodeCommit permission itself; it may only assume the pull-only CI role of
 * each source account (templates/access-roles.ts). No long-lived keys, no SSH
 * keys. Who may assume it follows what the CI runs on: EC2 instances (with the
 * instance profile made here), or one service account of an EKS cluster,
 * through EKS Pod Identity (with the association made here) or IRSA.
 *
 * On EC2 the role is also the host's own (src/services/needs.ts
 * CI_HOST_NEEDS): Session Manager's minimal instance permissions, so that it
 * reaches a host that has no public address, no inbound rule and no SSH key; and, in an
 * isolated CI network, image pulls from this account's ECR repositories, the
 * only registry it can reach. Pods on EKS get neither: their node's role
 * pulls the images, and a pod is no managed instance.
 *
 * On EC2 it also holds the CI host's launch template (`ciHostLaunchTemplate`): the instance profile, and the
 * instance metadata options the Jenkins container needs (IMDSv2 required, hop limit 2), so that a host launched from
 * it is right without anyone remembering the options. The role holds its credentials to IMDSv2 itself, and with a CI
 * network to its VPC, whatever launched the host (src/iam/grants.ts ciAssumeReaderConditions).
 */
import LaunchTemplate from 'cloudform-types/types/ec2/launchTemplate';
import InstanceProfile from 'cloudform-types/types/iam/instanceProfile';
import type Resource from 'cloudform-types/types/resource';
import { eksPodIdentityAssociation } from '../src/cfn/extensions';
import { arn, getAtt, ref } from '../src/cfn/intrinsics';
import { role, type Exception } from '../src/cfn/resources';
import type { OutputSpec, TemplateDefinition } from '../src/cfn/template';
import { ciAssumeReaderConditions, ciAssumeReaderGrant, EC2_TRUST_REASON, ECR_AUTHORIZATION_TOKEN, ECR_IMAGE_PULL, ecrRepositoriesUnder, STS_ASSUME_ROLE } from '../src/iam/grants';
import { sessionManagerStatements } from '../src/iam/instance-management';
import { policyDocument, serviceTrust, statement, type PolicyDocument, type Statement } from '../src/iam/policy';
import { namedByOrganization } from './access-callers';
import type { Names } from '../src/naming';
import type { CiRuntime } from '../src/org/model';
import { CI_HOST_IMDS_HOP_LIMIT } from '../src/services/needs';
import { LAUNCH_TEMPLATE_TAG } from '../src/aws/tags';

export interface CiHost {
  /** The CI network is isolated (no NAT): the host pulls its images from this account's ECR. */
  isolated: boolean;
  /** The org has a CI network (access.ci.network): on EC2 the host runs in it, and its STS requests go through its endpoint. */
  network?: boolean;
}

/** The organization the CI role's policy may name the reader roles by (ciReadersByOrganization): its partition, and its id where the org file gives it. */
export interface CiOrganization {
  partition: string;
  id?: string;
}

/**
 * Whether the CI role's policy names the reader role in any account of the organization instead of each source
 * account's by its ARN: the callers' rule (templates/access-callers.ts namedByOrganization, past 90 % of a managed
 * policy's 6,144 characters), for the one statement that names them. The compile refuses it without organization.id.
 */
export const ciReadersByOrganization = (names: Names, partition: string, sourceAccountIds: readonly string[]) =>
  namedByOrganization(names.ciReaderRole(), { partition, sourceAccountIds }, 1);

export function ciIdentity(names: Names, sourceAccountIds: readonly string[], runtime: CiRuntime, host: CiHost = { isolated: false }, organization?: CiOrganization): TemplateDefinition {
  const assumeConditions = ciAssumeReaderConditions(runtime.kind, host.network ?? false);
  const byOrganization = organization !== undefined && ciReadersByOrganization(names, organization.partition, sourceAccountIds).byOrganization;
  if (byOrganization && !organization.id) throw new Error(`internal: ${names.ciReaderRole()} named by organization without its id`);
  const { trust, exceptions } = trustFor(runtime);
  const ec2 = runtime.kind === 'ec2';
  const pullsFromEcr = ec2 && host.isolated;
  // Session Manager is the way to the CI host: no public address, no inbound rule, no SSH key, whatever the network
  // mode. AWS's minimal Session Manager instance permissions, not AmazonSSMManagedInstanceCore (which also reads every
  // SSM parameter of this account): src/iam/instance-management.ts.
  const sessionManager = ec2 ? sessionManagerStatements() : undefined;
  const resources: Record<string, Resource> = {
    ...role('CiInstanceRole', {
      name: names.ciInstanceRole(),
      description: ec2
        ? `The CI (EC2 instances); may assume only the pull-only CI role of each source account; Session Manager reaches it${pullsFromEcr ? `; pulls images from this account's ECR repositories ${names.ciImageRepositories()}/*` : ''}`
        : `The CI (EKS service account ${runtime.namespace}/${runtime.serviceAccount}); may only assume the pull-only CI role of each source account`,
      trust,
      exceptions: [
        ...exceptions,
        ...(sessionManager?.exceptions ?? []),
        ...(pullsFromEcr ? [{ rule: 'XS002', statement: 'EcrLogin', reason: ECR_AUTHORIZATION_TOKEN.resourceStarReason ?? '' }] : []),
      ],
      policies: [
        {
          name: 'assume-ci-reader-roles',
          document: policyDocument(
            byOrganization
              ? assumeReadersInOrganization(names, runtime, organization.id!, assumeConditions)
              : [
                  statement({
                    // With sts:TagSession on EKS Pod Identity, whose session tags go on to each reader role (grants.ts). On EC2,
                    // only IMDSv2 credentials, and with a CI network only from it (grants.ts ciAssumeReaderConditions).
                    sid: 'AssumeCiReaderRoles',
                    actions: ciAssumeReaderGrant(runtime.kind).actions,
                    resources: sourceAccountIds.map((id) => arn(`iam::${id}:role/${names.ciReaderRole()}`)),
                    ...(assumeConditions ? { conditions: assumeConditions } : {}),
                  }),
                ],
          ),
        },
        ...(sessionManager ? [{ name: 'session-manager', document: policyDocument(sessionManager.statements) }] : []),
        ...(pullsFromEcr
          ? [
              {
                // Isolated, ECR is the only registry the host reaches (through the CI network's ecr.api and
                // ecr.dkr endpoints): docker login, then the image's manifest and layers, from this
                // account's `<prefix>-ci/` repositories in this Region only. No push, no listing.
                // https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html
                // https://docs.aws.amazon.com/AmazonECR/latest/userguide/ECR_on_ECS.html
                name: 'pull-ci-images',
                document: policyDocument([
                  statement({
                    // No resource type for ecr:GetAuthorizationToken (Service Authorization Reference), so "*":
                    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
                    sid: 'EcrLogin',
                    actions: ECR_AUTHORIZATION_TOKEN.actions,
                    resources: '*',
                  }),
                  statement({
                    sid: 'PullCiImages',
                    actions: ECR_IMAGE_PULL.actions,
                    resources: arn(ecrRepositoriesUnder(names.ciImageRepositories())),
                  }),
                ]),
              },
            ]
          : []),
      ],
    }),
  };
  const outputs: Record<string, OutputSpec> = {
    CiInstanceRoleArn: { description: 'ARN of the CI role', value: getAtt('CiInstanceRole', 'Arn') },
  };
  if (runtime.kind === 'ec2') {
    resources.CiInstanceProfile = new InstanceProfile({ InstanceProfileName: names.ciInstanceRole(), Roles: [ref('CiInstanceRole')] });
    outputs.CiInstanceProfileName = { description: 'Instance profile to launch the CI with', value: ref('CiInstanceProfile') };
    resources.CiHostLaunchTemplate = ciHostLaunchTemplate(names);
    // Ref of a launch template is its id; LatestVersionNumber the version this stack last wrote. An update makes a new
    // version and never makes it the default (CloudFormation cannot set it: "I then updated the stack which resulted
    // in creation of a new version 2, but the default was still set to 1",
    // https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/1518), and $Latest is whatever
    // version anyone made last: launch with this number (README, "Launching the CI host").
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-launchtemplate.html
    outputs.CiHostLaunchTemplateId = {
      description: `Launch template ${names.ciLaunchTemplate()} for the CI host: IMDSv2 required (no IMDSv1), metadata hop limit ${CI_HOST_IMDS_HOP_LIMIT} (the Jenkins container is one hop past the instance), the CI instance profile; no AMI, subnet or security group (given at launch)`,
      value: ref('CiHostLaunchTemplate'),
    };
    outputs.CiHostLaunchTemplateLatestVersion = {
      description: `The version of launch template ${names.ciLaunchTemplate()} this stack wrote last: launch with this Version (a stack update adds a version and leaves the default one as it was; $Latest is whichever version anyone made last)`,
      value: getAtt('CiHostLaunchTemplate', 'LatestVersionNumber'),
    };
  } else if (runtime.kind === 'eks-pod-identity') {
    // Binds the role to exactly this service account: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-association.html
    resources.CiPodIdentityAssociation = eksPodIdentityAssociation({
      ClusterName: runtime.cluster,
      Namespace: runtime.namespace,
      ServiceAccount: runtime.serviceAccount,
      RoleArn: getAtt('CiInstanceRole', 'Arn'),
    });
  }
  return {
    description: `xstack ci-identity: the role the CI runs with (${runtime.kind})`,
    parameters: {},
    resources,
    outputs,
  };
}

/**
 * Past the size (ciReadersByOrganization), the reader role's name in any account of the organization: sts:AssumeRole
 * held there by aws:ResourceOrgID, which "is included in the request context only if the account that owns the
 * resource is a member of an organization" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceorgid),
 * as the callers' policy (templates/access-callers.ts assumePolicyDocument) and the administration policy
 * (src/deploy/bootstrap.ts) hold theirs; beside the IMDSv2 and source-VPC conditions, which stay. On EKS Pod Identity
 * the permission-only sts:TagSession goes in a statement of its own without it, as the callers' CarrySessionTags:
 * STS checks it inside the AssumeRole, which the condition already holds to the organization, and no AWS page says a
 * permission-only action's request holds the resource's keys (review s39-conditions m3).
 */
function assumeReadersInOrganization(names: Names, runtime: CiRuntime, organizationId: string, conditions: ReturnType<typeof ciAssumeReaderConditions>): Statement[] {
  const resources = arn(`iam::*:role/${names.ciReaderRole()}`);
  const more = ciAssumeReaderGrant(runtime.kind).actions.filter((a) => !STS_ASSUME_ROLE.actions.includes(a));
  return [
    statement({
      sid: 'AssumeCiReaderRoles',
      actions: STS_ASSUME_ROLE.actions,
      resources,
      conditions: { ...conditions, StringEquals: { ...conditions?.StringEquals, 'aws:ResourceOrgID': organizationId } },
    }),
    ...(more.length > 0 ? [statement({ sid: 'TagCiReaderSessions', actions: more, resources, ...(conditions ? { conditions } : {}) })] : []),
  ];
}

/**
 * The CI host's launch template. What it sets:
 * - MetadataOptions: HttpTokens `required`, "IMDSv2 is required. You must send a session token in your instance
 *   metadata retrieval requests"; on the Use IMDSv2 page, "When you specify that IMDSv2 must be used, IMDSv1 no longer
 *   works" (IMDSv2's session token is AWS's defence in depth against open firewalls, reverse proxies and SSRF, which
 *   that page links). HttpPutResponseHopLimit 2, "The desired HTTP PUT response hop limit for instance metadata
 *   requests. The larger the number, the further instance metadata requests can travel. Default: 1": the Jenkins
 *   container (src/access/jenkins.ts) is a network hop past the instance: "For those AWS SDKs that require IMDSv2, if
 *   the hop limit is 1 in a container environment, the call might not receive a response at all because going to the
 *   container is considered an additional network hop … consider increasing the hop limit to 2"
 *   (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html, "Instance metadata access
 *   considerations"). 2 is two hops: the instance and any container on its bridge network (build containers the host's
 *   Docker starts too), not a container in a container. HttpEndpoint `enabled` (the default, written so
 *   that the template says it: the instance profile's credentials come through it); InstanceMetadataTags `disabled`
 *   (the default: nothing reads the tags there).
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ec2-launchtemplate-metadataoptions.html
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-v2-how-it-works.html
 * - IamInstanceProfile: the CI instance profile, by ARN (the page: "either the name or the ARN of the instance
 *   profile, but not both", for an Auto Scaling group; one of them here too).
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ec2-launchtemplate-iaminstanceprofile.html
 * - No ImageId: "If you do not specify an AMI ID for the launch template ImageId property, you must specify an AMI ID
 *   for the instance ImageId property": the user picks the AMI at launch, as the subnet. No security group either:
 *   the CI network (templates/ci-network.ts) is a stack of its own, and its group's generated id would make this stack
 *   wait for that one; the user gives the network stack's CiSecurityGroupId at launch (README).
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-launchtemplate.html
 * - TagSpecifications: the template itself tagged LAUNCH_TEMPLATE_TAG=<its name> on create ("The tags to apply to
 *   the launch template on creation. To tag the launch template, the resource type must be launch-template"), which
 *   the execution role's writes on launch templates are held to (execution-policy.ts launchTemplateStatements): its
 *   ARN carries an id, not the name. The only tags it gets: the type is not taggable by CloudFormation's stack tags
 *   (src/aws/tags.ts).
 * Who launches from it needs iam:PassRole on the CI role and ec2:RunInstances: a launch template grants nothing, and
 * "You must grant anyone that will use a launch template the permissions required to create and access the resources
 * that are specified in the launch template"; creating it needs no iam:PassRole (its create handler lists none).
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/permissions-for-launch-templates.html
 */
function ciHostLaunchTemplate(names: Names): LaunchTemplate {
  return new LaunchTemplate({
    LaunchTemplateName: names.ciLaunchTemplate(),
    TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: LAUNCH_TEMPLATE_TAG, Value: names.ciLaunchTemplate() }] }],
    LaunchTemplateData: {
      IamInstanceProfile: { Arn: getAtt('CiInstanceProfile', 'Arn') },
      MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: CI_HOST_IMDS_HOP_LIMIT, InstanceMetadataTags: 'disabled' },
    },
  });
}

function trustFor(runtime: CiRuntime): { trust: PolicyDocument; exceptions: Exception[] } {
  switch (runtime.kind) {
    case 'ec2':
      return { trust: serviceTrust('ec2.amazonaws.com', {}), exceptions: [{ rule: 'XS005', statement: 'TrustService', reason: EC2_TRUST_REASON }] };
    case 'eks-pod-identity':
      // EKS Pod Identity assumes the role and tags the session with the cluster, namespace and
      // service account; the trust admits only this cluster's association for this service account.
      // The cluster by its session tag eks-cluster-arn, as AWS's page restricts "which service accounts,
      // namespaces, and clusters can use this role" with those tags: what Pod Identity sends as aws:SourceArn
      // is not documented (review s15-contexts F2), and a field report has a trust on it refused where one on
      // aws:SourceAccount alone passes (https://github.com/awslabs/mountpoint-s3-csi-driver/issues/781): keep
      // aws:SourceArn out (review s29-identity m2).
      // https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html
      // https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html
      return {
        trust: policyDocument([
          statement({
            sid: 'EksPodIdentity',
            principal: { Service: 'pods.eks.amazonaws.com' },
            actions: ['sts:AssumeRole', 'sts:TagSession'],
            conditions: {
              StringEquals: {
                'aws:SourceAccount': ref('AWS::AccountId'),
                'aws:RequestTag/kubernetes-namespace': runtime.namespace,
                'aws:RequestTag/kubernetes-service-account': runtime.serviceAccount,
                'aws:RequestTag/eks-cluster-arn': arn(`eks:\${AWS::Region}:\${AWS::AccountId}:cluster/${runtime.cluster}`),
              },
            },
          }),
        ]),
        exceptions: [],
      };
    case 'eks-irsa':
      // The IAM OIDC provider of the cluster's issuer vouches for the service account's token: the subject and
      // audience pin it to exactly this service account. EKS does not create that provider ("an IAM OIDC provider must
      // exist for your cluster's OIDC issuer URL": https://docs.aws.amazon.com/eks/latest/userguide/enable-iam-roles-for-service-accounts.html);
      // the org creates it before this stage (README, CI on EKS).
      // https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
      return {
        trust: policyDocument([
          statement({
            sid: 'EksServiceAccount',
            principal: { Federated: arn(`iam::\${AWS::AccountId}:oidc-provider/${runtime.oidcIssuer}`) },
            actions: ['sts:AssumeRoleWithWebIdentity'],
            conditions: {
              StringEquals: {
                [`${runtime.oidcIssuer}:sub`]: `system:serviceaccount:${runtime.namespace}:${runtime.serviceAccount}`,
                [`${runtime.oidcIssuer}:aud`]: 'sts.amazonaws.com',
              },
            },
          }),
        ]),
        exceptions: [],
      };
  }
}
