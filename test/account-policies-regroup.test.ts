/**
 * accountPolicies answers a list of accounts it was last asked in another order (or a list among those) from its last
 * answer, regrouped (execution-policy.ts `regrouped`): every answer reads as one made afresh from forAccount.
 */
import { describe, expect, it } from 'vitest';
import { accountPolicies, type ExecutionStatement } from '../src/deploy/execution-policy';
import { expectedGroups, randomScopedStatements } from './support/account-groups';
import { random as seeded } from './support/seeded-random';

describe('accountPolicies asked again for the same accounts in another order, or some of them, or others', () => {
  it('over random scopes: each answer is the fresh one, whichever list was asked before', () => {
    // Seeded: the same cases on every run. An integer below n.
    const next = seeded(88172645);
    const random = (n: number) => Math.floor(next() * n);
    const shuffled = <T>(list: readonly T[]) => {
      const out = [...list];
      for (let i = out.length - 1; i > 0; i--) {
        const j = random(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    };
    let regroupedAsked = 0;
    for (let round = 0; round < 200; round++) {
      const ids = Array.from({ length: 2 + random(12) }, (_, i) => String(100000000000 + i));
      const statements = randomScopedStatements(random, ids);
      let accounts = ids.filter(() => random(4) > 0);
      for (let ask = 0; ask < 4; ask++) {
        expect(accountPolicies(statements, accounts), `round ${round}, ask ${ask}`).toEqual(expectedGroups(statements, accounts));
        // Next: the same in another order, some of them (a repeat among them), or another list that may hold accounts never asked.
        const how = random(3);
        if (how === 0) accounts = shuffled(accounts);
        else if (how === 1) accounts = [...shuffled(accounts).slice(0, 1 + random(accounts.length + 1)), ...accounts.slice(0, random(2))];
        else accounts = shuffled(ids).filter(() => random(2) === 0);
        if (how < 2) regroupedAsked++;
      }
    }
    expect(regroupedAsked).toBeGreaterThan(300);
  });

  it('the compile\'s order, then the org file\'s: the second answer holds the first\'s policies, regrouped', () => {
    const everywhere: ReadonlySet<string> = new Set(['111111111111', '222222222222', '333333333333']);
    const one: ReadonlySet<string> = new Set(['222222222222']);
    const statements: ExecutionStatement[] = [
      { Sid: 'A', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::a', 'arn:aws:s3:::b'], reason: 'test', scope: new Map([['arn:aws:s3:::a', everywhere], ['arn:aws:s3:::b', one]]) },
    ];
    const first = accountPolicies(statements, ['111111111111', '222222222222', '333333333333']);
    const second = accountPolicies(statements, ['333333333333', '222222222222', '111111111111']);
    expect(second.map((g) => g.accounts)).toEqual([['333333333333', '111111111111'], ['222222222222']]);
    expect(second.map((g) => g.statements)).toEqual([first[0].statements, first[1].statements]);
    expect(second[0].statements).toBe(first[0].statements);
  });
});
