/**
 * Every condition of every Allow statement the templates hold is there for
 * a reason the access proof can see: taken away on its own, some path the
 * proof declares refused (src/services/needs.ts, the endpoint checks of
 * src/audit/paths.ts) is let through, and the compile fails. The converse
 * check ("nothing more", README) cannot see a condition taken away; this is
 * what holds the conditions.
 *
 * A condition that only repeats what another holds (AWS recommends
 * `aws:SourceAccount` beside an `aws:SourceArn` that already names the
 * account; an endpoint's `aws:PrincipalAccount` beside an `aws:PrincipalArn`
 * of the same accounts; an identity policy's `kms:ViaService` that the key
 * policy holds too) is listed in REDUNDANT with its reason; for it, taking
 * it away with the condition it repeats must fail the compile.
 */
import { describe, expect, it } from 'vitest';
import { analyseAccess } from '../src/audit/paths';
import { readFileSync } from 'node:fs';
import { loadOrgFile, parseOrg } from '../src/org/load';
import type { Org } from '../src/org/model';
import type { Stage } from '../src/stages/model';
import { planStages } from '../src/stages/plan';

type Json = Record<string, unknown>;

/** One key of one operator of the Condition of an Allow statement of a resource of a stage. */
interface ConditionAt {
  stage: string;
  resource: string;
  sid: string;
  operator: string;
  key: string;
}

const label = (c: ConditionAt) => `${c.stage} ${c.resource}/${c.sid} ${c.operator} ${c.key}`;

/**
 * Every policy document's Allow statements under a resource's properties (a role's trust and inline policies, a key or
 * bucket policy, …), and an event bus policy's one statement, its Statement property (review s59-proof M2: its
 * conditions were left out, and its aws:PrincipalArn could be taken away with the proof green).
 */
function statementsOf(node: unknown, found: Json[] = []): Json[] {
  if (Array.isArray(node)) node.forEach((n) => statementsOf(n, found));
  else if (node !== null && typeof node === 'object') {
    const o = node as Json;
    if (Array.isArray(o.Statement)) for (const st of o.Statement as Json[]) if (st.Effect === 'Allow') found.push(st);
    if (o.Statement !== null && typeof o.Statement === 'object' && !Array.isArray(o.Statement) && (o.Statement as Json).Effect === 'Allow') found.push(o.Statement as Json);
    for (const [k, v] of Object.entries(o)) if (k !== 'Statement') statementsOf(v, found);
  }
  return found;
}

/** A statement's Sid; a bus policy's one statement has none (its resource's StatementId names it). */
const sidOf = (st: Json) => (st.Sid === undefined ? '(its statement)' : String(st.Sid));

const resourcesOf = (stage: Stage) => stage.definition.resources as unknown as Record<string, Json>;

function conditionsOf(stages: readonly Stage[]): ConditionAt[] {
  const found: ConditionAt[] = [];
  for (const stage of stages) {
    for (const [resource, definition] of Object.entries(resourcesOf(stage))) {
      for (const st of statementsOf(definition)) {
        for (const [operator, keys] of Object.entries((st.Condition ?? {}) as Record<string, Json>)) {
          for (const key of Object.keys(keys)) found.push({ stage: stage.id, resource, sid: sidOf(st), operator, key });
        }
      }
    }
  }
  return found;
}

/** The proof's problems once `conditions` are taken out of freshly planned stages. */
function problemsWithout(org: Org, conditions: readonly ConditionAt[]): string[] {
  const stages = planStages(org);
  for (const c of conditions) {
    const resources = resourcesOf(stages.find((s) => s.id === c.stage)!);
    const copy = JSON.parse(JSON.stringify(resources[c.resource])) as Json;
    let removed = 0;
    for (const st of statementsOf(copy)) {
      const block = (st.Condition as Record<string, Json> | undefined)?.[c.operator];
      if (sidOf(st) !== c.sid || !block || !(c.key in block)) continue;
      delete block[c.key];
      if (Object.keys(block).length === 0) delete (st.Condition as Json)[c.operator];
      if (Object.keys(st.Condition as Json).length === 0) delete st.Condition;
      removed++;
    }
    expect(removed, label(c)).toBeGreaterThan(0);
    resources[c.resource] = copy;
  }
  return analyseAccess(org, stages).problems;
}

/** A condition the proof cannot see taken away on its own, what it repeats, and why it is kept. */
interface Redundant {
  matches: (c: ConditionAt) => boolean;
  /** The condition it repeats, taken away with it. */
  partner: (c: ConditionAt) => ConditionAt;
  why: string;
}

const CONFUSED_DEPUTY = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html';

