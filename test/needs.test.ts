/**
 * The service needs table (src/services/needs.ts) is what the proof
 * requires: for every entry, taking away the statements that grant it, on
 * whichever side they are, fails the access analysis naming that path.
 */
import { describe, expect, it } from 'vitest';
import { accountOf } from '../src/audit/evaluate';
import { analyseAccess } from '../src/audit/paths';
import { readFileSync } from 'node:fs';
import { loadOrgFile, parseOrg } from '../src/org/load';
import { accountOfEnvironment, repositoryByName, type Org } from '../src/org/model';
import { otherRoleName } from '../src/audit/samples';
import { ACCESS_NEEDS, branchWritesOf, deeperSsoRole, CI_HOST_NEEDS, CI_NETWORK_NEEDS, CLOUDWATCH_AGENT_NEEDS, DEPLOY_TARGET_NEEDS, PIPELINE_ACCOUNT_NEEDS, PIPELINE_NEEDS } from '../src/services/needs';
import { CODECOMMIT_BRANCH_WRITES, CODECOMMIT_DEVELOPER } from '../src/iam/grants';
import { serviceData } from '../src/checks/iam-data';
import type { Stage } from '../src/stages/model';
import { planStages } from '../src/stages/plan';
import { renderTemplate } from '../src/cfn/template';

type Json = Record<string, unknown>;

/** Takes statement `sid` out of every policy document of a resource; a bus policy (one statement) goes whole. */
function removeStatement(stage: Stage, logicalId: string, sid: string): void {
  changeStatement(stage, logicalId, sid, 'remove');
}

/** Statement `sid` of every policy document of a resource taken out, or left without its Condition. */
function changeStatement(stage: Stage, logicalId: string, sid: string, change: 'remove' | 'unconditioned'): void {
  const resources = stage.definition.resources as unknown as Record<string, { Type?: string; Properties?: Json; type?: string; properties?: Json }>;
  const resource = JSON.parse(JSON.stringify(resources[logicalId])) as { Type: string; Properties: Json };
  expect(resource, `${stage.id} ${logicalId}`).toBeDefined();
  if (resource.Type === 'AWS::Events::EventBusPolicy' && change === 'remove') {
    delete resources[logicalId];
    return;
  }
  // A bus policy's one statement is its Statement property, named by StatementId.
  if (resource.Type === 'AWS::Events::EventBusPolicy') {
    const statement = resource.Properties.Statement as Json;
    expect(resource.Properties.StatementId, `${stage.id} ${logicalId}`).toBe(sid);
    expect('Condition' in statement, `${stage.id} ${logicalId}/${sid}`).toBe(true);
    delete statement.Condition;
    resources[logicalId] = resource as never;
    return;
  }
  let changed = 0;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const o = node as Json;
    if (Array.isArray(o.Statement)) {
      const statements = o.Statement as Json[];
      if (change === 'remove') o.Statement = statements.filter((st) => st.Sid !== sid);
      else for (const st of statements) if (st.Sid === sid && 'Condition' in st) delete st.Condition;
      changed += change === 'remove' ? statements.length - (o.Statement as Json[]).length : statements.filter((st) => st.Sid === sid).length;
    }
    Object.values(o).forEach(walk);
  };
  walk(resource.Properties);
  expect(changed, `${stage.id} ${logicalId}/${sid}`).toBeGreaterThan(0);
  resources[logicalId] = resource as never;
}

/** The problems of the org's proof once every statement that granted `granted` is taken out of freshly planned stages. */
function problemsWithout(org: Org, granted: ReadonlyArray<{ stage: string; policy: string }>): string[] {
  const stages = planStages(org);
  for (const g of granted) {
    const [logicalId, sid] = g.policy.split('/');
    removeStatement(stages.find((s) => s.id === g.stage)!, logicalId, sid);
  }
  return analyseAccess(org, stages).problems;
}

/**
 * The example, with its developers' and maintainers' Identity Center roles carrying a transitive session tag (`team`),
 * and a role of each kind that carries none: every entry of the access table, the session tag ones too, is asked.
 */
function taggedExample(): Org {
  const text = readFileSync('parameters/example.yaml', 'utf8');
  const tagged = text
    .replace('        roleNames: ["AWSReservedSSO_Developer_*"]\n        sso: true\n', '        roleNames: ["AWSReservedSSO_Developer_*"]\n        sso: true\n        transitiveTagKeys: [team]\n      - account: tools\n        roleNames: [platform-engineer]\n')
    .replace('        roleNames: ["AWSReservedSSO_Maintainer_*"]\n        sso: true\n', '        roleNames: ["AWSReservedSSO_Maintainer_*"]\n        sso: true\n        transitiveTagKeys: [team]\n      - account: tools\n        roleNames: [release-manager]\n');
  expect(tagged.match(/transitiveTagKeys/g)).toHaveLength(2);
  return parseOrg(tagged, 'tagged.yaml');
}

