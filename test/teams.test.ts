/**
 * The report of an org of many teams (src/audit/teams.ts): rows alike up to a
 * team's names are printed once, and writing one team's values back into a
 * folded row gives exactly that team's row; orgs whose teams cannot be told
 * apart by a key are not folded.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { mergeAccountRows } from '../src/audit/scale';
import { findTeams, foldByTeam, type Team, type Teams } from '../src/audit/teams';
import { logicalId } from '../src/cfn/resources';
import { compileOrg } from '../src/compile';
import { analyseAccess } from '../src/audit/paths';
import { classesOf, orgResources } from '../src/audit/reach';
import { auditModel, compareModels, MODEL_FILE, readPreviousModel, type AuditModel } from '../src/audit/since';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderTemplate } from '../src/cfn/template';
import { planStages } from '../src/stages/plan';
import { parseOrg } from '../src/org/load';

const teamsOrg = (n: number, edit: (yaml: string) => string = (y) => y) => parseOrg(edit(generateTeamsOrgYaml(n)), `teams-${n}.yaml`);

describe('finding the teams of an org', () => {
  it('a team per source account, named by the key all its names share', () => {
    const teams = findTeams(teamsOrg(3))!;
    expect(teams.list.map((t) => [t.key, t.source.name, t.source.id, t.pipelineAccounts.length, t.repositories])).toEqual([
      ['t001', 't001-source', '200000000000', 3, ['t001-svc1', 't001-svc2']],
      ['t002', 't002-source', '200000000004', 3, ['t002-svc1', 't002-svc2']],
      ['t003', 't003-source', '200000000008', 3, ['t003-svc1', 't003-svc2']],
    ]);
    expect(teams.teamOf('200000000006')?.key).toBe('t002');
    expect(teams.teamOf('100000000000')).toBeUndefined();
  });

  it('no teams to fold: one source account, an account two teams share, a name without the key', () => {
    expect(findTeams(parseOrg(readFileSync('parameters/example.yaml', 'utf8'), 'example.yaml'))).toBeUndefined();
    // t002-svc1 also deploys to t001's dev account: the teams are not apart.
    const shared = teamsOrg(3, (y) => y.replace('  t002-svc1:\n    repository: t002-svc1\n    branches:\n', '  t002-svc1:\n    repository: t002-svc1\n    branches:\n      t001-dev: develop\n'));
    expect(shared.pipelines.find((p) => p.name === 't002-svc1')!.branches.map(([e]) => e)).toContain('t001-dev');
    expect(findTeams(shared)).toBeUndefined();
    const unkeyed = teamsOrg(3, (y) => y.replaceAll('t002-svc2', 'billing'));
    expect(unkeyed.repositories.map((r) => r.name)).toContain('billing');
    expect(findTeams(unkeyed)).toBeUndefined();
  });
});

describe('what a text names', () => {
  const teams = findTeams(teamsOrg(3))!;
  it('a team by its key in a name, its PascalCase key in a logical id, or one of its account ids; none when two teams or none are named', () => {
    expect(teams.namedIn('arn:aws:iam::{account}:role/big-t002-svc1-trigger')?.key).toBe('t002');
    expect(teams.namedIn('T003Svc1CodeDeployRoleFindDeploymentTargets')?.key).toBe('t003');
    expect(teams.namedIn('arn:aws:iam::200000000004:role/big-developer')?.key).toBe('t002');
    expect(teams.namedIn('arn:aws:iam::200000000004:role/big-t001-svc1')).toBeUndefined();
    expect(teams.namedIn('arn:aws:iam::100000000000:role/big-developer')).toBeUndefined();
    // A key is a whole word before a hyphen, as generalise reads it: t0011 is not t001.
    expect(teams.namedIn('big-xt001-svc1 t0011-svc1')).toBeUndefined();
  });

  it('a list folds a value every team has once, alike up to its names; a value of some teams only is listed as it is', () => {
    const arn = (key: string, repo: string) => `arn:\${AWS::Partition}:codecommit:\${AWS::Region}:\${AWS::AccountId}:${key}-${repo}`;
    const values = [...teams.list.flatMap((t) => [arn(t.key, 'svc1'), arn(t.key, 'svc2')]), arn('t002', 'extra'), 'arn:aws:s3:::big-shared'];
    expect(foldByTeam(values, teams)).toEqual([
      `${arn('{team}', 'svc1')} for each of the 3 teams`,
      `${arn('{team}', 'svc2')} for each of the 3 teams`,
      arn('t002', 'extra'),
      'arn:aws:s3:::big-shared',
    ]);
    expect(foldByTeam(values.slice(1), teams)).toContain(arn('t002', 'svc1'));
  });
});

describe('rows folded by team', () => {
  const teams = findTeams(teamsOrg(3))!;
  const values = (t: Team): Record<string, string> => ({ '{team}': t.key, '{Team}': logicalId(t.key), '{source}': t.source.id });
  const writeBack = (text: string, t: Team, account: string) =>
    Object.entries({ ...values(t), '{account}': account }).reduce((s, [placeholder, value]) => s.replaceAll(placeholder, value), text);
  const rowsOf = (t: Team, account: string, extra = '') => ({
    cells: [`the source role reads ${t.key}-svc1 for ${account}`, `arn:aws:iam::${t.source.id}:role/big-source-${account}`, `${logicalId(t.key)}Svc1PipelinePolicy/AssumeSourceRole${extra}`],
    account,
    merge: true,
  });

  it('rows alike up to the team merge into one, and each team\'s row is that row with its values written back', () => {
    const items = teams.list.flatMap((t) => t.pipelineAccounts.map((a) => rowsOf(t, a)));
    const rows = mergeAccountRows(items, (x) => x, teams.teamOf);
    expect(rows).toEqual([
      ['the source role reads {team}-svc1 for {account}', 'arn:aws:iam::{source}:role/big-source-{account}', '{Team}Svc1PipelinePolicy/AssumeSourceRole (the same in each of 3 teams, 9 accounts)'],
    ]);
    const folded = rows[0].map((c) => c.replace(/ \(the same in each of .*\)$/, ''));
    for (const item of items) expect(folded.map((c) => writeBack(c, teams.teamOf(item.account)!, item.account))).toEqual(item.cells);
  });

  it('a team whose row differs keeps its own row, with its own names', () => {
    const [a, b, c] = teams.list;
    const items = [...a.pipelineAccounts.map((x) => rowsOf(a, x)), ...b.pipelineAccounts.map((x) => rowsOf(b, x, '; OtherStatement')), ...c.pipelineAccounts.map((x) => rowsOf(c, x))];
    const rows = mergeAccountRows(items, (x) => x, teams.teamOf);
    expect(rows.map((r) => r[2])).toEqual([
      '{Team}Svc1PipelinePolicy/AssumeSourceRole (the same in each of 2 teams, 6 accounts)',
      'T002Svc1PipelinePolicy/AssumeSourceRole; OtherStatement (the same in each of 3 accounts)',
    ]);
    expect(rows[1][1]).toBe(`arn:aws:iam::${b.source.id}:role/big-source-{account}`);
  });

  it('a row of an account outside every team (the tools account) keeps its names', () => {
    const tools = { cells: ['developers assume the developer role', 'arn:aws:iam::100000000000:role/big-developer', 'DeveloperRole/Trust'], account: '100000000000', merge: false };
    const [a] = teams.list;
    expect(mergeAccountRows([tools, rowsOf(a, a.pipelineAccounts[0])], (x) => x, teams.teamOf)).toEqual([tools.cells, rowsOf(a, a.pipelineAccounts[0]).cells]);
  });
});

describe('the report of an org of teams', () => {
  const report = (n: number) => compileOrg(teamsOrg(n)).files.get('audit/report.md')!;
  const section = (md: string, id: string) => md.split(`<a id="${id}"></a>`)[1].split('<a id=')[0];
  const rows = (text: string) => text.split('\n').filter((l) => l.startsWith('| ') && !/^\| (path|resource|role|team|\{team\}) \|/.test(l));
  const [six, twelve] = [6, 12].map(report);

  it('the access matrix, the trust matrix and who can act on each resource do not grow with the number of teams', () => {
    for (const id of ['access', 'trust', 'cross-account', 'reach-key', 'reach-bucket', 'reach-repository', 'reach-role', 'reach-event-bus', 'execution-role', 'checks', 'stage-pipelines', 'stage-source-identity']) {
      expect(rows(section(twelve, id)).length, id).toBe(rows(section(six, id)).length);
      expect(rows(section(six, id)).length, id).toBeGreaterThan(0);
    }
    expect(section(twelve, 'access')).toContain('| the source role reads the repository ({team}-svc1, each environment) | arn:aws:iam::{source}:role/big-source-{account} | arn:aws:codecommit:us-east-1:{source}:{team}-svc1 |');
    expect(section(twelve, 'access')).toContain('(the same in each of 12 teams, 36 accounts)');
    expect(section(twelve, 'access')).not.toMatch(/t0\d\d-svc/);
    expect(section(twelve, 'execution-role')).toContain(':${AWS::AccountId}:{team}-svc1 for each of the 12 teams');
    expect(section(twelve, 'execution-role')).not.toMatch(/t0\d\d-svc/);
    expect(section(twelve, 'checks')).toContain('| DeveloperRoleCodecommitDeveloperIn{source} | XS002 | ListRepositories |');
  });

  it('the teams table gives each team\'s values, and says what the placeholders stand for', () => {
    const teams = section(twelve, 'teams');
    expect(teams).toContain('{team} stands for the team ({Team} in logical ids) and {source} for its source account\'s id');
    expect(rows(teams)).toHaveLength(12);
    expect(teams).toContain('| t012 | t012-source (200000000044) | t012-dev (200000000045), t012-staging (200000000046), t012-prod (200000000047) | t012-svc1, t012-svc2 |');
  });
});

describe('the audit model of an org of teams', () => {
  /** The model of a compile, folded by team and not. */
  const modelsOf = (n: number) => {
    const org = teamsOrg(n);
    const stages = planStages(org);
    const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const access = analyseAccess(org, stages, templates, { byClass: true });
    const resources = orgResources(org, stages, templates, classesOf(access));
    const model = (teams: Teams | undefined) => auditModel(org.file, { orgFileSha256: null }, resources, access, teams);
    return { folded: model(findTeams(org)), plain: model(undefined) };
  };
  const [six, seven] = [6, 7].map(modelsOf);
  const none = { resources: [], grants: { added: [], removed: [] }, trust: { added: [], removed: [] }, paths: { added: [], removed: [], newlyAllowed: [], newlyRefused: [] } };
  const size = (m: AuditModel) => m.resources.length + m.grants.length + m.trust.length + m.paths.length;

  it('folded by team it reads back exactly as unfolded, and grows by a few entries a team', () => {
    expect(six.folded.format).toBe('xstack-audit-model/2');
    expect(six.plain.format).toBe('xstack-audit-model/1');
    expect(six.folded.teams!.map((t) => t.key)).toEqual(['t001', 't002', 't003', 't004', 't005', 't006']);
    expect(compareModels(six.plain, six.folded)).toEqual(none);
    expect(compareModels(six.folded, six.plain)).toEqual(none);
    // What stays per team is what names another account's literal id or a hashed name (the forwarder's buses, its rules' ARNs).
    expect(size(seven.folded) - size(six.folded)).toBe(5);
    expect(size(seven.plain) - size(six.plain)).toBeGreaterThan(40);
  });

  it('a team added: the changes are the same whether either side is folded, and name the new team', () => {
    const changes = compareModels(six.plain, seven.plain);
    expect(changes.paths.added.length).toBeGreaterThan(0);
    expect(changes.paths.removed).toEqual([]);
    expect(changes.resources.filter((r) => r.change !== 'added')).toEqual([]);
    expect(changes.resources.map((r) => r.resource).join('\n')).toContain('t007-svc1');
    expect(changes.paths.added.every((p) => /t007|200000000024|20000000002[5-7]/.test(p))).toBe(true);
    expect(compareModels(six.folded, seven.folded)).toEqual(changes);
    expect(compareModels(six.plain, seven.folded)).toEqual(changes);
    expect(compareModels(six.folded, seven.plain)).toEqual(changes);
  });

  it('--since reads a folded model as a previous compile, and refuses a format it does not know, naming those it reads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xstack-teams-since-'));
    mkdirSync(join(dir, 'audit'));
    writeFileSync(join(dir, MODEL_FILE), JSON.stringify(six.folded));
    expect(readPreviousModel(dir)).toEqual(six.folded);
    writeFileSync(join(dir, MODEL_FILE), JSON.stringify({ ...six.folded, format: 'xstack-audit-model/9' }));
    expect(() => readPreviousModel(dir)).toThrow("has format 'xstack-audit-model/9'; expected one of 'xstack-audit-model/1', 'xstack-audit-model/2'");
  });
});
