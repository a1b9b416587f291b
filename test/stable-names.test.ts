/**
 * Resources keep their identity when the org grows: adding an environment
 * adds what it needs and renames nothing (a new logical id or name would make
 * CloudFormation replace a live resource).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logicalId } from '../src/cfn/resources';
import { renderTemplate } from '../src/cfn/template';
import { compileOrg } from '../src/compile';
import { Names } from '../src/naming';
import { parseOrg } from '../src/org/load';
import { tempDir } from './helpers';

const example = readFileSync('parameters/example.yaml', 'utf8');
const withAccount = example.replace('  tools:\n', '  qa:\n    id: "666666666666"\n    role: pipeline\n    environment: qa\n  tools:\n');
/** qa tracks web-app's develop, like dev. */
const withQa = withAccount.replace('      staging: release\n', '      staging: release\n      qa: develop\n');
/** qa tracks a branch of its own, whose rule comes before payments-api's in the file. */
const withQaBranch = withAccount.replace('      staging: release\n', '      staging: release\n      qa: qa\n');

const rulesOf = (text: string) => {
  const c = compileOrg(parseOrg(text, 'example.yaml'));
  const t = renderTemplate(c.stages.find((s) => s.id === 'source-events')!.definition);
  return new Map(Object.entries(t.Resources).map(([id, r]) => [id, r.Properties as { Name: string; Targets: Array<{ Id: string }> }]));
};

describe('stable identities', () => {
  it('adding an environment that tracks develop adds it to that branch\'s rule; no rule is renamed, added or removed', () => {
    expect(withQa).not.toBe(example);
    const before = rulesOf(example);
    const after = rulesOf(withQa);
    expect([...after.keys()]).toEqual([...before.keys()]);
    const changed = [...after].filter(([id, r]) => JSON.stringify(r) !== JSON.stringify(before.get(id)));
    expect(changed.length).toBe(1);
    const [, rule] = changed[0];
    expect(rule.Name).toBe(before.get(changed[0][0])!.Name);
    expect(rule.Targets.map((t) => t.Id)).toEqual([...before.get(changed[0][0])!.Targets.map((t) => t.Id), 'account-666666666666']);
  });

  it('adding an environment with a branch of its own adds one rule; every other rule keeps its name and targets', () => {
    expect(withQaBranch).not.toBe(example);
    const before = rulesOf(example);
    const after = rulesOf(withQaBranch);
    const added = [...after.keys()].filter((id) => !before.has(id));
    expect(added.length).toBe(1);
    expect(after.get(added[0])!.Targets.map((t) => t.Id)).toEqual(['account-666666666666']);
    for (const [id, r] of before) expect(after.get(id), id).toEqual(r);
  });

  it('bucket generation 2 renames the buckets, wherever they are named, and nothing else', () => {
    const text = readFileSync('parameters/example.yaml', 'utf8');
    const one = compileOrg(parseOrg(text, 'example.yaml'));
    const two = compileOrg(parseOrg(`${text}\nbucketGeneration: 2\n`, 'example.yaml'));
    const renamed = new Set<string>();
    for (const stage of one.stages) {
      const before = one.files.get(`templates/${stage.id}.yaml`)!;
      const after = two.files.get(`templates/${stage.id}.yaml`)!;
      for (const m of after.matchAll(/acme-[a-z-]+-\$\{AWS::AccountId\}-\$\{AWS::Region\}-g2|acme-[a-z-]+-\d{12}-[a-z0-9-]+?-g2/g)) renamed.add(m[0].replace(/\d{12}/, '<account>'));
      expect(after.replaceAll('-g2', ''), stage.id).toBe(before);
    }
    expect([...renamed].sort()).toEqual(expect.arrayContaining(['acme-access-logs-${AWS::AccountId}-${AWS::Region}-g2', 'acme-artifacts-${AWS::AccountId}-${AWS::Region}-g2']));
    expect([...renamed].every((n) => /^acme-(artifacts|access-logs)-/.test(n))).toBe(true);
  });

  it("a bucket's earlier names are those of every earlier generation, each as that generation named it: what plan and destroy --delete-retained look for (review s41-mutations-3-cfn NM1)", () => {
    const earlier = (generation: number) => {
      const names = new Names('acme', generation);
      return names.earlierBucketNames(names.artifactBucket('111111111111', 'eu-west-1'));
    };
    const base = 'acme-artifacts-111111111111-eu-west-1';
    expect(earlier(1)).toEqual([]);
    expect(earlier(2)).toEqual([base]);
    expect(earlier(4)).toEqual([base, `${base}-g2`, `${base}-g3`]);
    // Each is a name generation n gives the bucket.
    expect(earlier(4).slice(1)).toEqual([2, 3].map((g) => new Names('acme', g).artifactBucket('111111111111', 'eu-west-1')));
  });

  it('a rule is named by its repository, branch and chunk, within EventBridge\'s 64 characters', () => {
    for (const [id, r] of rulesOf(example)) {
      expect(r.Name).toMatch(/^acme-codecommit-fwd-[0-9a-f]{10}-\d+$/);
      expect(r.Name.length).toBeLessThanOrEqual(64);
      expect(id).toMatch(/^ForwardingRule[0-9A-Za-z]+$/);
    }
  });
});