describe('the service needs table drives the proof', () => {
  const org = loadOrgFile('parameters/example.yaml');
  const baseline = analyseAccess(org, planStages(org));

  it('every entry is proved for every pipeline in every environment of the example', () => {
    expect(baseline.problems).toEqual([]);
    const environments = org.pipelines.reduce((n, p) => n + p.branches.length, 0);
    for (const need of PIPELINE_NEEDS) {
      expect(need.doc, need.id).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
      const paths = baseline.paths.filter((p) => p.need === need.id);
      // Asked once per pipeline account, or per source role (a source account and a pipeline account it feeds): not per pipeline.
      const once = new Set(org.pipelines.flatMap((p) => p.branches.map(([env]) => `${need.onceFor === 'source role' ? repositoryByName(org, p.repository).account : ''} ${accountOfEnvironment(org, env).id}`)));
      expect(paths.length, need.id).toBe(need.onceFor ? once.size : environments);
      for (const r of baseline.results.filter((x) => x.path.need === need.id)) expect(r.allowed, `${r.path.purpose} ${r.action}`).toBe(!need.denied);
    }
  });

  it.each(PIPELINE_NEEDS.filter((n) => !n.denied).map((n) => [n.id, n] as const))('without the grants of %s, the compile fails naming the path', (_id, need) => {
    const first = baseline.results.find((r) => r.path.need === need.id)!;
    expect(first.grantedBy.length).toBeGreaterThan(0);
    const problems = problemsWithout(org, first.grantedBy);
    expect(problems.some((p) => p.startsWith(first.path.purpose)), `${first.path.purpose}\n${problems.join('\n')}`).toBe(true);
  });
});

describe('the refused paths hold the conditions of the statements that grant their allowed twins', () => {
  const org = taggedExample();
  const baseline = analyseAccess(org, planStages(org));
  const twins: Array<[string, string]> = [
    ['trigger-role-other-rule', 'trigger-role'],
    ['codedeploy-service-role-other-group', 'codedeploy-service-role'],
    ['codedeploy-agent-decrypt-direct', 'codedeploy-agent-decrypt'],
    ['access-log-delivery-other-bucket', 'access-log-delivery'],
    ['event-forwarding-role-other-rule', 'event-forwarding-role'],
    ['event-forwarding-bus-other-event', 'event-forwarding-bus'],
    // The bus policy's aws:PrincipalArn: another role of the source account (review s59-proof M2).
    ['event-forwarding-bus-other-role', 'event-forwarding-bus'],
    // Each of the bus policy's event conditions: the source's ForAllValues, and the Null guard on each key (review s59-proof m1).
    ['event-forwarding-bus-other-source', 'event-forwarding-bus'],
    ['event-forwarding-bus-no-source', 'event-forwarding-bus'],
    ['event-forwarding-bus-no-detail-type', 'event-forwarding-bus'],
    ['ci-network-flow-logs-role-other-account', 'ci-network-flow-logs-role'],
    ['source-action-role-other-role', 'source-action-role'],
    ['source-action-artifact-other-role', 'source-action-artifact'],
    ['source-action-bucket-other-role', 'source-action-bucket'],
    ['source-action-key-other-role', 'source-action-key'],
    ['source-action-key-other-key', 'source-action-key'],
    ['artifact-store-objects-other-account', 'artifact-store-objects'],
    ['artifact-store-bucket-other-account', 'artifact-store-bucket'],
    ['codedeploy-agent-download-other-account', 'codedeploy-agent-download'],
    ['access-log-delivery-other-account', 'access-log-delivery'],
    ['key-administration-other-role', 'key-administration'],
    // The pipeline role and the deployment targets' roles by ARN, as the account's root (review s50-templates N1).
    ['artifact-key-other-role', 'artifact-store-key'],
    ['artifact-key-other-role', 'codedeploy-agent-decrypt'],
    ['ci-assume-reader-other-role', 'ci-assume-reader'],
    // The EC2 host's credentials: only through IMDSv2, only from the CI VPC (review s30-ci m1, m2).
    ['ci-assume-reader-imdsv1', 'ci-assume-reader'],
    ['ci-assume-reader-outside-vpc', 'ci-assume-reader'],
    ['ci-assume-reader-other-vpc', 'ci-assume-reader'],
    ['developers-assume-other-role', 'developers-assume'],
    ['developers-assume-other-permission-set', 'developers-assume'],
    ['maintainers-assume-other-role', 'maintainers-assume'],
    ['maintainers-assume-other-permission-set', 'maintainers-assume'],
    ['maintainers-assume-developer', 'maintainers-assume'],
    // A role deeper under Identity Center's path, which ArnLike's * would admit (review s50-access A1, step 3).
    ['developers-assume-deeper-sso-path', 'developers-assume'],
    ['maintainers-assume-deeper-sso-path', 'maintainers-assume'],
    // A source identity the caller picks, refused by the condition that it be carried (review s27-access M2).
    ['developers-set-fresh-source-identity', 'developers-assume'],
    ['maintainers-set-fresh-source-identity', 'maintainers-assume'],
    // Session tags: only the keys the org file names, only the roles of the source that names them (review s27-access M1).
    ['developers-set-other-session-tag', 'developers-carry-session-tags'],
    ['developers-set-session-tags', 'developers-carry-session-tags'],
    ['developers-carry-session-tags-other-role', 'developers-carry-session-tags'],
    ['developers-carry-session-tags-other-permission-set', 'developers-carry-session-tags'],
    ['maintainers-set-other-session-tag', 'maintainers-carry-session-tags'],
    ['maintainers-set-session-tags', 'maintainers-carry-session-tags'],
    ['maintainers-carry-session-tags-other-role', 'maintainers-carry-session-tags'],
    ['maintainers-carry-session-tags-other-permission-set', 'maintainers-carry-session-tags'],
    ['event-forwarding-dead-letter-other-rule', 'event-forwarding-dead-letter'],
    ['trigger-dead-letter-other-rule', 'trigger-dead-letter'],
  ];
  /** Refused by whom the policy names, not by a condition: a principal of another account sending to a dead-letter queue. */
  const byPrincipal = ['event-forwarding-dead-letter-other-account', 'trigger-dead-letter-other-account'];

  it('every refused entry of the tables is one of these, and refused in the example (with session tags)', () => {
    // The protected branches are refused by an explicit Deny, not by a condition (tested below).
    const refused = [...PIPELINE_NEEDS, ...PIPELINE_ACCOUNT_NEEDS, ...CI_NETWORK_NEEDS, ...ACCESS_NEEDS].filter((n) => n.denied && n.id !== 'developers-protected-branch').map((n) => n.id);
    // A refused path may hold the conditions of two twins' statements (artifact-key-other-role): listed once each.
    const listed = [...new Set([...twins.map(([id]) => id), ...byPrincipal])];
    expect(refused.sort()).toEqual(listed.sort());
    for (const id of listed) {
      const results = baseline.results.filter((r) => r.path.need === id);
      expect(results.length, id).toBeGreaterThan(0);
      for (const r of results) expect(r.allowed, `${r.path.purpose} ${r.action}`).toBe(false);
    }
  });

  it.each(twins)('%s: with the conditions of the statements that grant %s taken away, the compile fails naming it', (id, twin) => {
    // The statements that grant any of the twin's actions (its sts:SetSourceIdentity has a statement of its own).
    const granting = [...new Map(baseline.results.filter((r) => r.path.need === twin).flatMap((r) => r.grantedBy).map((g) => [`${g.stage} ${g.policy}`, g])).values()];
    const stages = planStages(org);
    for (const g of granting) {
      const [logicalId, sid] = g.policy.split('/');
      if (Object.keys(g.conditions).length > 0) changeStatement(stages.find((s) => s.id === g.stage)!, logicalId, sid, 'unconditioned');
    }
    const purpose = baseline.results.find((r) => r.path.need === id)!.path.purpose;
    const problems = analyseAccess(org, stages).problems;
    expect(problems.some((p) => p.startsWith(`${purpose}: `) && p.endsWith('which must be refused')), `${purpose}\n${problems.join('\n')}`).toBe(true);
  });
});

