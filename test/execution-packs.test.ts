/**
 * The execution role's managed policies counted from sizes (`packedSizes`, what the compile's quota check and its
 * choice of exact or shaped names read) against the policies bootstrap writes (`packPolicies` on the account's
 * resolved document): the same packs, the same characters, the same largest statement, the same error, in any
 * account; an account id of digits is measured once per length, any other id as itself.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { renderTemplate } from '../src/cfn/template';
import { executionPolicyPacks, executionQuotaProblems } from '../src/checks/execution-quota';
import { accountPolicies, compiledTemplates, executionPolicyOf, forAccount, packedSizes, packPolicies, policyDocument, resolvePolicy, type ExecutionStatement, type PolicyContext } from '../src/deploy/execution-policy';
import { policyChars } from '../src/limits';
import { expectedGroups, randomScopedStatements } from './support/account-groups';
import { parseOrg } from '../src/org/load';
import { planStages } from '../src/stages/plan';

const P = '${AWS::Partition}';
const A = '${AWS::AccountId}';
const R = '${AWS::Region}';

/** A small deterministic generator (xorshift), so a failure names its seed. */
function random(seed: number): (n: number) => number {
  let x = seed || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** Statements of every size packing meets: small ones, ones that start a pack of their own, ones split into parts. */
function statementsOf(seed: number): ExecutionStatement[] {
  const pick = random(seed);
  return Array.from({ length: 3 + pick(12) }, (_, i) => {
    const size = [1, 5, 40, 120, 400][pick(5)];
    return {
      Sid: `Statement${i}`,
      Effect: pick(4) === 0 ? 'Deny' : 'Allow',
      Action: Array.from({ length: 1 + pick(30) }, (_, a) => `codecommit:Action${a}`),
      Resource: Array.from({ length: size }, (_, r) => [`arn:${P}:codecommit:${R}:${A}:repo-${seed}-${i}-${r}`, `arn:${P}:iam::${A}:role/x${'y'.repeat(pick(60))}`, `arn:${P}:s3:::bucket-${r}/*`][pick(3)]),
      ...(pick(3) === 0 ? { reason: 'kept out of the document' } : {}),
    };
  });
}

/** What bootstrap writes in `at`, measured. */
function written(statements: ExecutionStatement[], at: PolicyContext) {
  const resolved = resolvePolicy(statements, at).Statement;
  const sized = resolved.map((s) => ({ Sid: s.Sid, resources: s.Resource.length, chars: policyChars(s) }));
  return { packs: packPolicies(resolved).map((pack) => policyChars(policyDocument(pack))), largest: sized.reduce((a, b) => (b.chars > a.chars ? b : a)) };
}

const contexts: PolicyContext[] = [
  { partition: 'aws', region: 'eu-west-1', account: '111111111111' },
  // Another id of the same length: measured from the first one's sizes.
  { partition: 'aws', region: 'eu-west-1', account: '999999999999' },
  // Ids of other lengths, and one that is not digits (JSON escapes its quote): each measured as its own.
  { partition: 'aws', region: 'eu-west-1', account: '0' },
  { partition: 'aws', region: 'eu-west-1', account: '12345678901234567890' },
  { partition: 'aws', region: 'eu-west-1', account: 'a"b' },
  { partition: 'aws-us-gov', region: 'us-gov-west-1', account: '111111111111' },
];

describe('packedSizes', () => {
  for (let seed = 1; seed <= 40; seed++) {
    it(`seed ${seed}: the packs bootstrap writes, in every account`, () => {
      const statements = statementsOf(seed);
      // Several policies of the same statements in turn, as the compile asks them: each account's answer its own.
      for (const at of [...contexts, ...contexts]) expect(packedSizes(statements, at)).toEqual(written(statements, at));
      expect(packedSizes(statements, contexts[0]).packs.length).toBeGreaterThan(0);
    });
  }

  it('counts more managed policies where a longer account id makes the names longer', () => {
    const statements: ExecutionStatement[] = [{ Sid: 'Named', Effect: 'Allow', Action: ['iam:GetRole'], Resource: Array.from({ length: 400 }, (_, i) => `arn:${P}:iam::${A}:role/r${i}`) }];
    const short = packedSizes(statements, contexts[2]);
    const long = packedSizes(statements, contexts[3]);
    expect(long.packs.length).toBeGreaterThan(short.packs.length);
    expect(long).toEqual(written(statements, contexts[3]));
  });

  it("answers a list of its caller's anew each time: one changed between two questions is measured as it is then", () => {
    const statements: ExecutionStatement[] = [{ Sid: 'Named', Effect: 'Allow', Action: ['iam:GetRole'], Resource: Array.from({ length: 100 }, (_, i) => `arn:${P}:iam::${A}:role/r${i}`) }];
    const before = packedSizes(statements, contexts[0]);
    statements.push({ Sid: 'More', Effect: 'Allow', Action: ['iam:GetRole'], Resource: Array.from({ length: 300 }, (_, i) => `arn:${P}:iam::${A}:role/more${i}`) });
    const after = packedSizes(statements, contexts[0]);
    expect(after).toEqual(written(statements, contexts[0]));
    expect(after.packs.length).toBeGreaterThan(before.packs.length);
  });

  it("answers a group of accountPolicies once a context of sizes, each answer a copy of the caller's own, in every context as bootstrap writes it", () => {
    const scope = new Map([[`arn:${P}:iam::${A}:role/own`, new Set(['111111111111'])]]);
    const statements: ExecutionStatement[] = [{ Sid: 'Named', Effect: 'Allow', Action: ['iam:GetRole'], Resource: [...Array.from({ length: 300 }, (_, i) => `arn:${P}:iam::${A}:role/r${i}`), `arn:${P}:iam::${A}:role/own`], scope }];
    const [group] = accountPolicies(statements, ['111111111111']);
    for (const at of [...contexts, ...contexts]) {
      const answer = packedSizes(group.statements, at);
      expect(answer).toEqual(written(group.statements, at));
      answer.packs.push(1);
      answer.largest.chars = 0;
    }
  });

  it("a group's statement too large for any account is that account's error each time, never an answer kept", () => {
    const scope = new Map([[`arn:${P}:s3:::bucket-${A}/*`, new Set(['111111111111', '999999999999'])]]);
    const statements: ExecutionStatement[] = [{ Sid: 'TooManyActions', Effect: 'Allow', Action: Array.from({ length: 400 }, (_, i) => `codecommit:Action${i}`), Resource: [`arn:${P}:s3:::bucket-${A}/*`], scope }];
    const [group] = accountPolicies(statements, ['111111111111', '999999999999']);
    for (const at of [contexts[0], contexts[1], contexts[0]]) expect(() => packedSizes(group.statements, at)).toThrow(`(arn:aws:s3:::bucket-${at.account}/*)`);
  });

  it('a statement whose actions and one resource fit no managed policy is the same error, naming the resolved resource', () => {
    const statements: ExecutionStatement[] = [{ Sid: 'TooManyActions', Effect: 'Allow', Action: Array.from({ length: 400 }, (_, i) => `codecommit:Action${i}`), Resource: [`arn:${P}:s3:::bucket-${A}/*`] }];
    const at = contexts[0];
    expect(() => written(statements, at)).toThrow(/statement TooManyActions: its actions and one resource \(arn:aws:s3:::bucket-111111111111\/\*\) take more than the 6144 characters/);
    expect(() => packedSizes(statements, at)).toThrow(/statement TooManyActions: its actions and one resource \(arn:aws:s3:::bucket-111111111111\/\*\) take more than the 6144 characters/);
  });
});

/** Four teams alike up to their names, one of them renamed to a longer key and given a third repository: not alike. */
function irregularTeams(): string {
  const yaml = generateTeamsOrgYaml(4).replaceAll('t004-', 'payments-team-');
  const third = '  t002-svc3:\n    account: t002-source\n';
  const pipeline = '  t002-svc3:\n    repository: t002-svc3\n    branches:\n      t002-dev: develop\n      t002-staging: release\n      t002-prod: main\n    deploy:\n      type: codedeploy\n';
  return yaml.replace('pipelines:\n', `${third}pipelines:\n${pipeline}`);
}

describe("each group's policy is each member's as bootstrap writes it (forAccount), which the quota check, the report's execution-role section and --since read through the groups (review s40-mutations-2 X3b)", () => {
  for (const [name, yaml] of [
    ['parameters/example.yaml', readFileSync('parameters/example.yaml', 'utf8')],
    ['parameters/govcloud.yaml', readFileSync('parameters/govcloud.yaml', 'utf8')],
    ['3 teams', generateTeamsOrgYaml(3)],
  ] as Array<[string, string]>) {
    it(name, () => {
      const org = parseOrg(yaml, name);
      const stages = planStages(org);
      const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
      const { statements } = executionPolicyOf(org, compiledTemplates(stages, (s) => templates.get(s.id)!));
      const accounts = [...new Set(stages.flatMap((s) => s.targets.map((a) => a.id)))];
      for (const group of accountPolicies(statements, accounts)) for (const account of group.accounts) expect(group.statements, account).toEqual(forAccount(statements, account));
    });
  }
});

describe('accountPolicies groups the accounts whose policies forAccount writes alike, in the order of their first account', () => {
  it('over random scopes: shared and equal sets, resources named twice or without a scope, accounts in none or not asked about', () => {
    // xorshift32, seeded: the same cases on every run.
    let x = 2463534242;
    const random = (n: number) => {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      return x % n;
    };
    for (let round = 0; round < 200; round++) {
      const ids = Array.from({ length: 1 + random(12) }, (_, i) => String(100000000000 + i));
      const statements = randomScopedStatements(random, ids);
      const accounts = ids.filter(() => random(5) > 0);
      if (random(4) === 0 && accounts.length > 0) accounts.push(accounts[0]);
      expect(accountPolicies(statements, accounts), `round ${round}`).toEqual(expectedGroups(statements, accounts));
    }
  });
});

describe('the compile counts each account class once: every account of a class packs as the one measured', () => {
  const orgs: Array<[string, string]> = [
    ['3 teams alike up to their names', generateTeamsOrgYaml(3)],
    ['teams that differ by more than names (a longer key, a third repository)', irregularTeams()],
  ];
  for (const [name, yaml] of orgs) {
    it(name, () => {
      const org = parseOrg(yaml, 'teams.yaml');
      const stages = planStages(org);
      const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
      const { statements } = executionPolicyOf(org, compiledTemplates(stages, (s) => templates.get(s.id)!));
      const accounts = [...new Set(stages.flatMap((s) => s.targets.map((a) => a.id)))];
      const groups = accountPolicies(statements, accounts);
      expect(groups.length).toBeGreaterThan(1);
      for (const group of groups) {
        for (const account of group.accounts) {
          const at = { partition: org.partition, account, region: org.region };
          expect(executionPolicyPacks(org, group.statements, account)).toEqual(written(group.statements, at));
        }
      }
      // The quota check at a quota of one managed policy: its message is the written policies' (count, largest pack, largest statement).
      const lowered = { ...org, iamQuotas: { ...org.iamQuotas, managedPoliciesPerRole: 0 } };
      const [problem] = executionQuotaProblems(lowered, statements, accounts);
      const worst = groups.map((g) => ({ g, w: written(g.statements, { partition: org.partition, account: g.accounts[0], region: org.region }) })).reduce((a, b) => (b.w.packs.length > a.w.packs.length ? b : a));
      expect(problem).toContain(`needs ${worst.w.packs.length} managed policies of up to 6144 characters (largest ${Math.max(...worst.w.packs)})`);
      expect(problem).toContain(`Its largest statement is ${worst.w.largest.Sid}, ${worst.w.largest.resources} resources in ${worst.w.largest.chars} characters`);
    });
  }
});
