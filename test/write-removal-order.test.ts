// An earlier output is removed with what marks it as xstack's last (src/write.ts removeOwned; review s30-cli m4): a
// run killed while removing it leaves a folder the next run still recognises and removes, not an unmarked one it must
// leave beside the output for ever. node:fs's rmSync is wrapped to record the order and to stop, as a kill would.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from './helpers';

const removed: string[] = [];
let stopAfter = Infinity;
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const rmSync: typeof fs.rmSync = (path, options) => {
    if (removed.length >= stopAfter) throw Object.assign(new Error('killed'), { code: 'EINTR' });
    removed.push(String(path));
    fs.rmSync(path, options);
  };
  return { ...fs, default: { ...fs, rmSync }, rmSync };
});

const { removeOwned, MARKER } = await import('../src/write');

function earlierOutput(): string {
  const dir = join(tempDir('removal-order'), 'example.xstack-old-999999');
  mkdirSync(join(dir, 'templates'), { recursive: true });
  mkdirSync(join(dir, 'audit'));
  writeFileSync(join(dir, MARKER), 'Written by xstack compile\n');
  writeFileSync(join(dir, 'manifest.json'), '{}\n');
  writeFileSync(join(dir, 'templates', 'a.yaml'), 'a\n');
  writeFileSync(join(dir, 'audit', 'report.md'), 'r\n');
  return dir;
}

describe('an earlier output is removed marker last', () => {
  it('the manifest and the marker are the last two things removed', () => {
    removed.length = 0;
    stopAfter = Infinity;
    const dir = earlierOutput();
    removeOwned(dir);
    expect(removed.slice(-2)).toEqual([join(dir, 'manifest.json'), join(dir, MARKER)]);
    expect(removed).toHaveLength(4);
  });

  it('stopped at any step before the end, the folder still holds its marker', () => {
    for (let step = 0; step < 3; step++) {
      removed.length = 0;
      stopAfter = step;
      const dir = earlierOutput();
      expect(() => removeOwned(dir)).toThrow('killed');
      expect(readdirSync(dir)).toContain(MARKER);
    }
    stopAfter = Infinity;
  });
});