describe('condition names', () => {
  // CloudFormation's logical ids are alphanumeric; xstack's conditions also start with a letter (src/cfn/account-switch.ts).
  it('start with a letter when a pipeline name starts with a digit and two of its accounts share a branch (once a compile that never ended)', () => {
    const text = withQa.replace('pipelines:\n  web-app:\n', 'pipelines:\n  9web-app:\n');
    // In a process of its own first: a compile that loops forever would hold this one, where no test timeout can end it.
    const dir = tempDir('digit');
    const file = join(dir, 'digit.yaml');
    writeFileSync(file, text);
    const run = spawnSync('node', [resolve('.build/src/cli.js'), 'compile', file, '--out', join(dir, 'dist')], { encoding: 'utf8', timeout: 60_000 });
    expect(run.signal, 'the compile did not finish within a minute').toBeNull();
    expect(run.status, run.stderr).toBe(0);
    const conditions = compileOrg(parseOrg(text, 'example.yaml')).stages.flatMap((s) => Object.keys(renderTemplate(s.definition).Conditions ?? {}));
    expect(conditions).toContain('Accounts9webAppBranchDevelop');
    for (const name of conditions) expect(name).toMatch(/^[A-Za-z][A-Za-z0-9]*$/);
  });
});

describe('logicalId, the ids names make', () => {
  it('capitalises each run of letters and digits and drops everything else, as cutting at /[^A-Za-z0-9]+/ does', () => {
    const cut = (...parts: string[]) => parts.flatMap((p) => p.split(/[^A-Za-z0-9]+/)).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('');
    const names = ['', '-', 'web-app', '--x--y--', 'Pipeline', 'team-042_app.v2', 'zürich-2', 'a\u{1F600}b', '9lives'];
    for (const a of names) for (const b of names) expect(logicalId(a, b), JSON.stringify([a, b])).toBe(cut(a, b));
    expect(logicalId('web-app', 'Pipeline')).toBe('WebAppPipeline');
  });
});

describe("a forwarding rule's name, its hash made once a branch", () => {
  it('is the prefix, the first 10 hex digits of SHA-256 over repository NUL branch, and the chunk, asked once or again, by any Names', () => {
    const cases: Array<[string, string, number]> = [
      ['web-app', 'main', 1],
      ['web-app', 'main', 2],
      ['web-app', 'release/1.0', 1],
      ['web', 'app\u0000main', 1],
      ['t001-svc1', 'develop', 1],
      ['t001-svc10', 'develop', 1],
    ];
    for (const names of [new Names('acme'), new Names('other'), new Names('acme')]) {
      for (const [repository, branch, chunk] of [...cases, ...cases]) {
        const hash = createHash('sha256').update(`${repository}\u0000${branch}`).digest('hex').slice(0, 10);
        expect(names.forwardingRule(repository, branch, chunk)).toBe(`${names.prefix}-codecommit-fwd-${hash}-${chunk}`);
      }
    }
  });
});
