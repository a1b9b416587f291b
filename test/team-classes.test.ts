import { describe, expect, it } from 'vitest';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import type { CfnTemplate } from '../src/cfn/template';
import { analyses, ODD_TEAMS, plain } from './support/team-analyses';

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

  it.each(ODD_TEAMS.map(([what, , change]) => [what, change] as const))('with %s, the analysis is the same as by account class', (_what, change) => {
    const yaml = change(generateTeamsOrgYaml(TEAMS));
    expect(yaml).not.toBe(generateTeamsOrgYaml(TEAMS));
    const { byTeams, byAccountClass, teamsAlone } = analyses(yaml);
    expect(byAccountClass.problems).toEqual([]);
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
    // The other teams are still proved by class of teams.
    expect(teamsAlone()).toBeDefined();
  });

  /** The source role's statements of one team's pipeline account, in a copy of the source-identity template. */
  /**
   * One team's source role statements for its dev account only: the dev account then reads otherwise than the team's
   * other pipeline accounts, so the team leaves its account class and is no candidate of a class of teams (the
   * changes made alike in its three pipeline accounts, which reach alikeTeams, are changeSourceRoles' below and
   * team-classes-mutations.test.ts's; review s52-mutations-10).
   */
  const sourceRoleStatements = (templates: Map<string, CfnTemplate>, id: (account: string) => string, team: string) => {
    const identity = structuredClone(templates.get('source-identity')!);
    templates.set('source-identity', identity);
    const policy = identity.Resources[`SourceRole${id(`${team}-dev`)}SourceActionIn${id(`${team}-source`)}`].Properties as { PolicyDocument: { Statement: Array<{ Sid?: string; Condition?: Record<string, Record<string, unknown>> }> } };
    return policy.PolicyDocument.Statement;
  };

  it("a team whose statement differs in a condition value in its dev account is not alike (no account class, so no candidate): its refusal is found, as by account class", () => {
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

  /** One team's source roles' statement of that Sid, changed alike for each of its pipeline accounts (so the team's statements still group as one class's). */
  const changeSourceRoles = (templates: Map<string, CfnTemplate>, id: (account: string) => string, team: string, sid: string, change: (st: { Effect?: string; Resource?: unknown }) => void) => {
    for (const environment of ['dev', 'staging', 'prod']) {
      const identity = structuredClone(templates.get('source-identity')!);
      templates.set('source-identity', identity);
      const policy = identity.Resources[`SourceRole${id(`${team}-${environment}`)}SourceActionIn${id(`${team}-source`)}`].Properties as { PolicyDocument: { Statement: Array<{ Sid?: string; Effect?: string; Resource?: unknown }> } };
      change(policy.PolicyDocument.Statement.find((st) => st.Sid === sid)!);
    }
  };

  it("a team whose statement is a Deny where the others' is an Allow is not alike: its refusals are found, as by account class", () => {
    const { byTeams, byAccountClass } = analyses(generateTeamsOrgYaml(TEAMS), (templates, id) =>
      changeSourceRoles(templates, id, 't015', 'WriteArtifacts', (st) => {
        st.Effect = 'Deny';
      }),
    );
    expect(byAccountClass.problems.some((p) => p.includes('t015'))).toBe(true);
    expect(byTeams.problems).toEqual(byAccountClass.problems);
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
  });

  it("a team whose resource is the others' with a text more at its end is not alike: its refusals are found, as by account class", () => {
    const { byTeams, byAccountClass } = analyses(generateTeamsOrgYaml(TEAMS), (templates, id) =>
      changeSourceRoles(templates, id, 't016', 'WriteArtifacts', (st) => {
        st.Resource = { 'Fn::Sub': `${(st.Resource as { 'Fn::Sub': string })['Fn::Sub']}x` };
      }),
    );
    expect(byAccountClass.problems.some((p) => p.includes('t016'))).toBe(true);
    expect(byTeams.problems).toEqual(byAccountClass.problems);
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
  });

  /** The pipeline-foundation template's copy, and one team's row (`Fn::If` on its FedBy condition) in a list of its statements' principals. */
  const foundationRow = (templates: Map<string, CfnTemplate>, team: string) => {
    const foundation = structuredClone(templates.get('pipeline-foundation')!);
    templates.set('pipeline-foundation', foundation);
    const condition = `FedBy${team.toUpperCase()}Source`;
    type Row = { 'Fn::If': [string, unknown, unknown] };
    const isRow = (x: unknown): x is Row => (x as Row | null)?.['Fn::If']?.[0] === condition;
    // The first list of the template holding the team's row, found by walking it (the principals of a bucket or key policy).
    const find = (v: unknown): unknown[] | undefined => {
      if (Array.isArray(v)) return v.some(isRow) ? v : v.map(find).find((x) => x !== undefined);
      if (v === null || typeof v !== 'object') return undefined;
      return Object.values(v).map(find).find((x) => x !== undefined);
    };
    const list = find(foundation.Resources)!;
    return { foundation, condition, row: list.find(isRow)! as Row, list };
  };

  it("a team whose row in a shared template differs (another account's principal for its source account's) is not alike: as by account class", () => {
    const { byTeams, byAccountClass } = analyses(generateTeamsOrgYaml(TEAMS), (templates, id) => {
      const { row } = foundationRow(templates, 't008');
      row['Fn::If'][1] = { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${id('t009-source')}:root` };
    });
    // A proof with problems gives up (the account classes' proof words them), by class of teams too.
    expect(byAccountClass.problems.length).toBeGreaterThan(0);
    expect(byTeams.problems).toEqual(byAccountClass.problems);
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
  });

  it('a team whose row holds in one of its pipeline accounts fewer (its condition) is not alike: as by account class', () => {
    const { byTeams, byAccountClass } = analyses(generateTeamsOrgYaml(TEAMS), (templates, id) => {
      const { foundation, condition } = foundationRow(templates, 't011');
      const or = (foundation.Conditions![condition] as { 'Fn::Or': Array<{ 'Fn::Equals': [unknown, string] }> })['Fn::Or'];
      or.splice(or.findIndex((c) => c['Fn::Equals'][1] === id('t011-prod')), 1);
    });
    expect(byAccountClass.problems.length).toBeGreaterThan(0);
    expect(byTeams.problems).toEqual(byAccountClass.problems);
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
  });

  it('a team whose row stands twice (its source account a principal twice, granting nothing more) is not alike: the others are proved by class of teams, as by account class', () => {
    const { byTeams, byAccountClass, teamsAlone } = analyses(generateTeamsOrgYaml(TEAMS), (templates) => {
      const { row, list } = foundationRow(templates, 't012');
      list.splice(list.indexOf(row) + 1, 0, structuredClone(row));
    });
    expect(byAccountClass.problems).toEqual([]);
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
    expect(teamsAlone()).toBeDefined();
  });

  it("a team whose statement admits one principal more (a row for another account's roles after its own) is not alike: that grant, no path's, is found as by account class", () => {
    const { byTeams, byAccountClass } = analyses(generateTeamsOrgYaml(TEAMS), (templates, id) => {
      const { foundation, condition } = foundationRow(templates, 't014');
      // The artifact bucket policy's statement whose principals (and their aws:PrincipalArn) hold the team's row.
      const statement = (foundation.Resources.ArtifactBucketPolicy.Properties as { PolicyDocument: { Statement: Array<{ Principal: { AWS: unknown[] }; Condition: { ArnEquals: Record<string, unknown[]> } }> } }).PolicyDocument.Statement.find((st) =>
        JSON.stringify(st.Principal).includes(condition),
      )!;
      const row = (value: string) => ({ 'Fn::If': [condition, { 'Fn::Sub': value }, { Ref: 'AWS::NoValue' }] });
      statement.Principal.AWS.push(row(`arn:\${AWS::Partition}:iam::${id('tools')}:root`));
      statement.Condition.ArnEquals['aws:PrincipalArn'].push(row(`arn:\${AWS::Partition}:iam::${id('tools')}:role/*`));
    });
    expect(byAccountClass.problems.some((p) => p.includes(':iam::100000000000:'))).toBe(true);
    expect(byTeams.problems).toEqual(byAccountClass.problems);
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
  });

  it('a team whose condition names its accounts in another order (the same accounts) resolves alike: proved by class of teams, as by account class', () => {
    const { byTeams, byAccountClass, teamsAlone } = analyses(generateTeamsOrgYaml(TEAMS), (templates) => {
      const { foundation, condition } = foundationRow(templates, 't013');
      (foundation.Conditions![condition] as { 'Fn::Or': unknown[] })['Fn::Or'].reverse();
    });
    expect(byAccountClass.problems).toEqual([]);
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
    expect(teamsAlone()).toBeDefined();
  });

  it("a team whose paths alone differ (its pipeline accounts' artifact objects output names another bucket; no statement reads it) is not alike: its refusals are found, as by account class", () => {
    const { byTeams, byAccountClass } = analyses(generateTeamsOrgYaml(TEAMS), (templates) => {
      const { foundation, condition } = foundationRow(templates, 't018');
      const output = foundation.Outputs!.ArtifactObjectsArn;
      output.Value = { 'Fn::If': [condition, 'arn:aws:s3:::someone-elses-bucket/*', output.Value] };
    });
    expect(byAccountClass.problems.some((p) => p.includes('someone-elses-bucket'))).toBe(true);
    expect(byTeams.problems).toEqual(byAccountClass.problems);
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
  });

  it("one team's statement twice (in its dev account) does not stand for another team's that lacks it", () => {
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