describe('the access needs table (developers and CI through git-remote-codecommit) drives the proof', () => {
  const org = taggedExample();
  const baseline = analyseAccess(org, planStages(org));

  it('every entry has its AWS page and is proved in the example with session tags (allowed, or refused where it must be)', () => {
    for (const need of ACCESS_NEEDS) {
      expect(need.doc, need.id).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
      const results = baseline.results.filter((r) => r.path.need === need.id);
      expect(results.length, need.id).toBeGreaterThan(0);
      for (const r of results) expect(r.allowed, `${r.path.purpose} ${r.action}`).toBe(!need.denied);
    }
    // The example: 2 repositories, 2 protected branches, one Identity Center role pattern in both ARN forms (tagged),
    // and a role of the tools account (untagged).
    const count = (id: string) => baseline.paths.filter((p) => p.need === id).length;
    expect([count('ci-assume-reader'), count('ci-pull'), count('developers-assume'), count('developers-work'), count('developers-protected-branch')]).toEqual([1, 2, 3, 2, 4]);
    expect([count('developers-carry-session-tags'), count('developers-set-session-tags')]).toEqual([2, 1]);
  });

  it("\"another role\" is one the org file neither names nor matches: role names and patterns that would admit the probe's usual name compile, the probe proved refused (review s18-input M1)", () => {
    const example = readFileSync('parameters/example.yaml', 'utf8');
    for (const taken of ['someone-elses', 'some*', '*s', '*-*elses']) {
      // Not IAM Identity Center's roles (sso: true takes only names it gives, AWSReservedSSO_<set>_<suffix>).
      const variant = parseOrg(example.replace('roleNames: ["AWSReservedSSO_Developer_*"]\n        sso: true\n', `roleNames: ["${taken}"]\n`).replace('  - platform-admin', `  - "${taken}"`), 'example.yaml');
      const analysis = analyseAccess(variant, planStages(variant));
      expect(analysis.problems, taken).toEqual([]);
      for (const need of ['developers-assume-other-role', 'key-administration-other-role']) {
        const results = analysis.results.filter((r) => r.path.need === need);
        expect(results.length, `${taken} ${need}`).toBeGreaterThan(0);
        for (const r of results) {
          expect(r.allowed, `${taken} ${r.path.purpose}`).toBe(false);
          expect(r.path.principal.kind === 'aws' && r.path.principal.arn.endsWith('/someone-elses'), `${taken}: ${r.path.purpose}`).toBe(false);
        }
      }
    }
    expect(otherRoleName(['AWSReservedSSO_Developer_*'])).toBe('someone-elses');
    expect(otherRoleName(['*s', 'q*', '*z*'])).toBe('xxxxxx');
    // Patterns that hold every letter between them still leave names (review s18-diff m1: this was an internal error).
    expect(otherRoleName(['*s', 'qzxjkvwybfghmpudtrcalnoise'])).toBe('qqqqqq');
    // Every entry of the account counts, not only the one whose sample is asked (review s18-diff m12).
    const twoEntries = parseOrg(
      example.replace('        roleNames: ["AWSReservedSSO_Developer_*"]\n        sso: true\n', '        roleNames: ["AWSReservedSSO_Developer_*"]\n        sso: true\n      - account: tools\n        roleNames: ["*elses"]\n        sso: true\n'),
      'example.yaml',
    );
    const others = analyseAccess(twoEntries, planStages(twoEntries)).results.filter((r) => r.path.need === 'developers-assume-other-role');
    expect(others.length).toBeGreaterThan(0);
    for (const r of others) {
      expect(r.allowed, r.path.purpose).toBe(false);
      expect(r.path.principal.kind === 'aws' && r.path.principal.arn.endsWith('/someone-elses')).toBe(false);
    }
  });

  it("a role deeper under Identity Center's path is refused: ArnLike's * spans /, so the trusts refuse two segments after sso.amazonaws.com/ (review s50-access A1, step 3)", () => {
    const org = loadOrgFile('parameters/example.yaml');
    const stages = planStages(org);
    const deeper = analyseAccess(org, stages).results.filter((r) => r.path.need?.endsWith('-assume-deeper-sso-path'));
    // Each SSO sample of each people role (the Region form and the us-east-1 form), both actions, all refused.
    expect(new Set(deeper.map((r) => r.path.need))).toEqual(new Set(['developers-assume-deeper-sso-path', 'maintainers-assume-deeper-sso-path']));
    for (const r of deeper) {
      expect(r.allowed, r.path.purpose).toBe(false);
      const arn = r.path.principal.kind === 'aws' ? r.path.principal.arn : '';
      expect(arn.split('sso.amazonaws.com/')[1].split('/').length, arn).toBe(3);
    }
    expect(deeperSsoRole('arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_D_x0')).toBe('arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/x/y/AWSReservedSSO_D_x0');
    expect(deeperSsoRole('arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_D_x0')).toBe('arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/eu-west-1/x/AWSReservedSSO_D_x0');
    expect(deeperSsoRole('arn:aws:iam::1:role/platform-admin')).toBe('');
    // A trust without the refusal of deeper paths fails the proof on those paths alone.
    const templates = new Map(stages.map((s) => [s.id, structuredClone(renderTemplate(s.definition))]));
    const trusts = JSON.stringify(templates.get('access-roles')!.Resources);
    expect(trusts).toContain('sso.amazonaws.com/*/*/*');
    const stripped = JSON.parse(trusts.replace(/,?\{"Fn::Sub":"arn:\$\{AWS::Partition\}:iam::\d+:role\/aws-reserved\/sso\.amazonaws\.com\/\*\/\*\/\*"\}/g, ''));
    templates.get('access-roles')!.Resources = stripped;
    const problems = analyseAccess(org, stages, templates).problems;
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p).toMatch(/^a role deeper under Identity Center's path .* must be refused$/);
  });

  it("a role name pattern with '?' is asked with a name it matches: the developers' path is proved, another role still refused (review s42-mutations-4 SA1)", () => {
    const example = readFileSync('parameters/example.yaml', 'utf8');
    const variant = parseOrg(example.replace('roleNames: ["AWSReservedSSO_Developer_*"]\n        sso: true\n', 'roleNames: ["dev-?"]\n'), 'example.yaml');
    const analysis = analyseAccess(variant, planStages(variant));
    expect(analysis.problems).toEqual([]);
    const asked = (need: string) => analysis.results.filter((r) => r.path.need === need);
    expect(asked('developers-assume').length).toBeGreaterThan(0);
    for (const r of asked('developers-assume')) {
      expect(r.allowed, r.path.purpose).toBe(true);
      // '?' is one character: the sample is dev- and one more.
      expect(r.path.principal.kind === 'aws' && /:role\/dev-.$/.test(r.path.principal.arn), r.path.purpose).toBe(true);
    }
    for (const r of asked('developers-assume-other-role')) expect(r.allowed, r.path.purpose).toBe(false);
  });

  it('the protected-branch Deny names every CodeCommit action IAM lets codecommit:References narrow at the Write level, and the proof asks each one the developers are granted', () => {
    const codecommit = serviceData('codecommit')!;
    const writes = codecommit
      .actions()
      .filter((a) => a.accessLevel === 'Write' && a.conditionKeys.includes('codecommit:References'))
      .map((a) => `codecommit:${a.name}`);
    expect(writes).toContain('codecommit:CreateBranch');
    expect([...CODECOMMIT_BRANCH_WRITES.actions].sort()).toEqual(writes.sort());
    const asked = ACCESS_NEEDS.find((n) => n.id === 'developers-protected-branch')!.grant.actions;
    expect(asked).toEqual(CODECOMMIT_DEVELOPER.actions.filter((a) => writes.includes(a)));
    // A read that takes the key (GetMergeCommit) is not a write to refuse.
    expect(branchWritesOf({ name: 'reads', actions: ['codecommit:GetMergeCommit', 'codecommit:GitPull'], doc: '' })).toEqual([]);
  });

  // The refused entries a condition holds, not a Deny, are the twins' above.
  it.each(ACCESS_NEEDS.filter((n) => !n.denied || n.id === 'developers-protected-branch').map((n) => [n.id, n] as const))('without the statements behind %s, the compile fails naming the path', (_id, need) => {
    const first = baseline.results.find((r) => r.path.need === need.id && (need.denied ? r.refusedBy && 'deny' in r.refusedBy : r.grantedBy.length > 0))!;
    expect(first, need.id).toBeDefined();
    const stages = planStages(org);
    // An allowed path: take away what grants it; a refused one: take away the Deny that refuses it.
    const statements = need.denied && first.refusedBy && 'deny' in first.refusedBy ? [first.refusedBy.deny] : first.grantedBy;
    for (const g of statements) {
      const [logicalId, sid] = g.policy.split('/');
      removeStatement(stages.find((s) => s.id === g.stage)!, logicalId, sid);
    }
    const problems = analyseAccess(org, stages).problems;
    expect(problems.some((p) => p.startsWith(first.path.purpose)), `${first.path.purpose}\n${problems.join('\n')}`).toBe(true);
  });

  it.each([
    ['StsEndpoint', 'CiAssumesReaderRoles', 'CI assumes the pull-only role of shared-services'],
    ['GitCodeCommitEndpoint', 'CiPullsOrgRepositories', 'CI pulls web-app'],
    ['CodeCommitEndpoint', 'CiPullsOrgRepositories', 'CI pulls web-app'],
  ])('the CI paths pass the CI network\'s endpoint policies too: without %s/%s, the compile fails naming the path', (endpoint, sid, purpose) => {
    expect(baseline.problems).toEqual([]);
    const stages = planStages(org);
    removeStatement(stages.find((s) => s.id === 'ci-network')!, endpoint, sid);
    const problems = analyseAccess(org, stages).problems;
    expect(problems.some((p) => p.startsWith(`${purpose}: `) && p.includes(`through ci-network's ${endpoint}: no statement of its endpoint policy allows it`)), problems.join('\n')).toBe(true);
  });
});

