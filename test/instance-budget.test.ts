/** The run's budget of stack instances in operations at once (src/deploy/instance-budget.ts). */
import { describe, expect, it } from 'vitest';
import { InstanceOperationBudget } from '../src/deploy/instance-budget';
import { LIMITS } from '../src/limits';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('InstanceOperationBudget', () => {
  it('is StackSets quota by default', () => {
    expect(new InstanceOperationBudget().quota).toBe(LIMITS.concurrentStackInstanceOperationsPerRegion);
  });

  it('never holds more than the quota at once; operations that fit run together; waiting ones start in order as others end', async () => {
    const budget = new InstanceOperationBudget(10);
    const running = new Set<string>();
    const started: string[] = [];
    let held = 0;
    let peak = 0;
    const ends = new Map<string, () => void>();
    const op = (name: string, instances: number) =>
      budget.hold(instances, async () => {
        started.push(name);
        running.add(name);
        held += instances;
        peak = Math.max(peak, held);
        await new Promise<void>((resolve) => ends.set(name, resolve));
        held -= instances;
        running.delete(name);
      });
    const all = [op('a', 6), op('b', 4), op('c', 5), op('d', 1)];
    await tick();
    expect([...running]).toEqual(['a', 'b']);
    // d would fit, but c came first: it waits its turn (no operation is starved by smaller ones).
    ends.get('b')!();
    await tick();
    expect([...running]).toEqual(['a']);
    ends.get('a')!();
    await tick();
    expect([...running].sort()).toEqual(['c', 'd']);
    ends.get('c')!();
    ends.get('d')!();
    await Promise.all(all);
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    expect(peak).toBeLessThanOrEqual(10);
    expect(budget.peak).toBe(10);
  });

  it('an operation on more instances than the quota waits for the whole budget, then runs alone, rather than for a share it can never have (review s41-mutations-3 IB1)', async () => {
    const budget = new InstanceOperationBudget(10);
    const started: string[] = [];
    let endSmall!: () => void;
    const small = budget.hold(4, () => new Promise<void>((resolve) => (started.push('small'), (endSmall = resolve))));
    const big = budget.hold(15, async () => (started.push('big'), 'ran'));
    await tick();
    expect(started).toEqual(['small']);
    endSmall();
    await small;
    // Without the cap it would wait for 15 of 10 forever: a StackSet of more accounts than the quota would never be deployed.
    const stuck = new Promise((resolve) => setTimeout(() => resolve('still waiting after 1 s'), 1000));
    expect(await Promise.race([big, stuck])).toBe('ran');
    expect(started).toEqual(['small', 'big']);
    expect(budget.peak).toBe(10);
  });

  it('frees its share when the operation fails', async () => {
    const budget = new InstanceOperationBudget(5);
    await expect(budget.hold(5, async () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(await budget.hold(5, async () => 'ran')).toBe('ran');
  });
});
