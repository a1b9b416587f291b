/**
 * The audit model's shortcuts (src/audit/since.ts): what is written once for every team must read as each team's
 * own entries folded one by one would. The execution role's lines shared by every group of accounts are folded once
 * where teamFree says they name no account and no team; these tests hold that claim against shapeFor for every team
 * and account of orgs whose teams are not alike, and the model's execution entries against the per-team fold. A path
 * is folded with its result as one text, which must fold as the path alone does after the result word.
 */
import { describe, expect, it } from 'vitest';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { parseOrg } from '../src/org/load';
import { planStages } from '../src/stages/plan';
import { renderTemplate } from '../src/cfn/template';
import { analyseAccess } from '../src/audit/paths';
import { classesOf, orgResources } from '../src/audit/reach';
import { Resolver } from '../src/audit/resolve';
import { findTeams, holdsPlaceholder, type Teams } from '../src/audit/teams';
import { ACCOUNT_PLACEHOLDER, shapeFor } from '../src/audit/scale';
import { auditModel, compareModels, executionLines, pathLine, teamFree } from '../src/audit/since';
import { accountPolicies, compiledTemplates, executionPolicyOf, targetAccounts } from '../src/deploy/execution-policy';
import { logicalId } from '../src/cfn/resources';
import { listIn } from '../src/memo';
import type { Org } from '../src/org/model';

const teamsOrg = (n: number, edit: (yaml: string) => string = (y) => y) => parseOrg(edit(generateTeamsOrgYaml(n)), `teams-${n}.yaml`);

/** Orgs whose teams are not all alike: each a way a team can differ from the others, or its key stand inside another name. */
const ORGS: Record<string, (yaml: string) => string> = {
  'alike teams': (y) => y,
  // t002 gains a repository and its pipeline.
  'a team with an extra repository': (y) =>
    y
      .replace('repositories:\n', 'repositories:\n  t002-svc3:\n    account: t002-source\n')
      .replace('pipelines:\n', 'pipelines:\n  t002-svc3:\n    repository: t002-svc3\n    branches:\n      t002-dev: develop\n    deploy:\n      type: codedeploy\n      applicationTagKey: Application\n'),
  // t003's staging environment is named qa.
  'a team with another environment': (y) => y.replaceAll('t003-staging', 't003-qa'),
  // Keys that are a prefix of another, the org's prefix, a word of the templates, and a longer one.
  'keys inside other names': (y) => y.replaceAll('t002', 't001-eu').replaceAll('t003', 'big').replaceAll('t004', 'code').replaceAll('t005', 'payments'),
};

/** A compile's model inputs, as compile.ts gives them, the execution role's statements with them. */
function compiled(org: Org) {
  const stages = planStages(org);
  const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
  const access = analyseAccess(org, stages, templates, { byClass: true });
  const resources = orgResources(org, stages, templates, classesOf(access));
  const execution = executionPolicyOf(org, compiledTemplates(stages, (s) => templates.get(s.id)!));
  const sources = { org, stages, templates, resolver: new Resolver(org, stages, templates), executionRole: { statements: execution.statements } };
  return { stages, statements: execution.statements, model: (teams: Teams | undefined) => auditModel(org.file, { orgFileSha256: null }, resources, access, teams, sources) };
}

/** The execution role's entries folded line by line for each team of each group, every line shaped on its own: value → its accounts. */
function perTeamExecution(org: Org, stages: ReturnType<typeof planStages>, statements: Parameters<typeof accountPolicies>[0], teams: Teams): Map<string, string[]> {
  const entries = new Map<string, Set<string>>();
  for (const group of accountPolicies(statements, targetAccounts(org, stages))) {
    const byTeam = new Map<string, string[]>();
    for (const account of group.accounts) listIn(byTeam, teams.teamOf(account)?.key ?? '').push(account);
    for (const accounts of byTeam.values()) {
      for (const s of group.statements) {
        for (const text of executionLines(s)) {
          const line = `in ${accounts[0]}${text}`;
          const value = holdsPlaceholder(line) ? `literal ${line}` : shapeFor(line, accounts[0], teams.teamOf(accounts[0]));
          const set = entries.get(value) ?? entries.set(value, new Set()).get(value)!;
          for (const a of accounts) set.add(a);
        }
      }
    }
  }
  return new Map([...entries].map(([value, accounts]) => [value, [...accounts].sort()]));
}

describe("the execution role's lines folded once for every team", () => {
  for (const [name, edit] of Object.entries(ORGS)) {
    it(`reads as each team's lines folded one by one: ${name}`, () => {
      const org = teamsOrg(6, edit);
      const teams = findTeams(org)!;
      expect(teams.list.length).toBeGreaterThanOrEqual(5);
      const { stages, statements, model } = compiled(org);
      const folded = model(teams);
      const entries = new Map(folded.execution!.map((e) => [`${e.literal ? 'literal ' : ''}${e.value}`, folded.accountSets[e.accounts]]));
      expect(entries).toEqual(perTeamExecution(org, stages, statements, teams));
      // Some lines are written once for every team: the shortcut is taken, and read back it is each account's line.
      expect([...entries.keys()].some((line) => line.startsWith(`in ${ACCOUNT_PLACEHOLDER}: bootstrap:`))).toBe(true);
      expect(compareModels(model(undefined), folded).execution).toEqual({ added: [], removed: [] });
    });
  }
});