describe('the CI network and pipeline account needs tables (flow logs; access logs, key administration) drive the proof, and with them the converse check', () => {
  const org = loadOrgFile('parameters/example.yaml');
  const baseline = analyseAccess(org, planStages(org));

  it.each([...CI_NETWORK_NEEDS, ...PIPELINE_ACCOUNT_NEEDS].filter((n) => !n.denied).map((n) => [n.id, n] as const))('%s is proved; without its statements the compile fails naming the path', (_id, need) => {
    expect(need.doc, need.id).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
    const results = baseline.results.filter((r) => r.path.need === need.id);
    // Once per pipeline account (three), and per key administrator (the execution role and platform-admin) where it is so.
    const each = need.id.startsWith('ci-network-') ? 1 : need.id === 'key-administration' ? 6 : 3;
    expect(results.map((r) => r.action)).toEqual(Array.from({ length: each }, () => need.grant.actions).flat());
    for (const r of results) expect(r.allowed, `${r.path.purpose} ${r.action}`).toBe(true);
    const problems = problemsWithout(org, results[0].grantedBy);
    expect(problems.some((p) => p.startsWith(results[0].path.purpose)), `${results[0].path.purpose}\n${problems.join('\n')}`).toBe(true);
  });

  it('every action of every Allow statement of both example orgs (identity, trust, key, bucket, bus and queue policies) allows some declared path', () => {
    for (const file of ['parameters/example.yaml', 'parameters/govcloud.yaml']) {
      const o = loadOrgFile(file);
      const a = analyseAccess(o, planStages(o));
      expect(a.problems, file).toEqual([]);
      const allows = a.grants.filter((g) => g.effect === 'Allow');
      expect(new Set(allows.map((g) => g.kind)), file).toEqual(new Set(['identity', 'trust', 'key', 'bucket', 'event-bus', 'queue']));
      for (const g of allows) {
        for (const action of g.actions) {
          const granting = a.results.some((r) => !r.path.denied && r.action.toLowerCase() === action.toLowerCase() && r.grantedBy.includes(g));
          expect(granting, `${file} ${g.stage} ${g.policy} ${action}`).toBe(true);
        }
      }
    }
  });
});

