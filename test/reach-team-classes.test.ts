import { describe, expect, it } from 'vitest';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { analyseAccess, type AccessAnalysis } from '../src/audit/paths';
import { parseOrg } from '../src/org/load';
import { planStages } from '../src/stages/plan';
import { stageLabel } from '../src/stages/model';
import { classesOf, orgResources, reachOfResources, type OrgResource, type ReachEntry } from '../src/audit/reach';
import { bootstrapGrants } from '../src/audit/execution-reach';
import { compiledTemplates, executionPolicyOf } from '../src/deploy/execution-policy';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { ODD_TEAMS } from './support/team-analyses';

/**
 * "Who can act on each resource" once per class of alike teams (reach.ts reachByTeamClasses): each member team's
 * entries must be exactly those asking its own resources gives (the same analysis without its `teamClasses`), in
 * orgs of alike teams and in orgs where one team is not alike (its entries then its own, asked as itself).
 */
function reach(yaml: string, change?: (templates: Map<string, CfnTemplate>, id: (account: string) => string) => void) {
  const org = parseOrg(yaml, 'teams.yaml');
  const stages = planStages(org);
  const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
  change?.(templates, (name) => org.accounts.find((a) => a.name === name)!.id);
  const access = analyseAccess(org, stages, templates, { byClass: true });
  const classes = classesOf(access);
  const resources = orgResources(org, stages, templates, classes);
  const policy = executionPolicyOf(
    org,
    compiledTemplates(stages, (s) => templates.get(s.id)!),
  );
  const execution = bootstrapGrants(
    org,
    stages.flatMap((s) => s.targets.map((a) => a.id)),
    policy.statements,
    classes,
  );
  const stageName = new Map(stages.map((s) => [s.id, stageLabel(s)]));
  const name = (id: string) => stageName.get(id) ?? id;
  const record = { byTeamClass: new Set<OrgResource>() };
  const byClass = reachOfResources(org, resources, access, name, execution, record);
  const perTeam = reachOfResources(org, resources, withoutTeamClasses(access), name, execution);
  const ofAccount = (account: string) => resources.filter((r) => r.account === account || r.accounts?.includes(account));
  return { access, resources, byClass, perTeam, byTeamClass: record.byTeamClass, ofAccount, id: (n: string) => org.accounts.find((a) => a.name === n)!.id };
}

/** The analysis as the proof by account class would leave it for reach: no classes of teams. */
const withoutTeamClasses = (access: AccessAnalysis): AccessAnalysis => {
  const { teamClasses: _, ...rest } = access;
  return rest;
};

/** Entries as plain values: each resource by its place in the org's list. */
const plain = (entries: readonly ReachEntry[], resources: readonly OrgResource[]) => entries.map((e) => ({ ...e, resource: resources.indexOf(e.resource) }));

const TEAMS = 40;

/** An org's YAML with each whole-word `from` (a team's key, in every name it starts) written as `to`. */

describe("who can act on each resource, once per class of alike teams", () => {
  it('takes the class path for alike teams, with each team\'s entries as asked team by team', () => {
    const { access, resources, byClass, perTeam, byTeamClass, ofAccount, id } = reach(generateTeamsOrgYaml(TEAMS));
    expect(access.teamClasses?.length).toBeGreaterThan(0);
    expect(plain(byClass, resources)).toEqual(plain(perTeam, resources));
    // Every resource of every team: its source account's and its pipeline accounts' (by their class's token).
    const teamResources = resources.filter((r) => [...Array(TEAMS).keys()].some((i) => ofAccount(id(`t${String(i + 1).padStart(3, '0')}-source`)).includes(r) || ofAccount(id(`t${String(i + 1).padStart(3, '0')}-prod`)).includes(r)));
    expect(teamResources.length).toBeGreaterThan(TEAMS * 10);
    expect([...byTeamClass].sort((a, b) => resources.indexOf(a) - resources.indexOf(b))).toEqual(teamResources);
  });

  it('teams of one pipeline account each (no account class) take it too', () => {
    const { resources, byClass, perTeam, byTeamClass } = reach(generateTeamsOrgYaml(TEAMS, { repositoriesPerTeam: 1, environments: ['prod'] }));
    expect(byTeamClass.size).toBeGreaterThan(TEAMS * 5);
    expect(plain(byClass, resources)).toEqual(plain(perTeam, resources));
  });

  it.each(ODD_TEAMS)('with %s, that team is asked as itself and every entry is as asked team by team', (_what, odd, change) => {
    const yaml = change(generateTeamsOrgYaml(TEAMS));
    expect(yaml).not.toBe(generateTeamsOrgYaml(TEAMS));
    const { resources, byClass, perTeam, byTeamClass, ofAccount, id } = reach(yaml);
    expect(plain(byClass, resources)).toEqual(plain(perTeam, resources));
    // The other teams still by class; none of the odd team's resources.
    expect(byTeamClass.size).toBeGreaterThan(TEAMS * 5);
    const own = ofAccount(id(`${odd}-source`));
    expect(own.length).toBeGreaterThan(0);
    expect(own.filter((r) => byTeamClass.has(r))).toEqual([]);
  });

  /** The statement `sid` of each source role t007's source account makes for its pipeline accounts (in a copy of the source-identity template). */
  const sourceRoleStatements = (templates: Map<string, CfnTemplate>, id: (account: string) => string, sid: string) => {
    const identity = structuredClone(templates.get('source-identity')!);
    templates.set('source-identity', identity);
    return ['dev', 'staging', 'prod'].map((env) => {
      const policy = identity.Resources[`SourceRole${id(`t007-${env}`)}SourceActionIn${id('t007-source')}`].Properties as { PolicyDocument: { Statement: Array<{ Sid?: string; Resource: unknown }> } };
      return policy.PolicyDocument.Statement.find((st) => st.Sid === sid)!;
    });
  };

  it('a team the proof leaves out of its classes (a statement of its own reads otherwise) is asked as itself', () => {
    const { access, resources, byClass, perTeam, byTeamClass, ofAccount, id } = reach(generateTeamsOrgYaml(TEAMS), (templates, id) => {
      // Its resource listed twice: the same grant, another statement.
      for (const st of sourceRoleStatements(templates, id, 'WriteArtifacts')) st.Resource = [st.Resource, st.Resource];
    });
    expect(access.teamClasses?.length).toBeGreaterThan(0);
    expect(access.teamClasses!.some((c) => c.members.some((m) => m.key === 't007'))).toBe(false);
    expect(plain(byClass, resources)).toEqual(plain(perTeam, resources));
    expect(byTeamClass.size).toBeGreaterThan(TEAMS * 5);
    expect(ofAccount(id('t007-source')).filter((r) => byTeamClass.has(r))).toEqual([]);
  });

  it("a team of a class whose statement's name differs (the proof compares no names; its rows read them) is asked as itself", () => {
    const { access, resources, byClass, perTeam, byTeamClass, ofAccount, id } = reach(generateTeamsOrgYaml(TEAMS), (templates, id) => {
      for (const st of sourceRoleStatements(templates, id, 'WriteArtifacts')) st.Sid = 'WriteTheArtifacts';
    });
    expect(access.teamClasses!.some((c) => c.members.some((m) => m.key === 't007'))).toBe(true);
    expect(plain(byClass, resources)).toEqual(plain(perTeam, resources));
    expect(byTeamClass.size).toBeGreaterThan(TEAMS * 5);
    expect(ofAccount(id('t007-source')).filter((r) => byTeamClass.has(r))).toEqual([]);
  });
});
