/**
 * The report of an org of many teams (src/audit/teams.ts): rows alike up to a
 * team's names are printed once, and writing one team's values back into a
 * folded row gives exactly that team's row; orgs whose teams cannot be told
 * apart by a key are not folded.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { mergeAccountRows, teamFold } from '../src/audit/scale';
import { findTeams, foldByTeam, holdsPlaceholder, writeBack, type Team, type Teams } from '../src/audit/teams';
import { random } from './support/seeded-random';
import { tokenFor } from '../src/audit/symbolic';
import { buildReport } from '../src/audit/report';
import { toMarkdown } from '../src/audit/render';
import { orderStages } from '../src/stages/graph';
import type { Org } from '../src/org/model';
import { logicalId } from '../src/cfn/resources';
import { compileOrg } from '../src/compile';
import { analyseAccess } from '../src/audit/paths';
import { classesOf, orgResources } from '../src/audit/reach';
import { auditModel, compareModels, MODEL_FILE, readPreviousModel, type AuditModel } from '../src/audit/since';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderTemplate } from '../src/cfn/template';
import { Resolver } from '../src/audit/resolve';
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

  it('no teams to fold with one source account; a team that shares an account or has a name without the key is left out, the others fold', () => {
    expect(findTeams(parseOrg(readFileSync('parameters/example.yaml', 'utf8'), 'example.yaml'))).toBeUndefined();
    // t002-svc1 also deploys to t001's dev account: neither t001 nor t002 can be folded.
    const shared = teamsOrg(3, (y) => y.replace('  t002-svc1:\n    repository: t002-svc1\n    branches:\n', '  t002-svc1:\n    repository: t002-svc1\n    branches:\n      t001-dev: develop\n'));
    expect(shared.pipelines.find((p) => p.name === 't002-svc1')!.branches.map(([e]) => e)).toContain('t001-dev');
    expect(findTeams(shared)).toBeUndefined();
    const unkeyed = findTeams(teamsOrg(4, (y) => y.replaceAll('t002-svc2', 'billing')))!;
    expect(unkeyed.list.map((t) => t.key)).toEqual(['t001', 't003', 't004']);
    expect(unkeyed.unfolded).toEqual(['t002-source']);
    expect(unkeyed.teamOf('200000000004')).toBeUndefined();
  });

  it('keys that are a prefix of another, or common words, are still teams of their own', () => {
    const teams = findTeams(teamsOrg(4, (y) => y.replaceAll('t002', 't001-eu').replaceAll('t003', 'big').replaceAll('t004', 'code')))!;
    expect(teams.list.map((t) => t.key)).toEqual(['t001', 't001-eu', 'big', 'code']);
    // t001's key is a word of t001-eu-svc1 too: the text names both, so it is listed as it is wherever a team is looked up by name.
    expect(teams.namedIn('arn:aws:codecommit:us-east-1:{account}:t001-eu-svc1')).toBeUndefined();
    expect(teams.namedIn('arn:aws:codecommit:us-east-1:{account}:t001-svc1')?.key).toBe('t001');
    expect(teams.teamOf('200000000004')?.key).toBe('t001-eu');
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
    // Named twice, or by its id and its key: one team; two teams by their keys, or the same id beside another team's key: none.
    expect(teams.namedIn('big-t002-svc1 T002Svc1 arn:aws:iam::200000000004:role/big-t002-svc1')?.key).toBe('t002');
    expect(teams.namedIn('big-t002-svc1 big-t003-svc1')).toBeUndefined();
    expect(teams.namedIn('T002Svc1 T003Svc1')).toBeUndefined();
    expect(teams.namedIn('arn:aws:iam::200000000004:role/big-developer T003Svc1 200000000004')).toBeUndefined();
    // A key is a whole word before a hyphen, as generalise reads it: t0011 is not t001.
    expect(teams.namedIn('big-xt001-svc1 t0011-svc1')).toBeUndefined();
    // An account id is a run of exactly 12 digits, wherever it stands: 13 digits name no account.
    expect(teams.namedIn('role/x200000000004y')?.key).toBe('t002');
    expect(teams.namedIn('arn:aws:iam::2000000000040:role/big-developer 1200000000004')).toBeUndefined();
  });

  it('the key is replaced exactly where it is looked up: as a word before a hyphen, and in PascalCase before a capital, a digit or the end', () => {
    const [t1] = teams.list;
    const cases: Array<[string, string]> = [
      ['big-t001-svc1', 'big-{team}-svc1'],
      ['t001-svc1/t001-x', '{team}-svc1/{team}-x'],
      ['xt001-svc1 t0011-svc1 t001 t001_', 'xt001-svc1 t0011-svc1 t001 t001_'],
      ['T001Svc1 RepositoryT001Svc2 T0012 T001', '{Team}Svc1 Repository{Team}Svc2 {Team}2 {Team}'],
      ['T001svc T001a', 'T001svc T001a'],
    ];
    for (const [text, folded] of cases) {
      expect(t1.toPlaceholders(text), text).toBe(folded);
      expect(t1.keyIn(text), text).toBe(folded !== text);
    }
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
  const fold = teamFold(teams, new Map());
  const values = (t: Team): Record<string, string> => ({ '{team}': t.key, '{Team}': logicalId(t.key), '{source}': t.source.id });
  const readBack = (text: string, t: Team, account: string) =>
    Object.entries({ ...values(t), '{account}': account }).reduce((s, [placeholder, value]) => s.replaceAll(placeholder, value), text);
  const rowOf = (t: Team, account: string, extra = '') => ({
    cells: [`the source role reads ${t.key}-svc1 for ${account}`, `arn:aws:iam::${t.source.id}:role/big-source-${account}`, `${logicalId(t.key)}Svc1PipelinePolicy/AssumeSourceRole${extra}`],
    account,
    merge: true,
  });
  const note = / \(the same [^)]*\)$/;

  it('rows alike up to the team merge into one that names the accounts of each team and the teams; each team\'s row is that row with its values written back', () => {
    const items = teams.list.flatMap((t) => t.pipelineAccounts.map((a) => rowOf(t, a)));
    const rows = mergeAccountRows(items, (x) => x, fold);
    expect(rows).toEqual([
      [
        'the source role reads {team}-svc1 for {account}',
        'arn:aws:iam::{source}:role/big-source-{account}',
        '{Team}Svc1PipelinePolicy/AssumeSourceRole (the same for {team}-dev, {team}-staging, {team}-prod in each of the 3 teams)',
      ],
    ]);
    const folded = rows[0].map((c) => c.replace(note, ''));
    for (const item of items) expect(folded.map((c) => readBack(c, teams.teamOf(item.account)!, item.account))).toEqual(item.cells);
  });

  it('a row held for other accounts of a team, or different in a team, is not merged with the others, and says so', () => {
    const [a, b, c] = teams.list;
    const everywhere = [a, c].flatMap((t) => t.pipelineAccounts.map((x) => rowOf(t, x)));
    const prodOnly = rowOf(b, b.pipelineAccounts[2]);
    const different = b.pipelineAccounts.map((x) => rowOf(b, x, '; OtherStatement'));
    const rows = mergeAccountRows([...everywhere, prodOnly, ...different], (x) => x, fold);
    expect(rows.map((r) => r[2].replace(/^.*AssumeSourceRole/, ''))).toEqual([
      ' (the same for {team}-dev, {team}-staging, {team}-prod in each of 2 teams: t001, t003)',
      '',
      '; OtherStatement (the same for t002-dev, t002-staging, t002-prod)',
    ]);
    // t002's row held for its prod account only: as it is.
    expect(rows[1]).toEqual(prodOnly.cells);
    expect(rows[2][1]).toBe(`arn:aws:iam::${b.source.id}:role/big-source-{account}`);
  });

  it("a class whose members are of two teams is neither team's: its rows are not folded as one team's (review s41-mutations-3 SC2)", () => {
    const [a, b] = teams.list;
    const token = tokenFor(0);
    const across = teamFold(teams, new Map([[a.pipelineAccounts[0], { token, members: [a.pipelineAccounts[0], b.pipelineAccounts[0]] }]]))!;
    expect(across.of(token)).toBeUndefined();
    const within = teamFold(teams, new Map([[a.pipelineAccounts[0], { token, members: a.pipelineAccounts }]]))!;
    expect(within.of(token)).toEqual({ team: a, accounts: a.pipelineAccounts });
  });

  it("a row a class's token and an account of the team hold alike names all three accounts, and leaves the class's own list as it was for the next table", () => {
    const [a, b] = teams.list;
    const [dev, staging, prod] = a.pipelineAccounts;
    const token = tokenFor(0);
    const members = [dev, staging];
    const byClass = teamFold(teams, new Map([[dev, { token, members }]]))!;
    const ofClass = { ...rowOf(a, token), accounts: 2 };
    // The class's row first, its list shared; then prod's adds an account, and b's rows share one list each.
    const rows = mergeAccountRows([ofClass, rowOf(a, prod), ...b.pipelineAccounts.map((x) => rowOf(b, x))], (x) => x, byClass);
    expect(rows.map((r) => r[2].replace(/^.*AssumeSourceRole/, ''))).toEqual([' (the same for {team}-dev, {team}-staging, {team}-prod in each of 2 teams: t001, t002)']);
    expect(members).toEqual([dev, staging]);
    expect(byClass.of(token)!.accounts).toEqual([dev, staging]);
    expect(mergeAccountRows([ofClass], (x) => x, byClass)[0][2]).toMatch(/\(the same for t001-dev, t001-staging\)$/);
    // Held for two of a's accounts, and all three of b's: two rows, each naming its own.
    const apart = mergeAccountRows([ofClass, ...b.pipelineAccounts.map((x) => rowOf(b, x))], (x) => x, byClass);
    expect(apart.map((r) => r[2].replace(/^.*AssumeSourceRole/, ''))).toEqual([' (the same for t001-dev, t001-staging)', ' (the same for t002-dev, t002-staging, t002-prod)']);
    // A team's rows held for different accounts: each row by its own accounts (b's second row joins a's, for prod alone).
    const other = (t: Team, x: string) => rowOf(t, x, '; Other');
    const mixed = mergeAccountRows([...b.pipelineAccounts.map((x) => rowOf(b, x)), other(a, prod), other(b, b.pipelineAccounts[2])], (x) => x, byClass);
    expect(mixed.map((r) => r[2].replace(/^.*AssumeSourceRole/, ''))).toEqual([' (the same for t002-dev, t002-staging, t002-prod)', '; Other (the same for {team}-prod in each of 2 teams: t001, t002)']);
  });

  it('a row of an account outside every team (the tools account) keeps its names', () => {
    const tools = { cells: ['developers assume the developer role', 'arn:aws:iam::100000000000:role/big-developer', 'DeveloperRole/Trust'], account: '100000000000', merge: false };
    const [a] = teams.list;
    expect(mergeAccountRows([tools, rowOf(a, a.pipelineAccounts[0])], (x) => x, fold)).toEqual([tools.cells, rowOf(a, a.pipelineAccounts[0]).cells]);
  });

  it('a row whose text holds a placeholder of its own (a branch named {team}-hotfix) is never merged, so it reads as it is', () => {
    const [a, b] = teams.list;
    const branch = (t: Team, name: string) => ({ cells: [`${t.key}-svc1 branch`, name], account: t.pipelineAccounts[0], merge: true });
    const rows = mergeAccountRows([branch(a, '{team}-hotfix'), branch(b, 't002-hotfix')], (x) => x, fold);
    expect(rows).toEqual([
      ['t001-svc1 branch', '{team}-hotfix'],
      ['t002-svc1 branch', 't002-hotfix'],
    ]);
  });

  it('a row holding a placeholder of its own is never merged, whatever rows came before it: one that is merged, or one alike that is not', () => {
    const [a] = teams.list;
    const [dev, staging, prod] = a.pipelineAccounts;
    const branch = (account: string, name: string) => ({ cells: [`${a.key}-svc1 branch`, name], account, merge: true });
    // The row before holds the same first cell (a cell the fold met); then three rows each as the one before them, alike
    // but for their account, which would merge were each not read for its placeholder.
    const rows = mergeAccountRows([branch(dev, 'main'), branch(staging, '{team}-hotfix'), branch(prod, '{team}-hotfix'), branch(dev, '{team}-hotfix')], (x) => x, fold);
    expect(rows).toEqual([
      ['t001-svc1 branch', 'main'],
      ['t001-svc1 branch', '{team}-hotfix'],
      ['t001-svc1 branch', '{team}-hotfix'],
      ['t001-svc1 branch', '{team}-hotfix'],
    ]);
    // Without the literal rows, the same rows of two accounts merge: the rows above were kept apart by their placeholder.
    expect(mergeAccountRows([branch(staging, 'main'), branch(prod, 'main')], (x) => x, fold)).toEqual([['t001-svc1 branch', 'main (the same for t001-staging, t001-prod)']]);
  });

  it('rows sharing their first cells meet exactly where every cell is alike, whichever row came first', () => {
    const [a] = teams.list;
    const [dev, staging, prod] = a.pipelineAccounts;
    const row = (account: string, ...cells: string[]) => ({ cells, account, merge: true });
    // x y, then x z (a second child where x had one), then x y again, and x z w (a cell more), x z.
    const rows = mergeAccountRows([row(dev, 'x', 'y'), row(dev, 'x', 'z'), row(prod, 'x', 'y'), row(staging, 'x', 'z', 'w'), row(staging, 'x', 'z'), row(staging, 'x', 'v')], (x) => x, fold);
    expect(rows).toEqual([
      ['x', 'y (the same for t001-dev, t001-prod)'],
      ['x', 'z (the same for t001-dev, t001-staging)'],
      ['x', 'z', 'w'],
      ['x', 'v'],
    ]);
  });

  it('rows are told apart by each cell, not by their cells run together: x\\u0000y, z and x, y\\u0000z are two rows', () => {
    const [a] = teams.list;
    const [dev, staging] = a.pipelineAccounts;
    const rows = mergeAccountRows([{ cells: ['x\u0000y', 'z'], account: dev, merge: true }, { cells: ['x', 'y\u0000z'], account: staging, merge: true }], (x) => x, fold);
    expect(rows).toEqual([
      ['x\u0000y', 'z'],
      ['x', 'y\u0000z'],
    ]);
  });
});

describe('the report of an org of teams', () => {
  const report = (n: number) => compileOrg(teamsOrg(n)).files.get('audit/report.md')!;
  const section = (md: string, id: string) => md.split(`<a id="${id}"></a>`)[1].split('<a id=')[0];
  const rows = (text: string) => text.split('\n').filter((l) => l.startsWith('| ') && !/^\| (path|resource|role|team|\{team\}|statement|stage|check|output|chosen by account|uses, by name[^|]*) \|/.test(l));
  const [six, twelve] = [6, 12].map(report);

  it('the access matrix, the trust matrix, who can act on each resource and the stage sections do not grow with the number of teams', () => {
    for (const id of ['access', 'trust', 'release', 'cross-account', 'reach-key', 'reach-bucket', 'reach-repository', 'reach-role', 'reach-event-bus', 'execution-role', 'checks', 'stage-pipelines', 'stage-source-identity']) {
      expect(rows(section(twelve, id)).length, id).toBe(rows(section(six, id)).length);
      expect(rows(section(six, id)).length, id).toBeGreaterThan(0);
    }
    expect(section(twelve, 'access')).toContain('| the source role reads the repository ({team}-svc1, each environment) | arn:aws:iam::{source}:role/big-source-{account} | arn:aws:codecommit:us-east-1:{source}:{team}-svc1 |');
    expect(section(twelve, 'access')).toContain('(the same for {team}-dev, {team}-staging, {team}-prod in each of the 12 teams)');
    expect(section(twelve, 'access')).not.toMatch(/t0\d\d-svc/);
    expect(section(twelve, 'execution-role')).toContain(':${AWS::AccountId}:{team}-svc1 for each of the 12 teams');
    expect(section(twelve, 'execution-role')).not.toMatch(/t0\d\d-svc/);
    expect(section(twelve, 'checks')).toContain('| DeveloperRoleCodecommitDeveloperIn{source} | XS002 | ListRepositories |');
  });

  it('a folded value row keeps which account gets each value, and a team that deploys another branch to prod stands apart in release control (review s18-audit M2)', () => {
    expect(section(six, 'stage-pipelines')).toContain('| {team}-svc1 branch | develop ({team}-dev); release ({team}-staging); main ({team}-prod) (the same in each of the 6 teams) |');
    const swapped = compileOrg(teamsOrg(6, (y) => y.replace('      t005-dev: develop\n      t005-staging: release\n      t005-prod: main\n', '      t005-dev: main\n      t005-staging: release\n      t005-prod: develop\n'))).files.get('audit/report.md')!;
    expect(section(swapped, 'stage-pipelines')).toContain('| t005-svc1 branch | main (t005-dev); release (t005-staging); develop (t005-prod) |');
    const release = rows(section(swapped, 'release'));
    expect(release.filter((r) => r.startsWith('| t005-svc1 (t005-source) | t005-prod (200000000019) | develop | no |'))).toHaveLength(1);
    expect(release.some((r) => r.startsWith('| {team}-svc1 ({team}-source) | {team}-prod ({account}) | main | no |') && r.endsWith('(the same for {team}-prod in each of 5 teams: t001 to t004, t006) |'))).toBe(true);
  });

  it('says that access is not scoped by team: one developers section reaches every team (review s18-audit m7)', () => {
    expect(section(six, 'teams')).toContain("Access is not scoped by team: the roles access.developers names (AWSReservedSSO_Developer_* in tools) may assume the developer role of every team's source account, 6 teams, so whoever is given one of them works on every team's repositories.");
  });

  it('the teams table gives each team\'s values, and says what the placeholders stand for', () => {
    const teams = section(twelve, 'teams');
    expect(teams).toContain('with {team} for the team\'s key ({Team} in logical ids) and {source} for its source account\'s id');
    expect(teams).toContain('{account} is the team\'s account the row is made for');
    expect(rows(teams)).toHaveLength(12);
    expect(teams).toContain('| t012 | T012 | t012-source (200000000044) | t012-dev (200000000045), t012-staging (200000000046), t012-prod (200000000047) | t012-svc1, t012-svc2 |');
  });

  /**
   * Every row of the report made without folding by team is a row of the
   * folded report with one team's values written back (pipeline account ids
   * read as {account} on both sides, the notes of merged rows aside), and a
   * folded row that names N teams is exactly N teams' rows.
   */
  function foldingProblems(org: Org): string[] {
    const teams = findTeams(org)!;
    const stages = planStages(org);
    const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const access = analyseAccess(org, stages, templates, { byClass: true });
    const md = (t: Teams | null) => toMarkdown(buildReport({ org, stages, templates, rollout: orderStages(stages), access, files: new Map(), svg: '', teams: t }));
    const [folded, plain] = [md(teams), md(null)];
    const pipelineIds = org.accounts.filter((a) => a.role === 'pipeline').map((a) => a.id);
    const norm = (row: string) => pipelineIds.reduce((text, id) => text.replaceAll(id, '{account}'), row.replace(/ ?\(the same [^)]*\)( \|)$/, '$1').replace(/ +\|/g, ' |'));
    const bySection = (text: string) => new Map(text.split('<a id="').slice(1).map((part) => [part.slice(0, part.indexOf('"')), part.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('|---'))]));
    const unlist = (row: string) => row.replace(/([^,|]+) for each of the \d+ teams/g, (_, value: string) => teams.list.map((t) => writeBack(value, { key: t.key, source: t.source.id })).join(', '));
    const sorted = (row: string) => row.split(' | ').map((cell) => cell.split(', ').sort().join(', ')).join(' | ');
    const [F, P] = [bySection(folded), bySection(plain)];
    const problems: string[] = [];
    for (const [id, plainRows] of P) {
      if (id === 'teams') continue;
      const foldedRows = (F.get(id) ?? []).map(unlist);
      const plainSet = new Set(plainRows.map((r) => sorted(norm(r))));
      const expanded = new Set<string>();
      for (const r of foldedRows) {
        // A row folded by team says for which teams; any other row is printed as it is.
        const claimed = claimedTeams(r, teams);
        if (claimed === undefined) {
          expanded.add(sorted(norm(r)));
          continue;
        }
        for (const t of claimed) {
          const row = sorted(norm(writeBack(r, { key: t.key, source: t.source.id })));
          expanded.add(row);
          if (!plainSet.has(row)) problems.push(`[${id}] holds for ${t.key} by what it says, but ${t.key}'s row is not so: ${r.slice(0, 300)}`);
        }
      }
      for (const r of plainRows) if (!expanded.has(sorted(norm(r)))) problems.push(`[${id}] not read back from the folded report: ${r.slice(0, 300)}`);
    }
    return problems;
  }

  /** The teams a folded row says it holds in ("in each of the 6 teams", "in each of 4 teams: t001, t003 to t005"); undefined for a row not folded by team. */
  function claimedTeams(row: string, teams: Teams): Team[] | undefined {
    const claim = / in each of (?:the (\d+) teams|(\d+) teams: ([^)]*))\)/.exec(row);
    if (!claim) return undefined;
    if (claim[1]) {
      expect(Number(claim[1])).toBe(teams.list.length);
      return [...teams.list];
    }
    const keys = teams.list.map((t) => t.key);
    const named = claim[3].split(', ').flatMap((item) => {
      const [from, to] = item.split(' to ');
      return to === undefined ? [from] : keys.slice(keys.indexOf(from), keys.indexOf(to) + 1);
    });
    expect(named.length).toBe(Number(claim[2]));
    return named.map((k) => teams.list.find((t) => t.key === k)!);
  }

  const edits: Record<string, (yaml: string) => string> = {
    'as generated': (y) => y,
    'one team without staging for a pipeline': (y) => y.replace('  t003-svc1:\n    repository: t003-svc1\n    branches:\n      t003-dev: develop\n      t003-staging: release\n', '  t003-svc1:\n    repository: t003-svc1\n    branches:\n      t003-dev: develop\n'),
    'every second pipeline deploying to prod only': (y) => y.replace(/(  (t\d{3})-svc2:\n    repository: t\d{3}-svc2\n    branches:\n)      t\d{3}-dev: develop\n      t\d{3}-staging: release\n/g, '$1'),
    'a branch named with a placeholder': (y) => y.replace(/(  (t\d{3})-svc1:\n    repository: t\d{3}-svc1\n    branches:\n      t\d{3}-dev: )develop/g, (_, head: string, team: string) => `${head}${team === 't001' ? '"{team}-hotfix"' : `${team}-hotfix`}`),
    'keys that are a prefix of another': (y) => y.replaceAll('t002', 't001-eu'),
    'keys that are words of the templates': (y) => y.replaceAll('t003', 'big').replaceAll('t004', 'code').replaceAll('t005', 'dev').replaceAll('t006', 'source'),
  };
  for (const [name, edit] of Object.entries(edits)) {
    it(`every unfolded row reads back from the folded report, and each folded row holds for the teams it names: ${name}`, () => {
      expect(foldingProblems(teamsOrg(6, edit))).toEqual([]);
    });
  }

  it('a path row held for one account names its environment, not "each environment" (review s18-audit m3)', () => {
    const access = section(compileOrg(teamsOrg(6, edits['one team without staging for a pipeline'])).files.get('audit/report.md')!, 'access');
    expect(access).toContain('| the pipeline role assumes the source role (t003-svc2 in t003-staging) | arn:aws:iam::200000000010:role/big-pipeline |');
    const each = rows(access).filter((r) => r.includes('each environment)'));
    expect(each.length).toBeGreaterThan(0);
    // Each such row holds for several of a team's accounts: "the same for {team}-dev, {team}-prod …", never for one.
    for (const r of each) expect(r, r).toMatch(/\(the same for [^),]+, [^)]+\) \|$/);
  });

  it('a row held for some accounts of each team names them', () => {
    const trust = section(compileOrg(teamsOrg(6, edits['every second pipeline deploying to prod only'])).files.get('audit/report.md')!, 'trust');
    expect(trust).toMatch(/\| arn:aws:iam::\{account\}:role\/big-\{team\}-svc2-[a-z-]+ \|.*\(the same for \{team\}-prod in each of the 6 teams\) \|/);
  });
});

