// Mutation round over session 58 (532deec, --max-wait): the CLI's minutes reach the deployer as milliseconds. The
// StackSets layer's bound is tested in deploy-faults.test.ts with maxWaitMs given directly, and the CLI's refusals in
// cli.test.ts; nothing tested the steps between (mutations-12: `* 1_000`; the option never passed on by command.ts, or
// by cli.ts; destroy's or verify's --max-wait left off).
import { describe, expect, it, vi } from 'vitest';

const captured: unknown[] = [];
vi.mock('../src/deploy/deployer', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../src/deploy/deployer')>()),
  verify: vi.fn(async (...args: unknown[]) => {
    captured.push(args[3]);
    throw new Error('verify reached');
  }),
  destroy: vi.fn(async (...args: unknown[]) => {
    captured.push(args[2]);
    throw new Error('destroy reached');
  }),
}));

const { awsCommand } = await import('../src/deploy/command');
const { main } = await import('../src/cli');
const { compileFile } = await import('./helpers');

describe('--max-wait MINUTES as the deployer takes it', () => {
  const compiled = compileFile('parameters/example.yaml');
  const run = (options: Array<[string, string]>) => awsCommand('verify', compiled, new Set(['--json']), new Map([['--endpoint', 'http://127.0.0.1:9'], ...options]));

  it('3 minutes: maxWaitMs 180,000; none given: no bound', async () => {
    captured.length = 0;
    await expect(run([['--max-wait', '3']])).rejects.toThrow('verify reached');
    await expect(run([])).rejects.toThrow('verify reached');
    expect(captured.map((o) => (o as { maxWaitMs?: number }).maxWaitMs)).toEqual([180_000, undefined]);
    expect(Object.keys(captured[1] as object)).not.toContain('maxWaitMs');
  });

  it('through the CLI: verify takes --max-wait 1 (60,000 ms), destroy --max-wait 2 (120,000 ms)', async () => {
    captured.length = 0;
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      // 1, the least it takes; 2, counted in minutes.
      for (const [command, minutes] of [[['verify'], '1'], [['destroy', '--yes'], '2']] as const) await main([...command, 'parameters/example.yaml', '--max-wait', minutes, '--endpoint', 'http://127.0.0.1:9', '--json']).catch(() => undefined);
    } finally {
      stderr.mockRestore();
    }
    expect(captured.map((o) => (o as { maxWaitMs?: number }).maxWaitMs)).toEqual([60_000, 120_000]);
  });
});