describe('the CI host needs table (Session Manager; ECR in an isolated CI network) drives the proof', () => {
  const cases = [
    ['parameters/govcloud.yaml', ['ci-host-instance-role', 'ci-host-session-manager', 'ci-host-session-channels', 'ci-host-ecr-login', 'ci-host-ecr-pull', 'ci-host-ecr-other-repository']],
    ['parameters/example.yaml', ['ci-host-instance-role', 'ci-host-session-manager', 'ci-host-session-channels']],
  ] as const;

  it.each(cases)('%s: exactly its network mode\'s entries, each proved', (file, ids) => {
    const org = loadOrgFile(file);
    const baseline = analyseAccess(org, planStages(org));
    expect(baseline.problems).toEqual([]);
    expect([...new Set(baseline.paths.filter((p) => p.need?.startsWith('ci-host-')).map((p) => p.need))]).toEqual(ids);
    for (const r of baseline.results.filter((x) => x.path.need?.startsWith('ci-host-'))) expect(r.allowed, `${r.path.purpose} ${r.action}`).toBe(!r.path.denied);
  });

  // Review s30-ci m4: the CI account may hold other teams' images; the host's role and the ECR endpoint each hold the
  // pull to the CI namespace, and each is proved to on its own.
  it.each([
    ['ci-identity', 'CiInstanceRolePullCiImages', 'may ecr:BatchGetImage on arn:aws-us-gov:ecr:us-gov-west-1:012345678901:repository/another-team/app, which must be refused'],
    ['ci-network', 'EcrDockerEndpoint', "EcrDockerEndpoint lets arn:aws-us-gov:iam::012345678901:role/gov-ci-instance ecr:BatchGetImage on arn:aws-us-gov:ecr:us-gov-west-1:012345678901:repository/another-team/app through"],
    // The same statement on ecr.api, which `aws ecr batch-get-image` goes through (review s34-diff m4).
    ['ci-network', 'EcrApiEndpoint', "EcrApiEndpoint lets arn:aws-us-gov:iam::012345678901:role/gov-ci-instance ecr:BatchGetImage on arn:aws-us-gov:ecr:us-gov-west-1:012345678901:repository/another-team/app through"],
  ])('%s %s: a pull statement on every repository of the account fails the proof', (stageId, logicalId, expected) => {
    const org = loadOrgFile('parameters/govcloud.yaml');
    const stages = planStages(org);
    const resources = stages.find((s) => s.id === stageId)!.definition.resources as unknown as Record<string, unknown>;
    const widened = JSON.stringify(resources[logicalId]).replace('repository/gov-ci/*', 'repository/*');
    expect(widened).toContain('repository/*');
    resources[logicalId] = JSON.parse(widened);
    const problems = analyseAccess(org, stages).problems;
    expect(problems.some((p) => p.startsWith("the CI host pulls no image from the account's other ECR repositories: ") && p.includes(expected)), problems.join('\n')).toBe(true);
  });

  // The layer download is signed by ECR (a presigned URL): no IAM side of the org's, its network path is proved below.
  // A refused path has no grant to take away: widening one is the test above.
  it.each(CI_HOST_NEEDS.filter((n) => !n.networkOnly && !n.denied).map((n) => [n.id, n] as const))('without the grants of %s, the compile fails naming the path (isolated GovCloud org)', (_id, need) => {
    const org = loadOrgFile('parameters/govcloud.yaml');
    const baseline = analyseAccess(org, planStages(org));
    expect(need.doc, need.id).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
    const first = baseline.results.find((r) => r.path.need === need.id)!;
    expect(first.grantedBy.length, need.id).toBeGreaterThan(0);
    const problems = problemsWithout(org, first.grantedBy);
    expect(problems.some((p) => p.startsWith(first.path.purpose)), `${first.path.purpose}\n${problems.join('\n')}`).toBe(true);
  });
});

