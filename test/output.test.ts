import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import jsYaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../src/cfn/template';
import { fromYaml, toYaml } from '../src/yaml';
import { compileFile, ORG_FILES, tempDir } from './helpers';

const CLI = '.build/src/cli.js';
const listFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
const readTree = (dir: string) => Object.fromEntries(listFiles(dir).sort().map((f) => [relative(dir, f), readFileSync(f, 'utf8')]));

describe('YAML', () => {
  it('keeps YAML 1.1 look-alikes strings, and reads back identically in two parsers', () => {
    const data = {
      a: 'yes', b: 'on', c: '0123', d: '1e3', e: '012345678901', f: 'null', g: '~', h: 'Off', i: '1_000', j: '2001-12-14', k: 'arn:${AWS::Partition}:x', n: 7, t: true,
      Y: 'N', l: '.inf', m: '-1', o: '+1', p: '0x1F', q: '1:20', r: '<<', s: '=', u: 'a: b', v: 'a #b', w: '- x', x: 'trailing ', z: ':x', empty: '', nel: 'a\u0085b', ls: 'a\u2028b',
      quote: 'say "hi"; go', nl: 'two\nlines', tab: 'a\tb', unicode: 'Zürich', '0': 'digit key', 'key: colon': 1.5, negative: -3,
      nested: [['a', 'b'], [], {}, [{ k: ['x'] }], { m: [] }],
    };
    const text = toYaml(data);
    expect(fromYaml(text)).toEqual(data);
    expect(jsYaml.load(text)).toEqual(data);
    expect(text).toContain('e: "012345678901"');
    expect(text).not.toMatch(/[&*]\w+/);
  });

  it('every emitted template reads back to exactly the object it was made from, under both parsers, with account ids as strings', () => {
    for (const file of ORG_FILES) {
      const compiled = compileFile(file);
      for (const stage of compiled.stages) {
        const text = compiled.files.get(`templates/${stage.id}.yaml`)!;
        const path = stage.id;
        const emitted = renderTemplate(stage.definition);
        expect(fromYaml(text), path).toEqual(emitted);
        expect(jsYaml.load(text), path).toEqual(emitted);
        expect(text, path).not.toMatch(/:\s\d{12}\s*$/m);
      }
    }
  });
});

