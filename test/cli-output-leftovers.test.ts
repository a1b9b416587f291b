// The folders a compile sets aside beside DIR/<org>/ (<org>.xstack-tmp-<id>, <org>.xstack-old-<id>) and what the next
// run does with those a killed run left: removed only when they are that org's, and the earlier output put back when
// the run was killed between the swap's two renames. Run against the built CLI as a process, in temporary folders.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_ORG, runCli, tempDir } from './helpers';

/** A process id no process can have: Linux's pid_max is at most 2^22 (proc(5), /proc/sys/kernel/pid_max). */
const NO_PROCESS = 2 ** 22 + 1;

const listFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
const readTree = (dir: string) => Object.fromEntries(listFiles(dir).sort().map((f) => [relative(dir, f), readFileSync(f, 'utf8')]));

/** A project with parameters/example.yaml compiled to dist/example/. */
function compiledProject(name: string): string {
  const dir = tempDir(name);
  mkdirSync(join(dir, 'parameters'));
  cpSync(EXAMPLE_ORG, join(dir, 'parameters', 'example.yaml'));
  const run = runCli(['compile', 'parameters/example.yaml'], dir);
  expect(run.status, run.stderr).toBe(0);
  return dir;
}

describe('a folder named like a leftover is another org’s output (review s38-cli M1)', () => {
  it('compiling example keeps dist/example.xstack-old-<id>/ that another org file wrote, and a folder set aside by another org', () => {
    const dir = compiledProject('leftover-name');
    const dist = join(dir, 'dist');
    // An org named so (compiled before such names were refused): its folder holds its own marker.
    const other = join(dist, `example.xstack-old-${NO_PROCESS}`);
    cpSync(join(dist, 'example'), other, { recursive: true });
    const marker = join(other, '.xstack-output');
    writeFileSync(marker, readFileSync(marker, 'utf8').replace("organization 'example'", `organization 'example.xstack-old-${NO_PROCESS}'`));
    // What a killed run of that org set aside: its name only starts like example's.
    const theirs = join(dist, `example.xstack-old-${NO_PROCESS}.xstack-tmp-${NO_PROCESS}`);
    cpSync(other, theirs, { recursive: true });
    const kept = [readTree(other), readTree(theirs)];
    const run = runCli(['compile', 'parameters/example.yaml'], dir);
    expect(run.status, run.stderr).toBe(0);
    expect([readTree(other), readTree(theirs)]).toEqual(kept);
  });

  it("an org file whose name holds '.xstack-' is refused, naming it, and nothing is written; so is audit --out such a folder", () => {
    const dir = tempDir('leftover-org-name');
    cpSync(EXAMPLE_ORG, join(dir, 'example.xstack-old-3999999.yaml'));
    const run = runCli(['compile', 'example.xstack-old-3999999.yaml', '--out', 'dist'], dir);
    expect([run.status, run.stderr]).toEqual([
      1,
      "xstack: example.xstack-old-3999999.yaml: an org file's name without its extension names its output folder (dist/<name>/), and 'example.xstack-old-3999999' holds '.xstack-', which xstack keeps for the folders it sets aside beside the output (<name>.xstack-old-<id>); rename the file, e.g. to org.yaml\nNothing was written.\n",
    ]);
    cpSync(EXAMPLE_ORG, join(dir, 'example.yaml'));
    const audit = runCli(['audit', 'example.yaml', '--out', 'audit/example.xstack-tmp-1'], dir);
    expect([audit.status, audit.stderr]).toEqual([
      1,
      "xstack: audit/example.xstack-tmp-1: xstack sets folders aside beside the one it writes as <name>.xstack-tmp-<id> and <name>.xstack-old-<id>, so a name holding '.xstack-' could be taken for one; choose another --out\n",
    ]);
    expect(readdirSync(dir).sort()).toEqual(['example.xstack-old-3999999.yaml', 'example.yaml']);
  });
});

