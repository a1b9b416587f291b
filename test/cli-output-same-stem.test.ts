// Two org files of one name without their extension: beside each other (example.yaml, example.yml) they would share
// one layout file and one output folder, so either is refused while the other is there; in two folders, compiled
// together, they are refused for their one output folder. Run against the built CLI, in temporary folders.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_ORG, runCli, tempDir } from './helpers';

describe('two org files of one name beside each other (example.yaml, example.yml; review s38-cli M2)', () => {
  it('either is refused while the other is there, naming both and the way out, and its layout file is left alone', () => {
    const dir = tempDir('same-stem');
    cpSync(EXAMPLE_ORG, join(dir, 'example.yaml'));
    expect(runCli(['compile', 'example.yaml', '--out', 'dist'], dir).status).toBe(0);
    const layout = readFileSync(join(dir, 'example.layout.json'), 'utf8');
    cpSync(EXAMPLE_ORG, join(dir, 'example.yml'));
    const refusal = (a: string, b: string) =>
      `xstack: ${a} and ${b} have one name without their extension, so they would compile to one folder (<out>/example/) and read and write one layout file, example.layout.json: ` +
      `rename one of them (and if example.layout.json holds that one's layout, rename it with it, to <new name>.layout.json)\nNothing was written.\n`;
    for (const [file, other] of [['example.yml', 'example.yaml'], ['example.yaml', 'example.yml']]) {
      const run = runCli(['compile', file, '--out', 'elsewhere'], dir);
      expect([run.status, run.stderr]).toEqual([1, refusal(file, other)]);
    }
    expect(readFileSync(join(dir, 'example.layout.json'), 'utf8')).toBe(layout);
    expect(existsSync(join(dir, 'elsewhere'))).toBe(false);
  });

  it('an extension in capitals is the same extension, either way round (review s38-helpers-diff H6)', () => {
    const dir = tempDir('same-stem-case');
    cpSync(EXAMPLE_ORG, join(dir, 'example.yaml'));
    writeFileSync(join(dir, 'example.YAML'), readFileSync(EXAMPLE_ORG, 'utf8').replace(/^prefix: acme$/m, 'prefix: beta'));
    for (const [file, other] of [['example.yaml', 'example.YAML'], ['example.YAML', 'example.yaml']]) {
      const run = runCli(['compile', file, '--out', 'dist'], dir);
      expect(run.status, file).toBe(1);
      expect(run.stderr, file).toContain(`xstack: ${file} and ${other} have one name without their extension`);
    }
    expect(existsSync(join(dir, 'example.layout.json'))).toBe(false);
  });

  it('in two folders, compiled together: the refusal says that their names are the same, not that they differ in case; exit 1, as in one folder, and that nothing was written (review s38-helpers-diff H11)', () => {
    const dir = tempDir('same-stem-folders');
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    cpSync(EXAMPLE_ORG, join(dir, 'a', 'example.yaml'));
    // Another prefix, so that the two orgs' IAM names do not overlap (refused before this check).
    writeFileSync(join(dir, 'b', 'example.yml'), readFileSync(EXAMPLE_ORG, 'utf8').replace(/^prefix: acme$/m, 'prefix: beta'));
    const run = runCli(['compile', 'a/example.yaml', 'b/example.yml', '--out', 'dist'], dir);
    expect([run.status, run.stderr]).toEqual([
      1,
      'xstack: a/example.yaml and b/example.yml would both compile to dist/example/ (their names without the extension are the same); rename one, or compile each with its own --out\nNothing was written.\n',
    ]);
  });
});

describe('an org file in a folder that may be entered but not listed (mode 0711; review s38-delta D6)', () => {
  // Root lists any folder: run as root, the CLI is run as nobody (setpriv, util-linux), which must be able to read the
  // build; run as anyone else, the folder is the user's own without its read bit (0311).
  const root = process.getuid?.() === 0;
  const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
  const nobodyCanRun = root && spawnSync('setpriv', [...NOBODY, 'test', '-r', resolve('.build/src/cli.js')]).status === 0;
  const run = (args: readonly string[], cwd: string) =>
    root ? spawnSync('setpriv', [...NOBODY, process.execPath, resolve('.build/src/cli.js'), ...args], { cwd, encoding: 'utf8' }) : runCli(args, cwd);

  it.skipIf(root && !nobodyCanRun)('compile and explain read it, and a sibling of its name with another extension is still refused', () => {
    const dir = tempDir('traverse-only');
    chmodSync(dir, 0o777);
    const folder = join(dir, 'p');
    mkdirSync(folder);
    cpSync(EXAMPLE_ORG, join(folder, 'example.yaml'));
    cpSync(resolve('parameters/example.layout.json'), join(folder, 'example.layout.json'));
    chmodSync(folder, root ? 0o711 : 0o311);
    try {
      // The folder really cannot be listed by the one who runs the CLI.
      expect(run(['explain', 'p', '--action', 'kms:Decrypt'], dir).stderr).toContain('permission denied');
      const compiled = run(['compile', 'p/example.yaml', '--out', 'out'], dir);
      expect([compiled.status, compiled.stderr]).toEqual([0, expect.any(String)]);
      expect(existsSync(join(dir, 'out', 'example', 'templates'))).toBe(true);
      const explained = run(['explain', 'p/example.yaml', '--action', 'kms:Decrypt'], dir);
      expect([explained.status, explained.stdout]).toEqual([0, expect.stringMatching(/^\d+ requests: \d+ allowed, \d+ refused\./m)]);
      // Without a listing, the names its stem takes are looked up one by one: example.yml beside it is found.
      chmodSync(folder, 0o755);
      cpSync(EXAMPLE_ORG, join(folder, 'example.yml'));
      chmodSync(folder, root ? 0o711 : 0o311);
      const refused = run(['compile', 'p/example.yaml', '--out', 'out2'], dir);
      expect([refused.status, refused.stderr]).toEqual([1, expect.stringContaining('p/example.yaml and p/example.yml have one name without their extension')]);
    } finally {
      chmodSync(folder, 0o755);
    }
  });
});