const REDUNDANT: readonly Redundant[] = [
  {
    // The rule's, deployment group's or flow log's ARN names the account already, as the cluster's ARN in EKS Pod
    // Identity's session tag does; so does the rules' ARN pattern in a dead-letter queue's policy (src/cfn/dead-letter.ts).
    matches: (c) => c.key === 'aws:SourceAccount' && /^(TrustService|EksPodIdentity)$/.test(c.sid),
    partner: (c) => (c.sid === 'EksPodIdentity' ? { ...c, operator: 'StringEquals', key: 'aws:RequestTag/eks-cluster-arn' } : { ...c, operator: 'ArnLike', key: 'aws:SourceArn' }),
    why: `AWS recommends aws:SourceAccount beside aws:SourceArn in a service's trust (${CONFUSED_DEPUTY})`,
  },
  {
    // VPC Flow Logs' ARN is every flow log of the account (vpc-flow-log/*): it pins the account, as aws:SourceAccount does.
    matches: (c) => c.resource === 'FlowLogRole' && c.key === 'aws:SourceArn',
    partner: (c) => ({ ...c, operator: 'StringEquals', key: 'aws:SourceAccount' }),
    why: `both keys of the flow log role's trust pin its account (${CONFUSED_DEPUTY})`,
  },
  {
    matches: (c) => c.key === 'aws:PrincipalAccount' && /CodeCommitEndpoint$/.test(c.resource),
    partner: (c) => ({ ...c, operator: 'ArnLike', key: 'aws:PrincipalArn' }),
    why: "the endpoint's aws:PrincipalArn names roles of the same accounts as its aws:PrincipalAccount",
  },
  {
    // One caller policy name per kind for every role source (a permission set references one name in every account): its
    // sts:TagSession names the tagged sources' roles, as the role's trust does for the same call, which decides.
    matches: (c) => c.resource === 'AssumeDeveloperPolicy' && c.sid === 'CarrySessionTags' && c.key === 'aws:PrincipalArn',
    partner: (c) => ({ ...c, stage: 'access-roles', resource: 'DeveloperRoleIn111111111111', sid: 'DevelopersAssumeCarrySessionTags1' }),
    why: "the developer role's trust admits sts:TagSession from the same roles (defence in depth on the caller's side)",
  },
  {
    // The key policy admits the deployment targets' role as its account's root narrowed by the role's ARN, so KMS asks
    // the role's own policy too: each side holds the same kms:ViaService, and either refuses a decrypt outside S3.
    matches: (c) => c.resource === 'DeployTargetArtifactsPolicy' && c.key === 'kms:ViaService',
    partner: (c) => ({ ...c, resource: 'ArtifactKey', sid: 'DeployTargetsDecryptViaS3' }),
    why: 'the artifact key policy holds the same kms:ViaService for the role (defence in depth on the identity side)',
  },
  {
    matches: (c) => c.resource === 'ArtifactKey' && c.sid === 'DeployTargetsDecryptViaS3' && c.key === 'kms:ViaService',
    partner: (c) => ({ ...c, resource: 'DeployTargetArtifactsPolicy', sid: 'DecryptRevisionsViaS3' }),
    why: "the role's own policy holds the same kms:ViaService, and KMS asks it as well (a root principal of the key's own account)",
  },
];

/** The example with its CI on EKS Pod Identity: the CI role's trust holds the cluster, namespace and service account. */
function podIdentityOrg(): Org {
  const text = readFileSync('parameters/example.yaml', 'utf8');
  const eks = text.replace('  ci:\n    account: tools\n', '  ci:\n    account: tools\n    eks: { mode: pod-identity, cluster: ci-cluster, namespace: jenkins, serviceAccount: jenkins }\n');
  expect(eks).not.toBe(text);
  return parseOrg(eks, 'eks-pod.yaml');
}

/** The example with its CI on EKS through IRSA (no CI network: its STS endpoint cannot admit the web-identity call). */
function irsaOrg(): Org {
  const text = readFileSync('parameters/example.yaml', 'utf8');
  const issuer = 'oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
  const eks = text
    .replace('  ci:\n    account: tools\n', `  ci:\n    account: tools\n    eks: { mode: irsa, oidcIssuer: ${issuer}, namespace: jenkins, serviceAccount: jenkins }\n`)
    .replace(/    network:\n(      .*\n)+/, '');
  expect(eks).not.toContain('network:');
  return parseOrg(eks, 'eks-irsa.yaml');
}

/** The example whose developers' sessions carry transitive tags: the trust's sts:TagSession statement holds its keys and roles. */
function sessionTagsOrg(): Org {
  const text = readFileSync('parameters/example.yaml', 'utf8');
  const tagged = text.replace('        roleNames: ["AWSReservedSSO_Developer_*"]\n        sso: true\n', '        roleNames: ["AWSReservedSSO_Developer_*"]\n        sso: true\n        transitiveTagKeys: [team]\n');
  expect(tagged).not.toBe(text);
  return parseOrg(tagged, 'session-tags.yaml');
}

const ORGS: Array<[string, () => Org]> = [
  ['parameters/example.yaml', () => loadOrgFile('parameters/example.yaml')],
  ['parameters/govcloud.yaml', () => loadOrgFile('parameters/govcloud.yaml')],
  ['the example with CI on EKS Pod Identity', podIdentityOrg],
  ['the example with CI on EKS through IRSA', irsaOrg],
  ['the example with transitive session tags', sessionTagsOrg],
];

describe.each(ORGS)('%s: every condition of an Allow statement is held by a refused path', (_name, load) => {
  const org = load();
  const conditions = conditionsOf(planStages(org));

  it('the org compiles, and its templates have conditions to hold', () => {
    expect(analyseAccess(org, planStages(org)).problems).toEqual([]);
    expect(conditions.length).toBeGreaterThan(30);
  });

  it.each(conditions.map((c) => [label(c), c] as const))('%s', (_label, c) => {
    const redundant = REDUNDANT.find((r) => r.matches(c));
    const alone = problemsWithout(org, [c]);
    if (!redundant) {
      expect(alone.length, `${label(c)} taken away, and the proof still passes: no refused path holds it`).toBeGreaterThan(0);
      return;
    }
    // Listed as repeating another: exactly so (a refused path that now holds it makes the entry stale), and the two together are held.
    expect(alone, `${label(c)} is listed in REDUNDANT (${redundant.why}) but a refused path holds it on its own`).toEqual([]);
    expect(problemsWithout(org, [c, redundant.partner(c)]).length, `${label(c)} with ${label(redundant.partner(c))}`).toBeGreaterThan(0);
  });
});
