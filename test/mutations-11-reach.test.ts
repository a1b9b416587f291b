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

/** The reach by class and team by team, with `change` applied to each execution statement of the odd team's accounts. */
function reach(change: (conditions: ResolvedStatement['conditions']) => ResolvedStatement['conditions'] | undefined) {
  const org = parseOrg(generateTeamsOrgYaml(TEAMS), 'teams.yaml');
  const stages = planStages(org);
  const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
  const access = analyseAccess(org, stages, templates, { byClass: true });
  const classes = classesOf(access);
  const resources = orgResources(org, stages, templates, classes);
  const policy = executionPolicyOf(org, compiledTemplates(stages, (s) => templates.get(s.id)!));
  const odd = new Set(org.accounts.filter((a) => a.name.startsWith(`${ODD}-`)).map((a) => a.id));
  let changed = 0;
  const execution = bootstrapGrants(org, stages.flatMap((s) => s.targets.map((a) => a.id)), policy.statements, classes).map((g) => {
    if (!(g.accounts ?? [g.account]).some((id) => odd.has(id))) return g;
    const conditions = change(g.conditions);
    if (!conditions) return g;
    changed++;
    return { ...g, conditions };
  });
  const stageName = new Map(stages.map((s) => [s.id, stageLabel(s)]));
  const name = (id: string) => stageName.get(id) ?? id;
  const record = { byTeamClass: new Set<OrgResource>() };
  const byClass = reachOfResources(org, resources, access, name, execution, record);
  const { teamClasses: _, ...withoutTeamClasses } = access;
  const perTeam = reachOfResources(org, resources, withoutTeamClasses as AccessAnalysis, name, execution);
  const own = resources.filter((r) => odd.has(r.account));
  return { resources, byClass, perTeam, byTeamClass: record.byTeamClass, own, changed };
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
