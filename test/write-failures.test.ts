// A write that fails part-way leaves what the user had (src/write.ts; review s40-mutations 1 and 4): one file is
// written beside its target and renamed over it, so a full disk mid-write truncates nothing; a folder whose new
// output cannot be moved in gets its earlier output back. node:fs's writeFileSync and renameSync are wrapped to fail
// as a full disk or a refused rename would.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from './helpers';

/** While set, a write into this folder writes half its text, then fails with ENOSPC (or `failWriteCode`'s error). */
let failWritesIn: string | undefined;
let failWriteCode: { code: string; message: string } = { code: 'ENOSPC', message: 'ENOSPC: no space left on device' };
/** While set, the n-th rename from now fails with EACCES (1: the next one). */
let failRename: number | undefined;
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const writeFileSync = ((path: string, data: string, options?: unknown) => {
    if (failWritesIn !== undefined && String(path).startsWith(failWritesIn)) {
      fs.writeFileSync(path, String(data).slice(0, Math.floor(String(data).length / 2)), options as never);
      throw Object.assign(new Error(`${failWriteCode.message}, write`), { code: failWriteCode.code, syscall: 'write' });
    }
    return fs.writeFileSync(path, data, options as never);
  }) as typeof fs.writeFileSync;
  const renameSync: typeof fs.renameSync = (from, to) => {
    if (failRename !== undefined && --failRename === 0) {
      failRename = undefined;
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    }
    fs.renameSync(from, to);
  };
  return { ...fs, default: { ...fs, writeFileSync, renameSync }, writeFileSync, renameSync };
});

const { writeFileAtomic, replaceOwnedFolder, MARKER } = await import('../src/write');
const OWNER = { command: 'compile' as const, org: 'example', orgFile: 'parameters/example.yaml' };

describe('a write that fails part-way', () => {
  it('one file: a full disk while writing leaves the file as it was, its mode kept, and nothing beside it', () => {
    const dir = tempDir('write-atomic');
    const file = join(dir, 'config');
    writeFileSync(file, '[profile old]\nregion = eu-west-1\n', { mode: 0o600 });
    failWritesIn = dir;
    try {
      expect(() => writeFileAtomic(file, `[profile new]\n${'x'.repeat(1000)}\n`, `--write ${file}`)).toThrow(/could not write .*config .*; it was left as it was/);
    } finally {
      failWritesIn = undefined;
    }
    expect(readFileSync(file, 'utf8')).toBe('[profile old]\nregion = eu-west-1\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['config']);
  });

  it("the machine's other refusals (a disk quota, an error of the device, one node names only by its code) are said in a line, not as xstack's fault (review s46-cli m2)", () => {
    const dir = tempDir('write-refusals');
    const file = join(dir, 'config');
    writeFileSync(file, 'before\n');
    const cases = [
      { code: 'EDQUOT', message: 'EDQUOT: disk quota exceeded', said: /could not write .*config \(the disk quota is used up\); it was left as it was/ },
      { code: 'EIO', message: 'EIO: i/o error', said: /\(an input\/output error of the device\)/ },
      { code: 'EREMOTEIO', message: 'EREMOTEIO: remote I/O error', said: /\(remote I\/O error \(EREMOTEIO\)\); it was left as it was/ },
    ];
    for (const { code, message, said } of cases) {
      failWritesIn = dir;
      failWriteCode = { code, message };
      try {
        expect(() => writeFileAtomic(file, 'after\n', `--write ${file}`), code).toThrow(said);
      } finally {
        failWritesIn = undefined;
        failWriteCode = { code: 'ENOSPC', message: 'ENOSPC: no space left on device' };
      }
      expect(readFileSync(file, 'utf8')).toBe('before\n');
    }
  });

  it("compile: a layout file a full disk refuses stops the compile before dist/ is swapped, exit 1, dist/ and the layout as they were (review s46-cli m1: a warning, exit 0, the manifest recording a layout not on disk)", async () => {
    const { main } = await import('../src/cli');
    const dir = tempDir('layout-full-disk');
    const orgDir = join(dir, 'org');
    mkdirSync(orgDir);
    const orgFile = join(orgDir, 'example.yaml');
    cpSync('parameters/example.yaml', orgFile);
    const out = join(dir, 'dist');
    const quiet = [vi.spyOn(process.stdout, 'write').mockReturnValue(true), vi.spyOn(process.stderr, 'write').mockReturnValue(true)];
    try {
      expect(await main(['compile', orgFile, '--out', out])).toBe(0);
      const manifest = readFileSync(join(out, 'example', 'manifest.json'), 'utf8');
      // A first compile again (its layout file gone): the write of the new one fails.
      writeFileSync(orgFile, `${readFileSync(orgFile, 'utf8')}\n# edited\n`);
      const layoutFile = join(orgDir, 'example.layout.json');
      const { rmSync } = await import('node:fs');
      rmSync(layoutFile);
      failWritesIn = orgDir;
      try {
        expect(await main(['compile', orgFile, '--out', out])).toBe(1);
      } finally {
        failWritesIn = undefined;
      }
      const said = quiet[1].mock.calls.map((c) => String(c[0])).join('');
      expect(said).toMatch(/could not write .*example\.layout\.json \(no space left on the device\); nothing was written: it would record this compile's /);
      expect(readFileSync(join(out, 'example', 'manifest.json'), 'utf8')).toBe(manifest);
      expect(existsSync(layoutFile)).toBe(false);
      expect(readdirSync(orgDir)).toEqual(['example.yaml']);
      expect(readdirSync(dir).sort()).toEqual(['dist', 'org']);
      expect(readdirSync(out)).toEqual(['example']);
    } finally {
      for (const spy of quiet) spy.mockRestore();
    }
  });

  it('a folder: when the new output cannot be moved in, the earlier one is put back, and nothing is left beside it', () => {
    const parent = tempDir('write-swap');
    const dir = join(parent, 'example');
    replaceOwnedFolder(dir, new Map([['templates/a.yaml', 'first\n']]), OWNER);
    // The earlier output is moved aside (the first rename), the new one refused its place (the second).
    failRename = 2;
    try {
      expect(() => replaceOwnedFolder(dir, new Map([['templates/a.yaml', 'second\n']]), OWNER)).toThrow(/could not write .*example .*; it was left as it was/);
    } finally {
      failRename = undefined;
    }
    expect(readFileSync(join(dir, 'templates', 'a.yaml'), 'utf8')).toBe('first\n');
    expect(existsSync(join(dir, MARKER))).toBe(true);
    expect(readdirSync(parent).filter((name) => name.includes('.xstack-'))).toEqual([]);
    // The next run replaces it as usual.
    replaceOwnedFolder(dir, new Map([['templates/a.yaml', 'third\n']]), OWNER);
    expect(readFileSync(join(dir, 'templates', 'a.yaml'), 'utf8')).toBe('third\n');
    expect(readdirSync(parent)).toEqual(['example']);
  });
});
