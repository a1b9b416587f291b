// A folder mounted at DIR/<org> cannot be swapped: rename(2) refuses a mount point (EBUSY), whatever is tried again,
// so the refusal says so and what to do, never "run compile again" (src/write.ts swapStaged; review s38-cli m8).
// node:fs's renameSync is wrapped to refuse the output folder as the system refuses a mount point.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from './helpers';

let mounted: string | undefined;
let refusal: 'EBUSY' | 'EXDEV' = 'EBUSY';
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const renameSync: typeof fs.renameSync = (from, to) => {
    if (String(from) === mounted) throw Object.assign(new Error(`${refusal}: rename '${String(from)}'`), { code: refusal, syscall: 'rename' });
    fs.renameSync(from, to);
  };
  return { ...fs, default: { ...fs, renameSync }, renameSync };
});

const { OutputError, replaceOwnedFolder } = await import('../src/write');

// The writer's Ctrl-C handling listens for SIGINT and SIGTERM once it writes, as the CLI should; in this worker it would
// answer vitest's own SIGTERM at teardown: what it added is taken away again.
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
afterAll(() => {
  for (const signal of SIGNALS) for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
});

/** An output written to a new folder `name`/example, then replaced while its rename is refused with `code`: the error. */
function refusedSwap(name: string, code: typeof refusal): { dir: string; refused: unknown } {
  const dir = join(tempDir(name), 'example');
  const owner = { command: 'compile', org: 'example', orgFile: 'example.yaml' } as const;
  replaceOwnedFolder(dir, new Map([['a.txt', 'one\n']]), owner);
  mounted = dir;
  refusal = code;
  try {
    replaceOwnedFolder(dir, new Map([['a.txt', 'two\n']]), owner);
    return { dir, refused: undefined };
  } catch (error) {
    return { dir, refused: error };
  } finally {
    mounted = undefined;
    refusal = 'EBUSY';
  }
}

describe('a mount point as the output folder', () => {
  it('is refused as one, not retryable, and left as it was', () => {
    const { dir, refused } = refusedSwap('mount-point', 'EBUSY');
    expect(refused).toBeInstanceOf(OutputError);
    expect((refused as InstanceType<typeof OutputError>).message).toBe(
      `could not replace ${dir}: ${dir} is a mount point, and xstack replaces the folder by renaming it, which a mount point does not allow: mount its parent instead (its folder ${join(dir, '..')}), or choose another --out; it was left as it was`,
    );
    expect((refused as InstanceType<typeof OutputError>).retryable).toBe(false);
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('one\n');
    expect(readdirSync(join(dir, '..'))).toEqual(['example']);
  });

  it("overlayfs's EXDEV for a folder of a lower layer (a dist/ copied into a Docker image) is no mount point: said so, with the way past (review s38-helpers-diff H5)", () => {
    const { dir, refused } = refusedSwap('overlay-lower', 'EXDEV');
    expect((refused as Error).message).toMatch(new RegExp(`^could not replace ${dir}: this file system cannot rename it \\(.*a folder of a lower overlayfs layer, such as one copied into a Docker image, is so\\); it was left as it was: it is generated, so delete it \\(rm -rf ${dir}\\) and compile again`));
    expect((refused as Error).message).not.toContain('mount point');
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('one\n');
  });
});
