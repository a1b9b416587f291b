/**
 * The access analysis of an org of teams two ways, for the tests of the proof once per class of alike teams (paths.ts
 * proveByTeams): by class of teams (the default by class) and by account class alone (`byTeams: false`), and as a plain
 * value to compare them by.
 */
import { renderTemplate, type CfnTemplate } from '../../src/cfn/template';
import { analyseAccess, analyseByTeams, type AccessAnalysis } from '../../src/audit/paths';
import { parseOrg } from '../../src/org/load';
import { planStages } from '../../src/stages/plan';

/** The analyses of an org, its templates first changed by `change` (`id`: an account's id by its name). */
export function analyses(yaml: string, change?: (templates: Map<string, CfnTemplate>, id: (account: string) => string) => void) {
  const org = parseOrg(yaml, 'teams.yaml');
  const stages = planStages(org);
  const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
  change?.(templates, (name) => org.accounts.find((a) => a.name === name)!.id);
  return {
    byTeams: analyseAccess(org, stages, templates, { byClass: true }),
    byAccountClass: analyseAccess(org, stages, templates, { byClass: true, byTeams: false }),
    teamsAlone: () => analyseByTeams(org, stages, templates),
  };
}

/** The analysis as a plain value: statements by their place in `grants`, paths by theirs, and whether a result shares its list with the one before. */
export function plain(a: AccessAnalysis) {
  const statement = new Map(a.grants.map((g, i) => [g, i]));
  const path = new Map(a.paths.map((p, i) => [p, i]));
  const ref = (g: object) => statement.get(g as never) ?? `not in grants: ${JSON.stringify(g)}`;
  return {
    paths: a.paths,
    grants: a.grants,
    problems: a.problems,
    network: a.network,
    results: a.results.map((r, i) => ({
      path: path.get(r.path),
      action: r.action,
      allowed: r.allowed,
      reason: r.reason,
      grantedBy: r.grantedBy.map(ref),
      shared: i > 0 && r.grantedBy === a.results[i - 1].grantedBy,
      refusedBy: r.refusedBy && 'deny' in r.refusedBy ? { deny: ref(r.refusedBy.deny) } : r.refusedBy,
    })),
  };
}

/** A teams org (bench/generate-org.mjs generateTeamsOrgYaml) with every name of team `from` written for team `to`. */
export const renamed = (yaml: string, from: string, to: string) => yaml.replace(new RegExp(`\\b${from}-`, 'g'), `${to}-`);

/**
 * Edits of a teams org of at least six teams that make one team not alike the others (the odd team's key after the
 * edit, then the edit): a key of another length, a key that is a prefix of another, a key inside another name, an
 * extra repository, an extra environment. Shared by the tests of the proof and of the report's reach by class.
 */
export const ODD_TEAMS: ReadonlyArray<readonly [string, string, (yaml: string) => string]> = [
  ['a key of another length', 't04', (y) => renamed(y, 't004', 't04')],
  ['a key that is a prefix of another', 't0011', (y) => renamed(y, 't005', 't0011')],
  ['a key inside another name', 'xt002', (y) => renamed(y, 't006', 'xt002')],
  [
    'an extra repository in one team',
    't002',
    (y) =>
      y
        .replace('repositories:\n', 'repositories:\n  t002-svc3:\n    account: t002-source\n')
        .replace(
          'pipelines:\n',
          'pipelines:\n  t002-svc3:\n    repository: t002-svc3\n    branches:\n      t002-dev: develop\n    deploy:\n      type: codedeploy\n      applicationTagKey: Application\n',
        ),
  ],
  [
    'an extra environment in one team',
    't003',
    (y) =>
      y
        .replace('  t003-prod:\n    id: "200000000011"\n    role: pipeline\n    environment: t003-prod\n', '  t003-prod:\n    id: "200000000011"\n    role: pipeline\n    environment: t003-prod\n  t003-qa:\n    id: "290000000000"\n    role: pipeline\n    environment: t003-qa\n')
        .replace(/(  t003-svc1:\n    repository: t003-svc1\n    branches:\n)/, '$1      t003-qa: qa\n'),
  ],
];
