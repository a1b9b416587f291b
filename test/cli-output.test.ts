// `xstack compile` writes only what it owns: one marked folder per org file,
// nothing else in the output folder touched, foreign folders refused. Run
// against the built CLI as a process, in temporary folders.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers';
import { workTreeOf } from '../src/org/recorded-path';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';

const CLI = resolve('.build/src/cli.js');
/** A process id no process can have: Linux's pid_max is at most 2^22 (proc(5), /proc/sys/kernel/pid_max). */
const NO_PROCESS = 2 ** 22 + 1;
const EXAMPLE = resolve('parameters/example.yaml');
const GOVCLOUD = resolve('parameters/govcloud.yaml');

const xstack = (args: string[], cwd = process.cwd()) => spawnSync('node', [CLI, ...args], { cwd, encoding: 'utf8' });

/**
 * Runs as a user whom permissions bind: root ignores them, so as root the CLI runs as nobody, in a temporary
 * folder everyone may write; the files it writes are then nobody's, and chmod takes their write bit away.
 */
const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
const xstackAsUser = (args: string[]) => spawnSync('node', [CLI, ...args], { encoding: 'utf8', ...asUser });
const sharedTempDir = (name: string) => {
  const dir = tempDir(name);
  chmodSync(dir, 0o777);
  return dir;
};

const listFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
const readTree = (dir: string) => Object.fromEntries(listFiles(dir).sort().map((f) => [relative(dir, f), readFileSync(f, 'utf8')]));

describe('the org file as the outputs record it', () => {
  it('is the same whichever folder compile runs in and however the path is typed: relative to its git work tree, never an absolute path', () => {
    // A work tree of its own (a folder holding .git, as src/org/recorded-path.ts finds one), so the test holds in a copy of
    // this repository that is none (review s40-mutations).
    const tree = tempDir('work-tree');
    mkdirSync(join(tree, '.git'));
    mkdirSync(join(tree, 'parameters'));
    for (const name of ['example.yaml', 'example.layout.json', 'org.schema.json']) copyFileSync(join('parameters', name), join(tree, 'parameters', name));
    const outs = ['typed', 'absolute', 'from-inside'].map((n) => tempDir(`recorded-${n}`));
    for (const [args, cwd] of [
      [['compile', 'parameters/example.yaml', '--out', outs[0]], tree],
      [['compile', join(tree, 'parameters', 'example.yaml'), '--out', outs[1]], process.cwd()],
      [['compile', 'example.yaml', '--out', outs[2]], join(tree, 'parameters')],
    ] as Array<[string[], string]>) {
      const run = xstack(args, cwd);
      expect(run.status, run.stderr).toBe(0);
    }
    const [typed, absolute, inside] = outs.map((o) => readTree(join(o, 'example')));
    expect(absolute).toEqual(typed);
    expect(inside).toEqual(typed);
    expect(JSON.parse(typed['manifest.json']).source.orgFile).toBe('parameters/example.yaml');
    expect(Object.values(typed).some((text) => text.includes(tree))).toBe(false);
  });

  it("outside a git work tree: as typed when it is relative and inside the current folder, else by its name alone, never with '..' (review s42-mutations-4 RC1)", () => {
    const folder = tempDir('no-work-tree');
    expect(workTreeOf(folder), 'the temporary folder is in no git work tree').toBeUndefined();
    mkdirSync(join(folder, 'parameters'));
    mkdirSync(join(folder, 'run'));
    for (const name of ['example.yaml', 'example.layout.json']) copyFileSync(join('parameters', name), join(folder, 'parameters', name));
    const recorded = (args: string[], cwd: string) => {
      const out = tempDir('recorded-outside');
      const run = xstack(['compile', ...args, '--out', out], cwd);
      expect(run.status, run.stderr).toBe(0);
      return JSON.parse(readFileSync(join(out, 'example', 'manifest.json'), 'utf8')).source.orgFile;
    };
    expect(recorded(['parameters/example.yaml'], folder)).toBe('parameters/example.yaml');
    expect(recorded(['../parameters/example.yaml'], join(folder, 'run'))).toBe('example.yaml');
    expect(recorded([join(folder, 'parameters', 'example.yaml')], process.cwd())).toBe('example.yaml');
  });
});

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
    const template = readFileSync(join(dist, 'example', 'templates', 'pipelines.yaml'), 'utf8');
    rmSync(join(dist, 'example', 'templates', 'pipelines.yaml'));
    const run = xstack(['compile', EXAMPLE, '--out', dist]);
    expect(run.status, run.stderr).toBe(0);
    expect(readTree(join(dist, 'govcloud'))).toEqual(govcloud);
    expect(readFileSync(join(dist, 'example', 'templates', 'pipelines.yaml'), 'utf8')).toBe(template);
  });

  it('an edit to manifest.json or to the marker is refused and kept, as an edit to a template is; a marker from before the manifest record, and CRLF line ends, are not edits (review s38-cli M9)', () => {
    const dist = join(tempDir('manifest-edit'), 'dist');
    expect(xstack(['compile', EXAMPLE, '--out', dist]).status).toBe(0);
    const folder = join(dist, 'example');
    const manifestFile = join(folder, 'manifest.json');
    const marker = join(folder, '.xstack-output');
    const [manifest, markerWritten] = [readFileSync(manifestFile, 'utf8'), readFileSync(marker, 'utf8')];
    expect(markerWritten).toContain(`\nmanifest.json SHA-256: ${createHash('sha256').update(manifest).digest('hex')}\n`);
    for (const [file, edited] of [
      [manifestFile, manifest.replace('{\n', '{\n  "reviewedBy": "Alice, SEC-123",\n')],
      [marker, `${markerWritten}# reviewed by Alice\n`],
    ]) {
      writeFileSync(file, edited);
      const run = xstack(['compile', EXAMPLE, '--out', dist]);
      expect([run.status, run.stderr]).toEqual([1, `xstack: ${folder} holds files changed since xstack wrote them (${file}); xstack replaces this folder as a whole, so nothing was written: move them out of ${folder} to keep them, or delete them (git checkout -- ${folder} restores a committed folder), then run again\n`]);
      expect(readFileSync(file, 'utf8')).toBe(edited);
      writeFileSync(file, file === marker ? markerWritten : manifest);
    }
    // Written by an xstack before the record: no manifest line, which the next compile adds; and the first marker
    // (f405b3c), which had no organization file line either (review s39-diff m1).
    for (const earlier of [markerWritten.replace(/manifest\.json SHA-256: .*\n/, ''), "Written by xstack (compile of organization 'example'). xstack replaces this folder as a whole on every run: keep nothing else in it.\n"]) {
      writeFileSync(marker, earlier);
      const run = xstack(['compile', EXAMPLE, '--out', dist]);
      expect(run.status, run.stderr).toBe(0);
      expect(readFileSync(marker, 'utf8')).toBe(markerWritten);
    }
    // A checkout with git's core.autocrlf.
    for (const file of [manifestFile, marker]) writeFileSync(file, readFileSync(file, 'utf8').replaceAll('\n', '\r\n'));
    expect(xstack(['compile', EXAMPLE, '--out', dist]).status).toBe(0);
    expect(readFileSync(marker, 'utf8')).toBe(markerWritten);
  });

  it("an org file whose name holds a quote and a parenthesis compiles, and audits, again over its own output: its marker reads as written (review s39-diff M1)", () => {
    const dir = tempDir('quoted-name');
    for (const name of ["bob's", "a')b"]) {
      cpSync(EXAMPLE, join(dir, `${name}.yaml`));
      for (const run of [1, 2]) {
        const compiled = xstack(['compile', `${name}.yaml`, '--out', 'dist'], dir);
        expect(compiled.status, `compile ${name}, run ${run}: ${compiled.stderr}`).toBe(0);
        const audited = xstack(['audit', `${name}.yaml`, '--out', `audit-${name}`], dir);
        expect(audited.status, `audit ${name}, run ${run}: ${audited.stderr}`).toBe(0);
      }
    }
  });

  it('replaces its own folder as a whole: a file it wrote and no longer writes goes', () => {
    const dist = join(tempDir('replace'), 'dist');
    expect(xstack(['compile', EXAMPLE, '--out', dist]).status).toBe(0);
    // A stage an earlier compile wrote, gone from the org file since: its manifest lists it.
    writeFileSync(join(dist, 'example', 'templates', 'old-stage.yaml'), 'x: 1\n');
    const manifestFile = join(dist, 'example', 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    manifest.files['templates/old-stage.yaml'] = { sha256: createHash('sha256').update('x: 1\n').digest('hex') };
    writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    // ... and the marker records that manifest's SHA-256, as the earlier compile wrote it.
    const marker = join(dist, 'example', '.xstack-output');
    writeFileSync(marker, readFileSync(marker, 'utf8').replace(/[0-9a-f]{64}\n$/, `${createHash('sha256').update(readFileSync(manifestFile)).digest('hex')}\n`));
    const run = xstack(['compile', EXAMPLE, '--out', dist]);
    expect(run.status, run.stderr).toBe(0);
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
    const ours = join(dist, `example.xstack-tmp-${NO_PROCESS}`);
    const theirs = join(dist, 'example.xstack-tmp-backup');
    mkdirSync(ours, { recursive: true });
    writeFileSync(join(ours, '.xstack-output'), 'Written by xstack (compile of organization \'example\'). …\n');
    mkdirSync(theirs);
    writeFileSync(join(theirs, 'keep.txt'), 'keep\n');
    expect(xstack(['compile', EXAMPLE, '--out', dist]).status).toBe(0);
    expect(readdirSync(dist).sort()).toEqual(['example', 'example.xstack-tmp-backup']);
    expect(readFileSync(join(theirs, 'keep.txt'), 'utf8')).toBe('keep\n');
  });

  it('audit writes outside the compile (audit/<org>/ by default), refuses a folder inside it, and refuses a foreign one', () => {
    const dir = tempDir('audit');
    const dist = join(dir, 'dist');
    expect(xstack(['compile', EXAMPLE, '--out', dist]).status).toBe(0);
    const compiled = readTree(dist);
    const run = xstack(['audit', EXAMPLE], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('audit/example/: audit.json, report.html, report.md, rollout.svg\n');
    expect(readdirSync(join(dir, 'audit', 'example')).sort()).toEqual(['.xstack-output', 'audit.json', 'report.html', 'report.md', 'rollout.svg']);
    const inside = xstack(['audit', EXAMPLE, '--out', 'dist/example/audit'], dir);
    expect(inside.status).toBe(1);
    expect(inside.stderr).toBe('xstack: dist/example/audit lies inside dist/example, which xstack writes and replaces as a whole; choose a folder outside it\n');
    expect(readTree(dist)).toEqual(compiled);
    // So --since reads the compile as it wrote it, as often as asked.
    for (let i = 0; i < 2; i++) expect(xstack(['audit', EXAMPLE, '--since', 'dist/example/'], dir).status).toBe(0);
    mkdirSync(join(dir, 'docs'));
    writeFileSync(join(dir, 'docs', 'index.md'), '# docs\n');
    const refused = xstack(['audit', EXAMPLE, '--out', join(dir, 'docs')]);
    expect(refused.status).toBe(1);
    expect(readdirSync(join(dir, 'docs'))).toEqual(['index.md']);
  });

  it('audit --since a folder whose audit.json changed after its compile says how to restore it', () => {
    const dir = tempDir('since-changed');
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
    appendFileSync(join(dir, 'dist', 'example', 'audit', 'audit.json'), ' ');
    const run = xstack(['audit', EXAMPLE, '--since', 'dist/example/'], dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      "xstack: --since dist/example/: dist/example/audit/audit.json does not match the SHA-256 its manifest.json records, so it is not what that compile wrote (an earlier xstack's 'xstack audit' wrote into dist/<org>/audit/ by default); restore the folder (git checkout -- dist/example/) or compile that revision again, then compare\n",
    );
  });

  it('audit --since: a folder that is not there, or whose manifest is not JSON (a merge left it conflicted), is named, never an internal error', () => {
    const dir = tempDir('since-broken');
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
    expect(xstack(['audit', EXAMPLE, '--since', 'nope'], dir).stderr).toBe('xstack: --since nope: no such file or folder; expected a dist/<org>/ folder of an earlier compile (or its manifest.json)\n');
    writeFileSync(join(dir, 'dist', 'example', 'manifest.json'), '<<<<<<< HEAD\n{}\n');
    const run = xstack(['audit', EXAMPLE, '--since', 'dist/example'], dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^xstack: --since dist\/example: dist\/example\/manifest\.json is not valid JSON \(it holds unresolved merge conflicts\): .*; restore the folder \(e\.g\. git checkout -- dist\/example\) or compile that revision again, then compare\n$/);
  });
});