describe('the audit model of an org of teams', () => {
  /** The model of a compile, folded by team and not. */
  const modelsOf = (n: number, edit?: (yaml: string) => string) => {
    const org = teamsOrg(n, edit);
    const stages = planStages(org);
    const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const access = analyseAccess(org, stages, templates, { byClass: true });
    const resources = orgResources(org, stages, templates, classesOf(access));
    // With the compile's templates: each pipeline's branch per account and every template's resources fold too.
    const compiled = { org, stages, templates, resolver: new Resolver(org, stages, templates) };
    const model = (teams: Teams | undefined) => auditModel(org.file, { orgFileSha256: null }, resources, access, teams, compiled);
    return { folded: model(findTeams(org)), plain: model(undefined) };
  };
  const [six, seven] = [6, 7].map((n) => modelsOf(n));
  const none = { resources: [], releases: [], grants: { added: [], removed: [] }, trust: { added: [], removed: [] }, paths: { added: [], removed: [], newlyAllowed: [], newlyRefused: [], newlyUndecided: [] }, conditions: [] };
  const size = (m: AuditModel) => m.resources.length + m.grants.length + m.trust.length + m.paths.length;

  it('folded by team it reads back exactly as unfolded, and grows by a few entries a team', () => {
    expect(six.folded.format).toBe('xstack-audit-model/2');
    expect(six.plain.format).toBe('xstack-audit-model/1');
    expect(six.folded.teams!.map((t) => t.key)).toEqual(['t001', 't002', 't003', 't004', 't005', 't006']);
    expect(compareModels(six.plain, six.folded)).toEqual(none);
    expect(compareModels(six.folded, six.plain)).toEqual(none);
    // What stays per team is what names another account's literal id or a hashed name (the forwarder's buses, its rules'
    // ARNs, the dead-letter queue's path asked with one of the team's forwarding rules, and with every template's
    // resources the forwarding rules' logical ids, hashed from what they forward), and the developers' caller policy
    // (access-callers), which names the team's source account's developer role in its two statements, a grant each
    // for the developers' role in either path form.
    const rules = (m: AuditModel) => m.resources.filter((r) => r.value.logicalId.startsWith('ForwardingRule')).length;
    const callerGrants = (m: AuditModel) => m.grants.filter((g) => JSON.stringify(g).includes('AssumeDeveloperPolicy')).length;
    expect(callerGrants(seven.folded) - callerGrants(six.folded)).toBe(4);
    expect(rules(seven.folded) - rules(six.folded)).toBeGreaterThan(0);
    expect(size(seven.folded) - size(six.folded)).toBe(6 + 4 + rules(seven.folded) - rules(six.folded));
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

  it('a team renamed: its resources are paired old with new by name, the same whichever side is folded', () => {
    const renamed = modelsOf(6, (y) => y.replaceAll('t004', 'code'));
    const changes = compareModels(six.plain, renamed.plain);
    const replaced = changes.resources.filter((r) => r.change !== 'added' && r.change !== 'removed');
    expect(replaced.length).toBeGreaterThan(0);
    // Each logical id is paired with the one that ends like it: T004Svc1CodeDeployRole → CodeSvc1CodeDeployRole, never with another resource of the type.
    // (A forwarding rule's logical id is a hash of what it forwards: paired by stage, account and type alone.)
    for (const r of replaced.filter((x) => x.detail.startsWith('logical id ') && !x.detail.startsWith('logical id ForwardingRule'))) {
      const [, from, to] = /^logical id (\S+) → (\S+)( |$)/.exec(r.detail)!;
      expect(to.replace('Code', 'T004'), r.detail).toBe(from);
    }
    for (const [before, after] of [[six.folded, renamed.folded], [six.plain, renamed.folded], [six.folded, renamed.plain]]) expect(compareModels(before, after)).toEqual(changes);
  });

  it('a text holding a placeholder of its own (a protected branch named {team}-frozen) is written as it is, and reads back the same', () => {
    const odd = modelsOf(6, (y) => y.replace("        sso: true\n", "        sso: true\n    protectedBranches: ['{team}-frozen', '{account}']\n"));
    const literal = odd.folded.grants.filter((e) => e.literal);
    expect(literal.length).toBeGreaterThan(0);
    for (const e of literal) expect(e.value).toMatch(/\{team\}-frozen|\{account\}/);
    expect(odd.plain.format).toBe('xstack-audit-model/2');
    expect(compareModels(odd.plain, odd.folded)).toEqual(none);
    // Compared with the org before the branches were protected, only the developers' grants change, and they name the branches as they are.
    const changes = compareModels(six.folded, odd.folded);
    expect([...changes.grants.added, ...changes.grants.removed].join('\n')).toContain('refs/heads/{team}-frozen');
    expect(changes).toEqual(compareModels(six.plain, odd.plain));
    // Read as a previous compile, a model with such entries and no teams is taken as it is.
    const dir = mkdtempSync(join(tmpdir(), 'xstack-teams-literal-'));
    mkdirSync(join(dir, 'audit'));
    writeFileSync(join(dir, MODEL_FILE), JSON.stringify(odd.plain));
    expect(readPreviousModel(dir)).toEqual(odd.plain);
  });

  it('a model folded by team without its teams list is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xstack-teams-since-'));
    mkdirSync(join(dir, 'audit'));
    const { teams: _teams, ...withoutTeams } = six.folded;
    writeFileSync(join(dir, MODEL_FILE), JSON.stringify(withoutTeams));
    expect(() => readPreviousModel(dir)).toThrow('is folded by team (it holds {team}) but its teams list is missing');
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

describe('holdsPlaceholder', () => {
  // The plain question: does any placeholder stand anywhere in the text. Texts made of the placeholders, their cut and
  // misspelt forms and other braces, so that most braces start no placeholder and many start one's first characters.
  const PLACEHOLDERS = ['{account}', '{team}', '{Team}', '{source}'];
  const PIECES = [...PLACEHOLDERS, '{', '}', '{accoun', '{tea', '{Teams', '{sourc', 'account}', '{stage/LogicalId}', '{{team}', '{ team}', 'arn:aws:iam::111111111111:role/t1', '-', 'é{', '{中}'];
  it('answers as the plain search does, for every placeholder, at a text\'s end and after other braces', () => {
    const next = random(12);
    let held = 0;
    for (let round = 0; round < 5000; round++) {
      let text = '';
      const pieces = Math.floor(next() * 6);
      for (let i = 0; i < pieces; i++) text += PIECES[Math.floor(next() * PIECES.length)];
      const plain = PLACEHOLDERS.some((p) => text.includes(p));
      if (plain) held++;
      expect(holdsPlaceholder(text), text).toBe(plain);
    }
    // Both answers are asked often.
    expect(held).toBeGreaterThan(1000);
    expect(held).toBeLessThan(4000);
  });
});
