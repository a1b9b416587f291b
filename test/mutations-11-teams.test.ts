/**
 * Mutation round s56-mutations-11, paths.ts alikeTeams (its loops over a team's statements and paths, since session 55
 * compared through team-reads.ts): a team whose first statement (in its statements' order: the deploy target role's
 * trust, in pipeline-identity, the same resource in every pipeline account) differs in each of its pipeline accounts
 * alike is not alike its class's first, and the analysis by class of teams is the analysis by account class.
 */
import { describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../src/cfn/template';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { analyses, plain } from './support/team-analyses';

const TEAMS = 40;

describe('a team whose first statement differs is not alike (paths.ts alikeTeams)', () => {
  it("the deploy target role trusting another service in the team's pipeline accounts: the analysis by class of teams is that by account class", () => {
    let changed = false;
    const { byTeams, byAccountClass } = analyses(generateTeamsOrgYaml(TEAMS), (templates, id) => {
      const identity = structuredClone(templates.get('pipeline-identity')!) as CfnTemplate & { Conditions?: Record<string, unknown> };
      templates.set('pipeline-identity', identity);
      identity.Conditions = { ...identity.Conditions, InT007: { 'Fn::Or': ['dev', 'staging', 'prod'].map((env) => ({ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, id(`t007-${env}`)] })) } };
      const trust = (identity.Resources.DeployTargetRole.Properties as { AssumeRolePolicyDocument: { Statement: Array<{ Sid: string; Principal: unknown }> } }).AssumeRolePolicyDocument.Statement.find((s) => s.Sid === 'TrustService')!;
      trust.Principal = { Service: { 'Fn::If': ['InT007', 'ecs-tasks.amazonaws.com', 'ec2.amazonaws.com'] } };
      changed = true;
    });
    expect(changed).toBe(true);
    // Here both proofs give up (the analysis account by account): t007 taken as alike, the proof by class of teams
    // would be made, and read otherwise than the one by account class.
    expect(plain(byTeams)).toEqual(plain(byAccountClass));
  });
});