describe("a user's files in an output folder are never lost", () => {
  it('files xstack did not write, or changed since: refused before anything is written, naming them; deleted or restored, the compile runs', () => {
    const dir = tempDir('user-files');
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
    const org = join(dir, 'dist', 'example');
    writeFileSync(join(org, 'NOTES.md'), 'my notes\n');
    mkdirSync(join(org, 'templates', 'custom'));
    writeFileSync(join(org, 'templates', 'custom', 'mine.yaml'), 'x: 1\n');
    appendFileSync(join(org, 'templates', 'pipelines.yaml'), '# my fix\n');
    const before = readTree(dir);
    const run = xstack(['compile', EXAMPLE, '--out', 'dist'], dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'xstack: dist/example holds files xstack did not write (dist/example/NOTES.md, dist/example/templates/custom/mine.yaml) and files changed since xstack wrote them (dist/example/templates/pipelines.yaml); ' +
        'xstack replaces this folder as a whole, so nothing was written: move them out of dist/example to keep them, or delete them (git checkout -- dist/example restores a committed folder), then run again\n',
    );
    expect(readTree(dir)).toEqual(before);
    expect(readdirSync(join(dir, 'dist'))).toEqual(['example']);
    // The folder the user's file was in goes with it: an empty one is the user's too.
    for (const file of ['NOTES.md', 'templates/custom', 'templates/pipelines.yaml']) rmSync(join(org, file), { recursive: true });
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
  });

  it("an empty folder of the user's in the output is refused like a file, not removed with the old output (review s30-cli m8)", () => {
    const dir = tempDir('user-folder');
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
    mkdirSync(join(dir, 'dist', 'example', 'mydir'));
    const run = xstack(['compile', EXAMPLE, '--out', 'dist'], dir);
    expect([run.status, run.stderr]).toEqual([
      1,
      'xstack: dist/example holds files xstack did not write (dist/example/mydir/); xstack replaces this folder as a whole, so nothing was written: move them out of dist/example to keep them, or delete them, then run again\n',
    ]);
    expect(existsSync(join(dir, 'dist', 'example', 'mydir'))).toBe(true);
    rmSync(join(dir, 'dist', 'example', 'mydir'), { recursive: true });
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
  });

  it('a manifest.json that is not xstack’s: refused, since nothing in the folder can be told apart', () => {
    const dir = tempDir('bad-manifest');
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
    writeFileSync(join(dir, 'dist', 'example', 'manifest.json'), '{"mine": true}\n');
    const run = xstack(['compile', EXAMPLE, '--out', 'dist'], dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      "xstack: dist/example/manifest.json is not the manifest xstack wrote, so xstack cannot tell its files in dist/example from yours and nothing was written: restore it (e.g. git checkout -- dist/example), or delete dist/example if nothing in it is yours\n",
    );
  });

  it("a manifest.json deleted: refused, a file edited in the folder kept, as with a manifest that is not xstack's (review s50-input M1)", () => {
    const dir = tempDir('no-manifest');
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
    rmSync(join(dir, 'dist', 'example', 'manifest.json'));
    const report = join(dir, 'dist', 'example', 'audit', 'report.md');
    writeFileSync(report, `${readFileSync(report, 'utf8')}# my notes\n`);
    const run = xstack(['compile', EXAMPLE, '--out', 'dist'], dir);
    expect([run.status, run.stderr]).toEqual([
      1,
      'xstack: dist/example/manifest.json is missing, so xstack cannot tell whether the files in dist/example were changed since it wrote them, and nothing was written: restore it (e.g. git checkout -- dist/example/manifest.json), or delete dist/example if nothing in it is yours\n',
    ]);
    expect(readFileSync(report, 'utf8')).toContain('# my notes\n');
    rmSync(join(dir, 'dist', 'example'), { recursive: true });
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
  });

  it('a folder a git merge left conflicted: said so, with the way that works (git checkout -- refuses unmerged paths)', () => {
    const dir = tempDir('conflicted');
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
    const manifest = join(dir, 'dist', 'example', 'manifest.json');
    const text = readFileSync(manifest, 'utf8');
    writeFileSync(manifest, `<<<<<<< HEAD\n${text}=======\n${text}>>>>>>> b1\n`);
    const run = xstack(['compile', EXAMPLE, '--out', 'dist'], dir);
    expect(run.stderr).toBe(
      'xstack: dist/example/manifest.json holds unresolved merge conflicts (git); dist/example is generated, so nothing was written: delete dist/example (rm -rf dist/example), compile again, then git add dist/example\n',
    );
    writeFileSync(manifest, text);
    const template = join(dir, 'dist', 'example', 'templates', 'pipelines.yaml');
    writeFileSync(template, `<<<<<<< HEAD\n${readFileSync(template, 'utf8')}>>>>>>> b1\n`);
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).stderr).toMatch(/^xstack: dist\/example\/templates\/pipelines\.yaml holds unresolved merge conflicts \(git\)/);
  });

  it('a checkout that wrote every file with CRLF line ends (git core.autocrlf) is still xstack\'s: replaced, not refused, and still known as its org file\'s', () => {
    const dir = tempDir('crlf');
    for (const env of ['dev', 'prod']) {
      mkdirSync(join(dir, env));
      cpSync(EXAMPLE, join(dir, env, 'example.yaml'));
    }
    expect(xstack(['compile', 'dev/example.yaml', '--out', 'dist'], dir).status).toBe(0);
    const files = listFiles(join(dir, 'dist', 'example'));
    for (const f of files) writeFileSync(f, readFileSync(f, 'utf8').replaceAll('\n', '\r\n'));
    // Another org file of the same name is refused, as with LF line ends (the marker's path read without its \r).
    expect(xstack(['compile', 'prod/example.yaml', '--out', 'dist'], dir).stderr).toMatch(/^xstack: dist\/example holds the compile of dev\/example\.yaml, not of prod\/example\.yaml/);
    const run = xstack(['compile', 'dev/example.yaml', '--out', 'dist'], dir);
    expect(run.stderr).toBe('');
    expect(readFileSync(join(dir, 'dist', 'example', 'manifest.json'), 'utf8')).not.toContain('\r');
  });

  it('a compile writing a folder another live xstack holds is refused, naming it; a lock a killed run left is taken over', () => {
    const dir = tempDir('locked');
    mkdirSync(join(dir, 'dist'));
    const lock = join(dir, 'dist', '.example.xstack-lock');
    // This test's own process stands for the other run: it is alive.
    writeFileSync(lock, `${process.pid}\n`);
    const refused = xstack(['compile', EXAMPLE, '--out', 'dist'], dir);
    expect(refused.status).toBe(1);
    // Its id alone, as an earlier xstack wrote it: the id may be another process's now, said with the way out (review s50-input m12).
    expect(refused.stderr).toBe(
      `xstack: another xstack (process ${process.pid}) is writing dist/example; nothing was written: run again when it has finished (dist/.example.xstack-lock is its lock, as an earlier xstack wrote it, with no start time: if no xstack runs as process ${process.pid}, delete the lock)\n`,
    );
    expect(readdirSync(join(dir, 'dist'))).toEqual(['.example.xstack-lock']);
    // As a lock now names it (id, machine, start): refused while that process runs.
    const start = readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ')[19];
    writeFileSync(lock, `${process.pid} ${hostname()} ${start}\n`);
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).stderr).toMatch(/^xstack: another xstack \(process \d+\) is writing/);
    // A run on another machine (a shared folder): refused whatever its id, naming the machine and the way out.
    writeFileSync(lock, `${NO_PROCESS} build-host-7 12345\n`);
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).stderr).toBe(
      `xstack: another xstack (process ${NO_PROCESS} on build-host-7) is writing dist/example; nothing was written: run again when it has finished (dist/.example.xstack-lock is its lock; this machine cannot see build-host-7's processes: delete the lock if that run has ended)\n`,
    );
    // A killed run's id given again to a live process (here this test's), which started after the lock was made: taken over.
    writeFileSync(lock, `${process.pid} ${hostname()} ${Number(start) - 1}\n`);
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
    writeFileSync(lock, `${NO_PROCESS}\n`);
    // And the temporary file a run killed before linking its lock left (its process gone), beside a file of the user's.
    writeFileSync(`${lock}.${NO_PROCESS}`, `${NO_PROCESS}\n`);
    writeFileSync(join(dir, 'dist', '.example.xstack-lock.mine'), 'keep\n');
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
    expect(readdirSync(join(dir, 'dist')).sort()).toEqual(['.example.xstack-lock.mine', 'example']);
  });

  it("audit --out takes the same lock: a folder another live xstack holds is refused and left alone, a killed run's lock taken over (review s40-mutations W4)", () => {
    const dir = tempDir('audit-locked');
    const lock = join(dir, '.bundle.xstack-lock');
    writeFileSync(lock, `${process.pid}\n`);
    const refused = xstack(['audit', EXAMPLE, '--out', 'bundle'], dir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(
      `xstack: another xstack (process ${process.pid}) is writing bundle; nothing was written: run again when it has finished (.bundle.xstack-lock is its lock, as an earlier xstack wrote it, with no start time: if no xstack runs as process ${process.pid}, delete the lock)\n`,
    );
    expect(readdirSync(dir)).toEqual(['.bundle.xstack-lock']);
    writeFileSync(lock, `${NO_PROCESS}\n`);
    expect(xstack(['audit', EXAMPLE, '--out', 'bundle'], dir).status).toBe(0);
    expect(readdirSync(dir)).toEqual(['bundle']);
  });

  it('the lock is held by one run at a time: six runs started at one instant, with and without a killed run\'s lock', async () => {
    const dir = tempDir('lock-race');
    const holdings = join(dir, 'holdings');
    // Each run: wait for the instant, take the lock, hold it 100 ms, release; record when it held it (or that it was refused).
    const script = [
      `const { lockOutput } = require(${JSON.stringify(resolve('.build/src/write.js'))});`,
      "const { appendFileSync } = require('node:fs');",
      'const [dist, at, out] = process.argv.slice(1);',
      'while (Date.now() < Number(at));',
      'let release;',
      "try { release = lockOutput(dist); } catch (e) { appendFileSync(out, 'refused\\n'); process.exit(0); }",
      'const from = Date.now(); while (Date.now() < from + 100);',
      "appendFileSync(out, `${from} ${Date.now()}\\n`);",
      'release();',
    ].join('\n');
    const dist = join(dir, 'dist', 'org');
    for (let round = 0; round < 8; round++) {
      rmSync(holdings, { force: true });
      mkdirSync(join(dir, 'dist'), { recursive: true });
      if (round % 2 === 1) writeFileSync(join(dir, 'dist', '.org.xstack-lock'), `${NO_PROCESS}\n`);
      const at = Date.now() + 500;
      await Promise.all(
        Array.from({ length: 6 }, () => new Promise((done) => spawn('node', ['-e', script, dist, String(at), holdings]).on('close', done))),
      );
      const lines = readFileSync(holdings, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(6);
      const held = lines.filter((l) => l !== 'refused').map((l) => l.split(' ').map(Number)).sort((a, b) => a[0] - b[0]);
      expect(held.length).toBeGreaterThan(0);
      for (let i = 1; i < held.length; i++) expect(held[i][0], `round ${round}: two runs held the lock at once`).toBeGreaterThanOrEqual(held[i - 1][1]);
      expect(existsSync(join(dir, 'dist', '.org.xstack-lock'))).toBe(false);
    }
  });

  it('two compiles at once into one folder never leave it half written: each ends whole or refused', async () => {
    const dir = tempDir('concurrent');
    expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
    const run = () => new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn('node', [CLI, 'compile', EXAMPLE, '--out', 'dist'], { cwd: dir });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => done({ code, stderr }));
    });
    for (let round = 0; round < 3; round++) {
      const runs = await Promise.all([run(), run(), run(), run()]);
      for (const r of runs) expect(r.code === 0 || /another xstack \(process \d+\) is writing dist\/example/.test(r.stderr), r.stderr).toBe(true);
      expect(runs.some((r) => r.code === 0)).toBe(true);
      expect(readdirSync(join(dir, 'dist'))).toEqual(['example']);
      expect(xstack(['compile', EXAMPLE, '--out', 'dist'], dir).status).toBe(0);
    }
  });

  it('two org files of one name (envs/dev/org.yaml, envs/prod/org.yaml) compiled to one --out: the second is refused, with the way out; a moved org file is no clash', () => {
    const dir = tempDir('same-stem');
    for (const env of ['dev', 'prod', 'moved']) {
      mkdirSync(join(dir, env));
      cpSync(EXAMPLE, join(dir, env, 'org.yaml'));
    }
    expect(xstack(['compile', 'dev/org.yaml', '--out', 'dist'], dir).status).toBe(0);
    expect(readFileSync(join(dir, 'dist', 'org', '.xstack-output'), 'utf8')).toMatch(/\nOrganization file: dev\/org\.yaml\nmanifest\.json SHA-256: [0-9a-f]{64}\n$/);
    const before = readTree(join(dir, 'dist'));
    const run = xstack(['compile', 'prod/org.yaml', '--out', 'dist'], dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      "xstack: dist/org holds the compile of dev/org.yaml, not of prod/org.yaml: two organization files of one name would replace each other's output; give prod/org.yaml another --out (or rename one of the files), or delete dist/org if the output of dev/org.yaml is no longer wanted\n",
    );
    expect(readTree(join(dir, 'dist'))).toEqual(before);
    // The same file however it is named; and once dev/org.yaml is gone (moved), its folder is no one else's.
    expect(xstack(['compile', './dev/../dev/org.yaml', '--out', 'dist'], dir).status).toBe(0);
    rmSync(join(dir, 'dev'), { recursive: true });
    expect(xstack(['compile', 'moved/org.yaml', '--out', 'dist'], dir).status).toBe(0);
  });

  it("an org file whose name gives no folder name ('..yaml', '...yaml') or a hidden one is refused, naming it, and nothing is written (review s18-input m2)", () => {
    const dir = tempDir('dot-names');
    for (const [name, why] of [['..yaml', "'.' is no folder name"], ['...yaml', "'..' is no folder name"], ['.org.yaml', "'.org' would be a hidden folder"]]) {
      cpSync(EXAMPLE, join(dir, name));
      const run = xstack(['compile', name, '--out', 'dist'], dir);
      expect(run.status, name).toBe(1);
      expect(run.stderr).toBe(`xstack: ${name}: an org file's name without its extension names its output folder (dist/<name>/), and ${why}; rename the file, e.g. to org.yaml\nNothing was written.\n`);
      expect(existsSync(join(dir, 'dist')), name).toBe(false);
    }
  });

  it('an org file whose name holds a line break is refused, the name quoted on one line, before anything is written (review s50-input m9: its Jenkinsfile comment broke, then its own output was refused)', () => {
    const dir = tempDir('control-names');
    const name = 'ex\nample.yaml';
    cpSync(EXAMPLE, join(dir, name));
    const run = xstack(['compile', name, '--out', 'dist'], dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `xstack: "ex\\nample.yaml": an org file's name without its extension names its output folder (dist/<name>/), and "ex\\nample" holds a control character (a line break, a tab), which the files written line by line from it (the output folder's marker, the Jenkinsfile's comments) cannot hold; rename the file, e.g. to org.yaml\nNothing was written.\n`,
    );
    expect(existsSync(join(dir, 'dist'))).toBe(false);
  });

  it("'-' and a pipe named as the org file are refused at once, not read as a file to rename or waited on forever (review s50-input N7)", () => {
    const dir = tempDir('not-files');
    const dash = xstack(['compile', '-', '--out', 'dist'], dir);
    expect(dash.status).toBe(1);
    expect(dash.stderr).toBe("xstack: '-' (standard input) is not read: an organization file is read by its path, beside which its layout file is kept and whose name names its output folder; give the path of an org file such as parameters/example.yaml\nNothing was written.\n");
    expect(spawnSync('mkfifo', [join(dir, 'pipe.yaml')]).status).toBe(0);
    const pipe = xstack(['compile', 'pipe.yaml', '--out', 'dist'], dir);
    expect(pipe.status).toBe(1);
    expect(pipe.stderr).toBe('xstack: cannot read the organization file pipe.yaml: it is not a regular file (a pipe, a socket or a device); give the path of an org file such as parameters/example.yaml\nNothing was written.\n');
    expect(existsSync(join(dir, 'dist'))).toBe(false);
  });

  it('the layout file or the schema given as the org file is said to be what it is, in one line, not read as an org file with a dozen problems (review s50-input m11)', () => {
    const dir = tempDir('own-files');
    cpSync(EXAMPLE, join(dir, 'example.yaml'));
    expect(xstack(['compile', 'example.yaml', '--out', 'dist'], dir).status).toBe(0);
    const layout = xstack(['compile', 'example.layout.json', '--out', 'dist'], dir);
    expect(layout.status).toBe(1);
    expect(layout.stderr).toBe(
      "xstack: example.layout.json is a layout file (xstack-layout/1: where each unit of an org's families is placed, written by compile beside the org file), not an organization file; give the org file beside it, such as example.yaml\ndist was left as it was.\n",
    );
    expect(xstack(['schema', '--out', 'org.schema.json'], dir).status).toBe(0);
    const schema = xstack(['compile', 'org.schema.json', '--out', 'dist'], dir);
    expect(schema.status).toBe(1);
    expect(schema.stderr).toBe("xstack: org.schema.json is the JSON Schema of organization files (written by 'xstack schema'), not an organization file; give an org file such as parameters/example.yaml\ndist was left as it was.\n");
  });

  it('an org file through a symbolic link: its layout file is the one beside the file it links to, and the file named both ways is compiled once (review s50-input m7)', () => {
    const dir = tempDir('linked-org');
    cpSync(EXAMPLE, join(dir, 'example.yaml'));
    expect(xstack(['compile', 'example.yaml', '--out', 'dist'], dir).status).toBe(0);
    const recorded = readFileSync(join(dir, 'example.layout.json'), 'utf8');
    mkdirSync(join(dir, 'sub'));
    symlinkSync('../example.yaml', join(dir, 'sub', 'example.yaml'));
    const linked = xstack(['compile', 'sub/example.yaml', '--out', 'out2'], dir);
    expect(linked.status).toBe(0);
    expect(existsSync(join(dir, 'sub', 'example.layout.json'))).toBe(false);
    expect(readFileSync(join(dir, 'example.layout.json'), 'utf8')).toBe(recorded);
    // Once, not refused as two org files of one prefix sharing accounts.
    const both = xstack(['compile', 'example.yaml', 'sub/example.yaml', '--out', 'dist'], dir);
    expect(both.status).toBe(0);
    expect(readdirSync(join(dir, 'dist')).filter((f) => !f.startsWith('.'))).toEqual(['example']);
  });

  it('an org file not named .yaml, .yml or .json is refused, naming the name to give it; a .json one beside a .yml of its name is refused as one name (review s46-cli m5)', () => {
    const dir = tempDir('org-extension');
    // The same-name check holds those three apart: ex.txt beside ex.yml would share a folder and a layout file unseen.
    for (const name of ['ex.txt', 'ex']) {
      cpSync(EXAMPLE, join(dir, name));
      const run = xstack(['compile', name, '--out', 'dist'], dir);
      expect(run.status, name).toBe(1);
      expect(run.stderr).toBe(`xstack: ${name}: an org file is named <name>.yaml, <name>.yml or <name>.json, whose <name> names its output folder (dist/<name>/) and its layout file (<name>.layout.json); rename it to ex.yaml\nNothing was written.\n`);
      expect(existsSync(join(dir, 'dist')), name).toBe(false);
      expect(existsSync(join(dir, 'ex.layout.json')), name).toBe(false);
    }
    // A JSON org file beside a YAML one of its name is refused; the YAML one compiles beside a JSON file, which may be
    // anything (a CloudFormation parameters file: review s46-diff m1), and a compile of that JSON is then refused.
    cpSync(EXAMPLE, join(dir, 'ex.json'));
    cpSync(EXAMPLE, join(dir, 'ex.yml'));
    const json = xstack(['compile', 'ex.json', '--out', 'dist'], dir);
    expect([json.status, json.stderr]).toEqual([1, expect.stringMatching(/have one name without their extension, so they would compile to one folder/)]);
    const yml = xstack(['compile', 'ex.yml', '--out', 'dist'], dir);
    expect(yml.status, yml.stderr).toBe(0);
    // A backup's name is told the name it had (review s46-diff n4).
    cpSync(EXAMPLE, join(dir, 'ex.yaml.bak'));
    expect(xstack(['compile', 'ex.yaml.bak', '--out', 'dist'], dir).stderr).toMatch(/; rename it to ex\.yaml\n/);
    // Any case of the extensions.
    cpSync(EXAMPLE, join(dir, 'upper.YML'));
    expect(xstack(['compile', 'upper.YML', '--out', 'dist'], dir).status).toBe(0);
  });

  it('one org file named twice is compiled once, not refused as clashing with itself', () => {
    const dir = tempDir('twice');
    cpSync(EXAMPLE, join(dir, 'org.yaml'));
    const run = xstack(['compile', 'org.yaml', './org.yaml', join(dir, 'org.yaml'), '--out', 'dist'], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.match(/→/g)).toHaveLength(1);
  });
});