describe('determinism and dist/', () => {
  it('the same input gives byte-identical files', () => {
    for (const file of ORG_FILES) expect(compileFile(file).files).toEqual(compileFile(file).files);
  });

  it('the manifest hashes every file it lists', () => {
    const { files } = compileFile('parameters/example.yaml');
    const manifest = JSON.parse(files.get('manifest.json')!);
    expect(Object.keys(manifest.files).sort()).toEqual([...files.keys()].filter((f) => f !== 'manifest.json').sort());
    const waves = Object.fromEntries(manifest.stages.map((s: { id: string; wave: number }) => [s.id, s.wave]));
    expect(waves).toEqual({
      'pipeline-identity': 1, 'source-repositories': 1, 'ci-identity': 1, 'ci-network': 1, 'access-callers': 1,
      'source-identity': 2, 'access-roles': 2,
      'pipeline-foundation': 3,
      'source-events': 4, pipelines: 4,
    });
  });

  it('a stage whose template chooses values by account has a values file with every target account\'s values and their origin, and nothing else', () => {
    let files = 0;
    for (const file of ORG_FILES) {
      const { stages, files: out } = compileFile(file);
      for (const stage of stages) {
        const text = out.get(`values/${stage.id}.json`);
        if (stage.accountValues.length === 0) {
          expect(text, stage.id).toBeUndefined();
          continue;
        }
        files++;
        const parsed = JSON.parse(text!);
        expect(parsed.stage).toBe(stage.id);
        expect(Object.keys(parsed.accounts)).toEqual(stage.targets.map((a) => a.name));
        for (const account of stage.targets) {
          // A family's values are its units': an account holds those of the units it is in.
          const expected = Object.fromEntries(
            stage.accountValues.flatMap((v) => {
              const x = v.byAccount.get(account.id);
              return x ? [[v.name, { value: x.value, from: x.origin }]] : [];
            }),
          );
          expect(parsed.accounts[account.name], `${stage.id} @ ${account.name}`).toEqual({ id: account.id, values: expected });
        }
      }
      // No StackSet takes parameters: no parameter files at all.
      expect([...out.keys()].filter((p) => p.startsWith('parameters/'))).toEqual([]);
    }
    expect(files).toBeGreaterThan(0);
  });

  it('committed dist/ and layout files are what the compiler produces now (run `make compile` and commit when this fails)', () => {
    const out = tempDir('fresh');
    // --frozen-layout: a layout file that does not hold the compile fails here instead of being written.
    execFileSync('node', [CLI, 'compile', '--frozen-layout', '--out', join(out, 'dist')]);
    expect(readTree('dist')).toEqual(readTree(join(out, 'dist')));
  });

  it('a failed compile leaves the output folder exactly as it was', () => {
    const dir = tempDir('atomic');
    const out = join(dir, 'dist');
    execFileSync('node', [CLI, 'compile', 'parameters/example.yaml', '--out', out]);
    writeFileSync(join(out, 'marker'), 'kept');
    const before = readTree(out);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync('parameters/example.yaml', 'utf8').replace('"444444444444"', '"4444"'));
    const run = spawnSync('node', [CLI, 'compile', 'parameters/example.yaml', bad, '--out', out], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${bad}:22:9: accounts.prod.id: '4444' is not 12 digits`);
    expect(run.stderr).toContain("1 problem in the organization file");
    expect(run.stderr).toContain("was left as it was");
    expect(readTree(out)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['bad.yaml', 'dist']);
  });

  it('exits 64 (a usage error, never 2: "changes") on unknown commands, pointing to the help', () => {
    const run = spawnSync('node', [CLI, 'deploy-everything'], { encoding: 'utf8' });
    expect(run.status).toBe(64);
    expect(run.stderr).toBe("xstack: unknown command 'deploy-everything'\n(run 'xstack help' or 'xstack COMMAND --help' for usage)\n");
  });
});

/** Each org compiled to dist/ (a folder with a manifest), with the Region its manifest records. */
const DIST_ORGS: Array<[org: string, region: string]> = readdirSync('dist')
  .filter((d) => existsSync(join('dist', d, 'manifest.json')))
  .sort()
  .map((d) => [d, (JSON.parse(readFileSync(join('dist', d, 'manifest.json'), 'utf8')) as { organization: { region: string } }).organization.region]);

// External scanners: seconds each, more when the machine is busy with the other test files.
describe('cfn-lint, the validator', { timeout: 60_000 }, () => {
  const cfnLint = process.env.XSTACK_CFN_LINT ?? '.venv/bin/cfn-lint';
  const lint = (region: string, files: string[]) => spawnSync(cfnLint, ['--regions', region, '--', ...files], { encoding: 'utf8' });

  // Every org compiled to dist/ (the examples, and an org a user adds to parameters/), each in its own Region:
  // cfn-lint's schemas are the Region's registry, so a resource type or property the Region lacks is found here
  // (review s31-partitions m2: "ResourceTypes for AWS CloudFormation can vary per Region").
  it('lints every org of dist/, the two examples among them', () => {
    expect(DIST_ORGS.map(([org]) => org)).toEqual(expect.arrayContaining(['example', 'govcloud']));
    expect(DIST_ORGS.find(([org]) => org === 'govcloud')?.[1]).toBe('us-gov-west-1');
  });

  it.each(DIST_ORGS)('reports no error and no warning on dist/%s (%s)', (org, region) => {
    const templates = readdirSync(join('dist', org, 'templates')).map((f) => join('dist', org, 'templates', f));
    expect(templates.length).toBeGreaterThan(5);
    // The setup template a user deploys by hand (src/setup.ts) too.
    const setup = readdirSync(join('dist', org, 'setup')).map((f) => join('dist', org, 'setup', f));
    expect(setup).toHaveLength(1);
    const run = lint(region, [...templates, ...setup]);
    expect(run.error).toBeUndefined();
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('is really running: it rejects a broken copy', () => {
    const dir = tempDir('lint');
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, readFileSync('dist/example/templates/pipeline-foundation.yaml', 'utf8').replace('EnableKeyRotation: true', 'EnableKeyRotation: maybe'));
    const run = lint('eu-west-1', [broken]);
    expect(run.status).not.toBe(0);
    expect(run.stdout).toMatch(/E3012/);
  });
});

// The suite's timeout (test/vitest.config.ts, 120 s): each checkov run takes 10-30 s, and a loaded machine's CI took 64 s for one org.
describe('checkov, the policy scanner', () => {
  const checkov = process.env.XSTACK_CHECKOV ?? '.venv/bin/checkov';
  const scan = (dir: string) => {
    const run = spawnSync(checkov, ['-d', dir, '--framework', 'cloudformation', '-o', 'json', '--quiet', '--skip-download'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const parsed = JSON.parse(run.stdout) as { summary: { passed: number; failed: number; skipped: number; parsing_errors: number } } | Array<{ summary: { passed: number; failed: number; skipped: number; parsing_errors: number } }>;
    return Array.isArray(parsed) ? parsed[0].summary : parsed.summary;
  };

  it.each(DIST_ORGS.map(([org]) => org))('finds nothing in dist/%s; every skip is a suppression recorded next to its resource', (org) => {
    const summary = scan(join('dist', org, 'templates'));
    const recorded = readdirSync(join('dist', org, 'templates')).reduce((n, f) => n + (readFileSync(join('dist', org, 'templates', f), 'utf8').match(/^\s+- id: CKV_/gm)?.length ?? 0), 0);
    expect(summary).toMatchObject({ failed: 0, parsing_errors: 0, skipped: recorded });
    expect(summary.passed).toBeGreaterThan(100);
    expect(readFileSync(join('dist', org, 'audit', 'report.md'), 'utf8')).toContain('checkov CKV_AWS_18');
    // The setup template, with no suppression.
    const setup = scan(join('dist', org, 'setup'));
    expect(setup).toMatchObject({ failed: 0, parsing_errors: 0, skipped: 0, passed: expect.any(Number) });
    expect(setup.passed).toBeGreaterThan(5);
  });

  it('is really scanning: a bucket without its public access block fails', () => {
    const dir = tempDir('checkov');
    const text = readFileSync('dist/example/templates/pipeline-foundation.yaml', 'utf8').replace(/      PublicAccessBlockConfiguration:\n(        .*\n){4}/g, '');
    expect(text).not.toContain('PublicAccessBlockConfiguration');
    writeFileSync(join(dir, 'broken.yaml'), text);
    expect(scan(dir).failed).toBeGreaterThan(0);
  });
});
