/**
 * The proof's results grouped by path (src/audit/results-by-path.ts), which the report's access matrix and the audit
 * model read: each path's list cut from a run of its results must hold what pushing each result to its path's list
 * holds, in the same order, the paths in the order of their first result, whether a path's results stand together
 * (as the proof writes them) or not.
 */
import { describe, expect, it } from 'vitest';
import { resultsByPath } from '../src/audit/results-by-path';
import type { AccessPath, AccessResult } from '../src/audit/paths';

const path = (purpose: string) => ({ purpose }) as unknown as AccessPath;
const result = (p: AccessPath, action: string) => ({ path: p, action, allowed: true }) as unknown as AccessResult;

/** The plain grouping: each result pushed to its path's list. */
function pushedByPath(results: readonly AccessResult[]): Map<AccessPath, AccessResult[]> {
  const byPath = new Map<AccessPath, AccessResult[]>();
  for (const r of results) (byPath.get(r.path) ?? byPath.set(r.path, []).get(r.path)!).push(r);
  return byPath;
}

const entries = (m: ReadonlyMap<AccessPath, readonly AccessResult[]>) => [...m].map(([p, rs]) => [p, [...rs]]);

describe('resultsByPath', () => {
  const [a, b, c] = ['a', 'b', 'c'].map(path);
  const cases: Record<string, AccessResult[]> = {
    none: [],
    'one result': [result(a, 'x')],
    'each path in one run': [result(a, 'x'), result(a, 'y'), result(b, 'x'), result(c, 'x'), result(c, 'y'), result(c, 'z')],
    'a path met again later': [result(a, 'x'), result(b, 'x'), result(a, 'y'), result(c, 'x'), result(b, 'y'), result(a, 'z')],
    'alternating paths': [result(a, 'x'), result(b, 'x'), result(a, 'y'), result(b, 'y')],
  };
  for (const [name, results] of Object.entries(cases)) {
    it(`reads as pushing each result: ${name}`, () => {
      const grouped = resultsByPath(results);
      expect(entries(grouped)).toEqual(entries(pushedByPath(results)));
      for (const [p, rs] of grouped) for (let i = 0; i < rs.length; i++) expect(rs[i]).toBe(pushedByPath(results).get(p)![i]);
    });
  }

  it('is made once for a proof\'s results, and not for another list of them', () => {
    const results = cases['a path met again later'];
    expect(resultsByPath(results)).toBe(resultsByPath(results));
    expect(resultsByPath([...results])).not.toBe(resultsByPath(results));
  });
});