describe('Ctrl-C', () => {
  it('during the write: the write ends whole, no staged folder is left beside the output, and the run ends 130 saying so', async () => {
    const dir = tempDir('interrupted');
    const org = join(dir, 'teams.yaml');
    writeFileSync(org, generateTeamsOrgYaml(100));
    const dist = join(dir, 'dist');
    const staged = () => existsSync(dist) && readdirSync(dist).some((n) => n.includes('.xstack-tmp-'));
    const result = await new Promise<{ seen: boolean; code: number | null; stderr: string }>((done) => {
      const child = spawn('node', [CLI, 'compile', org, '--out', dist], { cwd: dir });
      let seen = false;
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const poll = setInterval(() => {
        if (!seen && staged()) {
          seen = true;
          child.kill('SIGINT');
        }
      }, 1);
      child.on('close', (code) => {
        clearInterval(poll);
        done({ seen, code, stderr });
      });
    });
    // The staged folder was seen and the signal sent while it was there (else this run proves nothing: fail it).
    expect(result.seen).toBe(true);
    // Stopped as asked, once the write was done (a script's `compile && deploy` stops here): 128 + SIGINT.
    expect(result.code).toBe(130);
    expect(result.stderr).toBe('xstack: stopped by SIGINT after the output was written (it is whole)\n');
    expect(readdirSync(dist)).toEqual(['teams']);
    expect(existsSync(join(dist, 'teams', 'manifest.json'))).toBe(true);
    expect(xstack(['compile', org, '--out', dist], dir).status).toBe(0);
  });
});

