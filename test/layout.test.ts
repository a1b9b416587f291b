// Family parts keep their units (src/stages/family.ts, src/stages/layout.ts):
// where the org's layout file places a unit it stays, when units are added
// before it or grow; the compile that reads the layout it wrote makes the
// same templates; a layout file that is not as xstack writes it is an error
// naming the file, line and field; `compile` writes it beside the org file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { compileOrg } from '../src/compile';
import { renderTemplate, type TemplateDefinition } from '../src/cfn/template';
import { CREATE_ONLY } from '../src/deploy/create-only';
import { OrgFileError } from '../src/errors';
import type { Account } from '../src/org/model';
import { loadOrgFile, parseOrg } from '../src/org/load';
import { familyStages, type Unit } from '../src/stages/family';
import { duplicateKeys, layoutChange, layoutPath, layoutText, movedOrgProblems, parseLayout, parseLayoutFile, recordLayout, recordOf, stackSetsElsewhereError, unrecordedHomeNote, unrecordedPlacements, type FamilyLayout, type RecordedOrg } from '../src/stages/layout';
import { sha256 } from '../src/hash';
import { toYaml, toYamlWithResources, yamlBytes } from '../src/yaml';
import { FAMILY_STAGE_IDS, type Stage } from '../src/stages/model';
import { planStages } from '../src/stages/plan';
import { generateOrgYaml, generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { tempDir } from './helpers';

const family = { id: 'fam', module: 'test', description: 'a test family' };

/** A unit of `resources` topics in its own account: 500 resources fill a part (CloudFormation's limit of a template). */
const unit = (name: string, resources: number, accountOf = name): Unit => {
  const source: Account = { name: accountOf, id: String(100000000000 + accountOf.charCodeAt(0) * 1000 + accountOf.length), role: 'source' };
  return {
    key: `unit ${name}`,
    label: `unit ${name}`,
    conditionLabel: `Account ${name}`,
    accounts: [source],
    uses: [],
    accountValues: [],
    notes: [],
    definition: {
      description: 'unit',
      parameters: {},
      outputs: {},
      resources: Object.fromEntries(Array.from({ length: resources }, (_, i) => [`Topic${name}N${i}`, { Type: 'AWS::SNS::Topic' }])) as unknown as TemplateDefinition['resources'],
    },
  };
};

/** Stage id → the keys of its units. */
const partsOf = (stages: readonly Stage[]) => Object.fromEntries(stages.map((s) => [s.id, s.placement!.units]));
const layoutFrom = (stages: readonly Stage[]): FamilyLayout => new Map(stages.map((s) => [s.placement!.part, s.placement!.units]));

describe('a family with a layout keeps each unit in its part', () => {
  // Without a layout: in order, each part as full as 500 resources allow, as before layouts.
  const first = familyStages(family, [unit('a', 200), unit('b', 200), unit('c', 200), unit('d', 200)]);

  it('packs a first compile in order, as full as the limits allow (a third unit would pass 500 resources)', () => {
    expect(partsOf(first)).toEqual({ fam: ['unit a', 'unit b'], 'fam-2': ['unit c', 'unit d'] });
  });

  it('keeps every unit where the layout puts it when one is inserted before them; a new one goes where there is room', () => {
    const units = () => [unit('n', 120), unit('a', 200), unit('b', 200), unit('c', 200), unit('d', 200)];
    // A new unit fills a part to 90 % (450 resources) at most: 520 in either part, so n opens a third.
    expect(partsOf(familyStages(family, units(), layoutFrom(first)))).toEqual({ fam: ['unit a', 'unit b'], 'fam-2': ['unit c', 'unit d'], 'fam-3': ['unit n'] });
    // One that fits below 90 % joins the first part with room, listed in the units' order.
    expect(partsOf(familyStages(family, [unit('m', 40), ...units().slice(1)], layoutFrom(first)))).toEqual({ fam: ['unit m', 'unit a', 'unit b'], 'fam-2': ['unit c', 'unit d'] });
    // Without the layout, as before layouts: b is pushed into the second part, and d into a third.
    // (Packed full: n, a and b would be 520.)
    expect(partsOf(familyStages(family, units()))).toEqual({
      fam: ['unit n', 'unit a'],
      'fam-2': ['unit b', 'unit c'],
      'fam-3': ['unit d'],
    });
  });

  it("puts a new unit where its accounts already are, if there is room, before the first part with room: no new stack instance", () => {
    const stages = familyStages(family, [unit('a', 200), unit('b', 200), unit('c', 200), unit('d', 200), unit('e', 20), unit('c2', 20, 'c')], layoutFrom(first));
    expect(partsOf(stages)).toEqual({ fam: ['unit a', 'unit b', 'unit e'], 'fam-2': ['unit c', 'unit d', 'unit c2'] });
    expect(stages[1].targets.map((a) => a.name)).toEqual(['c', 'd']);
  });

  it("keeps a new pack group together (a new source account's repositories): in a part of its own when no part has room for all of it", () => {
    const group = Array.from({ length: 460 }, (_, i) => ({ ...unit(`z${i}`, 1, 'z'), packGroup: 'account z' }));
    const stages = familyStages(family, [...group, unit('a', 200), unit('b', 200), unit('c', 200), unit('d', 200)], layoutFrom(first));
    // 460 is past the 450 a new unit fills a part to, but within a part's 500: one part, not spread over three.
    expect(stages.map((st) => [st.id, st.placement!.units.length])).toEqual([
      ['fam', 2],
      ['fam-2', 2],
      ['fam-3', 460],
    ]);
  });

  it('lets a kept unit grow in place up to the limit itself, and places a new unit only below 90 %', () => {
    const grown = familyStages(family, [unit('a', 290), unit('b', 200), unit('c', 200), unit('d', 200), unit('e', 60)], layoutFrom(first));
    // a and b now hold 490 of 500: kept; e fits neither part below 450, so it opens part 3.
    expect(partsOf(grown)).toEqual({ fam: ['unit a', 'unit b'], 'fam-2': ['unit c', 'unit d'], 'fam-3': ['unit e'] });
  });

  it('moves only what a part can no longer hold: its last units, placed like new ones', () => {
    const grown = familyStages(family, [unit('a', 320), unit('b', 200), unit('c', 200), unit('d', 200)], layoutFrom(first));
    expect(partsOf(grown)).toEqual({ fam: ['unit a'], 'fam-2': ['unit c', 'unit d'], 'fam-3': ['unit b'] });
  });

  it('drops a part left empty and keeps the numbers of the others, so their StackSets keep their names', () => {
    const stages = familyStages(family, [unit('c', 200), unit('d', 200)], layoutFrom(first));
    expect(partsOf(stages)).toEqual({ 'fam-2': ['unit c', 'unit d'] });
    // The only part, but not the first: still a part of the family (the deployer reads its family by it).
    expect(stages[0].part).toEqual({ family: 'fam', count: 1 });
    // A new part takes the lowest number no part holds: a family whose units were all replaced keeps its StackSet's name.
    const more = familyStages(family, [unit('c', 200), unit('d', 200), unit('e', 300)], layoutFrom(first));
    expect(partsOf(more)).toEqual({ fam: ['unit e'], 'fam-2': ['unit c', 'unit d'] });
    const replaced = familyStages(family, [unit('x', 10)], new Map([[1, ['unit a']]]));
    expect(partsOf(replaced)).toEqual({ fam: ['unit x'] });
  });

  it('makes the same parts again from the layout it records (a unit placed last is listed in order)', () => {
    const units = () => [unit('n', 40), unit('a', 200), unit('b', 200), unit('c', 200), unit('d', 200)];
    const once = familyStages(family, units(), layoutFrom(first));
    const again = familyStages(family, units(), layoutFrom(once));
    expect(partsOf(again)).toEqual(partsOf(once));
    expect(again.map((s) => s.definition)).toEqual(once.map((s) => s.definition));
  });

  it('refuses two units with one key', () => {
    expect(() => familyStages(family, [unit('a', 1), { ...unit('b', 1), key: 'unit a' }])).toThrow(/unit key unit a twice/);
  });

  // A part's bytes are its units' own templates' (header and entries), against 850 KB: the part's written template,
  // which packing reads first (a Condition line for each resource, the conditions, one header), bounds them from above.
  describe('by bytes: a kept part of two units, 100 topics each with a name of `length` characters', () => {
    const named = (name: string, length: number): Unit => {
      const u = unit(name, 100);
      const resources = Object.fromEntries(Object.keys(u.definition.resources).map((id) => [id, { Type: 'AWS::SNS::Topic', Properties: { TopicName: `${id}-${'x'.repeat(length)}` } }]));
      return { ...u, definition: { ...u.definition, resources: resources as unknown as TemplateDefinition['resources'] } };
    };
    const bytesOf = (length: number) => yamlBytes(renderTemplate(named('a', length).definition)) + yamlBytes(renderTemplate(named('b', length).definition));
    // The longest names whose two units take 850,000 bytes at most: each character more adds 200.
    const base = bytesOf(0);
    const within = Math.floor((850_000 - base) / 200);
    const pair = new Map([[1, ['unit a', 'unit b']]]);
    const stagesWith = (length: number) => familyStages(family, [named('a', length), named('b', length)], pair);

    it('stays whole at 850,000 bytes, though its written template is past them', () => {
      expect(bytesOf(within)).toBeLessThanOrEqual(850_000);
      const stages = stagesWith(within);
      expect(partsOf(stages)).toEqual({ fam: ['unit a', 'unit b'] });
      expect(toYaml(renderTemplate(stages[0].definition)).length).toBeGreaterThan(850_000);
    });

    it('gives up its last unit past them', () => {
      expect(bytesOf(within + 1)).toBeGreaterThan(850_000);
      expect(partsOf(stagesWith(within + 1))).toEqual({ fam: ['unit a'], 'fam-2': ['unit b'] });
    });

    it("is written as the compile writes each stage's template, once read to be packed", () => {
      for (const length of [0, within, within + 1]) {
        for (const stage of stagesWith(length)) {
          const template = renderTemplate(stage.definition);
          expect(toYamlWithResources(template)).toEqual(toYamlWithResources(JSON.parse(JSON.stringify(template))));
        }
      }
    });
  });
});

describe('an org of 100 teams: routine changes move nothing between parts', () => {
  const text = generateTeamsOrgYaml(100);
  const before = compileOrg(parseOrg(text, 'teams.yaml'));
  const partOf = (stages: readonly Stage[]) => new Map(stages.flatMap((s) => Object.keys(s.definition.resources).map((id) => [id, s.id] as const)));
  const moved = (after: readonly Stage[]) => {
    const was = partOf(before.stages);
    return [...partOf(after)].filter(([id, stage]) => was.has(id) && was.get(id) !== stage).map(([id]) => id);
  };
  // The README's cases: the first team gains a repository with its pipeline, added at the top of both lists.
  const doc = yaml.load(text) as { repositories: Record<string, unknown>; pipelines: Record<string, { repository: string }> };
  const firstPipeline = Object.values(doc.pipelines)[0];
  const grown = yaml.dump({
    ...doc,
    repositories: { 't001-svc9': { account: 't001-source' }, ...doc.repositories },
    pipelines: { 't001-svc9': { ...firstPipeline, repository: 't001-svc9' }, ...doc.pipelines },
  }, { noRefs: true });

  it('has families of several parts to move between', () => {
    expect(before.stages.filter((s) => s.part && s.part.count > 1).length).toBeGreaterThan(4);
  });

  it('with the layout: no resource changes part, and the new ones go where there is room', () => {
    const after = compileOrg({ ...parseOrg(grown, 'teams.yaml'), layout: before.layout });
    expect(moved(after.stages)).toEqual([]);
    // Only new units are placed: the pipeline, the repository and a forwarding rule for each of its three branches.
    const placed = unrecordedPlacements(before.layout, after.layout);
    expect(placed.every((p) => / placed in part \d+$/.test(p))).toBe(true);
    expect(placed.filter((p) => !p.startsWith('source-events')).sort()).toEqual([
      expect.stringMatching(/^pipelines: pipeline t001-svc9 placed/),
      expect.stringMatching(/^source-repositories: repository t001-svc9 placed/),
    ]);
    expect(placed.filter((p) => p.startsWith('source-events: rule '))).toHaveLength(3);
  });

  it('without it, as before layouts, the same change moves resources of other teams', () => {
    expect(moved(compileOrg(parseOrg(grown, 'teams.yaml')).stages).length).toBeGreaterThan(10);
  });

  it('compiles the same templates from the layout it recorded', () => {
    const again = compileOrg({ ...parseOrg(text, 'teams.yaml'), layout: before.layout });
    expect([...again.files].filter(([p]) => p.startsWith('templates/'))).toEqual([...before.files].filter(([p]) => p.startsWith('templates/')));
    expect(layoutText(again.layout)).toBe(layoutText(before.layout));
  });
});

describe('a source account of 600 pipeline accounts: one inserted in the middle of the file moves no source role', () => {
  const text = generateOrgYaml(600);
  const before = compileOrg(parseOrg(text, 'many.yaml'));
  // Inserted after env0100, reading app's main branch: before layouts, every later role shifted one place in its unit of 249.
  const inserted = text
    .replace('  env0101:\n', '  env0100b:\n    id: "100000009999"\n    role: pipeline\n    environment: env0100b\n  env0101:\n')
    .replace('      env0101: ', '      env0100b: main\n      env0101: ');
  const partOf = (stages: readonly Stage[]) => new Map(stages.flatMap((s) => Object.keys(s.definition.resources).map((id) => [id, s.id] as const)));
  const moved = (after: readonly Stage[]) => {
    const was = partOf(before.stages);
    return [...partOf(after)].filter(([id, stage]) => was.has(id) && was.get(id) !== stage).map(([id]) => id);
  };

  it('has source roles in several parts', () => {
    expect(before.stages.filter((s) => s.module === 'source-identity').length).toBe(3);
  });

  it('with the layout: every role and rule stays in its part', () => {
    const after = compileOrg({ ...parseOrg(inserted, 'many.yaml'), layout: before.layout });
    expect(moved(after.stages)).toEqual([]);
    expect(unrecordedPlacements(before.layout, after.layout)).toContain('source-identity: account 900000000000 source role 100000009999 placed in part 3');
  });

  it('without it: the roles past a unit boundary move', () => {
    expect(moved(compileOrg(parseOrg(inserted, 'many.yaml')).stages).filter((id) => id.startsWith('SourceRole')).length).toBeGreaterThan(0);
  });
});

describe('the layout file', () => {
  const FILE = 'parameters/x.layout.json';
  const problemsOf = (text: string) => {
    try {
      parseLayout(text, FILE);
    } catch (error) {
      if (error instanceof OrgFileError) return error.problems.map((p) => `${p.line ?? '-'} ${p.field}: ${p.message}`);
      throw error;
    }
    return [];
  };

  it('a file a git merge left conflicted: the line of the first marker, and to keep both sides\' units (not a new file)', () => {
    const text = readFileSync('parameters/example.layout.json', 'utf8').split('\n');
    text.splice(6, 0, '<<<<<<< HEAD', '=======', '>>>>>>> b1');
    expect(problemsOf(text.join('\n'))).toEqual(['7 (file): holds an unresolved merge conflict (git)']);
  });

  it('a family xstack does not lay out (a typo) is a problem at its line, not dropped with its units placed anew; every family a compile lays out is one it reads (review s50-input M3)', () => {
    const text = readFileSync('parameters/example.layout.json', 'utf8').replace('"pipelines":', '"pipelinez":');
    const line = text.split('\n').findIndex((l) => l.includes('"pipelinez"')) + 1;
    expect(problemsOf(text)).toEqual([`${line} families.pipelinez: is not a family xstack lays out`]);
    const compiled = compileOrg(loadOrgFile('parameters/example.yaml'));
    for (const family of compiled.layout.keys()) expect(FAMILY_STAGE_IDS).toContain(family);
  });

  it("a family's only part numbered other than 1 by the layout file is said to be the layout file's, not a split by CloudFormation's limits (review s50-input m6)", () => {
    const org = loadOrgFile('parameters/example.yaml');
    const pipelines = org.layout!.get('pipelines')!;
    const renumbered = new Map([...org.layout!].map(([family, parts]) => [family, family === 'pipelines' ? new Map([[7, [...pipelines.values()].flat()]]) : parts]));
    const stage = planStages({ ...org, layout: renumbered }).find((st) => st.id === 'pipelines-7')!;
    expect(stage.notes.filter((n) => n.startsWith('part 7'))).toEqual([`part 7, the family's only one: its ${[...pipelines.values()].flat().length} units are where the org's layout file records them, in the StackSet of part 7 (a first compile names the only part 1)`]);
  });

  it('a recorded unit no unit of the org file has is named as dropped, beside the units placed anew (review s50-input M3)', () => {
    const compiled = compileOrg(loadOrgFile('parameters/example.yaml')).layout;
    const recorded = new Map([...compiled].map(([family, parts]) => [family, new Map([...parts].map(([n, units]) => [n, [...units]]))]));
    const repositories = recorded.get('source-repositories')!;
    repositories.set(1, repositories.get(1)!.filter((u) => u !== 'repository web-app'));
    repositories.set(2, ['Repository web-app']);
    expect(layoutChange(recorded, compiled)).toEqual({
      count: '1 unit placed',
      named: ' (source-repositories: repository web-app placed in part 1); 1 recorded unit no unit of the org file has, dropped (source-repositories part 2: Repository web-app)',
    });
  });

  it('lies beside the org file, where the org files of a folder (*.yaml) do not match it', () => {
    expect(layoutPath('parameters/example.yaml')).toBe('parameters/example.layout.json');
    expect(layoutPath('/a/b/org.yml')).toBe('/a/b/org.layout.json');
  });

  it('reads back what it writes', () => {
    const layout = new Map([['pipelines', new Map([[2, ['pipeline b']], [1, ['pipeline a', 'pipeline c']]])]]);
    const text = layoutText(layout);
    expect(parseLayout(text, FILE)).toEqual(new Map([['pipelines', new Map([[1, ['pipeline a', 'pipeline c']], [2, ['pipeline b']]])]]));
    expect(text.indexOf('"1"')).toBeLessThan(text.indexOf('"2"'));
  });

  it('names the line of text that is not JSON', () => {
    expect(problemsOf('{\n  "format": "xstack-layout/1",\n  "families": {,\n}')).toEqual([expect.stringMatching(/^3 \(file\): not JSON/)]);
    // And its column (review s46-cli N2): the 'x' after `1 ` on line 2.
    let problems: ReadonlyArray<{ line?: number; column?: number }> = [];
    try {
      parseLayoutFile('{\n  "format": 1 x\n}', 'x.layout.json');
    } catch (error) {
      problems = (error as OrgFileError).problems;
    }
    expect(problems.map((p) => [p.line, p.column])).toEqual([[2, 15]]);
  });

  it('names each wrong field with its line, all at once', () => {
    const text = '{\n  "format": "xstack-layout/9",\n  "families": {\n    "pipelines": {\n      "1": ["pipeline a"],\n      "x": ["pipeline b"],\n      "2": ["pipeline a"],\n      "3": []\n    }\n  }\n}\n';
    expect(problemsOf(text).sort()).toEqual([
      '2 format: is "xstack-layout/9"',
      '6 families.pipelines.x: is not a part number',
      '7 families.pipelines.2: names unit "pipeline a", which part 1 names too',
      '8 families.pipelines.3: is not a list of unit keys',
    ]);
  });

  it("a moved org's field is named at its key's line and column, a blank line before it or not (review s50-input N3)", () => {
    const recorded = { partition: 'aws', region: 'eu-west-1', prefix: 'acme', bucketGeneration: 1, repositories: {} } as unknown as RecordedOrg;
    const org = { file: 'org.yaml', partition: 'aws', region: 'eu-central-1', prefix: 'acme2' } as const;
    const text = 'organization:\n  partition: aws\n\n  region: eu-central-1\nprefix: acme2\n';
    expect(movedOrgProblems(org, recorded, text).map((p) => [p.field, p.line, p.column])).toEqual([
      ['prefix', 5, 1],
      ['organization.region', 4, 3],
    ]);
  });

  it("names a unit one part lists twice as such, at the unit's column, not line start (review s50-input N3, N4)", () => {
    const text = '{\n  "format": "xstack-layout/1",\n  "families": {\n    "pipelines": {\n      "1": ["pipeline a", "pipeline a"]\n    }\n  }\n}\n';
    let problems: ReadonlyArray<{ line?: number; column?: number; message: string }> = [];
    try {
      parseLayout(text, FILE);
    } catch (error) {
      problems = (error as OrgFileError).problems;
    }
    // The first "pipeline a" of the line: where the needles lead (the part's key, then the unit).
    expect(problems.map((p) => [p.line, p.column, p.message])).toEqual([[5, 13, 'names unit "pipeline a" twice']]);
  });

  it('names a family or part number written twice (JSON would keep the last, losing the units of the first), with both lines', () => {
    const text =
      '{\n  "format": "xstack-layout/1",\n  "families": {\n    "pipelines": {\n      "1": ["pipeline a", "pipeline \\"q\\" {,}"],\n      "2": ["pipeline b"],\n      "1": ["pipeline c"]\n    },\n' +
      '    "source-events": { "1": ["rule r"] },\n    "pipelines": { "3": ["pipeline d"] }\n  }\n}\n';
    expect(JSON.parse(text).families.pipelines).toEqual({ '3': ['pipeline d'] });
    expect(problemsOf(text)).toEqual([
      '7 families.pipelines.1: appears twice in families.pipelines (first on line 5), and JSON keeps only the last',
      '10 families.pipelines: appears twice in families (first on line 4), and JSON keeps only the last',
    ]);
    expect(duplicateKeys(layoutText(new Map([['pipelines', new Map([[1, ['pipeline a']], [2, ['pipeline b']]])], ['source-events', new Map([[1, ['rule r']]])]])))).toEqual([]);
  });
});

describe("the layout file's text: units by key, not in the org file's order (review s40-mutations-2 L1b)", () => {
  it('the example with its accounts, repositories and pipelines listed the other way round, with its recorded layout, makes the committed file byte for byte, and compile leaves it alone', () => {
    const doc = yaml.load(readFileSync('parameters/example.yaml', 'utf8')) as Record<string, Record<string, unknown>>;
    const reversed = (entries: Record<string, unknown>) => Object.fromEntries(Object.entries(entries).reverse());
    const dir = tempDir('layout-order');
    const org = join(dir, 'example.yaml');
    writeFileSync(org, yaml.dump({ ...doc, accounts: reversed(doc.accounts), repositories: reversed(doc.repositories), pipelines: reversed(doc.pipelines) }, { noRefs: true }));
    const committed = readFileSync('parameters/example.layout.json', 'utf8');
    writeFileSync(layoutPath(org), committed);
    const [asIs, reordered] = ['parameters/example.yaml', org].map((file) => compileOrg(loadOrgFile(file)));
    // The new order reaches the compile: its parts hold their units in it.
    expect(reordered.layout.get('pipelines')!.get(1)).toEqual([...asIs.layout.get('pipelines')!.get(1)!].reverse());
    for (const c of [asIs, reordered]) expect(layoutText(c.layout, recordOf(c.org))).toBe(committed);
    // What compile calls to write it: nothing to write, so nothing written.
    expect(recordLayout(reordered.org, reordered.layout)).toEqual({});
    expect(readFileSync(layoutPath(org), 'utf8')).toBe(committed);
  });
});

describe('xstack compile and the layout file', () => {
  const CLI = resolve('.build/src/cli.js');
  const run = (args: string[]) => spawnSync('node', [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

  it('writes it beside the org file on the first compile, says so, and leaves it alone when it already holds the compile', () => {
    const dir = tempDir('layout');
    const org = join(dir, 'example.yaml');
    writeFileSync(org, readFileSync('parameters/example.yaml', 'utf8'));
    const first = run(['compile', org, '--out', join(dir, 'dist')]);
    expect(first.status, first.stderr).toBe(0);
    const file = join(dir, 'example.layout.json');
    expect(first.stdout).toContain(`layout: wrote ${file}`);
    expect(existsSync(file)).toBe(true);
    const written = statSync(file).mtimeMs;
    const template = readFileSync(join(dir, 'dist/example/templates/pipelines.yaml'), 'utf8');
    const second = run(['compile', org, '--out', join(dir, 'dist')]);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).not.toContain('layout:');
    expect(statSync(file).mtimeMs).toBe(written);
    // Read by what it says: with CRLF line ends (a Windows checkout) it still holds the compile, and is left alone.
    writeFileSync(file, readFileSync(file, 'utf8').replaceAll('\n', '\r\n'));
    const crlf = readFileSync(file, 'utf8');
    const third = run(['compile', org, '--frozen-layout', '--out', join(dir, 'dist')]);
    expect(third.status, third.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(crlf);
    expect(readFileSync(join(dir, 'dist/example/templates/pipelines.yaml'), 'utf8')).toBe(template);
  });

  it('--frozen-layout: refuses, writing nothing, when the layout file does not hold the compile; passes when it does', () => {
    const dir = tempDir('layout-frozen');
    const org = join(dir, 'example.yaml');
    writeFileSync(org, readFileSync('parameters/example.yaml', 'utf8'));
    const file = join(dir, 'example.layout.json');
    const missing = run(['compile', org, '--frozen-layout', '--out', join(dir, 'dist')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`there is no layout file ${file}: 15 units placed (source-repositories: repository web-app placed in part 1;`);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(join(dir, 'dist'))).toBe(false);
    expect(run(['compile', org, '--out', join(dir, 'dist')]).status).toBe(0);
    expect(run(['compile', org, '--frozen-layout', '--out', join(dir, 'dist')]).status).toBe(0);
    // A pipeline added: a unit the file does not place.
    writeFileSync(org, readFileSync(org, 'utf8').replace('pipelines:\n', 'pipelines:\n  extra-app:\n    repository: web-app\n    branches:\n      dev: extra\n    deploy:\n      type: codedeploy\n'));
    const recorded = readFileSync(file, 'utf8');
    const stale = run(['compile', org, '--frozen-layout', '--out', join(dir, 'dist')]);
    expect(stale.status).toBe(1);
    expect(stale.stderr).toMatch(/does not hold this compile: 2 units placed \(source-events: rule acme-codecommit-fwd-\w+-1 placed in part 1; pipelines: pipeline extra-app placed in part 1\)/);
    expect(stale.stderr).toContain(`the layout file ${file} does not hold this compile`);
    // Said once: compile's own last line says what it left (review s38-lead-diff: "nothing was changed" then "… was left as it was").
    expect(stale.stderr).toMatch(new RegExp(`; run xstack compile ${org.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} without --frozen-layout and commit \\S+\\n\\S+ was left as it was\\.\\n$`));
    expect(stale.stderr).not.toContain('nothing was changed');
    expect(readFileSync(file, 'utf8')).toBe(recorded);
    // deploy says what it left: AWS as it was.
    const deploy = run(['deploy', org, '--frozen-layout', '--local']);
    expect(deploy.status).toBe(1);
    expect(deploy.stderr).toContain(`; nothing was changed in AWS: run xstack compile ${org} without --frozen-layout and commit ${file}, then deploy\n`);
  });

  it('a layout path that is not a readable file is an error naming it', () => {
    const dir = tempDir('layout-folder');
    const org = join(dir, 'example.yaml');
    writeFileSync(org, readFileSync('parameters/example.yaml', 'utf8'));
    mkdirSync(join(dir, 'example.layout.json'));
    const result = run(['compile', org, '--out', join(dir, 'dist')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`xstack: cannot read the layout file ${join(dir, 'example.layout.json')}: it is a folder; it is the file xstack compile writes beside ${org} (move it away, and the next compile packs every family afresh)\nNothing was written.\n`);
  });

  it('refuses a broken layout file before writing anything, naming it', () => {
    const dir = tempDir('layout-broken');
    const org = join(dir, 'example.yaml');
    writeFileSync(org, readFileSync('parameters/example.yaml', 'utf8'));
    writeFileSync(join(dir, 'example.layout.json'), '{ "format": "xstack-layout/1", "families": [] }');
    const result = run(['compile', org, '--out', join(dir, 'dist')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`1 problem in the layout file:\n  ${join(dir, 'example.layout.json')}:1:32: families: is missing or not an object`);
    expect(existsSync(join(dir, 'dist'))).toBe(false);
  });
});

// A deployed org is not renamed or moved (review s14 day 2, M5/M6): the layout file records the org's prefix,
// partition and region, and a compile whose org file says another is refused, naming the org file and field.
// What a deploy would do quietly is said as a compile note (M1/M2/m4, m1): a repository gone (kept in its
// account with its history), one that looks renamed or moved (the new one is empty), a new bucket generation.
describe('the layout file records the org', () => {
  const CLI = resolve('.build/src/cli.js');
  const run = (args: string[]) => spawnSync('node', [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  const EXAMPLE = readFileSync('parameters/example.yaml', 'utf8');
  const recorded = parseLayoutFile(readFileSync('parameters/example.layout.json', 'utf8'), 'parameters/example.layout.json');
  /** The example org edited, compiled with the committed layout file's parts and record. */
  const notesOf = (edit: (text: string) => string, record: RecordedOrg | null = recorded.org ?? null) =>
    compileOrg({ ...parseOrg(edit(EXAMPLE), 'parameters/example.yaml'), layout: recorded.families, ...(record ? { layoutRecord: record } : {}) }).notes;
  const DOC = 'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html';
  /** The example org file in a temporary folder, and the committed layout file's text, with the paths of both. */
  const exampleIn = (name: string) => {
    const dir = tempDir(name);
    const orgFile = join(dir, 'example.yaml');
    writeFileSync(orgFile, EXAMPLE);
    return { dir, orgFile, file: join(dir, 'example.layout.json'), committed: readFileSync('parameters/example.layout.json', 'utf8') };
  };
  /** A layout file's text with where the StackSets live recorded as a deploy to 222222222222, us-east-1 writes it. */
  const withHomeIn = (committed: string) => committed.replace('    "bucketGeneration": 1,\n', '    "bucketGeneration": 1,\n    "administratorAccount": "222222222222",\n    "stackSetsRegion": "us-east-1",\n');
  /** withHomeIn's text with the permission model recorded too, SELF_MANAGED, as deploy writes it. */
  const withModelIn = (withHome: string) => withHome.replace('    "stackSetsRegion": "us-east-1",\n', '    "stackSetsRegion": "us-east-1",\n    "stackSetsPermissionModel": "SELF_MANAGED",\n');
  /** The example in a temporary folder whose layout file records where the StackSets live (withHomeIn), read back as a compile reads it. */
  const exampleWithHome = (name: string) => {
    const { orgFile, file, committed } = exampleIn(name);
    const withHome = withHomeIn(committed);
    writeFileSync(file, withHome);
    const before = parseLayoutFile(withHome, file);
    const org = { ...parseOrg(EXAMPLE, orgFile), layout: before.families, layoutRecord: before.org! };
    return { orgFile, file, withHome, before, org, home: { account: '222222222222', region: 'us-east-1', permissionModel: 'SELF_MANAGED' as const } };
  };

  it("records the org's partition, region, prefix, bucketGeneration and each repository's account, readably; a file without them is accepted and gains them", () => {
    expect(recorded.org).toEqual({ partition: 'aws', region: 'eu-west-1', prefix: 'acme', bucketGeneration: 1, repositories: new Map([['payments-api', '111111111111'], ['web-app', '111111111111']]) });
    expect(readFileSync('parameters/example.layout.json', 'utf8')).toContain('  "org": {\n    "partition": "aws",\n    "region": "eu-west-1",\n    "prefix": "acme",\n    "bucketGeneration": 1,\n    "repositories": {\n      "payments-api": "111111111111",\n');
    const dir = tempDir('layout-record');
    const org = join(dir, 'example.yaml');
    const file = join(dir, 'example.layout.json');
    writeFileSync(org, EXAMPLE);
    // As an earlier xstack wrote it: the parts only.
    writeFileSync(file, layoutText(recorded.families));
    const older = run(['compile', org, '--out', join(dir, 'dist')]);
    expect(older.status, older.stderr).toBe(0);
    expect(older.stdout).toContain(`layout: wrote ${file} (the org's partition, region, prefix, bucketGeneration and repositories' accounts, which the file did not record yet)`);
    expect(readFileSync(file, 'utf8')).toBe(readFileSync('parameters/example.layout.json', 'utf8'));
    expect(() => parseLayoutFile('{ "format": "xstack-layout/1", "org": { "partition": "aws", "region": "eu-west-1", "prefix": "", "bucketGeneration": 0, "repositories": { "a": "1" } }, "families": {} }', 'x.layout.json')).toThrow(
      /3 problems in the layout file:\n {2}x\.layout\.json:1:\d+: org\.prefix: is ""; expected a non-empty string\n {2}x\.layout\.json:1:\d+: org\.bucketGeneration: is 0; expected a whole number from 1\n {2}x\.layout\.json:1:\d+: org\.repositories\.a: is "1"/,
    );
  });

  it('refuses a changed prefix or region, naming the org file and field, with the way out; writes nothing', () => {
    const dir = tempDir('layout-moved');
    const org = join(dir, 'example.yaml');
    const file = join(dir, 'example.layout.json');
    writeFileSync(org, EXAMPLE);
    writeFileSync(file, readFileSync('parameters/example.layout.json', 'utf8'));
    const before = readFileSync(file, 'utf8');
    writeFileSync(org, EXAMPLE.replace('prefix: acme', 'prefix: acme2'));
    const renamed = run(['compile', org, '--out', join(dir, 'dist')]);
    expect(renamed.status).toBe(1);
    expect(renamed.stderr).toContain(
      `1 problem in the organization file:\n  ${org}:8:1: prefix: is 'acme2', but the layout file ${file} records 'acme' from an earlier compile: xstack cannot rename or move a deployed org (its StackSets are found by prefix, so the deployed ones would stay and keep running beside a second org); ` +
        `expected 'acme' as ${file} records; to change it, \`xstack destroy\` with the old org file first (the repositories stay in their accounts: see the README's "destroy, then deploy"), then delete ${file} and compile again; if this org was never deployed, delete ${file}`,
    );
    writeFileSync(org, EXAMPLE.replace('region: eu-west-1', 'region: eu-central-1'));
    const moved = run(['compile', org, '--out', join(dir, 'dist')]);
    expect(moved.status).toBe(1);
    expect(moved.stderr).toContain(`${org}:7:3: organization.region: is 'eu-central-1', but the layout file ${file} records 'eu-west-1' from an earlier compile: xstack cannot rename or move a deployed org (its IAM names are account-global`);
    expect(moved.stderr).toContain('repositories are regional, so they would be created empty there');
    expect(existsSync(join(dir, 'dist'))).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(before);
    // Never deployed: the layout file deleted, the new prefix compiles.
    writeFileSync(org, EXAMPLE.replace('prefix: acme', 'prefix: acme2'));
    rmSync(file);
    expect(run(['compile', org, '--out', join(dir, 'dist')]).status).toBe(0);
  });

  it("records where the StackSets live as deploy gives it (the administrator account and Region); compile keeps it, never writes it itself, and its output is the same with it; both or neither", () => {
    const { dir, orgFile, file, committed } = exampleIn('layout-home');
    writeFileSync(file, committed);
    const org = { ...parseOrg(EXAMPLE, orgFile), layout: recorded.families, layoutRecord: recorded.org! };
    expect(run(['compile', orgFile, '--out', join(dir, 'dist')]).status).toBe(0);
    const filesBefore: unknown = JSON.parse(readFileSync(join(dir, 'dist/example/manifest.json'), 'utf8')).files;
    const home = { account: '222222222222', region: 'us-east-1' };
    // deploy --frozen-layout writes nothing, and says what is not recorded.
    expect(recordLayout(org, recorded.families, { frozen: true, home }).message).toMatch(/^note: .*example\.layout\.json does not record where the StackSets live \(administrator account 222222222222, Region us-east-1\), and --frozen-layout writes nothing: deploy once without --frozen-layout/);
    expect(readFileSync(file, 'utf8')).toBe(committed);
    // deploy: the first to know it records it, beside the rest of the record.
    expect(recordLayout(org, recorded.families, { home }).message).toBe(`layout: wrote ${file} (where the StackSets live, administrator account 222222222222 and Region us-east-1, recorded); commit it with ${orgFile}: later compiles keep each unit in the part it records`);
    const withHome = withHomeIn(committed);
    expect(readFileSync(file, 'utf8')).toBe(withHome);
    expect(parseLayoutFile(withHome, file).org?.stackSetsHome).toEqual(home);
    // compile keeps it, writes nothing, and makes the same templates as without it; its manifest hashes the file as it is.
    const compiled = run(['compile', orgFile, '--out', join(dir, 'dist')]);
    expect(compiled.status, compiled.stderr).toBe(0);
    expect(compiled.stdout).not.toContain('layout: wrote');
    expect(readFileSync(file, 'utf8')).toBe(withHome);
    const manifest = () => JSON.parse(readFileSync(join(dir, 'dist/example/manifest.json'), 'utf8')) as { files: unknown; source: { layoutSha256: string } };
    expect(manifest().source.layoutSha256).toBe(sha256(withHome));
    expect(manifest().files).toEqual(filesBefore);
    // Only one of the two: named, with what is expected.
    expect(() => parseLayoutFile(withHome.replace('    "stackSetsRegion": "us-east-1",\n', ''), file)).toThrow(/org\.stackSetsRegion: is undefined; expected both written by deploy: the 12-digit id of the administrator account and the Region the StackSets were created in \(or neither: the next deploy records them\)/);
    expect(() => parseLayoutFile(withHome.replace('"222222222222"', '"2222"'), file)).toThrow(/org\.administratorAccount: is "2222"/);
  });

  it('a run elsewhere than the record is refused with the way out; SERVICE_MANAGED is also told how a delegated administrator and the management account reach the same StackSets', () => {
    const org = parseOrg(EXAMPLE, 'parameters/example.yaml');
    const home = { account: '222222222222', region: 'eu-west-1' };
    expect(stackSetsElsewhereError(org, home, home)).toBeUndefined();
    const selfManaged = stackSetsElsewhereError(org, home, { account: '333333333333', region: 'eu-west-1' })!;
    expect(selfManaged.message).toContain('live in administrator account 222222222222, Region eu-west-1 (org.administratorAccount, org.stackSetsRegion, recorded by deploy), but this run is as account 333333333333 (its credentials: another --profile or role?). ');
    expect(selfManaged.message).not.toContain('SERVICE_MANAGED');
    const serviceManaged = stackSetsElsewhereError({ ...org, stackSets: { ...org.stackSets, permissionModel: 'SERVICE_MANAGED' } }, home, { account: '222222222222', region: 'us-east-1' })!;
    expect(serviceManaged.message).toContain('are deployed from account 222222222222, Region eu-west-1 (org.administratorAccount, org.stackSetsRegion, recorded by deploy), but this run is in Region us-east-1 (--region, else the org file\'s organization.region). ');
    expect(serviceManaged.message).toMatch(/just delete those two lines\. SERVICE_MANAGED StackSets are held by the management account and reached from it \(callAs: SELF\) or from a delegated administrator \(DELEGATED_ADMIN\): if this run should reach them as they are, set callAs, delete those two lines, then plan, which shows whether it finds them$/);
  });

  it('a permission model other than the one the record says the StackSets were created with is refused, where the run is, with the way out; a record without one, or the same one, is not (review s42-day2 D1)', () => {
    const org = parseOrg(EXAMPLE, 'parameters/example.yaml');
    const home = { account: '222222222222', region: 'eu-west-1' };
    const serviceManaged = { ...org, stackSets: { ...org.stackSets, permissionModel: 'SERVICE_MANAGED' as const } };
    expect(stackSetsElsewhereError(serviceManaged, home, home)).toBeUndefined();
    expect(stackSetsElsewhereError(org, { ...home, permissionModel: 'SELF_MANAGED' }, home)).toBeUndefined();
    const switched = stackSetsElsewhereError(serviceManaged, { ...home, permissionModel: 'SELF_MANAGED' }, home)!;
    expect(switched.code).toBe('STACKSETS_ELSEWHERE');
    expect(switched.message).toBe(
      'nothing was changed: the layout file parameters/example.layout.json records that the StackSets of parameters/example.yaml were created SELF_MANAGED (org.stackSetsPermissionModel, recorded by deploy), and the org file says SERVICE_MANAGED. ' +
        'AWS cannot change the permission model of a StackSet with instances, and a run with the other model may not even list them (ListStackSets: self-managed ones with CallAs SELF, service-managed ones with DELEGATED_ADMIN from a delegated administrator), so deploy would create every one again beside the running ones. ' +
        'To change it: run destroy with the org file as it was (stackSets.permissionModel: SELF_MANAGED), then delete "stackSetsPermissionModel" from parameters/example.layout.json and deploy',
    );
    // Another account or Region is said first: that refusal's way out comes before this one.
    expect(stackSetsElsewhereError(serviceManaged, { ...home, permissionModel: 'SELF_MANAGED' }, { ...home, account: '333333333333' })!.message).toContain('but this run is as account 333333333333');
  });

  it('the permission model deploy gives is recorded and read back; a record without it gains it with the next deploy; another value is refused at its line', () => {
    const { orgFile, file, withHome, before, org, home } = exampleWithHome('layout-model');
    expect(recordLayout(org, before.families, { home }).message).toBe(`layout: wrote ${file} (the permission model the StackSets were created with, SELF_MANAGED, recorded); commit it with ${orgFile}: later compiles keep each unit in the part it records`);
    const withModel = withModelIn(withHome);
    expect(readFileSync(file, 'utf8')).toBe(withModel);
    expect(parseLayoutFile(withModel, file).org?.stackSetsHome).toEqual(home);
    expect(() => parseLayoutFile(withModel.replace('"SELF_MANAGED"', '"SELF"'), file)).toThrow(/org\.stackSetsPermissionModel: is "SELF"; expected SELF_MANAGED or SERVICE_MANAGED/);
    // SERVICE_MANAGED too: what deploy records for such an org is read back by the next compile, not refused as a
    // value deploy never writes (review s43-mutations-5 LY1).
    const serviceManaged = { account: '222222222222', region: 'us-east-1', permissionModel: 'SERVICE_MANAGED' as const };
    writeFileSync(file, withHome);
    recordLayout(org, before.families, { home: serviceManaged });
    const withService = readFileSync(file, 'utf8');
    expect(withService).toBe(withModel.replace('"SELF_MANAGED"', '"SERVICE_MANAGED"'));
    expect(parseLayoutFile(withService, file).org?.stackSetsHome).toEqual(serviceManaged);
  });

  it('plan notes what only deploy records and the layout file lacks (where the StackSets live, their permission model): deploy writes it even with nothing else to change (review s43-plan m4)', () => {
    const { orgFile, file, committed } = exampleIn('layout-plan-note');
    const org = (text: string) => ({ file: orgFile, layoutRecord: parseLayoutFile(text, file).org });
    expect(unrecordedHomeNote(org(committed))).toBe(
      `note: ${file} does not record where the StackSets live (administrator account, Region, permission model): the next deploy writes it (without --frozen-layout), even with nothing else to change; commit it then`,
    );
    const withHome = withHomeIn(committed);
    expect(unrecordedHomeNote(org(withHome))).toBe(
      `note: ${file} does not record the permission model the StackSets were created with: the next deploy writes it (without --frozen-layout), even with nothing else to change; commit it then`,
    );
    const withModel = withModelIn(withHome);
    expect(withModel).not.toBe(withHome);
    expect(unrecordedHomeNote(org(withModel))).toBeUndefined();
  });

  it('deploy --frozen-layout with a record of where the StackSets live but not of their permission model: a note, as for a record without either; nothing written (review s43-mutations-5 F1)', () => {
    const { file, withHome, before, org, home } = exampleWithHome('layout-frozen-model');
    expect(recordLayout(org, before.families, { frozen: true, home }).message).toBe(
      `note: ${file} does not record the permission model the StackSets were created with (SELF_MANAGED), and --frozen-layout writes nothing: deploy once without --frozen-layout and commit the file, so that a later run with the other permission model is refused before it creates the org's StackSets again`,
    );
    expect(readFileSync(file, 'utf8')).toBe(withHome);
    // Recorded: no note.
    const withModel = withModelIn(withHome);
    const recorded = parseLayoutFile(withModel, file);
    expect(recordLayout({ ...org, layout: recorded.families, layoutRecord: recorded.org! }, recorded.families, { frozen: true, home })).toEqual({});
  });

  it('a repository gone from the org file is a note: kept in its account with its history, and adding it back fails until deleted or imported', () => {
    const record = { ...recorded.org!, repositories: new Map([...recorded.org!.repositories, ['old-tools', '111111111111']]) };
    expect(notesOf((t) => t, record)).toEqual([
      `repository old-tools in account shared-services (111111111111) leaves the org file: CloudFormation takes it out of its stack but keeps it in its account, with its history (DeletionPolicy RetainExceptOnCreate: ${DOC}); adding it back later fails on "repository name already exists" until it is deleted or imported into the stack by hand`,
    ]);
    // Nothing changed: no note.
    expect(notesOf((t) => t)).toEqual([]);
  });

  it('a repository gone while another appears in its account is said to look like a rename; one moved to another account, too', () => {
    const notes = notesOf((t) => t.replaceAll('payments-api', 'payments'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain('repository payments-api in account shared-services (111111111111) leaves the org file: CloudFormation takes it out of its stack but keeps it in its account, with its history');
    expect(notes[0]).toContain(
      '; with repository payments new in the same account this looks like a rename: xstack creates it empty (the history is not moved): to rename it in place instead, give repository payments renamedFrom: payments-api; else rename it back in the org file, or push the history to the new one (git push --mirror) before retiring payments-api',
    );
    const record = { ...recorded.org!, repositories: new Map([...recorded.org!.repositories, ['web-app', '999999999999']]) };
    expect(notesOf((t) => t, record)).toEqual([
      `repository web-app moves from account 999999999999 to account shared-services (111111111111): xstack creates it empty in account shared-services (111111111111) (the history is not moved; a repository of that name account shared-services (111111111111) still holds, kept from an earlier move or removal, is named by plan and deploy, which refuse the update until it is deleted or imported into the stack), and in account 999999999999 CloudFormation takes it out of its stack but keeps it in its account, with its history (DeletionPolicy RetainExceptOnCreate: ${DOC}): until this is deployed, move it back in the org file; once deployed, moving it back meets the one kept in account 999999999999 the same way, so push the history to the new one (git push --mirror) before retiring the old`,
    ]);
    // From a file without the record: the repositories its parts place, accounts unknown (no rename said).
    expect(notesOf((t) => t.replaceAll('payments-api', 'payments'), null)).toEqual([expect.stringMatching(/^repository payments-api leaves the org file: .*by hand$/)]);
  });

  it('a repository renamed with renamedFrom is renamed in place: the note says so, and a second rename pairs with the name the record has', () => {
    const renamed = (t: string) => t.replace('  payments-api:\n', '  payments:\n    renamedFrom: payments-api\n').replace(/repository: payments-api/g, 'repository: payments');
    expect(renamed(EXAMPLE)).not.toBe(EXAMPLE);
    expect(notesOf(renamed)).toEqual([
      'repository payments-api is renamed payments in place: CloudFormation updates its RepositoryName (CodeCommit\'s UpdateRepositoryName), so its history, branches and settings stay; keep renamedFrom: payments-api in the org file for as long as it exists (its logical id is that name\'s), and point clones at the new name (git remote set-url)',
    ]);
    // Renamed again later: the record has `payments`, the org file `payments-svc`, still renamedFrom payments-api.
    const record = { ...recorded.org!, repositories: new Map([['payments', '111111111111'], ['web-app', '111111111111']]) };
    const again = (t: string) => t.replace('  payments-api:\n', '  payments-svc:\n    renamedFrom: payments-api\n').replace(/repository: payments-api/g, 'repository: payments-svc');
    expect(notesOf(again, record)).toEqual([expect.stringMatching(/^repository payments is renamed payments-svc in place: .*keep renamedFrom: payments-api in the org file/)]);
    // A renamedFrom the parts never placed (a name it was not deployed under): no rename in place is claimed.
    const wrong = (t: string) => t.replace('  payments-api:\n', '  payments:\n    renamedFrom: never-deployed\n').replace(/repository: payments-api/g, 'repository: payments');
    expect(notesOf(wrong)).toEqual([expect.stringMatching(/^repository payments-api in account shared-services \(111111111111\) leaves the org file: .*looks like a rename/)]);
  });

  it('renamedFrom together with a move to another account is said as a move: created empty where it goes, kept where it was (review s42-day2 D5)', () => {
    const renamed = (t: string) => t.replace('  payments-api:\n', '  payments:\n    renamedFrom: payments-api\n').replace(/repository: payments-api/g, 'repository: payments');
    // The record has payments-api in another account, and web-app leaving that account at the same time.
    const record = { ...recorded.org!, repositories: new Map([['payments-api', '999999999999'], ['web-app', '111111111111'], ['old-tools', '111111111111']]) };
    const notes = notesOf(renamed, record);
    expect(notes).toEqual([
      `repository old-tools in account shared-services (111111111111) leaves the org file: CloudFormation takes it out of its stack but keeps it in its account, with its history (DeletionPolicy RetainExceptOnCreate: ${DOC}); adding it back later fails on "repository name already exists" until it is deleted or imported into the stack by hand`,
      `repository payments-api is renamed payments and moves from account 999999999999 to account shared-services (111111111111): renamedFrom renames in place within one account only, so xstack creates payments empty in account shared-services (111111111111) (the history is not moved), and in account 999999999999 CloudFormation takes it out of its stack but keeps it in its account, with its history (DeletionPolicy RetainExceptOnCreate: ${DOC}); ` +
        'keep renamedFrom: payments-api in the org file for as long as payments exists (its logical id is that name\'s), and push the history to the new one (git push --mirror) before retiring payments-api; until this is deployed, give it back its account to rename it in place',
    ]);
    // Neither an in-place rename of old-tools (it left the account payments goes to) nor a rename hint toward payments.
    expect(notes.join('\n')).not.toMatch(/renamed payments in place|looks like a rename/);
  });

  it('renamedFrom keeps the repository\'s logical id and its layout unit, in its part: only its RepositoryName changes, which CloudFormation updates in place', () => {
    const renamed = EXAMPLE.replace('  payments-api:\n', '  payments:\n    renamedFrom: payments-api\n').replace(/repository: payments-api/g, 'repository: payments');
    const repositoriesOf = (text: string) => {
      const c = compileOrg({ ...parseOrg(text, 'parameters/example.yaml'), layout: recorded.families, layoutRecord: recorded.org! });
      const stage = c.stages.find((s) => s.id.startsWith('source-repositories'))!;
      return { resources: renderTemplate(stage.definition).Resources, layout: c.layout.get('source-repositories') };
    };
    const before = repositoriesOf(EXAMPLE);
    const after = repositoriesOf(renamed);
    expect(Object.keys(after.resources)).toEqual(Object.keys(before.resources));
    expect(before.resources.RepositoryPaymentsApi.Properties).toMatchObject({ RepositoryName: 'payments-api' });
    expect(after.resources.RepositoryPaymentsApi.Properties).toMatchObject({ RepositoryName: 'payments' });
    expect({ ...after.resources.RepositoryPaymentsApi, Properties: { ...after.resources.RepositoryPaymentsApi.Properties, RepositoryName: 'payments-api' } }).toEqual(before.resources.RepositoryPaymentsApi);
    expect(after.layout).toEqual(before.layout);
    // RepositoryName is not create-only for AWS::CodeCommit::Repository (the registry schema): an update, not a replacement.
    expect(CREATE_ONLY['AWS::CodeCommit::Repository']).toBeUndefined();
  });

  it('a changed bucketGeneration is a note: on a live org it replaces every bucket, leaving the current ones', () => {
    expect(notesOf((t) => `${t}bucketGeneration: 2\n`)).toEqual([
      `bucketGeneration changes from 1 (as parameters/example.layout.json records) to 2: on a live org this replaces every pipeline account's artifact and access-log buckets (new names), leaving the current ones with their data; it is meant for a deploy after a destroy (README "destroy, then deploy")`,
    ]);
  });

  it('compile prints the notes and records the new state', () => {
    const dir = tempDir('layout-notes');
    const org = join(dir, 'example.yaml');
    writeFileSync(org, EXAMPLE.replaceAll('payments-api', 'payments'));
    writeFileSync(join(dir, 'example.layout.json'), readFileSync('parameters/example.layout.json', 'utf8'));
    const result = run(['compile', org, '--out', join(dir, 'dist')]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('  note: repository payments-api in account shared-services (111111111111) leaves the org file:');
    expect(result.stdout).toContain('this looks like a rename');
    expect(parseLayoutFile(readFileSync(join(dir, 'example.layout.json'), 'utf8'), 'x').org?.repositories).toEqual(new Map([['payments', '111111111111'], ['web-app', '111111111111']]));
  });

  it('plan and deploy print the notes too (on stderr), before anything talks to AWS or rewrites the record', () => {
    const dir = tempDir('layout-notes-aws');
    const org = join(dir, 'example.yaml');
    const layout = join(dir, 'example.layout.json');
    writeFileSync(org, EXAMPLE.replaceAll('payments-api', 'payments'));
    writeFileSync(layout, readFileSync('parameters/example.layout.json', 'utf8'));
    // No AWS there: the commands fail after the notes, and the record is as it was.
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_MAX_ATTEMPTS: '1', AWS_PROFILE: '', AWS_ENDPOINT_URL: '' };
    for (const command of ['plan', 'deploy']) {
      const result = spawnSync('node', [CLI, command, org, '--endpoint', 'http://127.0.0.1:9', ...(command === 'deploy' ? ['--yes'] : [])], { encoding: 'utf8', timeout: 120_000, env });
      expect(result.stderr, command).toContain('note: repository payments-api in account shared-services (111111111111) leaves the org file:');
      expect(result.stderr, command).toContain('this looks like a rename');
    }
    expect(readFileSync(layout, 'utf8')).toBe(readFileSync('parameters/example.layout.json', 'utf8'));
  });
});