describe('teamFree: a line that folds to itself after its account, for every account and team', () => {
  const org = teamsOrg(6, ORGS['keys inside other names']);
  const teams = findTeams(org)!;
  const free = teamFree(teams);
  const keys = teams.list.map((t) => t.key);
  expect(keys).toEqual(['t001', 't001-eu', 'big', 'code', 'payments', 't006']);
  // Pieces a line is made of: plain words, each team's key and logical-id form in and out of the contexts replaceKey
  // asks for, account ids (a team's own, inside longer numbers, cut short), placeholders of its own and separators.
  const pieces = [
    ': bootstrap: IamNamed | Allow | on arn:${AWS::Partition}:iam::${AWS::AccountId}:role/',
    ' | ',
    'xstack-',
    '-trigger',
    '*',
    'CodeDeploy',
    ...keys.flatMap((k) => [k, `${k}-`, `x${k}-`, `${k}x`, logicalId(k), `${logicalId(k)}Role`, `${logicalId(k)}role`, `a${logicalId(k)}`]),
    ...teams.list.flatMap((t) => [t.source.id, ...t.pipelineAccounts, `1${t.source.id}`, t.source.id.slice(1)]),
    '12345678901',
    '123456789012',
    '{team}',
    '{account}',
    '{Team}',
    '{source}',
    '{',
    'team}',
  ];
  // A small deterministic generator (no time, no Math.random): the same lines every run.
  let seed = 12345;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const lines = Array.from({ length: 3000 }, () => {
    let line = pieces[0];
    for (let i = 1 + next(4); i > 0; i--) line += pieces[next(pieces.length)];
    return line;
  });
  const accounts = [...teams.list.flatMap((t) => [t.source.id, ...t.pipelineAccounts]), '100000000000'];

  it('where it says so, shapeFor writes `in <id>` as `in {account}` (a source account: `in {source}`) and leaves the rest as it is', () => {
    let taken = 0;
    for (const line of lines) {
      if (!free(line)) continue;
      taken++;
      for (const account of accounts) {
        const team = teams.teamOf(account);
        const placeholder = team?.source.id === account ? '{source}' : '{account}';
        expect(shapeFor(`in ${account}${line}`, account, team), line).toBe(`in ${placeholder}${line}`);
        expect(holdsPlaceholder(`in ${account}${line}`)).toBe(false);
      }
    }
    // Both answers are exercised.
    expect(taken).toBeGreaterThan(100);
    expect(taken).toBeLessThan(lines.length - 100);
  });

  it('says no for a line naming a key in any context, an account id, a run of twelve digits, or a placeholder', () => {
    const head = pieces[0];
    for (const k of keys) {
      expect(free(`${head}${k}-svc1`)).toBe(false);
      expect(free(`${head}x${k}y`)).toBe(false);
      expect(free(`${head}${logicalId(k)}Role`)).toBe(false);
    }
    expect(free(`${head}${teams.list[0].source.id}`)).toBe(false);
    expect(free(`${head}999999999999`)).toBe(false);
    expect(free(`${head}{team}`)).toBe(false);
    expect(free(`${head}xstack-*-trigger`)).toBe(true);
  });
});

describe("a path folded with its result as one text ('refused <path>')", () => {
  // Keys that are the result words themselves, a prefix of another key, and the org's prefix.
  const org = teamsOrg(6, (y) => y.replaceAll('t001', 'allowed').replaceAll('t002', 'refused').replaceAll('t003', 'undecided').replaceAll('t004', 'refused-eu').replaceAll('t005', 'big'));
  const teams = findTeams(org)!;

  it('reads as its path folded alone, after the result word, for every account and team', () => {
    expect(teams.list.map((t) => t.key)).toEqual(['allowed', 'refused', 'undecided', 'refused-eu', 'big', 't006']);
    const { model } = compiled(org);
    const folded = model(teams);
    // Every path the model holds, written back for each team, with each key and logical-id form at its start too.
    const texts = folded.paths.flatMap((e) => teams.list.map((t) => e.value.path.replaceAll('{team}', t.key).replaceAll('{Team}', logicalId(t.key)).replaceAll('{source}', t.source.id)));
    const starts = teams.list.flatMap((t) => [`${t.key}-svc1 | x`, `${logicalId(t.key)}Role | x`, `${t.key} | x`]);
    for (const team of teams.list) {
      for (const account of [team.source.id, ...team.pipelineAccounts]) {
        for (const path of [...texts.map((t) => t.replaceAll('{account}', account)), ...starts]) {
          for (const result of ['allowed', 'refused', 'undecided'] as const) {
            const line = pathLine(result, path);
            expect(holdsPlaceholder(line)).toBe(holdsPlaceholder(path));
            expect(shapeFor(line, account, team)).toBe(`${result} ${shapeFor(path, account, team)}`);
          }
        }
      }
    }
    // And the model reads back, account by account, as the one not folded by team.
    expect(compareModels(model(undefined), folded).paths).toEqual({ added: [], removed: [], newlyAllowed: [], newlyRefused: [], newlyUndecided: [] });
  });
});