describe('a rollout interrupted', () => {
  it('Ctrl-C during deploy says what became of the rollout and the command to run again, as given, and exits 130', async () => {
    const dir = tempDir('deploy-interrupted');
    writeFileSync(join(dir, 'example.yaml'), readFileSync(EXAMPLE, 'utf8'));
    const child = spawn('node', [CLI, 'deploy', 'example.yaml', '--local', '--yes'], {
      cwd: dir,
      env: { ...process.env, XSTACK_MOTO_SERVER: resolve(process.env.XSTACK_MOTO_SERVER ?? '.venv/bin/moto_server') },
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Interrupted once the rollout has begun (its first wave), not before.
    const code = await new Promise<number | null>((done) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (/wave 1/.test(stdout) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => done(c));
    });
    expect(stdout).toMatch(/wave 1/);
    expect(code).toBe(130);
    // Its own emulator (no xstack local running) stops with it; the command is said as given, flags included (review s23-diff D2).
    expect(stderr).toMatch(/xstack: stopped by SIGINT; the local AWS this run started has stopped with it, and all it held is gone: run 'xstack deploy example\.yaml --local --yes' again to start over\n$/);
  }, 120_000);
});

describe('single files (schema --out, the layout file, profiles --write)', () => {
  it('deploy refuses before its first operation when it cannot record the layout (LAYOUT_NOT_WRITTEN): here a read-only layout file', () => {
    const dir = tempDir('layout-unwritable');
    // A layout file that places no unit, made read-only (refused for root too: its mode has no write bit).
    writeFileSync(join(dir, 'org.yaml'), readFileSync(EXAMPLE, 'utf8'));
    writeFileSync(join(dir, 'org.layout.json'), '{\n  "format": "xstack-layout/1",\n  "families": {}\n}\n', { mode: 0o444 });
    const run = spawnSync('node', [CLI, 'deploy', 'org.yaml', '--local', '--yes'], {
      cwd: dir,
      encoding: 'utf8',
      // Run from another folder: the moto server the tests were given, as an absolute path.
      env: { ...process.env, XSTACK_MOTO_SERVER: resolve(process.env.XSTACK_MOTO_SERVER ?? '.venv/bin/moto_server') },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^xstack: the layout file org\.layout\.json is read-only \(mode 0444\); .*; this compile has \d+ units placed, .*; nothing was changed in AWS: deploy from a writable checkout \(or commit the layout file and deploy with --frozen-layout\)\n$/);
    // Bootstrap ran (the local emulator's accounts); no wave, no StackSet operation.
    expect(run.stdout).toContain('bootstrap (local):');
    expect(run.stdout).not.toMatch(/wave 1|create-stack-set|StackSet acme-/);
    expect(readdirSync(dir).sort()).toEqual(['org.layout.json', 'org.yaml']);
  });

  it('deploy refuses before its first operation when a full disk refuses the layout file (LAYOUT_NOT_WRITTEN, nothing changed in AWS; review s46-diff m2)', () => {
    const dir = tempDir('layout-full-disk');
    writeFileSync(join(dir, 'org.yaml'), readFileSync(EXAMPLE, 'utf8'));
    // The layout file's write fails as on a full disk (node's fs, patched before the CLI loads).
    const preload = join(dir, 'full-disk.cjs');
    writeFileSync(
      preload,
      "const fs = require('node:fs'); const write = fs.writeFileSync;\n" +
        "fs.writeFileSync = function (path, ...rest) { if (String(path).includes('.layout.json.xstack-tmp-')) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' }); return write.call(this, path, ...rest); };\n",
    );
    const run = spawnSync('node', ['-r', preload, CLI, 'deploy', 'org.yaml', '--local', '--yes'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, XSTACK_MOTO_SERVER: resolve(process.env.XSTACK_MOTO_SERVER ?? '.venv/bin/moto_server') },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^xstack: could not write org\.layout\.json \(no space left on the device\); nothing was written: it would record .*; nothing was changed in AWS: deploy again once it can be written\n$/);
    expect(run.stdout).not.toMatch(/wave 1|create-stack-set|StackSet acme-/);
    expect(readdirSync(dir).sort()).toEqual(['full-disk.cjs', 'org.yaml']);
  });

  it('a folder where the file should be is refused in one line; a link stays a link, the file it points to written', () => {
    const dir = tempDir('schema-out');
    mkdirSync(join(dir, 'schemas'));
    const folder = xstack(['schema', '--out', 'schemas'], dir);
    expect(folder.status).toBe(1);
    expect(folder.stderr).toBe('xstack: --out schemas is a folder; give the file to write in it\n');
    // An earlier schema xstack wrote (titled as ours, stamped), through a link.
    writeFileSync(join(dir, 'schemas', 'org.json'), olderSchema(xstack(['schema'], dir).stdout));
    symlinkSync(join(dir, 'schemas', 'org.json'), join(dir, 'org.schema.json'));
    expect(xstack(['schema', '--out', 'org.schema.json'], dir).status).toBe(0);
    expect(lstatSync(join(dir, 'org.schema.json')).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'schemas', 'org.json'), 'utf8')).$schema).toMatch(/json-schema/);
    expect(readdirSync(join(dir, 'schemas'))).toEqual(['org.json']);
  });
});

