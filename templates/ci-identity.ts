/**
 * The CI account: the role the CI (e.g. Jenkins) runs with. It holds no
 * CodeCommit permission itself; it may only assume the pull-only CI role of
 * each source account (templates/access-roles.ts). No long-lived keys, no SSH
 * keys. Who may assume it follows what the CI runs on: EC2 instances (with the
 * instance profile made here), or one service account of an EKS cluster,
 * through EKS Pod Identity (with the association made here) or IRSA.
 */
import InstanceProfile from 'cloudform-types/types/iam/instanceProfile';
import type Resource from 'cloudform-types/types/resource';
import { eksPodIdentityAssociation } from '../src/cfn/extensions';
import { arn, getAtt, ref } from '../src/cfn/intrinsics';
import { role, type Exception } from '../src/cfn/resources';
import type { OutputSpec, TemplateDefinition } from '../src/cfn/template';
import { EC2_TRUST_REASON, STS_ASSUME_ROLE } from '../src/iam/grants';
import { policyDocument, serviceTrust, statement, type PolicyDocument } from '../src/iam/policy';
import type { Names } from '../src/naming';
import type { CiRuntime } from '../src/org/model';

export function ciIdentity(names: Names, sourceAccountIds: readonly string[], runtime: CiRuntime): TemplateDefinition {
  const { trust, exceptions } = trustFor(runtime);
  const resources: Record<string, Resource> = {
    ...role('CiInstanceRole', {
      name: names.ciInstanceRole(),
      description: `The CI (${runtime.kind === 'ec2' ? 'EC2 instances' : `EKS service account ${runtime.namespace}/${runtime.serviceAccount}`}); may only assume the pull-only CI role of each source account`,
      trust,
      exceptions,
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
  };
  const outputs: Record<string, OutputSpec> = {
    CiInstanceRoleArn: { description: 'ARN of the CI role', value: getAtt('CiInstanceRole', 'Arn') },
  };
  if (runtime.kind === 'ec2') {
    resources.CiInstanceProfile = new InstanceProfile({ InstanceProfileName: names.ciInstanceRole(), Roles: [ref('CiInstanceRole')] });
    outputs.CiInstanceProfileName = { description: 'Instance profile to launch the CI with', value: ref('CiInstanceProfile') };
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

function trustFor(runtime: CiRuntime): { trust: PolicyDocument; exceptions: Exception[] } {
  switch (runtime.kind) {
    case 'ec2':
      return { trust: serviceTrust('ec2.amazonaws.com', {}), exceptions: [{ rule: 'XS005', statement: 'TrustService', reason: EC2_TRUST_REASON }] };
    case 'eks-pod-identity':
      // EKS Pod Identity assumes the role and tags the session with the cluster, namespace and
      // service account; the trust admits only this cluster's association for this service account.
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
              },
              ArnEquals: { 'aws:SourceArn': arn(`eks:\${AWS::Region}:\${AWS::AccountId}:cluster/${runtime.cluster}`) },
            },
          }),
        ]),
        exceptions: [],
      };
    case 'eks-irsa':
      // The cluster's OIDC provider (created with the cluster) vouches for the service account's
      // token: the subject and audience pin it to exactly this service account.
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
