// Mutation round over session 58's changes (brief-mutations.md): tests that kill mutants the suite let live.
// Each names the commit and the mutant it kills; each fails on that mutant and passes on main's code.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResolvedStatement } from '../src/audit/grants';
import { releaseControlSection } from '../src/audit/release';
import { toMarkdown } from '../src/audit/render';
import { MODEL_FILE, sinceSections, type AuditModel } from '../src/audit/since';
import { compileOrg } from '../src/compile';
import type { StackSetPlan } from '../src/deploy/deployer';
import { failsStage, formatPlan, planExitCode } from '../src/deploy/plan-text';
import { Names } from '../src/naming';
import { loadOrgFile } from '../src/org/load';
import { compileFile, tempDir } from './helpers';

const modelOf = (c: ReturnType<typeof compileFile>) => JSON.parse(c.files.get(MODEL_FILE)!) as AuditModel;

/** The example org with each `[from, to]` applied once, written beside its layout file. */
function exampleWith(...edits: Array<[string, string]>): string {
  let text = readFileSync('parameters/example.yaml', 'utf8');
  for (const [from, to] of edits) {
    expect(text.split(from).length, from).toBe(2);
    text = text.replace(from, to);
  }
  const dir = tempDir('example-mutations-12');
  writeFileSync(join(dir, 'example.yaml'), text);
  writeFileSync(join(dir, 'example.layout.json'), readFileSync('parameters/example.layout.json', 'utf8'));
  return join(dir, 'example.yaml');
}

/** The "Changes since" summary items and sections of `after` against `before`. */
function since(before: AuditModel, file: string) {
  const compiled = compileOrg(loadOrgFile(file));
  const after = modelOf(compiled);
  const sections = sinceSections('before', before, after, { access: compiled.access, organizationId: compiled.org.organizationId });
  const items = sections.flatMap((x) => x.blocks).flatMap((b) => (b.kind === 'list' ? b.items : []));
  return { after, sections, items };
}

describe('74865ec audit --since: protected branches', () => {
  const PROTECTED: [string, string] = ['protectedBranches: [main, release]', 'protectedBranches: [main, release, develop]'];

  it('a branch added to protectedBranches is said added, and the branch deployed from it is said protected now, with no ⚠ (kills: the added part dropped; a change of added only ignored; LOOSENED matching a tightening)', () => {
    const before = modelOf(compileFile('parameters/example.yaml'));
    const { items, sections } = since(before, exampleWith(PROTECTED));
    expect(items).toContain('access.developers.protectedBranches: develop added.');
    // dev deploys develop in both pipelines: a change each, none loosened.
    expect(items).toContain('Branches deployed (by pipeline and account): 2 changed, 0 added, 0 removed.');
    const rows = sections.find((x) => x.id === 'since-releases')!.blocks.flatMap((b) => (b.kind === 'table' ? b.rows : []));
    expect(rows.map((r) => r[2])).toEqual(['branch develop: (not protected) → (protected)', 'branch develop: (not protected) → (protected)']);
    expect(items.filter((i) => i.includes('⚠'))).toEqual([]);
  });

  it('a previous model that records no protected branches compares no protection: no branch deployed is a change (kills: compared when either model records them)', () => {
    const before = modelOf(compileFile('parameters/example.yaml'));
    delete before.protectedBranches;
    const { items, sections } = since(before, 'parameters/example.yaml');
    expect(items).toContain('Branches deployed (by pipeline and account): 0 changed, 0 added, 0 removed.');
    expect(sections.find((x) => x.id === 'since-releases')!.blocks.flatMap((b) => (b.kind === 'table' ? b.rows : []))).toEqual([]);
    expect(items.some((i) => i.startsWith('access.developers.protectedBranches'))).toBe(false);
  });

  it("a removed path now allowed is listed before the added paths, and in bold in the markdown (kills: its rows after the added ones; render's 'alert' rows not bold)", () => {
    const before = modelOf(compileFile('parameters/example.yaml'));
    // The release branch unprotected, and a repository added (paths added too).
    const { sections } = since(before, exampleWith(['protectedBranches: [main, release]', 'protectedBranches: [main]'], ['\nrepositories:\n', '\nrepositories:\n  extra-repo:\n    account: shared-services\n']));
    const table = sections.find((x) => x.id === 'since-paths')!.blocks[0];
    if (table.kind !== 'table') throw new Error('since-paths is a table');
    const kinds = table.rows.map((r) => String(r[0]));
    expect(kinds).toContain('added');
    const flagged = kinds.filter((k) => k === 'removed, now allowed ⚠').length;
    expect(flagged).toBeGreaterThan(0);
    expect(kinds.slice(0, flagged)).toEqual(kinds.slice(0, flagged).map(() => 'removed, now allowed ⚠'));
    const md = toMarkdown({ title: 't', sections });
    const lines = md.split('\n').filter((l) => l.startsWith('| ') && l.includes('removed, now allowed ⚠'));
    expect(lines.length).toBe(flagged);
    for (const l of lines) expect(l.startsWith('| **removed, now allowed ⚠** | ')).toBe(true);
    // An added path's row stays plain.
    expect(md).toContain('\n| added | ');
  });
});