/**
 * The stamp `schema` writes in `$comment` (src/org/json-schema.ts), made again here from its description: the SHA-256
 * of the text with the stamp's 64 digits zeroed.
 */
const STAMP = /(SHA-256 of this text with these digits zeroed: )([0-9a-f]{64})/;
const restamped = (text: string) => {
  const zeroed = text.replace(STAMP, `$1${'0'.repeat(64)}`);
  return zeroed.replace(STAMP, `$1${createHash('sha256').update(zeroed).digest('hex')}`);
};
/** A schema as an earlier xstack would have written it: another description, stamped by that xstack. */
const olderSchema = (current: string) => restamped(current.replace('"type": "object",', '"type": "object",\n  "description": "older",'));

describe('schema --out replaces an earlier schema only, keeping its mode (review s30-cli M1, m2, m3)', () => {
  it("the org file, a user's JSON and a file that is not JSON are refused and left byte for byte", () => {
    const dir = tempDir('schema-not-ours');
    cpSync(EXAMPLE, join(dir, 'example.yaml'));
    writeFileSync(join(dir, 'settings.json'), '{ "title": "my settings" }\n');
    writeFileSync(join(dir, 'notes.txt'), 'precious\n');
    for (const file of ['example.yaml', 'settings.json', 'notes.txt']) {
      const before = readFileSync(join(dir, file));
      const run = xstack(['schema', '--out', file], dir);
      expect([run.status, run.stderr]).toEqual([
        1,
        `xstack: --out ${file} exists and is not a schema xstack wrote (a JSON Schema titled "xstack organization file"); it was left as it was: choose another path, or delete or move that file first\n`,
      ]);
      expect(readFileSync(join(dir, file))).toEqual(before);
    }
    expect(readdirSync(dir).sort()).toEqual(['example.yaml', 'notes.txt', 'settings.json']);
  });

  it('a schema made read-only is refused, for root too (access(W_OK) passes for root; the mode bits decide); a writable one keeps its mode', () => {
    const dir = tempDir('schema-modes');
    expect(xstack(['schema', '--out', 'org.schema.json'], dir).status).toBe(0);
    const written = readFileSync(join(dir, 'org.schema.json'), 'utf8');
    // An earlier xstack's, so that the next run has to write it; 0600, which it keeps.
    writeFileSync(join(dir, 'org.schema.json'), olderSchema(written));
    chmodSync(join(dir, 'org.schema.json'), 0o600);
    expect(xstack(['schema', '--out', 'org.schema.json'], dir).status).toBe(0);
    expect(readFileSync(join(dir, 'org.schema.json'), 'utf8')).toBe(written);
    expect(statSync(join(dir, 'org.schema.json')).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, 'org.schema.json'), olderSchema(written));
    chmodSync(join(dir, 'org.schema.json'), 0o444);
    const before = readFileSync(join(dir, 'org.schema.json'), 'utf8');
    const run = xstack(['schema', '--out', 'org.schema.json'], dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^xstack: --out org\.schema\.json is read-only.* \(mode 0444\); /);
    expect(readFileSync(join(dir, 'org.schema.json'), 'utf8')).toBe(before);
    expect(statSync(join(dir, 'org.schema.json')).mode & 0o777).toBe(0o444);
  });
  it('a schema of ours that was changed since, or that carries no stamp, is refused and left byte for byte; one checked out with CRLF line ends is replaced (review s38-cli m10)', () => {
    const dir = tempDir('schema-customised');
    expect(xstack(['schema', '--out', 'org.schema.json'], dir).status).toBe(0);
    const written = readFileSync(join(dir, 'org.schema.json'), 'utf8');
    expect(written).toMatch(STAMP);
    const customised = written.replace('"type": "object",', '"type": "object",\n  "description": "our own words",');
    const unstamped = written.replace(STAMP, 'no stamp');
    for (const [text, reason] of [
      [customised, "is a schema xstack wrote, changed since (its $comment's SHA-256 no longer matches its text), so the changes may be yours"],
      [unstamped, "is titled as xstack's schema but has no stamp (its $comment), so xstack cannot tell it from a copy you changed (an xstack before the stamp wrote none)"],
    ]) {
      writeFileSync(join(dir, 'org.schema.json'), text);
      const run = xstack(['schema', '--out', 'org.schema.json'], dir);
      expect([run.status, run.stderr]).toEqual([1, `xstack: --out org.schema.json ${reason}; it was left as it was: choose another path, or delete or move that file first\n`]);
      expect(readFileSync(join(dir, 'org.schema.json'), 'utf8')).toBe(text);
    }
    writeFileSync(join(dir, 'org.schema.json'), olderSchema(written).replaceAll('\n', '\r\n'));
    expect(xstack(['schema', '--out', 'org.schema.json'], dir).status).toBe(0);
    expect(readFileSync(join(dir, 'org.schema.json'), 'utf8')).toBe(written);
  });
});