describe('the deployment targets\' needs table (Session Manager; the CodeDeploy agent through Systems Manager) drives the proof', () => {
  const org = loadOrgFile('parameters/example.yaml');
  const baseline = analyseAccess(org, planStages(org));
  const pipelineAccounts = org.accounts.filter((a) => a.role === 'pipeline');

  it('every entry has its AWS page and is proved once in each pipeline account of the example, with xstack\'s role', () => {
    expect(baseline.problems).toEqual([]);
    for (const need of DEPLOY_TARGET_NEEDS) {
      expect(need.doc, need.id).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
      const paths = baseline.paths.filter((p) => p.need === need.id);
      expect(paths.map((p) => p.principal), need.id).toEqual(pipelineAccounts.map((a) => ({ kind: 'aws', arn: `arn:aws:iam::${a.id}:role/acme-deploy-target` })));
      // On the account's own resources, or on AWS's own documents (the role's side proved).
      for (const p of paths) expect([accountOf((p.principal as { arn: string }).arn), 'aws'], need.id).toContain(p.resourceAccount);
      const results = baseline.results.filter((r) => r.path.need === need.id);
      expect(results.length, need.id).toBe(pipelineAccounts.length * need.grant.actions.length);
      for (const r of results) expect(r.allowed, `${r.path.purpose} ${r.action}`).toBe(true);
    }
  });

  it.each(DEPLOY_TARGET_NEEDS.map((n) => [n.id, n] as const))('without the statements that grant %s, the compile fails naming the path', (_id, need) => {
    const first = baseline.results.find((r) => r.path.need === need.id)!;
    expect(first.grantedBy.length, need.id).toBeGreaterThan(0);
    const problems = problemsWithout(org, first.grantedBy);
    expect(problems.some((p) => p.startsWith(`${first.path.purpose}: arn:aws:iam::`) && p.includes(` may not ${first.action} on ${first.path.resource}`)), `${first.path.purpose}\n${problems.join('\n')}`).toBe(true);
  });

  it('a statement that keeps its actions but loses the resource a path names fails the compile naming that path', () => {
    // AgentAssociationStatus grants UpdateInstanceAssociationStatus on this account's associations (its request names
    // the association and the instance; AgentAssociations grants it on the instance): moved to the instances alone.
    const stages = planStages(org);
    const identity = stages.find((s) => s.id === 'pipeline-identity')!;
    const policy = (identity.definition.resources as unknown as Record<string, { Properties: { PolicyDocument: { Statement: Json[] } } }>).DeployTargetRoleCodedeployAgentThroughSsm;
    const statements = policy.Properties.PolicyDocument.Statement;
    const status = statements.find((st) => st.Sid === 'AgentAssociationStatus')!;
    status.Resource = statements.find((st) => st.Sid === 'AgentAssociations')!.Resource;
    const purpose = DEPLOY_TARGET_NEEDS.find((n) => n.id === 'deploy-target-agent-association-status')!.purpose;
    const problems = analyseAccess(org, stages).problems;
    expect(problems.filter((p) => p.includes(':association/')).length, problems.join('\n')).toBe(pipelineAccounts.length);
    expect(problems.every((p) => p.startsWith(`${purpose} (`) && p.includes('may not ssm:UpdateInstanceAssociationStatus')), problems.join('\n')).toBe(true);
  });
});

describe('the source artifact the proof asks for is named as CodePipeline names its objects (review s31-needs m1)', () => {
  it("the first 20 characters of the pipeline's name, the artifact's name cut to 10, a random name; in every source artifact path", async () => {
    const { artifactObjectKey, Names, SOURCE_ARTIFACT } = await import('../src/naming');
    expect(artifactObjectKey('acme-a-pipeline-named-at-length', 'SourceArtifact')).toBe('acme-a-pipeline-name/SourceArti/Ab1Cd2E');
    const org = loadOrgFile('parameters/example.yaml');
    const names = new Names(org.prefix);
    const access = analyseAccess(org, planStages(org));
    const writes = access.paths.filter((p) => p.need === 'source-action-artifact');
    expect(writes.length).toBeGreaterThan(0);
    for (const p of writes) {
      const pipeline = org.pipelines.find((x) => p.purpose.includes(`(${x.name} `))!;
      expect(p.resource, p.purpose).toMatch(new RegExp(`:s3:::[^/]+/${names.pipeline(pipeline.name).slice(0, 20)}/${SOURCE_ARTIFACT.slice(0, 10)}/[A-Za-z0-9]+$`));
    }
  });
});

