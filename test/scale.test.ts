import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../src/cfn/template';
import { CompileError } from '../src/errors';
import { LIMITS } from '../src/limits';
import { compileGenerated } from './helpers';
import { weight } from '../src/audit/classes';
import { REPOSITORIES_PER_TEMPLATE, RULES_PER_TEMPLATE, SOURCE_ROLES_PER_TEMPLATE } from '../src/stages/plan';
import { compileOrg } from '../src/compile';
import { loadOrgFile, parseOrg } from '../src/org/load';
import { describeAccounts } from '../src/audit/scale';
import { generateOrgYaml, generateTeamsOrgYaml } from '../bench/generate-org.mjs';

describe('orgs with many pipeline accounts', () => {
  it('12 accounts: forwarding rules carry at most 5 targets, explicit ARNs kept', () => {
    const { stages } = compileGenerated(12);
    const events = stages.find((s) => s.id === 'source-events')!;
    const rules = Object.values(renderTemplate(events.definition).Resources).map((r) => (r.Properties as { Targets: unknown[] }).Targets.length);
    // 2 repositories x 2 branches (6 accounts each) -> 2 rules of 5 + 1 each
    expect(rules.sort()).toEqual([1, 1, 1, 1, 5, 5, 5, 5]);
    expect(stages.find((s) => s.id === 'source-identity')!.notes).toEqual([]);
  });

  it('1,000 accounts: one source role per pipeline account over templates of 249 (500 resources), the forwarder in the org-scoped form, rules chunked, inside every limit', () => {
    const { stages, files, rollout } = compileGenerated(1000);
    const identity = stages.find((s) => s.id === 'source-identity')!;
    expect(identity.notes.join('\n')).toMatch(/event forwarder policy: explicit form would need \d+ characters of managed policy \(limit 6144\).*org-scoped form/);
    const identities = stages.filter((s) => s.module === 'source-identity');
    expect(identities.length).toBe(Math.ceil(1000 / SOURCE_ROLES_PER_TEMPLATE));
    expect(identities.length).toBe(5);
    // A role and its managed policy per pipeline account; the first part also holds the forwarder and its policy.
    identities.slice(0, -1).forEach((s, i) => expect(Object.keys(s.definition.resources).length).toBe(2 * SOURCE_ROLES_PER_TEMPLATE + (i === 0 ? 2 : 0)));
    // Each source role trusts its pipeline role, which must exist first.
    expect(rollout.waveOf.get('source-identity')).toBe(2);
    const eventStages = stages.filter((s) => s.module === 'source-events');
    // 400 forwarding rules: a unit each, in groups of RULES_PER_TEMPLATE (300 and 100); with each target's dead-letter
    // queue (src/cfn/dead-letter.ts) the two groups (about 1.06 MB) no longer fit one part: a part each.
    expect(Math.ceil(400 / RULES_PER_TEMPLATE)).toBe(2);
    expect(eventStages.map((s) => Object.keys(s.definition.resources).length)).toEqual([300, 100]);
    // Over 51,200 bytes a template goes through the template bucket (TemplateURL), up to 1 MB; the manifest says which.
    const manifest = JSON.parse(files.get('manifest.json')!);
    for (const [path, text] of files) {
      if (!path.startsWith('templates/')) continue;
      const bytes = Buffer.byteLength(text);
      expect(bytes, path).toBeLessThanOrEqual(LIMITS.templateUrlBytes);
      const stage = manifest.stages.find((m: { template: string }) => m.template === path);
      expect(stage.templateDelivery, path).toBe(bytes > LIMITS.templateBodyBytes ? 'template bucket (over 51,200 bytes)' : 'inline');
    }
    expect(manifest.stages.filter((m: { templateDelivery: string }) => m.templateDelivery !== 'inline').length).toBeGreaterThan(0);
  });

  it('a source account with more repositories than a template has outputs for: its repositories over several units, each inside the 200 outputs', () => {
    const text = generateOrgYaml(2).replace(
      'pipelines:',
      `${Array.from({ length: 450 }, (_, i) => `  extra${String(i).padStart(3, '0')}:\n    account: source\n`).join('')}pipelines:`,
    );
    const { stages } = compileOrg(parseOrg(text, 'many-repositories.yaml'));
    const parts = stages.filter((s) => s.module === 'source-repositories');
    expect(parts.map((s) => Object.keys(s.definition.outputs).length)).toEqual([REPOSITORIES_PER_TEMPLATE, REPOSITORIES_PER_TEMPLATE, 452 - 2 * REPOSITORIES_PER_TEMPLATE]);
    for (const s of parts) expect(s.targets.map((a) => a.name)).toEqual(['source']);
    // A unit a repository (452: the generated org's 2 and these 450), packed in groups of 200 as one unit each was before layouts.
    expect(parts[2].notes.join('\n')).toContain('part 3 (the family has 3): 52 of 452 units, the first repository extra398, the last repository extra449 (split by');
  });

  it('a family split over parts: the note of each part names its first and last unit, not each, so that it stays one line at any size', () => {
    const { stages, files } = compileOrg(parseOrg(generateTeamsOrgYaml(40), 'teams-40.yaml'));
    const notes = stages.filter((s) => s.part?.family === 'pipelines').map((s) => s.notes.join('\n'));
    expect(notes.length).toBeGreaterThan(1);
    expect(notes[0]).toMatch(/^part 1 \(the family has \d+\): \d+ of 80 units, the first pipeline t001-svc1, the last pipeline t0\d\d-svc\d \(split by CloudFormation's limits/);
    expect(notes[notes.length - 1]).toMatch(/: \d+ of 80 units, the first pipeline t0\d\d-svc\d, the last pipeline t040-svc2 \(/);
    const counts = notes.map((n) => Number(/: (\d+) of 80 units/.exec(n)![1]));
    expect(counts.reduce((a, b) => a + b)).toBe(80);
    for (const n of notes) expect(n.split('pipeline t').length - 1).toBe(2);
    // The report's stage section says it too.
    expect(files.get('audit/report.md')!.split('<a id="stage-pipelines"></a>')[1].split('<a id=')[0]).toContain(`- ${notes[0]}`);
  });

  it('the report shows a path repeated in every pipeline account once, while the proof still covers each account', () => {
    const section = (md: string, id: string) => md.split(`<a id="${id}"></a>`)[1].split('<a id=')[0];
    const tableRows = (text: string) => text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| path |') && !l.startsWith('| resource |') && !l.startsWith('| role |'));
    const [small, large] = [20, 40].map((n) => compileGenerated(n));
    const md = (c: typeof small) => c.files.get('audit/report.md')!;
    // The proof covers each account (by class: a class's request counts for each member): 20 more accounts, 20 times one account's requests more.
    const requests = (c: typeof small) => c.access.results.reduce((n, r) => n + weight(r.path), 0);
    const perAccount = large.access.results.filter((r) => r.path.group?.account === '100000000040' || r.path.accounts?.includes('100000000040')).length;
    expect(perAccount).toBeGreaterThan(10);
    expect(requests(large) - requests(small)).toBe(20 * perAccount);
    // The report is not: the same rows, each saying for how many accounts it holds; the source roles, one per
    // pipeline account in the source account, fold the same way.
    for (const id of ['access', 'trust', 'release', 'cross-account']) expect(tableRows(section(md(large), id)).length, id).toBe(tableRows(section(md(small), id)).length);
    // Release control: a row per pipeline and branch, the accounts deploying it folded (no teams to name them by).
    expect(tableRows(section(md(large), 'release')).filter((r) => r.startsWith('| app (source) | {account} | main | no |') && r.endsWith('(the same in each of 20 accounts) |'))).toHaveLength(1);
    const access = section(md(large), 'access');
    expect(access).toContain('| the pipeline role assumes the source role (app, each environment) | arn:aws:iam::{account}:role/big-pipeline |');
    expect(access).toContain('(the same in each of 40 accounts)');
    expect(access).not.toContain('100000000007');
    expect(section(md(large), 'trust')).toContain(
      '| arn:aws:iam::900000000000:role/big-source-{account} | arn:aws:iam::{account}:root | ArnEquals aws:PrincipalArn = arn:aws:iam::{account}:role/big-pipeline | source-identity @ 900000000000: SourceRole{account}In900000000000/PipelineRoleAssumes (the same in each of 40 accounts) |',
    );
    expect(md(large)).not.toContain('### Account env0001');
    expect(md(large)).toContain('| every pipeline account (40) | pipeline-identity, pipeline-foundation, pipelines |');
  });

  it("release control by account class: a branch one environment of a class deploys is that account's own row, the others' folded", () => {
    const text = generateOrgYaml(20).replace('      env0007: main\n', '      env0007: hotfix\n');
    const md = compileOrg(parseOrg(text, 'generated-20-hotfix.yaml')).files.get('audit/report.md')!;
    const rows = md.split('<a id="release"></a>')[1].split('<a id=')[0].split('\n').filter((l) => l.startsWith('| app (source) |') || l.startsWith('| lib (source) |'));
    expect(rows.filter((r) => r.startsWith('| app (source) | 100000000007 | hotfix | no |'))).toHaveLength(1);
    expect(rows.find((r) => r.includes('| hotfix |'))).toContain('arn:aws:iam::100000000007:role/big-app-trigger');
    // A pipeline's first environment (its own item: no later one) folds with the others deploying main: 9 of app's, 10 of lib's.
    expect(rows.filter((r) => r.startsWith('| app (source) | {account} | main | no |') && r.endsWith('(the same in each of 9 accounts) |'))).toHaveLength(1);
    expect(rows.filter((r) => r.startsWith('| lib (source) | {account} | main | no |') && r.endsWith('(the same in each of 10 accounts) |'))).toHaveLength(1);
    expect(rows).toHaveLength(5);
    expect(md).not.toMatch(/[\uE000-\uEFFF]/u);
  });

  it("release control by account class: with protected branches, a pipeline's later environments deploying an unprotected one keep their warning, apart from its first environment's row", () => {
    const access = ['access:', '  developers:', '    assumedBy:', '      - account: source', '        roleNames: ["AWSReservedSSO_Developer_*"]', '        sso: true', '    protectedBranches: [release]', ''];
    const text = `${generateOrgYaml(20)}${access.join('\n')}`;
    const md = compileOrg(parseOrg(text, 'generated-20-protected.yaml')).files.get('audit/report.md')!;
    const rows = md.split('<a id="release"></a>')[1].split('<a id=')[0].split('\n').filter((l) => l.startsWith('| app (source) |'));
    expect(rows.filter((r) => r.startsWith('| app (source) | {account} | main | no ⚠ (a later environment) |'))).toHaveLength(1);
    expect(rows.filter((r) => / \| main \| no \|/.test(r))).toHaveLength(1);
  });

  it('1,000 accounts without an organization id: a clear compile error, no output', () => {
    expect(() => compileGenerated(1000, { organizationId: '' })).toThrowError(CompileError);
    expect(() => compileGenerated(1000, { organizationId: '' })).toThrowError(/source account 'source': the explicit event forwarder policy would need \d+ characters of managed policy \(limit 6144\)[\s\S]*Set organization.id/);
  });
});

describe('a list of accounts, as the report describes it', () => {
  const org = loadOrgFile('parameters/example.yaml');
  const pipelineAccounts = org.accounts.filter((a) => a.role === 'pipeline').map((a) => a.id);

  it('is "every pipeline account" exactly when it is those accounts and no other (review s41-mutations-3 SC1)', () => {
    expect(describeAccounts(org, [...pipelineAccounts, pipelineAccounts[0]])).toBe('every pipeline account (3)');
    // A source account beside them is named, not counted as a pipeline account.
    expect(describeAccounts(org, ['111111111111', ...pipelineAccounts])).toBe('4 accounts: shared-services, dev, staging, prod');
    expect(describeAccounts(org, pipelineAccounts.slice(1))).toBe('2 accounts: staging, prod');
  });
});