describe('compile and audit never write over each other\'s folder', () => {
  it('audit --out onto a compile\'s folder, and compile --out onto an audit\'s: refused with the true reason, both left as they were (review s23 E12)', () => {
    const dir = tempDir('compile-audit');
    cpSync(EXAMPLE, join(dir, 'example.yaml'));
    expect(xstack(['compile', 'example.yaml', '--out', 'out'], dir).status).toBe(0);
    const compiled = readTree(join(dir, 'out'));
    const audit = xstack(['audit', 'example.yaml', '--out', 'out/example'], dir);
    expect([audit.status, audit.stderr]).toEqual([
      1,
      "xstack: out/example holds the compile of example.yaml (templates, values, manifest.json), which xstack compile wrote; audit writes a folder of its own, apart from the compile's: choose another --out (default audit/example)\n",
    ]);
    expect(readTree(join(dir, 'out'))).toEqual(compiled);
    expect(xstack(['audit', 'example.yaml', '--out', 'au2/example'], dir).status).toBe(0);
    const audited = readTree(join(dir, 'au2'));
    const compile = xstack(['compile', 'example.yaml', '--out', 'au2'], dir);
    expect([compile.status, compile.stderr]).toEqual([
      1,
      "xstack: au2/example holds the audit bundle of example.yaml, which xstack audit wrote; compile writes a folder of its own, apart from the audit's: choose another --out (default dist)\n",
    ]);
    expect(readTree(join(dir, 'au2'))).toEqual(audited);
  });

  it('a folder compiled before the marker existed (its manifest only) is a compile\'s too', () => {
    const dir = tempDir('compile-audit-old');
    cpSync(EXAMPLE, join(dir, 'example.yaml'));
    expect(xstack(['compile', 'example.yaml', '--out', 'out'], dir).status).toBe(0);
    rmSync(join(dir, 'out', 'example', '.xstack-output'));
    expect(xstack(['audit', 'example.yaml', '--out', 'out/example'], dir).stderr).toMatch(/^xstack: out\/example holds the compile \(templates, values, manifest\.json\), which xstack compile wrote; /);
    expect(existsSync(join(dir, 'out', 'example', 'manifest.json'))).toBe(true);
  });
});