describe('a run killed between the swap’s two renames (review s38-cli M11)', () => {
  /** The state `kill -9` between swapStaged's renames leaves: dist/example set aside, the staged folder and the lock beside it. */
  function killedDuringSwap(dir: string): string {
    const dist = join(dir, 'dist');
    const old = join(dist, `example.xstack-old-${NO_PROCESS}`);
    renameSync(join(dist, 'example'), old);
    cpSync(old, join(dist, `example.xstack-tmp-${NO_PROCESS}`), { recursive: true });
    writeFileSync(join(dist, '.example.xstack-lock'), `${NO_PROCESS} ${hostname()} -\n`);
    return old;
  }

  it('the next compile puts the earlier output back before anything else: a hand edit in it is refused, named, and kept', () => {
    const dir = compiledProject('killed-swap-edit');
    const written = readTree(join(dir, 'dist', 'example'));
    const template = join(dir, 'dist', 'example', 'templates', 'pipelines.yaml');
    writeFileSync(template, `${written['templates/pipelines.yaml']}# my fix\n`);
    const before = readTree(join(dir, 'dist', 'example'));
    killedDuringSwap(dir);
    const run = runCli(['compile', 'parameters/example.yaml'], dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('dist/example holds files changed since xstack wrote them (dist/example/templates/pipelines.yaml)');
    expect(readTree(join(dir, 'dist', 'example'))).toEqual(before);
    // The staged folder stays until a run that writes (a refused one writes and removes nothing).
    expect(readdirSync(join(dir, 'dist')).sort()).toEqual(['example', `example.xstack-tmp-${NO_PROCESS}`]);
    writeFileSync(template, written['templates/pipelines.yaml']);
    const again = runCli(['compile', 'parameters/example.yaml'], dir);
    expect(again.status, again.stderr).toBe(0);
    expect(readTree(join(dir, 'dist', 'example'))).toEqual(written);
    expect(readdirSync(join(dir, 'dist'))).toEqual(['example']);
  });

  it('said when put back; an earlier output set aside alone (a run killed while removing it after its swap), or missing files, is never put back (review s38-helpers-diff H3)', () => {
    const dir = compiledProject('killed-swap-partial');
    const dist = join(dir, 'dist');
    const written = readTree(join(dist, 'example'));
    killedDuringSwap(dir);
    // The genuine state: put back, and said.
    const restored = runCli(['compile', 'parameters/example.yaml'], dir);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stderr).toContain(`note: dist/example was missing: put back from dist/example.xstack-old-${NO_PROCESS}, where a run stopped during its swap had set it aside`);
    // An old output alone, part removed, with dist/example deleted by hand since: not put back; the compile writes afresh.
    const old = join(dist, `example.xstack-old-${NO_PROCESS}`);
    renameSync(join(dist, 'example'), old);
    for (const name of readdirSync(dist)) if (name.includes('.xstack-tmp-')) renameSync(join(dist, name), join(dir, 'moved-away'));
    // Part of it stale (a put-back would be refused as edited): the compile must never look at it as dist/example.
    writeFileSync(join(old, 'templates', 'pipelines.yaml'), 'stale\n');
    const run = runCli(['compile', 'parameters/example.yaml'], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('put back');
    expect(readTree(join(dist, 'example'))).toEqual(written);
    expect(readdirSync(dist)).toEqual(['example']);
  });

  it("an empty staged folder of a run killed before it marked it is removed (review s38-helpers-diff H10)", () => {
    const dir = compiledProject('killed-unmarked-empty');
    mkdirSync(join(dir, 'dist', `example.xstack-tmp-${NO_PROCESS}`));
    const run = runCli(['compile', 'parameters/example.yaml'], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(readdirSync(join(dir, 'dist'))).toEqual(['example']);
  });

  it("a compile of two orgs refused for the second says what it put back of the first, not that nothing changed (review s38-delta D4)", () => {
    const dir = compiledProject('killed-swap-two-orgs');
    writeFileSync(join(dir, 'parameters', 'other.yaml'), readFileSync(EXAMPLE_ORG, 'utf8').replace(/^prefix: acme$/m, 'prefix: beta').replace(/"(\d)(\d{11})"/g, (_, d: string, rest: string) => `"${(Number(d) + 5) % 10}${rest}"`));
    mkdirSync(join(dir, 'dist', 'other'));
    writeFileSync(join(dir, 'dist', 'other', 'notes.txt'), 'mine\n');
    killedDuringSwap(dir);
    const run = runCli(['compile', 'parameters/example.yaml', 'parameters/other.yaml'], dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`no other organization's folder or layout file was changed either, but for what was put back (dist/example was missing: put back from dist/example.xstack-old-${NO_PROCESS}`);
    expect(existsSync(join(dir, 'dist', 'example', 'manifest.json'))).toBe(true);
    expect(readFileSync(join(dir, 'dist', 'other', 'notes.txt'), 'utf8')).toBe('mine\n');
  });

  it('an unmarked folder of that name is not put back, and not removed', () => {
    const dir = compiledProject('killed-swap-unmarked');
    const old = killedDuringSwap(dir);
    writeFileSync(join(old, '.xstack-output'), 'my notes\n');
    const run = runCli(['compile', 'parameters/example.yaml'], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(join(old, '.xstack-output'), 'utf8')).toBe('my notes\n');
    expect(existsSync(join(dir, 'dist', 'example', 'manifest.json'))).toBe(true);
  });
});
