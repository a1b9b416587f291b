/**
 * CI on EKS instead of EC2 (seed 000: "instance profile or EKS role"): the CI
 * role trusts one service account of one cluster, through EKS Pod Identity
 * or IRSA, and the CI profiles take their base credentials from it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateProfiles, renderProfiles } from '../src/access/profiles';
import { analyseAccess } from '../src/audit/paths';
import { jenkinsExample } from '../src/access/jenkins';
import { renderTemplate } from '../src/cfn/template';
import { compileOrg } from '../src/compile';
import { OrgFileError, formatProblem } from '../src/errors';
import { parseOrg } from '../src/org/load';
import type { Stage } from '../src/stages/model';
import { planStages } from '../src/stages/plan';
import { tempDir } from './helpers';

const example = readFileSync('parameters/example.yaml', 'utf8');
const withEks = (eks: string) => {
  const text = example.replace('  ci:\n    account: tools\n', `  ci:\n    account: tools\n    eks: ${eks}\n`);
  expect(text).not.toBe(example);
  return text;
};
const ISSUER = 'oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
/** The example's CI network removed: its STS endpoint cannot admit IRSA's web-identity call (refused below). */
const withoutNetwork = (text: string) => text.replace(/    network:\n(      .*\n)+/, '');
const irsa = () => compileOrg(parseOrg(withoutNetwork(withEks(`{ mode: irsa, oidcIssuer: ${ISSUER}, namespace: jenkins, serviceAccount: jenkins }`)), 'eks-irsa.yaml'));
const podIdentity = () => compileOrg(parseOrg(withEks('{ mode: pod-identity, cluster: ci-cluster, namespace: jenkins, serviceAccount: jenkins }'), 'eks-pod.yaml'));
const ciIdentity = (c: ReturnType<typeof irsa>) => renderTemplate(c.stages.find((s) => s.id === 'ci-identity')!.definition);

/** The Action of every statement `sid` of a stage's resource, or, with `actions`, set to them (on a copy of the resource). */
function statementActions(stage: Stage, logicalId: string, sid: string, actions?: string[]): unknown[] {
  const resources = stage.definition.resources as unknown as Record<string, unknown>;
  const resource = JSON.parse(JSON.stringify(resources[logicalId])) as Record<string, unknown>;
  const found: unknown[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o.Sid === sid) {
      if (actions) o.Action = actions;
      found.push(o.Action);
    }
    Object.values(o).forEach(walk);
  };
  walk(resource);
  expect(found.length, `${stage.id} ${logicalId}/${sid}`).toBeGreaterThan(0);
  if (actions) resources[logicalId] = resource;
  return found;
}

/** The logical ids of a stage's CI reader roles (one per source account in a family's part). */
const readerRoles = (stage: Stage): string[] =>
  Object.entries(stage.definition.resources as unknown as Record<string, { Type?: string }>)
    .filter(([id, r]) => id.startsWith('CiReaderRole') && JSON.parse(JSON.stringify(r)).Type === 'AWS::IAM::Role')
    .map(([id]) => id);