describe('a path whose ~ the shell did not expand (--out=~/dist, a quoted "~/dist")', () => {
  it.each([
    [['compile', EXAMPLE, '--out=~/dist'], '--out', '~/dist', 'compile'],
    [['audit', EXAMPLE, '--out=~/audit'], '--out', '~/audit', 'audit'],
    [['schema', '--out', '~/org.schema.json'], '--out', '~/org.schema.json', 'schema'],
    [['profiles', EXAMPLE, '--for', 'developer', '--write=~/.aws/config'], '--write', '~/.aws/config', 'profiles'],
    [['profiles', EXAMPLE, '--for', 'ci', '--write', '~alice/.aws/config'], '--write', '~alice/.aws/config', 'profiles'],
  ])('%j: a usage error saying what to type, and no folder named ~ made (review s23 E3)', (args, option, path, command) => {
    const dir = tempDir('tilde');
    mkdirSync(join(dir, '.aws'));
    const run = spawnSync('node', [CLI, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, HOME: dir } });
    const first = path.split('/')[0];
    const home = first === '~' ? ` or ${option} "$HOME${path.slice(1)}"` : '';
    expect([run.status, run.stderr]).toEqual([
      64,
      `xstack: ${option} ${path}: the shell did not expand '${first}' (it does not after '=' or inside quotes), so xstack would take '${first}' as a name in the current folder; ` +
        `write ${option} ${path} (after a space, unquoted)${home}, or ./${path} if that name is meant\n(run 'xstack ${command} --help' for usage)\n`,
    ]);
    expect(readdirSync(dir)).toEqual(['.aws']);
    expect(readdirSync(join(dir, '.aws'))).toEqual([]);
  });

  it('a ~ later in the path, or ./~, is a name like any', () => {
    const dir = tempDir('tilde-later');
    expect(xstack(['schema', '--out', 'x~/org.schema.json'], dir).stderr).toContain('the folder x~ does not exist');
    mkdirSync(join(dir, '~'));
    expect(xstack(['schema', '--out', './~/org.schema.json'], dir).status).toBe(0);
    expect(readdirSync(join(dir, '~'))).toEqual(['org.schema.json']);
  });
});

