import { describe, expect, it } from 'vitest';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import type { CfnTemplate } from '../src/cfn/template';
import { analyses, plain } from './support/team-analyses';

/**
 * The proof once per class of alike teams (paths.ts proveByTeams) must give exactly the analysis the proof by account
 * class gives: the same paths and statements, and each result the same, its statements the same objects, a path's
 * results sharing their lists as that proof's do. Orgs of alike teams are proved so; orgs where some teams are not
 * alike (another key length, a key that is a prefix of another or stands inside another name, an extra repository
 * or environment) still give the same analysis, those teams left to the account classes.
 */

/**
 * Teams enough that the org's policies name no team's accounts one by one (the tools account's developer policy
 * lists every source account's role in a smaller org: a member's value outside its own items, so no class of teams).
 */
const TEAMS = 40;

/** An org's YAML with each whole-word `from` (a team's key, in every name it starts) written as `to`. */
const renamed = (yaml: string, from: string, to: string) => yaml.replace(new RegExp(`\\b${from}-`, 'g'), `${to}-`);

describe('proving alike teams once per class of teams', () => {
  it('an org of alike teams is proved by class of teams, with the analysis of the proof by account class', () => {
    const { byTeams, byAccountClass, teamsAlone } = analyses(generateTeamsOrgYaml(TEAMS));
    const alone = teamsAlone();
    expect(alone).toBeDefined();
    expect(byAccountClass.problems).toEqual([]);
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
    expect(plain(alone!)).toEqual(plain(byAccountClass));
  });

  it('teams of one pipeline account each (no account class) are proved so too, as account by account', () => {
    const { byTeams, byAccountClass, teamsAlone } = analyses(generateTeamsOrgYaml(TEAMS, { repositoriesPerTeam: 1, environments: ['prod'] }));
    expect(teamsAlone()).toBeDefined();
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
  });

  it.each([
    ['a key of another length', (y: string) => renamed(y, 't004', 't04')],
    ['a key that is a prefix of another', (y: string) => renamed(y, 't005', 't0011')],
    ['a key inside another name', (y: string) => renamed(y, 't006', 'xt002')],
    [
      'an extra repository in one team',
      (y: string) =>
        y
          .replace('repositories:\n', 'repositories:\n  t002-svc3:\n    account: t002-source\n')
          .replace(
            'pipelines:\n',
            'pipelines:\n  t002-svc3:\n    repository: t002-svc3\n    branches:\n      t002-dev: develop\n    deploy:\n      type: codedeploy\n      applicationTagKey: Application\n',
          ),
    ],
    [
      'an extra environment in one team',
      (y: string) =>
        y
          .replace('  t003-prod:\n    id: "200000000011"\n    role: pipeline\n    environment: t003-prod\n', '  t003-prod:\n    id: "200000000011"\n    role: pipeline\n    environment: t003-prod\n  t003-qa:\n    id: "290000000000"\n    role: pipeline\n    environment: t003-qa\n')
          .replace(/(  t003-svc1:\n    repository: t003-svc1\n    branches:\n)/, '$1      t003-qa: qa\n'),
    ],
  ])('with %s, the analysis is the same as by account class', (_what, change) => {
    const yaml = change(generateTeamsOrgYaml(TEAMS));
    expect(yaml).not.toBe(generateTeamsOrgYaml(TEAMS));
    const { byTeams, byAccountClass, teamsAlone } = analyses(yaml);
    expect(byAccountClass.problems).toEqual([]);
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
    // The other teams are still proved by class of teams.
    expect(teamsAlone()).toBeDefined();
  });

  /** The source role's statements of one team's pipeline account, in a copy of the source-identity template. */
  const sourceRoleStatements = (templates: Map<string, CfnTemplate>, id: (account: string) => string, team: string) => {
    const identity = structuredClone(templates.get('source-identity')!);
    templates.set('source-identity', identity);
    const policy = identity.Resources[`SourceRole${id(`${team}-dev`)}SourceActionIn${id(`${team}-source`)}`].Properties as { PolicyDocument: { Statement: Array<{ Sid?: string; Condition?: Record<string, Record<string, unknown>> }> } };
    return policy.PolicyDocument.Statement;
  };

  it("a team whose statement differs in a condition value is not alike: its refusal is found, as by account class", () => {
    const { byTeams, byAccountClass } = analyses(generateTeamsOrgYaml(TEAMS), (templates, id) => {
      const useKey = sourceRoleStatements(templates, id, 't007').find((st) => st.Sid === 'UseArtifactKey')!;
      useKey.Condition!['ForAnyValue:StringEquals']['kms:ResourceAliases'] = ['alias/another-key'];
    });
    expect(byAccountClass.problems.length).toBeGreaterThan(0);
    // Its refusals are the team's own (the source account's id for its source role, its key in the path's words).
    expect(byAccountClass.problems.every((p) => p.includes('t007') || p.includes('200000000024'))).toBe(true);
    expect(byTeams.problems).toEqual(byAccountClass.problems);
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
  });

  it("one team's statement twice does not stand for another team's that lacks it", () => {
    const { byTeams, byAccountClass } = analyses(generateTeamsOrgYaml(TEAMS), (templates, id) => {
      const doubled = sourceRoleStatements(templates, id, 't009');
      doubled.push(structuredClone(doubled.find((st) => st.Sid === 'WriteArtifacts')!));
      const lacking = sourceRoleStatements(templates, id, 't010');
      lacking.splice(lacking.findIndex((st) => st.Sid === 'WriteArtifacts'), 1);
    });
    expect(byAccountClass.problems.some((p) => p.includes('t010'))).toBe(true);
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
  });
});