describe('CI on EKS', () => {
  it('IRSA: the role trusts the cluster\'s OIDC provider for exactly this service account, with the STS audience; no instance profile', () => {
    const t = ciIdentity(irsa());
    const [trust] = (t.Resources.CiInstanceRole.Properties as any).AssumeRolePolicyDocument.Statement;
    expect(trust).toEqual({
      Sid: 'EksServiceAccount',
      Effect: 'Allow',
      Principal: { Federated: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:oidc-provider/${ISSUER}` } },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: { StringEquals: { [`${ISSUER}:sub`]: 'system:serviceaccount:jenkins:jenkins', [`${ISSUER}:aud`]: 'sts.amazonaws.com' } },
    });
    expect(Object.values(t.Resources).map((r) => r.Type)).not.toContain('AWS::IAM::InstanceProfile');
  });

  it('IRSA: the access proof reads the web-identity trust (AssumeRoleWithWebIdentity): its service account is let in, another service account, namespace or audience is not; a trust that loses its subject or audience fails', () => {
    const { org } = irsa();
    const baseline = analyseAccess(org, planStages(org));
    expect(baseline.problems).toEqual([]);
    const web = baseline.results.filter((r) => r.action === 'sts:AssumeRoleWithWebIdentity');
    expect(web.map((r) => [r.path.need, r.allowed, r.path.denied ?? false])).toEqual([
      ['ci-eks-irsa', true, false],
      ['ci-eks-irsa-other', false, true],
      ['ci-eks-irsa-other', false, true],
      ['ci-eks-irsa-other', false, true],
    ]);
    expect(web[0].reason).toBe('trust allows the identity provider');
    // The trust with one of its conditions taken away, in freshly planned stages: a refused path is then allowed.
    const without = (key: string) => {
      const stages = planStages(org);
      const identity = stages.find((s) => s.id === 'ci-identity')!;
      const resources = identity.definition.resources as unknown as Record<string, unknown>;
      const role = JSON.parse(JSON.stringify(resources.CiInstanceRole));
      const conditions = role.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals;
      expect(Object.keys(conditions)).toContain(key);
      delete conditions[key];
      resources.CiInstanceRole = role;
      return analyseAccess(org, stages).problems;
    };
    expect(without(`${ISSUER}:sub`).join('\n')).toMatch(/another service account of namespace jenkins may not assume the CI role \(IRSA\)/);
    expect(without(`${ISSUER}:aud`).join('\n')).toMatch(/another audience than STS may not assume the CI role \(IRSA\)/);
  });

  it('Pod Identity: EKS may assume and tag, for this cluster, namespace and service account only; the association is made', () => {
    const t = ciIdentity(podIdentity());
    const [trust] = (t.Resources.CiInstanceRole.Properties as any).AssumeRolePolicyDocument.Statement;
    expect(trust.Principal).toEqual({ Service: 'pods.eks.amazonaws.com' });
    expect(trust.Action).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    // The cluster by the session tag EKS documents (eks-cluster-arn), not by aws:SourceArn, whose value it does not.
    expect(trust.Condition).toEqual({
      StringEquals: {
        'aws:SourceAccount': { Ref: 'AWS::AccountId' },
        'aws:RequestTag/kubernetes-namespace': 'jenkins',
        'aws:RequestTag/kubernetes-service-account': 'jenkins',
        'aws:RequestTag/eks-cluster-arn': { 'Fn::Sub': 'arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/ci-cluster' },
      },
    });
    expect(t.Resources.CiPodIdentityAssociation).toEqual({
      Type: 'AWS::EKS::PodIdentityAssociation',
      Properties: { ClusterName: 'ci-cluster', Namespace: 'jenkins', ServiceAccount: 'jenkins', RoleArn: { 'Fn::GetAtt': ['CiInstanceRole', 'Arn'] } },
    });
  });

  it('Pod Identity: the chained AssumeRole into each reader role may tag the session (EKS\'s tags are transitive), on every side; IRSA and EC2 keep sts:AssumeRole alone', () => {
    const pod = podIdentity();
    const sides = (stages: readonly Stage[]) => {
      const stage = (id: string) => stages.find((s) => s.id === id)!;
      const readers = stages.filter((s) => s.id.startsWith('access-roles')).flatMap((s) =>
        readerRoles(s).flatMap((id) => statementActions(s, id, 'CiInstanceAssumes')),
      );
      return {
        identity: statementActions(stage('ci-identity'), 'CiInstanceRoleAssumeCiReaderRoles', 'AssumeCiReaderRoles'),
        trust: readers,
        ...(stages.some((s) => s.id === 'ci-network') ? { endpoint: statementActions(stage('ci-network'), 'StsEndpoint', 'CiAssumesReaderRoles') } : {}),
      };
    };
    const both = ['sts:AssumeRole', 'sts:TagSession'];
    const p = sides(pod.stages);
    expect(p.trust.length).toBe(pod.org.accounts.filter((a) => a.role === 'source').length);
    expect({ ...p, trust: [...new Set(p.trust.map((a) => JSON.stringify(a)))].map((a) => JSON.parse(a)) }).toEqual({ identity: [both], trust: [both], endpoint: [both] });
    for (const c of [irsa(), compileOrg(parseOrg(example, 'example.yaml'))]) {
      const o = sides(c.stages);
      for (const actions of Object.values(o).flat()) expect(actions, c.org.access.ci?.runtime.kind).toBe('sts:AssumeRole');
    }

    // The proof asks sts:TagSession of the path, and fails naming it when any one side is without it.
    const org = pod.org;
    const baseline = analyseAccess(org, planStages(org));
    expect(baseline.problems).toEqual([]);
    const tagged = baseline.results.filter((r) => r.path.need === 'ci-assume-reader' && r.action === 'sts:TagSession');
    expect(tagged.length).toBeGreaterThan(0);
    expect(tagged.every((r) => r.allowed)).toBe(true);
    const purpose = tagged[0].path.purpose;
    expect(purpose).toBe('CI assumes the pull-only role of shared-services');
    // One side at a time left with sts:AssumeRole alone, in freshly planned stages.
    const withoutIn = (which: (s: Stage) => boolean, logicalIds: (s: Stage) => string[], sid: string) => {
      const stages = planStages(org);
      for (const s of stages.filter(which)) for (const id of logicalIds(s)) statementActions(s, id, sid, ['sts:AssumeRole']);
      return analyseAccess(org, stages).problems;
    };
    for (const problems of [
      withoutIn((s) => s.id === 'ci-identity', () => ['CiInstanceRoleAssumeCiReaderRoles'], 'AssumeCiReaderRoles'),
      withoutIn((s) => s.id.startsWith('access-roles'), readerRoles, 'CiInstanceAssumes'),
      withoutIn((s) => s.id === 'ci-network', () => ['StsEndpoint'], 'CiAssumesReaderRoles'),
    ]) {
      expect(problems.some((p) => p.startsWith(`${purpose}: `) && p.includes('sts:TagSession')), problems.join('\n')).toBe(true);
    }
  });

  it('both compile through every check, and cfn-lint accepts the CI identity templates', () => {
    const dir = tempDir('eks');
    for (const [name, c] of [['irsa', irsa()], ['pod', podIdentity()]] as const) {
      writeFileSync(join(dir, `${name}.yaml`), c.files.get('templates/ci-identity.yaml')!);
    }
    const lint = spawnSync(process.env.XSTACK_CFN_LINT ?? '.venv/bin/cfn-lint', [join(dir, 'irsa.yaml'), join(dir, 'pod.yaml')], { encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });

  it('the CI profiles take their base credentials from the service account (IRSA: a web-identity base profile; Pod Identity: the container endpoint)', () => {
    const fromIrsa = generateProfiles(irsa().org, { kind: 'ci' });
    expect(fromIrsa.profiles[0]).toEqual({
      name: 'acme-ci-base',
      settings: [
        ['role_arn', 'arn:aws:iam::555555555555:role/acme-ci-instance'],
        ['web_identity_token_file', '/var/run/secrets/eks.amazonaws.com/serviceaccount/token'],
        ['region', 'eu-west-1'],
        ['sts_regional_endpoints', 'regional'],
      ],
    });
    // The IMDS hop note is for EC2 only: a pod gets its credentials from the service account.
    expect(jenkinsExample(irsa().org).get('jenkins/Dockerfile')).not.toContain('HttpPutResponseHopLimit');
    // The Dockerfile says where its credentials come from, and names no network the IRSA org has not got.
    const irsaDockerfile = jenkinsExample(irsa().org).get('jenkins/Dockerfile')!;
    expect(irsaDockerfile).toContain('cloning with the service account jenkins/jenkins (IRSA) of the');
    expect(irsaDockerfile).not.toMatch(/instance profile|CI network/);
    expect(jenkinsExample(podIdentity().org).get('jenkins/Dockerfile')).toContain('cloning with the service account jenkins/jenkins (EKS Pod Identity) of the');
    expect(fromIrsa.profiles.slice(1).every((p) => p.settings.some(([k, v]) => k === 'source_profile' && v === 'acme-ci-base'))).toBe(true);
    const fromPod = generateProfiles(podIdentity().org, { kind: 'ci' });
    expect(fromPod.profiles.every((p) => p.settings.some(([k, v]) => k === 'credential_source' && v === 'EcsContainer'))).toBe(true);
    // botocore, the AWS CLI's reader, reads both as profiles.
    for (const g of [fromIrsa, fromPod]) {
      const file = join(tempDir('eks-config'), 'config');
      writeFileSync(file, renderProfiles(g.profiles));
      const read = spawnSync('.venv/bin/python', ['-c', 'import json, sys, botocore.configloader as c; print(json.dumps(c.raw_config_parse(sys.argv[1], parse_subsections=False)))', file], { encoding: 'utf8' });
      expect(read.status, read.stderr).toBe(0);
      expect(Object.keys(JSON.parse(read.stdout)).length).toBe(g.profiles.length);
    }
  });

  it('a mode without what it needs is an org-file error naming the field', () => {
    const problems = (text: string) => {
      try {
        parseOrg(text, 'eks.yaml');
      } catch (error) {
        return (error as OrgFileError).problems.map(formatProblem);
      }
      return [];
    };
    expect(problems(withoutNetwork(withEks('{ mode: irsa, namespace: jenkins, serviceAccount: jenkins }')))).toEqual([
      expect.stringMatching(/^eks\.yaml:\d+:\d+: access\.ci\.eks: IRSA needs the cluster's OIDC issuer, which the role trusts; expected oidcIssuer: /),
    ]);
    expect(problems(withEks('{ mode: pod-identity, namespace: jenkins, serviceAccount: jenkins }'))[0]).toMatch(/access\.ci\.eks: EKS Pod Identity needs the cluster/);
  });

  it('a CI network whose endpoints the EKS mode cannot use is refused, naming what would work', () => {
    const problems = (text: string): string[] => {
      try {
        parseOrg(text, 'eks.yaml');
      } catch (error) {
        return (error as OrgFileError).problems.map(formatProblem);
      }
      return [];
    };
    expect(problems(withEks(`{ mode: irsa, oidcIssuer: ${ISSUER}, namespace: jenkins, serviceAccount: jenkins }`))).toEqual([
      expect.stringMatching(/^eks\.yaml:\d+:\d+: access\.ci\.network: with eks mode irsa: the CI network's STS endpoint admits only the CI role .*; expected no network \(the cluster keeps its own VPC\), or eks mode pod-identity$/),
    ]);
    const isolated = withEks('{ mode: pod-identity, cluster: ci-cluster, namespace: jenkins, serviceAccount: jenkins }').replace('availabilityZones: 2', 'availabilityZones: 2\n      nat: false');
    expect(problems(isolated)).toEqual([expect.stringMatching(/access\.ci\.network\.nat: false with eks mode pod-identity: EKS Pod Identity calls the EKS Auth API/)]);
    // Pod Identity behind the NAT gateway reaches the EKS Auth API, and its CI role assumes the reader roles through the endpoint;
    // the compile says what the endpoint does to the cluster's other workloads in those subnets (review s24-ci M1).
    expect(problems(withEks('{ mode: pod-identity, cluster: ci-cluster, namespace: jenkins, serviceAccount: jenkins }'))).toEqual([]);
    expect(podIdentity().stages.find((s) => s.id === 'ci-network')!.notes.join('\n')).toMatch(/access\.ci\.network with access\.ci\.eks \(pod-identity\): .*an add-on with IRSA.* is refused/);
    expect(compileOrg(parseOrg(example, 'example.yaml')).stages.find((s) => s.id === 'ci-network')!.notes.join('\n')).not.toMatch(/access\.ci\.eks/);
  });
});