describe('profiles --write: the file it is given', () => {
  const profiles = (args: string[], env: Record<string, string> = {}) =>
    spawnSync('node', [CLI, 'profiles', EXAMPLE, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

  it.each(['developer', 'maintainer', 'ci'])('--for %s --write a folder (~/.aws for ~/.aws/config): said in one line, not an internal error (review s23 E2)', (who) => {
    const aws = join(tempDir('write-folder'), '.aws');
    mkdirSync(aws);
    const run = profiles(['--for', who, '--write', aws]);
    expect([run.status, run.stderr]).toEqual([1, `xstack: --write ${aws} is a folder; give the config file in it, e.g. ~/.aws/config\n`]);
    expect(readdirSync(aws)).toEqual([]);
  });

  it('the credentials file (by name, or AWS_SHARED_CREDENTIALS_FILE) is refused, untouched: there [profile x] is a profile named "profile x" (review s23 E4)', () => {
    const home = tempDir('write-credentials');
    mkdirSync(join(home, '.aws'));
    const credentials = join(home, '.aws', 'credentials');
    const keys = '[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n';
    writeFileSync(credentials, keys, { mode: 0o600 });
    const named = profiles(['--for', 'developer', '--write', credentials], { HOME: home });
    const refusal = (file: string) => `xstack: --write ${file} is the AWS credentials file, where '[profile x]' would be a profile named 'profile x' that no clone URL names; profiles go in the config file, e.g. --write ~/.aws/config\n`;
    expect([named.status, named.stderr]).toEqual([1, refusal(credentials)]);
    const keysFile = join(home, 'keys');
    writeFileSync(keysFile, keys);
    const byVariable = profiles(['--for', 'ci', '--write', keysFile], { HOME: home, AWS_SHARED_CREDENTIALS_FILE: keysFile });
    expect([byVariable.status, byVariable.stderr]).toEqual([1, refusal(keysFile)]);
    expect([readFileSync(credentials, 'utf8'), readFileSync(keysFile, 'utf8')]).toEqual([keys, keys]);
    expect(readdirSync(join(home, '.aws'))).toEqual(['credentials']);
    // The config file beside it takes them.
    expect(profiles(['--for', 'developer', '--write', join(home, '.aws', 'config')], { HOME: home }).status).toBe(0);
  });

  it('says what the backup is: the file as it was, when this write made it; the older one, dated, when an earlier write did (review s23 E5)', () => {
    const config = join(tempDir('write-backup'), 'config');
    writeFileSync(config, '[default]\nregion = eu-west-1\n');
    const first = profiles(['--for', 'developer', '--write', config]);
    expect(first.stdout.split('\n')[0]).toBe(`${config}: wrote 1 profile (the file as it was is kept as ${config}.xstack-backup)`);
    const second = profiles(['--for', 'ci', '--write', config]);
    const today = new Date().toISOString().slice(0, 10);
    expect(second.stdout.split('\n')[0]).toBe(`${config}: wrote 1 profile (${config}.xstack-backup still holds the file as it was before xstack's write of ${today}; this write did not change it)`);
    expect(readFileSync(`${config}.xstack-backup`, 'utf8')).toBe('[default]\nregion = eu-west-1\n');
  });

  it('a read-only config is refused, naming its mode and the fix, and left as it was; so are schema --out and the layout file (review s23 E6)', () => {
    const dir = sharedTempDir('write-read-only');
    /** A file of the user the CLI runs as (nobody, under root), made read-only. */
    const readOnly = (file: string, text: string) => {
      writeFileSync(file, text);
      if (asUser.uid !== undefined) chownSync(file, asUser.uid, asUser.gid);
      chmodSync(file, 0o444);
      return statSync(file).ino;
    };
    const refusal = (option: string, file: string) => `${option} ${file} is read-only (mode 0444); make it writable (chmod u+w ${file}) to let xstack change it${option.startsWith('--') ? ', or choose another path' : ''}`;
    const config = join(dir, 'config');
    const inode = readOnly(config, '[default]\nregion = eu-west-1\n');
    const run = xstackAsUser(['profiles', EXAMPLE, '--for', 'developer', '--write', config]);
    expect([run.status, run.stderr]).toEqual([1, `xstack: ${refusal('--write', config)}\n`]);
    expect([readFileSync(config, 'utf8'), statSync(config).ino, existsSync(`${config}.xstack-backup`)]).toEqual(['[default]\nregion = eu-west-1\n', inode, false]);
    const schema = join(dir, 'org.schema.json');
    readOnly(schema, '{}\n');
    const schemaRun = xstackAsUser(['schema', '--out', schema]);
    expect([schemaRun.status, schemaRun.stderr]).toEqual([1, `xstack: ${refusal('--out', schema)}\n`]);
    expect(readFileSync(schema, 'utf8')).toBe('{}\n');
    // The layout file beside an org file, lacking the org's record (so compile writes it): the warning names the mode.
    const org = join(dir, 'example.yaml');
    writeFileSync(org, readFileSync(EXAMPLE));
    const layout = join(dir, 'example.layout.json');
    const { org: _record, ...withoutRecord } = JSON.parse(readFileSync(resolve('parameters/example.layout.json'), 'utf8')) as Record<string, unknown>;
    const layoutText = `${JSON.stringify(withoutRecord, null, 2)}\n`;
    readOnly(layout, layoutText);
    const compile = xstackAsUser(['compile', org, '--out', join(dir, 'dist')]);
    expect(compile.status, compile.stderr).toBe(0);
    expect(compile.stderr).toContain(refusal('the layout file', layout));
    expect(readFileSync(layout, 'utf8')).toBe(layoutText);
    // A layout file that is a link to a writable file in a folder xstack may not write (where the write's temporary file
    // would go): warned of the same, naming the file the link leads to (the check follows the link, as the write does;
    // review s46-diff n7: it checked the link's own folder, and the write failed the compile).
    const linked = join(dir, 'linked');
    mkdirSync(linked);
    chmodSync(linked, 0o777);
    const linkedOrg = join(linked, 'example.yaml');
    writeFileSync(linkedOrg, readFileSync(EXAMPLE));
    const keptDir = join(dir, 'kept');
    mkdirSync(keptDir);
    const kept = join(keptDir, 'example.layout.json');
    writeFileSync(kept, layoutText);
    if (asUser.uid !== undefined) chownSync(kept, asUser.uid, asUser.gid);
    chmodSync(keptDir, 0o555);
    symlinkSync(kept, join(linked, 'example.layout.json'));
    const viaLink = xstackAsUser(['compile', linkedOrg, '--out', join(dir, 'dist-linked')]);
    chmodSync(keptDir, 0o755);
    expect(viaLink.status, viaLink.stderr).toBe(0);
    expect(viaLink.stderr).toContain(`warning: the layout file ${kept}: `);
    expect(readFileSync(kept, 'utf8')).toBe(layoutText);
  });
});

describe('an output folder that cannot be written', () => {
  it('a file in the way, as --out or as the org folder: says what to do', () => {
    const dir = tempDir('in-the-way');
    writeFileSync(join(dir, 'afile'), 'x\n');
    mkdirSync(join(dir, 'o3'));
    writeFileSync(join(dir, 'o3', 'example'), 'x\n');
    expect(xstack(['compile', EXAMPLE, '--out', 'afile'], dir).stderr).toBe('xstack: afile is not a folder; move it away, or choose another --out\n');
    expect(xstack(['compile', EXAMPLE, '--out', 'o3'], dir).stderr).toBe('xstack: o3/example is not a folder; move it away, or choose another --out\n');
  });

  it('a folder this user cannot write: said before anything is written, naming it and what to do, never a temporary folder', () => {
    const dist = join(sharedTempDir('read-only'), 'dist');
    expect(xstackAsUser(['compile', EXAMPLE, '--out', dist]).status).toBe(0);
    const before = readTree(dist);
    chmodSync(dist, 0o555);
    const parent = xstackAsUser(['compile', EXAMPLE, '--out', dist]);
    expect(parent.status).toBe(1);
    expect(parent.stderr).toBe(`xstack: ${dist} is not writable by you, so xstack cannot replace ${join(dist, 'example')}; fix its permissions, or choose another --out\n`);
    chmodSync(dist, 0o777);
    chmodSync(join(dist, 'example', 'templates'), 0o555);
    const inside = xstackAsUser(['compile', EXAMPLE, '--out', dist]);
    expect(inside.stderr).toBe(`xstack: ${join(dist, 'example', 'templates')} is not writable by you, so xstack cannot replace ${join(dist, 'example')}; fix its permissions, or choose another --out\n`);
    expect(readTree(dist)).toEqual(before);
    expect(readdirSync(dist)).toEqual(['example']);
  });

  it('an earlier output set aside that cannot be removed is a warning naming it: the new output is in place, exit 0, and the next compile runs', () => {
    const dist = join(sharedTempDir('stuck-leftover'), 'dist');
    expect(xstackAsUser(['compile', EXAMPLE, '--out', dist]).status).toBe(0);
    const stuck = join(dist, `example.xstack-old-${NO_PROCESS}`);
    mkdirSync(join(stuck, 'templates'), { recursive: true });
    writeFileSync(join(stuck, '.xstack-output'), readFileSync(join(dist, 'example', '.xstack-output')));
    writeFileSync(join(stuck, 'templates', 'pipelines.yaml'), 'x: 1\n');
    chmodSync(join(stuck, 'templates'), 0o555);
    rmSync(join(dist, 'example', 'templates', 'pipelines.yaml'));
    for (let run = 0; run < 2; run++) {
      const compile = xstackAsUser(['compile', EXAMPLE, '--out', dist]);
      expect(compile.status, compile.stderr).toBe(0);
      expect(compile.stderr).toMatch(new RegExp(`^(warning: could not remove ${stuck}, an earlier output xstack had set aside \\(permission denied\\); the new output is in place: delete ${stuck} yourself\n)?$`));
      if (run === 0) expect(compile.stderr).not.toBe('');
      expect(existsSync(join(dist, 'example', 'templates', 'pipelines.yaml'))).toBe(true);
    }
    chmodSync(join(stuck, 'templates'), 0o755);
  });
});
