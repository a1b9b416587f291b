// Paths given to compile, audit and schema that are not what they look like: names too long, links in a loop or to
// the current folder, a blank --out, the compile's root as audit --out, a link as DIR/<org>. Each is refused in words
// before anything is written, and leaves nothing behind. Run against the built CLI, in temporary folders.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_ORG, runCli, tempDir } from './helpers';

/** A folder holding a copy of parameters/example.yaml as example.yaml. */
function project(name: string): string {
  const dir = tempDir(name);
  cpSync(EXAMPLE_ORG, join(dir, 'example.yaml'));
  return dir;
}

describe('names the file system refuses (review s38-cli M10)', () => {
  it('a name in --out too long: said in words, and the folders made for it removed', () => {
    const dir = project('too-long');
    const out = join('o7', 'a'.repeat(300));
    const run = runCli(['compile', 'example.yaml', '--out', out], dir);
    expect([run.status, run.stderr]).toEqual([1, `xstack: could not write ${join(out, 'example')} (a name in the path is too long for the file system); nothing was written\n`]);
    expect(readdirSync(dir)).toEqual(['example.yaml']);
  });

  it("a name that fits the file system but not the names xstack writes beside it: said so, not blamed on the path (review s38-helpers-diff H9)", () => {
    const dir = project('room-beside');
    const out = join('reports', 'r'.repeat(240));
    const audit = runCli(['audit', 'example.yaml', '--out', out], dir);
    expect([audit.status, audit.stderr]).toEqual([1, `xstack: ${out}: its name is 240 bytes: xstack writes .<name>.xstack-lock.<id> and <name>.xstack-tmp-<id> beside it, and a file system takes at most 255 bytes for a name, so this one may have at most 234; choose a shorter --out\n`]);
    const schema = runCli(['schema', '--out', `${'s'.repeat(245)}.json`], dir);
    expect(schema.status).toBe(1);
    expect(schema.stderr).toContain('its name is 250 bytes: xstack writes <name>.xstack-tmp-<id> beside it');
    expect(readdirSync(dir)).toEqual(['example.yaml']);
  });

  it('an org file name too long for the names xstack makes from it: refused, naming it, before anything is written', () => {
    const dir = tempDir('long-stem');
    const stem = 'q'.repeat(250);
    cpSync(EXAMPLE_ORG, join(dir, `${stem}.yaml`));
    const run = runCli(['compile', `${stem}.yaml`, '--out', 'd'], dir);
    expect([run.status, run.stderr]).toEqual([
      1,
      `xstack: ${stem}.yaml: an org file's name without its extension names its output folder (dist/<name>/), and '${stem}' is 250 bytes long, and the names xstack makes from it must fit a file system's 255 bytes: at most 200; rename the file, e.g. to org.yaml\nNothing was written.\n`,
    ]);
    expect(readdirSync(dir)).toEqual([`${stem}.yaml`]);
  });

  it.runIf(existsSync('/proc/self'))('a folder under /proc, where node\'s recursive mkdir loops forever (parent EEXIST, child ENOENT): refused at once, nothing written (review s59-cli m7)', () => {
    const dir = project('proc');
    const run = spawnSync(process.execPath, [resolve('.build/src/cli.js'), 'compile', 'example.yaml', '--out', '/proc/xstack-no-such'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    expect(run.signal).toBeNull();
    expect([run.status, run.stderr]).toEqual([1, 'xstack: could not write /proc/xstack-no-such/example (no such file or folder); nothing was written\n']);
  });

  it('links that point at each other, as --out of compile and of schema: said in words, the links left as they were', () => {
    const dir = project('link-loop');
    symlinkSync('b', join(dir, 'a'));
    symlinkSync('a', join(dir, 'b'));
    const compile = runCli(['compile', 'example.yaml', '--out', 'a'], dir);
    expect([compile.status, compile.stderr]).toEqual([1, 'xstack: could not write a/example (too many symbolic links in the path, perhaps links that point at each other); nothing was written\n']);
    const schema = runCli(['schema', '--out', 'a'], dir);
    expect([schema.status, schema.stderr]).toEqual([1, 'xstack: could not write a (too many symbolic links in the path, perhaps links that point at each other); it was left as it was\n']);
    expect([readlinkSync(join(dir, 'a')), readlinkSync(join(dir, 'b'))]).toEqual(['b', 'a']);
    expect(readdirSync(dir).sort()).toEqual(['a', 'b', 'example.yaml']);
  });
});

describe('--out given as a path that is not what it looks like', () => {
  it.each([
    ['compile', ['compile', 'example.yaml']],
    ['audit', ['audit', 'example.yaml']],
    ['schema', ['schema']],
  ])('an empty or blank --out of %s is a usage error, and nothing is written (review s38-cli m5)', (command, args) => {
    const dir = project(`blank-out-${command}`);
    for (const [out, what] of [['', 'empty'], [' ', 'only white space']]) {
      const run = runCli([...args, '--out', out], dir);
      expect([run.status, run.stderr]).toEqual([64, `xstack: --out ${JSON.stringify(out)}: the path is ${what}; give the path to write (was a shell variable unset?)\n(run 'xstack ${command} --help' for usage)\n`]);
    }
    expect(readdirSync(dir)).toEqual(['example.yaml']);
  });

  it('a link to the current folder is the current folder, refused as --out . is (review s38-cli m6)', () => {
    const dir = project('link-to-here');
    symlinkSync('.', join(dir, 'here'));
    const run = runCli(['compile', 'example.yaml', '--out', 'here'], dir);
    expect([run.status, run.stderr]).toEqual([1, 'xstack: --out here is the current folder or one above it; xstack writes one folder per organization and needs a folder of its own (the default is dist)\n']);
    expect(readdirSync(dir).sort()).toEqual(['example.yaml', 'here']);
  });

  it("audit --out the compile's output root: said to hold xstack's output folders, not files xstack did not write (review s38-cli m7)", () => {
    const dir = project('audit-root');
    expect(runCli(['compile', 'example.yaml', '--out', 'dist'], dir).status).toBe(0);
    const run = runCli(['audit', 'example.yaml', '--out', 'dist'], dir);
    expect([run.status, run.stderr]).toEqual([
      1,
      "xstack: dist holds xstack's output folders (dist/example/), each written on its own, and is not one itself; give audit a folder of its own with --out (default audit/example)\n",
    ]);
    expect(readdirSync(join(dir, 'dist'))).toEqual(['example']);
  });

  it('DIR/<org> a link to a folder: said to be a link, not "not a folder" (review s38-cli m12)', () => {
    const dir = project('org-link');
    mkdirSync(join(dir, 'userdir'));
    mkdirSync(join(dir, 'out'));
    symlinkSync('../userdir', join(dir, 'out', 'example'));
    const run = runCli(['compile', 'example.yaml', '--out', 'out'], dir);
    expect([run.status, run.stderr]).toEqual([
      1,
      'xstack: out/example is a symbolic link (to ../userdir); xstack writes a folder of its own there, never through a link: remove the link, or choose another --out\n',
    ]);
    expect(readdirSync(join(dir, 'userdir'))).toEqual([]);
  });
});