describe('f381e49 audit: PutActionRevision on the Source action starts a pipeline', () => {
  const c = compileFile('parameters/example.yaml');
  const pipeline = new Names(c.org.prefix).pipeline('web-app');
  const base = `arn:aws:codepipeline:${c.org.region}:222222222222:${pipeline}`;
  const grant = (name: string, actions: string[], resource: string): ResolvedStatement => ({
    stage: 'x',
    account: '222222222222',
    policy: `${name}/Grant`,
    kind: 'identity',
    effect: 'Allow',
    attachedTo: `arn:aws:iam::222222222222:role/${name}`,
    principals: [],
    actions,
    resources: [resource],
    conditions: {},
  });
  const starters = (...extra: ResolvedStatement[]) => {
    const section = releaseControlSection({ org: c.org, access: { ...c.access, grants: [...c.access.grants, ...extra] }, reach: [], executionRole: undefined, label: (g) => g.policy, fold: undefined, classOf: () => undefined });
    const rows = section.blocks.flatMap((b) => (b.kind === 'table' ? b.rows : []));
    return String(rows.find((r) => String(r[0]).startsWith('web-app ') && String(r[1]) === 'dev (222222222222)')![5]);
  };

  it('a role allowed codepipeline:PutActionRevision on the Source action is a starter; on the pipeline alone it is none, nor is StartPipelineExecution on the action (kills: the action ARN not asked; PIPELINE_CONTROL asked of it; PutActionRevision left out of CONTROL)', () => {
    const text = starters(
      grant('source-pusher', ['codepipeline:PutActionRevision'], `${base}/Source/Source`),
      grant('wrong-resource', ['codepipeline:PutActionRevision'], base),
      grant('wrong-action', ['codepipeline:StartPipelineExecution'], `${base}/Source/Source`),
    );
    expect(text).toContain('arn:aws:iam::222222222222:role/source-pusher (codepipeline:PutActionRevision: source-pusher/Grant)');
    expect(text).not.toContain('wrong-resource');
    expect(text).not.toContain('wrong-action');
    // A pattern over the pipeline's name matches its actions too: counted for the one it allows.
    expect(starters(grant('any-action', ['codepipeline:PutActionRevision'], `${base}/*`))).toContain('arn:aws:iam::222222222222:role/any-action (codepipeline:PutActionRevision: any-action/Grant)');
  });
});

describe('23d693e plan: a StackSet with managed execution on fails its stage', () => {
  it('failsStage, and plan --detailed-exitcode answers 2 for it though nothing else changes (kills: managedExecution left out of failsStage)', () => {
    const refused: StackSetPlan = {
      stage: 'pipelines',
      stackSet: 'acme-pipelines',
      action: 'unchanged',
      templateChanged: false,
      addAccounts: [],
      removeAccounts: [],
      retryAccounts: [],
      collisions: [],
      managedExecution: 'StackSet acme-pipelines has managed execution turned on (xstack never turns it on): …',
    };
    expect(failsStage(refused)).toBe(true);
    expect(planExitCode([refused])).toBe(2);
    const { managedExecution: _, ...plain } = refused;
    expect([failsStage(plain), planExitCode([plain])]).toEqual([false, 0]);
    expect(formatPlan([refused], { colour: false, accountNames: new Map() })).toContain('✗ deploy refuses: StackSet acme-pipelines has managed execution turned on');
  });
});
