import { describe, expect, it } from 'vitest';
import { grouped } from '../src/count';

describe('grouped: a count as the messages write it, without ICU', () => {
  it("writes what toLocaleString('en-US') writes for whole numbers", () => {
    for (const n of [0, 7, 999, 1000, 6144, 20480, 51200, 184250, 1234567, 1000000000, -1234, Number.MAX_SAFE_INTEGER]) expect(grouped(n), String(n)).toBe(n.toLocaleString('en-US'));
  });
});

describe('a compile calls no locale-aware method', () => {
  it("compiles an org whose policies switch to the organization's form (notes with counts) without toLocaleString or localeCompare", async () => {
    const { compileOrg } = await import('../src/compile');
    const { parseOrg } = await import('../src/org/load');
    const { generateTeamsOrgYaml } = await import('../bench/generate-org.mjs');
    const calls: string[] = [];
    const [toLocale, compare] = [Number.prototype.toLocaleString, String.prototype.localeCompare];
    Number.prototype.toLocaleString = function (this: number, ...a: Parameters<typeof toLocale>) {
      calls.push(`toLocaleString ${this}`);
      return toLocale.apply(this, a);
    };
    String.prototype.localeCompare = function (this: string, ...a: Parameters<typeof compare>) {
      calls.push(`localeCompare ${this}`);
      return compare.apply(this, a);
    };
    try {
      const c = compileOrg(parseOrg(generateTeamsOrgYaml(100, { ci: true }), 'teams.yaml'));
      // The switch is said, with its counts (the message that once loaded ICU's data).
      expect(c.stages.find((s) => s.module === 'access-callers')!.notes.join('\n')).toMatch(/would take about \d{1,3}(,\d{3})+ characters/);
    } finally {
      Number.prototype.toLocaleString = toLocale;
      String.prototype.localeCompare = compare;
    }
    expect(calls).toEqual([]);
  });
});
