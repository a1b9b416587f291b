/** What accountPolicies (src/deploy/execution-policy.ts) is checked against in the seeded tests: its answer made account by account, over random scopes. */
import { forAccount, type ExecutionStatement } from '../../src/deploy/execution-policy';

/** The groups accountPolicies gives, made one account at a time: forAccount's policies, alike ones together, in the order of their first account. */
export function expectedGroups(statements: readonly ExecutionStatement[], accounts: readonly string[]): Array<{ accounts: string[]; statements: ExecutionStatement[] }> {
  const expected = new Map<string, { accounts: string[]; statements: ExecutionStatement[] }>();
  for (const account of accounts) {
    const own = forAccount(statements, account);
    const key = JSON.stringify(own);
    const group = expected.get(key) ?? expected.set(key, { accounts: [], statements: own }).get(key)!;
    group.accounts.push(account);
  }
  return [...expected.values()];
}

/**
 * Statements scoped to random sets of `ids`, `random(n)` an integer below n: sets shared by several resources and sets
 * equal but apart, resources named twice or without a scope, statements without any scope.
 */
export function randomScopedStatements(random: (n: number) => number, ids: readonly string[]): ExecutionStatement[] {
  const sets = Array.from({ length: 1 + random(5) }, () => new Set(ids.filter(() => random(3) === 0)));
  return Array.from({ length: 1 + random(5) }, (_, i) => {
    const Resource = Array.from({ length: 1 + random(6) }, () => `arn:aws:s3:::b${random(8)}`);
    const scoped = Resource.filter(() => random(4) > 0).map((r): [string, ReadonlySet<string>] => [r, random(4) === 0 ? new Set(sets[random(sets.length)]) : sets[random(sets.length)]]);
    return { Sid: `S${i}`, Effect: 'Allow', Action: ['s3:GetObject'], Resource, reason: 'test', ...(random(5) > 0 && scoped.length > 0 ? { scope: new Map(scoped) } : {}) };
  });
}
