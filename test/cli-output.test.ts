// `xstack compile` writes only what it owns: one marked folder per org file,
// nothing else in the output folder touched, foreign folders refused. Run
// against the built CLI as a process, in temporary folders.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const CLI = resolve('.build/src/cli.js');
const EXAMPLE = resolve('parameters/example.yaml');
const GOVCLOUD = resolve('parameters/govcloud.yaml');

const xstack = (args: string[], cwd = process.cwd()) => spawnSync('node', [CLI, ...args], { cwd, encoding: 'utf8' });

const listFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
const readTree = (dir: string) => Object.fromEntries(listFiles(dir).sort().map((f) => [relative(dir, f), readFileSync(f, 'utf8')]));

describe('compile writes only what it owns', () => {
  it('keeps a notes file and a JS project’s dist/bundle.js next to the org folders it writes', () => {
    const project = tempDir('js-project');
    const dist = join(project, 'dist');
    mkdirSync(dist);
    writeFileSync(join(dist, 'bundle.js'), 'console.log(1);\n');
    writeFileSync(join(dist, 'NOTES.md'), 'my notes\n');
    const run = xstack(['compile', EXAMPLE, '--out', dist]);
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(join(dist, 'bundle.js'), 'utf8')).toBe('console.log(1);\n');
    expect(readFileSync(join(dist, 'NOTES.md'), 'utf8')).toBe('my notes\n');
    expect(readdirSync(dist).sort()).toEqual(['NOTES.md', 'bundle.js', 'example']);
    expect(readFileSync(join(dist, 'example', '.xstack-output'), 'utf8')).toMatch(/^Written by xstack \(compile of organization 'example'\)/);
    expect(existsSync(join(dist, 'example', 'manifest.json'))).toBe(true);
  });

  it("compiling one org keeps the other org's output", () => {
    const dist = join(tempDir('two-orgs'), 'dist');
    expect(xstack(['compile', EXAMPLE, GOVCLOUD, '--out', dist]).status).toBe(0);
    const govcloud = readTree(join(dist, 'govcloud'));
    writeFileSync(join(dist, 'example', 'manifest.json'), 'stale\n');
    const run = xstack(['compile', EXAMPLE, '--out', dist]);
    expect(run.status, run.stderr).toBe(0);
    expect(readTree(join(dist, 'govcloud'))).toEqual(govcloud);
    expect(readFileSync(join(dist, 'example', 'manifest.json'), 'utf8')).toMatch(/^\{\n {2}"format": "xstack-manifest\/1"/);
  });

  it('replaces its own folder as a whole: a file it no longer writes goes', () => {
    const dist = join(tempDir('replace'), 'dist');
    expect(xstack(['compile', EXAMPLE, '--out', dist]).status).toBe(0);
    writeFileSync(join(dist, 'example', 'templates', 'old-stage.yaml'), 'x: 1\n');
    expect(xstack(['compile', EXAMPLE, '--out', dist]).status).toBe(0);
    expect(existsSync(join(dist, 'example', 'templates', 'old-stage.yaml'))).toBe(false);
    expect(readdirSync(dist)).toEqual(['example']);
  });

  it('refuses a folder of the org’s name that it did not write, and changes nothing', () => {
    const dist = join(tempDir('foreign'), 'dist');
    mkdirSync(join(dist, 'example'), { recursive: true });
    writeFileSync(join(dist, 'example', 'report.txt'), 'mine\n');
    const before = readTree(dist);
    const run = xstack(['compile', EXAMPLE, '--out', dist]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`xstack: ${join(dist, 'example')} holds files xstack did not write (it has no .xstack-output marker); move them away, or choose another --out\n`);
    expect(readTree(dist)).toEqual(before);
    expect(readdirSync(dist)).toEqual(['example']);
  });

  it('refuses an output folder holding the org file, and keeps it', () => {
    const dir = tempDir('org-in-out');
    const org = join(dir, 'example.yaml');
    cpSync(EXAMPLE, org);
    const run = xstack(['compile', org, '--out', dir]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`xstack: --out ${dir} holds the organization file ${org}; keep organization files outside the output folder\n`);
    expect(readdirSync(dir)).toEqual(['example.yaml']);
    expect(readFileSync(org, 'utf8')).toBe(readFileSync(EXAMPLE, 'utf8'));
  });

  it('refuses --out . (and any folder above the current one) with one line, leaving no temporary folder', () => {
    const project = tempDir('dot');
    writeFileSync(join(project, 'README.md'), 'a project\n');
    for (const out of ['.', '..']) {
      const run = xstack(['compile', EXAMPLE, '--out', out], project);
      expect(run.status).toBe(1);
      expect(run.stderr).toBe(`xstack: --out ${out} is the current folder or one above it; xstack writes one folder per organization and needs a folder of its own (the default is dist)\n`);
    }
    expect(readdirSync(project)).toEqual(['README.md']);
  });

  it('refuses the root of a git repository', () => {
    const repo = tempDir('repo');
    mkdirSync(join(repo, '.git'));
    const run = xstack(['compile', EXAMPLE, '--out', repo]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('is the root of a git repository');
    expect(readdirSync(repo)).toEqual(['.git']);
  });

  it('removes a temporary folder a killed run left only when it is marked as its own', () => {
    const dist = join(tempDir('leftover'), 'dist');
    const ours = join(dist, 'example.xstack-tmp-99999');
    const theirs = join(dist, 'example.xstack-tmp-backup');
    mkdirSync(ours, { recursive: true });
    writeFileSync(join(ours, '.xstack-output'), 'Written by xstack (compile of organization \'example\'). …\n');
    mkdirSync(theirs);
    writeFileSync(join(theirs, 'keep.txt'), 'keep\n');
    expect(xstack(['compile', EXAMPLE, '--out', dist]).status).toBe(0);
    expect(readdirSync(dist).sort()).toEqual(['example', 'example.xstack-tmp-backup']);
    expect(readFileSync(join(theirs, 'keep.txt'), 'utf8')).toBe('keep\n');
  });

  it('audit writes into the org folder it owns, and refuses a foreign one', () => {
    const dir = tempDir('audit');
    const dist = join(dir, 'dist');
    expect(xstack(['compile', EXAMPLE, '--out', dist]).status).toBe(0);
    const run = xstack(['audit', EXAMPLE, '--out', join(dist, 'example', 'audit')]);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(join(dist, 'example', 'audit', '.xstack-output'))).toBe(false);
    mkdirSync(join(dir, 'docs'));
    writeFileSync(join(dir, 'docs', 'index.md'), '# docs\n');
    const refused = xstack(['audit', EXAMPLE, '--out', join(dir, 'docs')]);
    expect(refused.status).toBe(1);
    expect(readdirSync(join(dir, 'docs'))).toEqual(['index.md']);
  });
});
