/**
 * Mutation round s56-mutations-11, reach.ts: who can act on each resource once per class of alike teams compares each
 * member's execution role statements with its class's first's (statementReads, its loops since session 55). A team
 * whose execution statements differ from the others' in a condition (a value, a key, one value more) is asked as
 * itself, and every entry reads as asked team by team (reach-team-classes.test.ts's comparison).
 */
import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../src/cfn/template';
import { analyseAccess, type AccessAnalysis } from '../src/audit/paths';
import { parseOrg } from '../src/org/load';
import { planStages } from '../src/stages/plan';
import { stageLabel } from '../src/stages/model';
import { classesOf, orgResources, reachOfResources, type OrgResource, type ReachEntry } from '../src/audit/reach';
import type { ResolvedStatement } from '../src/audit/grants';
import { bootstrapGrants } from '../src/audit/execution-reach';
import { compiledTemplates, executionPolicyOf } from '../src/deploy/execution-policy';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';

const TEAMS = 40;
const ODD = 't007';

/** An org planned and analysed by class, its resources, and its execution role's statements, as the compile reads them. */
function analysed(yaml: string) {
  const org = parseOrg(yaml, 'teams.yaml');
  const stages = planStages(org);
  const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
  const access = analyseAccess(org, stages, templates, { byClass: true });
  const classes = classesOf(access);
  const resources = orgResources(org, stages, templates, classes);
  const policy = executionPolicyOf(org, compiledTemplates(stages, (s) => templates.get(s.id)!));
  const execution = bootstrapGrants(org, stages.flatMap((s) => s.targets.map((a) => a.id)), policy.statements, classes);
  const stageName = new Map(stages.map((s) => [s.id, stageLabel(s)]));
  const accountsOf = (team: string) => new Set(org.accounts.filter((a) => a.name.startsWith(`${team}-`)).map((a) => a.id));
  return { org, access, resources, execution, name: (id: string) => stageName.get(id) ?? id, accountsOf };
}

/** The reach of `given`'s resources with `execution` by class of teams (and the resources asked so) and team by team. */
function bothWays(given: ReturnType<typeof analysed>, execution: readonly ResolvedStatement[]) {
  const { org, access, resources, name } = given;
  const record = { byTeamClass: new Set<OrgResource>() };
  const byClass = reachOfResources(org, resources, access, name, execution, record);
  const { teamClasses: _, ...withoutTeamClasses } = access;
  const perTeam = reachOfResources(org, resources, withoutTeamClasses as AccessAnalysis, name, execution);
  return { byClass, perTeam, byTeamClass: record.byTeamClass };
}

/** The reach by class and team by team, with `change` applied to each execution statement of the odd team's accounts. */
function reach(change: (conditions: ResolvedStatement['conditions']) => ResolvedStatement['conditions'] | undefined) {
  const given = analysed(generateTeamsOrgYaml(TEAMS));
  const odd = given.accountsOf(ODD);
  let changed = 0;
  const execution = given.execution.map((g) => {
    if (!(g.accounts ?? [g.account]).some((id) => odd.has(id))) return g;
    const conditions = change(g.conditions);
    if (!conditions) return g;
    changed++;
    return { ...g, conditions };
  });
  const own = given.resources.filter((r) => odd.has(r.account));
  return { resources: given.resources, ...bothWays(given, execution), own, changed };
}

const plain = (entries: readonly ReachEntry[], resources: readonly OrgResource[]) => entries.map((e) => ({ ...e, resource: resources.indexOf(e.resource) }));

/** A statement's conditions with `operator`'s first key's values given by `values` (its other keys as they are). */
const withValues = (operator: string, values: (list: string[]) => string[]) => (conditions: ResolvedStatement['conditions']) => {
  const keys = conditions[operator];
  if (!keys) return undefined;
  const [first, ...rest] = Object.keys(keys);
  return { ...conditions, [operator]: { [first]: values(keys[first]), ...Object.fromEntries(rest.map((k) => [k, keys[k]])) } };
};

describe("a team whose execution statements' conditions differ is asked as itself (reach.ts statementReads)", () => {
  it.each([
    ["another value of an operator's first key", withValues('Null', () => ['true'])],
    ['a value more', withValues('StringNotEquals', (list) => [...list, '999999999999'])],
    ['another key, its values the same', (conditions: ResolvedStatement['conditions']) => (conditions.Null ? { ...conditions, Null: Object.fromEntries(Object.entries(conditions.Null).map(([k, v]) => [`${k}x`, v])) } : undefined)],
  ])('%s', (_what, change) => {
    const { resources, byClass, perTeam, byTeamClass, own, changed } = reach(change);
    expect(changed).toBeGreaterThan(0);
    expect(own.length).toBeGreaterThan(0);
    expect(byTeamClass.size).toBeGreaterThan(TEAMS * 5);
    expect(own.filter((r) => byTeamClass.has(r))).toEqual([]);
    expect(plain(byClass, resources)).toEqual(plain(perTeam, resources));
  });
});

describe('a class of teams left out before it is asked, beside one that is asked (reach.ts, H5 of mutation round 11)', () => {
  /** 40 teams, the last 20 with a third repository and its pipeline: two classes of alike teams, 20 each. */
  function twoClassesYaml(): string {
    const later = Array.from({ length: 20 }, (_, i) => `t${String(21 + i).padStart(3, '0')}`);
    const repository = (t: string) => [`  ${t}-svc3:`, `    account: ${t}-source`];
    const pipeline = (t: string) => [`  ${t}-svc3:`, `    repository: ${t}-svc3`, '    branches:', ...['dev', 'staging', 'prod'].map((env) => `      ${t}-${env}: main`), '    deploy:', '      type: codedeploy', '      applicationTagKey: Application'];
    return generateTeamsOrgYaml(TEAMS)
      .replace('repositories:\n', `repositories:\n${later.flatMap(repository).join('\n')}\n`)
      .replace('pipelines:\n', `pipelines:\n${later.flatMap(pipeline).join('\n')}\n`);
  }

  it("a grant across teams (t002's execution statement naming t001's repository) leaves t001's class out; the other class is asked by class, and every entry reads as asked team by team", () => {
    const given = analysed(twoClassesYaml());
    const { access, resources, execution, accountsOf } = given;
    expect(access.teamClasses?.map((c) => c.members.length)).toEqual([20, 20]);
    const [first, second, later] = [accountsOf('t001'), accountsOf('t002'), accountsOf('t021')];
    const repository = resources.find((r) => first.has(r.account) && r.logicalId === 'RepositoryT001Svc1')!;
    const named = execution.find((g) => second.has(g.account) && g.policy === 'CodecommitNamed')!;
    expect(repository && named).toBeTruthy();
    const { byClass, perTeam, byTeamClass } = bothWays(given, [...execution, { ...named, resources: [repository.arn] }]);
    const asked = [...byTeamClass];
    expect(asked.filter((r) => first.has(r.account))).toEqual([]);
    expect(asked.filter((r) => later.has(r.account)).length).toBeGreaterThan(0);
    expect(plain(byClass, resources)).toEqual(plain(perTeam, resources));
  });
});
