// A folder mounted at DIR/<org> cannot be swapped: rename(2) refuses a mount point (EBUSY), whatever is tried again,
// so the refusal says so and what to do, never "run compile again" (src/write.ts swapStaged; review s38-cli m8).
// node:fs's renameSync is wrapped to refuse the output folder as the system refuses a mount point.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from './helpers';

let mounted: string | undefined;
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const renameSync: typeof fs.renameSync = (from, to) => {
    if (String(from) === mounted) throw Object.assign(new Error(`EBUSY: resource busy or locked, rename '${String(from)}'`), { code: 'EBUSY', syscall: 'rename' });
    fs.renameSync(from, to);
  };
  return { ...fs, default: { ...fs, renameSync }, renameSync };
});

const { OutputError, replaceOwnedFolder } = await import('../src/write');

describe('a mount point as the output folder', () => {
  it('is refused as one, not retryable, and left as it was', () => {
    const dir = join(tempDir('mount-point'), 'example');
    const owner = { command: 'compile', org: 'example', orgFile: 'example.yaml' } as const;
    replaceOwnedFolder(dir, new Map([['a.txt', 'one\n']]), owner);
    mounted = dir;
    let refused: unknown;
    try {
      replaceOwnedFolder(dir, new Map([['a.txt', 'two\n']]), owner);
    } catch (error) {
      refused = error;
    } finally {
      mounted = undefined;
    }
    expect(refused).toBeInstanceOf(OutputError);
    expect((refused as InstanceType<typeof OutputError>).message).toBe(
      `could not replace ${dir}: ${dir} is a mount point, and xstack replaces the folder by renaming it, which a mount point does not allow: mount its parent instead (its folder ${join(dir, '..')}), or choose another --out; it was left as it was`,
    );
    expect((refused as InstanceType<typeof OutputError>).retryable).toBe(false);
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('one\n');
    expect(readdirSync(join(dir, '..'))).toEqual(['example']);
  });
});