describe("the deployment targets' CloudWatch agent (deploymentTargets.cloudWatchAgent, the GovCloud example) is granted and proved, not attached as AWS's managed policy (review s31-needs M1)", () => {
  const org = loadOrgFile('parameters/govcloud.yaml');
  const baseline = analyseAccess(org, planStages(org));
  const pipelineAccounts = org.accounts.filter((a) => a.role === 'pipeline');

  it('the example asks for it, no template attaches an AWS managed policy, and every entry is proved in each pipeline account, allowed or refused as it must be', () => {
    expect(org.deploymentTargets.cloudWatchAgent).toBe(true);
    for (const stage of planStages(org)) expect(JSON.stringify(stage.definition.resources), stage.id).not.toMatch(/ManagedPolicyArns|:iam::aws:policy\//);
    expect(baseline.problems).toEqual([]);
    for (const need of CLOUDWATCH_AGENT_NEEDS) {
      expect(need.doc, need.id).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
      const results = baseline.results.filter((r) => r.path.need === need.id);
      expect(results.length, need.id).toBe(pipelineAccounts.length * need.grant.actions.length);
      for (const r of results) expect(r.allowed, `${r.path.purpose} ${r.action}`).toBe(!need.denied);
    }
    // The agent's log groups are the org's prefix's: /gov/…
    expect(baseline.results.find((r) => r.path.need === 'deploy-target-cloudwatch-log-stream')!.path.resource).toMatch(/:log-group:\/gov\/[^:]+:log-stream:/);
  });

  it.each(CLOUDWATCH_AGENT_NEEDS.filter((n) => !n.denied).map((n) => [n.id, n] as const))('without the statement that grants %s, the compile fails naming the path', (_id, need) => {
    const first = baseline.results.find((r) => r.path.need === need.id)!;
    expect(first.grantedBy.length, need.id).toBeGreaterThan(0);
    const problems = problemsWithout(org, first.grantedBy);
    expect(problems.some((p) => p.startsWith(first.path.purpose) && p.includes(first.action)), `${first.path.purpose}\n${problems.join('\n')}`).toBe(true);
  });

  it('the metrics statement without its namespace condition, or the log statements on every log group, fail the compile naming the path that must be refused', () => {
    const identity = (stages: Stage[]) => stages.find((s) => s.id === 'pipeline-identity')!;
    const unconditioned = planStages(org);
    changeStatement(identity(unconditioned), 'DeployTargetRoleCloudwatchAgent', 'AgentMetrics', 'unconditioned');
    const namespace = CLOUDWATCH_AGENT_NEEDS.find((n) => n.id === 'deploy-target-cloudwatch-other-namespace')!.purpose;
    expect(analyseAccess(org, unconditioned).problems.some((p) => p.startsWith(namespace)), namespace).toBe(true);

    const widened = planStages(org);
    const policy = (identity(widened).definition.resources as unknown as Record<string, { Properties: { PolicyDocument: { Statement: Json[] } } }>).DeployTargetRoleCloudwatchAgent;
    for (const st of policy.Properties.PolicyDocument.Statement) if (String(st.Sid).startsWith('AgentLog')) st.Resource = { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*' };
    const problems = analyseAccess(org, widened).problems;
    for (const id of ['deploy-target-cloudwatch-other-log-group', 'deploy-target-cloudwatch-other-retention']) {
      const purpose = CLOUDWATCH_AGENT_NEEDS.find((n) => n.id === id)!.purpose;
      expect(problems.some((p) => p.startsWith(purpose)), `${purpose}\n${problems.join('\n')}`).toBe(true);
    }
  });

  it('without cloudWatchAgent (the example), the role has no agent policy and the proof asks no agent path', () => {
    const example = loadOrgFile('parameters/example.yaml');
    expect(example.deploymentTargets.cloudWatchAgent).toBe(false);
    const identity = planStages(example).find((s) => s.id === 'pipeline-identity')!;
    expect(Object.keys(identity.definition.resources)).not.toContain('DeployTargetRoleCloudwatchAgent');
    const ids = new Set(CLOUDWATCH_AGENT_NEEDS.map((n) => n.id));
    expect(analyseAccess(example, planStages(example)).paths.filter((p) => p.need !== undefined && ids.has(p.need))).toEqual([]);
  });
});

describe('the isolated CI network\'s endpoint policies are proved like the CodeDeploy and CodeCommit paths', () => {
  const org = loadOrgFile('parameters/govcloud.yaml');
  const ciNetwork = (stages: Stage[]) => stages.find((s) => s.id === 'ci-network')!;
  const endpoint = (stages: Stage[], id: string) => (ciNetwork(stages).definition.resources as unknown as Record<string, { Properties: Json }>)[id];
  type Statement = Json & { Sid: string; Action: string | string[]; Resource: unknown };
  /** Freshly planned stages with one endpoint's policy changed in a copy (the planner shares documents between endpoints). */
  const withEndpointPolicy = (id: string, change: (statements: Statement[]) => void): Stage[] => {
    const stages = planStages(org);
    const e = endpoint(stages, id);
    const document = JSON.parse(JSON.stringify(e.Properties.PolicyDocument)) as { Statement: Statement[] };
    change(document.Statement);
    e.Properties = { ...e.Properties, PolicyDocument: document };
    return stages;
  };

  it.each([
    ['SsmEndpoint', 'SessionManagerRegisters', 'ci-host-session-manager'],
    ['EcrApiEndpoint', 'EcrLogin', 'ci-host-ecr-login'],
    ['EcrDockerEndpoint', 'PullCiImages', 'ci-host-ecr-pull'],
    ['S3GatewayEndpoint', 'EcrImageLayers', 'ci-host-ecr-layers'],
  ])('without %s/%s, the compile fails naming the CI host path it carries', (id, sid, need) => {
    expect(analyseAccess(org, planStages(org)).problems).toEqual([]);
    const stages = planStages(org);
    removeStatement(ciNetwork(stages), id, sid);
    const purpose = CI_HOST_NEEDS.find((n) => n.id === need)!.purpose;
    const problems = analyseAccess(org, stages).problems;
    expect(problems.some((p) => p.startsWith(`${purpose}: `) && p.includes(`through ci-network's ${id}: no statement of its endpoint policy allows it`)), problems.join('\n')).toBe(true);
  });

  it('the S3 gateway endpoint with AWS\'s default policy (full access, finding N6) fails the compile: the CI network could write to any bucket', () => {
    const stages = planStages(org);
    const gateway = endpoint(stages, 'S3GatewayEndpoint');
    gateway.Properties = { ...gateway.Properties };
    delete gateway.Properties.PolicyDocument;
    const problems = analyseAccess(org, stages).problems;
    expect(problems).toContain("nothing in the CI network writes to any S3 bucket: ci-network has no s3 endpoint with a policy, so AWS's default lets s3:PutObject through");
  });

  it.each([
    ['writes to any bucket', { Action: ['s3:GetObject', 's3:PutObject'], Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::*' } }, 'nothing in the CI network writes to any S3 bucket'],
    ['reads any object', { Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::*' } }, 'nothing in the CI network reads any other S3 object'],
    ['reads the layer bucket with any credentials', { Condition: undefined }, "nothing in the CI network reads ECR's layer bucket with its own credentials"],
  ])('an S3 endpoint statement that %s fails the compile naming what it lets through', (_what, change, purpose) => {
    const stages = withEndpointPolicy('S3GatewayEndpoint', (statements) => (statements[0] = JSON.parse(JSON.stringify({ ...statements[0], ...change }))));
    const problems = analyseAccess(org, stages).problems;
    expect(problems.some((p) => p.startsWith(`${purpose}: ci-network's S3GatewayEndpoint lets `)), problems.join('\n')).toBe(true);
  });

  it("an S3 endpoint statement letting the CI host's role write to any bucket (by aws:PrincipalArn) fails the compile: asked as anyone's request only, it passed (review s37-evaluator E6)", () => {
    const ciRole = `arn:aws-us-gov:iam::012345678901:role/${org.prefix}-ci-instance`;
    const stages = withEndpointPolicy('S3GatewayEndpoint', (statements) =>
      statements.push({ Sid: 'CiWrites', Effect: 'Allow', Principal: '*', Action: 's3:PutObject', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::*' }, Condition: { ArnEquals: { 'aws:PrincipalArn': ciRole } } } as unknown as Statement),
    );
    const problems = analyseAccess(org, stages).problems;
    expect(problems).toContain(`nothing in the CI network writes to any S3 bucket: ci-network's S3GatewayEndpoint lets ${ciRole} s3:PutObject on arn:aws-us-gov:s3:::any-bucket-of-any-account/any-key through (S3GatewayEndpoint/CiWrites)`);
    // Held to requests signed in their header, it is met by the same request so signed (review s37-diff m3).
    const headerOnly = withEndpointPolicy('S3GatewayEndpoint', (statements) =>
      statements.push({ Sid: 'CiWrites', Effect: 'Allow', Principal: '*', Action: 's3:PutObject', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::*' }, Condition: { ArnEquals: { 'aws:PrincipalArn': ciRole }, StringEquals: { 's3:authType': 'REST-HEADER' } } } as unknown as Statement),
    );
    expect(analyseAccess(org, headerOnly).problems).toContain(`nothing in the CI network writes to any S3 bucket: ci-network's S3GatewayEndpoint lets ${ciRole} s3:PutObject on arn:aws-us-gov:s3:::any-bucket-of-any-account/any-key through (S3GatewayEndpoint/CiWrites)`);
  });

  it.each([
    ['GitCodeCommitEndpoint', 'CiPullsOrgRepositories', 'codecommit:GitPush'],
    ['CodeCommitEndpoint', 'CiPullsOrgRepositories', 'codecommit:DeleteRepository'],
    ['S3GatewayEndpoint', 'EcrImageLayers', 's3:GetObjectVersion'],
    ['EcrApiEndpoint', 'PullCiImages', 'ecr:PutImage'],
  ])('%s/%s letting %s through too, which no declared path sends, fails the compile (the converse for endpoint policies)', (id, sid, action) => {
    const stages = withEndpointPolicy(id, (statements) => {
      const statement = statements.find((x) => x.Sid === sid)!;
      statement.Action = [statement.Action, action].flat();
    });
    const problems = analyseAccess(org, stages).problems;
    expect(problems).toContain(`ci-network @ 012345678901: ${id}/${sid} lets ${action} through, which no declared path sends through ${id}`);
  });

  it('an endpoint statement naming a repository no CI path pulls fails the compile', () => {
    const stages = withEndpointPolicy('GitCodeCommitEndpoint', (statements) => {
      statements[0].Resource = [statements[0].Resource, { 'Fn::Sub': 'arn:${AWS::Partition}:codecommit:${AWS::Region}:012345678901:someone-elses' }].flat();
    });
    expect(analyseAccess(org, stages).problems).toContain(
      'ci-network @ 012345678901: GitCodeCommitEndpoint/CiPullsOrgRepositories lets codecommit:GitPull on arn:aws-us-gov:codecommit:us-gov-west-1:012345678901:someone-elses through, which no declared path sends through GitCodeCommitEndpoint',
    );
  });
});
