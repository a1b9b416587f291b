/**
 * Mutation round s52-mutations-10 over the proof once per class of alike teams (paths.ts proveByTeams: alikeTeams and
 * the readers it compares a team's statements with, teamProofLists, resultTemplates and the results written back per
 * member): orgs where a small bug there would make the analysis by class of teams differ from the analysis by account
 * class (a field left out of the comparison, a list or text read only as far as the class's goes, a Deny's reason or
 * a tied value taken from the class's first team, the copies proved per environment not compared). Each test compares
 * the two analyses, as team-classes.test.ts does.
 *
 * A team changed here is changed in each of its pipeline accounts' copies of a statement, so that its pipeline accounts
 * stay one account class: the team is then a candidate of the classes of teams (classes.ts teamCandidates), and only
 * alikeTeams can keep it apart. (A change to one account's copy makes the team no candidate at all.)
 */
import { describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../src/cfn/template';
import { generateTeamsOrgYaml } from '../bench/generate-org.mjs';
import { analyses, plain } from './support/team-analyses';

/** Teams enough that the tools account's policies name no team's accounts one by one (team-classes.test.ts). */
const TEAMS = 40;

/** A statement as a template writes it. */
interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

type Change = (templates: Map<string, CfnTemplate>, id: (account: string) => string) => void;

/** A copy of a stage's template, put in its place, to change (a rendering is never changed). */
function copied(templates: Map<string, CfnTemplate>, stage: string): CfnTemplate {
  const copy = structuredClone(templates.get(stage)!);
  templates.set(stage, copy);
  return copy;
}

/** The statements of a resource's policy (its PolicyDocument, or a role's AssumeRolePolicyDocument). */
function statementsOf(template: CfnTemplate, logicalId: string): Statement[] {
  const properties = template.Resources[logicalId].Properties as { PolicyDocument?: { Statement: Statement[] }; AssumeRolePolicyDocument?: { Statement: Statement[] } };
  return (properties.PolicyDocument ?? properties.AssumeRolePolicyDocument)!.Statement;
}

/** The statement `sid` of the source role's policy for each of a team's pipeline accounts, in a copy of source-identity. */
function sourceRoleStatements(templates: Map<string, CfnTemplate>, id: (account: string) => string, team: string, sid: string): Statement[] {
  const identity = copied(templates, 'source-identity');
  return ['dev', 'staging', 'prod'].map((environment) => statementsOf(identity, `SourceRole${id(`${team}-${environment}`)}SourceActionIn${id(`${team}-source`)}`).find((s) => s.Sid === sid)!);
}

const keyOf = (n: number) => `t${String(n).padStart(3, '0')}`;

/** With t007 changed so that the proof by account class finds its problems, the analysis by class of teams finds them too. */
function refusedAsByAccountClass(change: Change) {
  const { byTeams, byAccountClass } = analyses(generateTeamsOrgYaml(TEAMS), change);
  expect(byAccountClass.problems.length).toBeGreaterThan(0);
  expect(byAccountClass.problems.some((p) => p.includes('t007'))).toBe(true);
  expect(plain(byTeams)).toEqual(plain(byAccountClass));
}

/** The org passes, and the analysis by class of teams is the analysis by account class. */
function passingAsByAccountClass(a: ReturnType<typeof analyses>) {
  expect(a.byAccountClass.problems).toEqual([]);
  expect(plain(a.byTeams)).toEqual(plain(a.byAccountClass));
}

const deniedResults = (a: ReturnType<typeof analyses>) => a.byAccountClass.results.filter((r) => r.refusedBy && 'deny' in r.refusedBy);

describe("a team whose statements read otherwise than its class's first team's in one place is not alike", () => {
  it('an Effect (review s52-mutations-10)', () =>
    refusedAsByAccountClass((templates, id) => {
      for (const s of sourceRoleStatements(templates, id, 't007', 'WriteArtifacts')) s.Effect = 'Deny';
    }));

  it('an action: a text that holds no token (review s52-mutations-10)', () =>
    refusedAsByAccountClass((templates, id) => {
      for (const s of sourceRoleStatements(templates, id, 't007', 'WriteArtifacts')) s.Action = (s.Action as string[]).map((a) => (a === 's3:PutObject' ? 's3:PutObjectTagging' : a));
    }));

  it("a resource that goes on past the class's text (review s52-mutations-10)", () =>
    refusedAsByAccountClass((templates, id) => {
      for (const s of sourceRoleStatements(templates, id, 't007', 'WriteArtifacts')) (s.Resource as { 'Fn::Sub': string })['Fn::Sub'] += 'x';
    }));

  it('a condition key more, after those of the class (review s52-mutations-10)', () =>
    refusedAsByAccountClass((templates, id) => {
      for (const s of sourceRoleStatements(templates, id, 't007', 'WriteArtifacts')) s.Condition!.StringEquals['aws:PrincipalTag/team'] = 'nobody';
    }));

  it('a condition value more, after those of the class (review s52-mutations-10)', () =>
    refusedAsByAccountClass((templates, id) => {
      // The forwarder role's trust admits EventBridge for every rule of t007's source account, not only its forwarding rules.
      const trust = statementsOf(copied(templates, 'source-identity'), `EventForwarderRoleIn${id('t007-source')}`)[0];
      const arn = trust.Condition!.ArnLike['aws:SourceArn'];
      trust.Condition!.ArnLike['aws:SourceArn'] = [arn, { 'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/*' }];
    }));

  it("a statement fewer: the team's last, so that its statements are the first ones of its class's (review s52-mutations-10)", () =>
    refusedAsByAccountClass((templates) => {
      // t007's last statement in the org's order (the last of its pipeline accounts' pipelines template): its second
      // pipeline's trigger role may no longer start the pipeline.
      const pipelines = copied(templates, 'pipelines');
      expect(statementsOf(pipelines, 'T007Svc2TriggerRoleStartPipeline').map((s) => s.Sid)).toEqual(['StartPipeline']);
      delete pipelines.Resources.T007Svc2TriggerRoleStartPipeline;
    }));

  it('a principal more, after those of the class (review s52-mutations-10)', () => {
    const a = analyses(generateTeamsOrgYaml(TEAMS), (templates, id) => {
      const identity = copied(templates, 'source-identity');
      for (let n = 1; n <= TEAMS; n++) {
        // Every team's dead-letter queue denies an account's principals; t007's also those of the account its "may not"
        // path's principal is in.
        const principals = ['arn:aws:iam::888888888888:root', ...(n === 7 ? ['arn:aws:iam::999999999999:root'] : [])];
        const resource = { 'Fn::Sub': 'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:big-forward-dlq' };
        statementsOf(identity, `EventsDeadLetterQueuePolicyIn${id(`${keyOf(n)}-source`)}`).push({ Sid: 'DenyOthers', Effect: 'Deny', Principal: { AWS: principals }, Action: 'sqs:SendMessage', Resource: resource });
      }
    });
    passingAsByAccountClass(a);
    // Only t007's path is refused by its Deny (the others' for want of an Allow).
    expect(deniedResults(a).length).toBeGreaterThan(0);
    expect(deniedResults(a).every((r) => r.path.purpose.includes('(t007-source'))).toBe(true);
  });
});

/** A statement added to every pipeline account's artifact bucket policy (pipeline-foundation), a statement of each team's account class. */
function addToArtifactBucketPolicy(templates: Map<string, CfnTemplate>, statement: Statement) {
  statementsOf(copied(templates, 'pipeline-foundation'), 'ArtifactBucketPolicy').push(statement);
}

/**
 * A Deny of writing what `resource` names to another role of a source account (the proof's sample,
 * `<prefix>-source-someone-elses-<pipeline account>`: needs.ts someoneElsesRole): a path of every team's, refused
 * anyway, now by the Deny where it matches.
 */
const denyOtherRoles = (resource: string): Statement => ({
  Sid: 'DenyOtherRoles',
  Effect: 'Deny',
  Principal: '*',
  Action: 's3:PutObject',
  Resource: resource,
  Condition: { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/*-someone-elses-*' } },
});

describe("what a class of teams proves is written back for each member as that member's own", () => {
  it("a Deny every team has refuses a member's path by the member's own statement, which its reason names (review s52-mutations-10)", () => {
    const a = analyses(generateTeamsOrgYaml(TEAMS), (templates) => addToArtifactBucketPolicy(templates, denyOtherRoles('arn:aws:s3:::big-artifacts-*')));
    passingAsByAccountClass(a);
    expect(deniedResults(a).length).toBeGreaterThanOrEqual(TEAMS);
    expect(a.teamsAlone()).toBeDefined();
  });

  it("a Deny by a pattern some teams' keys match (t00?) refuses those teams' paths only (review s52-mutations-10)", () => {
    const a = analyses(generateTeamsOrgYaml(TEAMS), (templates) => addToArtifactBucketPolicy(templates, denyOtherRoles('arn:aws:s3:::big-artifacts-*/big-t00?-*')));
    passingAsByAccountClass(a);
    const teams = new Set(deniedResults(a).map((r) => /\((t\d+)-/.exec(r.path.purpose)?.[1]));
    expect([...teams].sort()).toEqual(Array.from({ length: 9 }, (_, i) => keyOf(i + 1)));
  });

  it('a Deny by a pattern every dev account matches, and no other, refuses the dev accounts\' paths only (review s52-mutations-10)', () => {
    // Each team's dev account's id starts with 3, its staging account's with 4, its prod account's with 5: a path proved
    // once per pipeline account of the team is refused in the dev copy only.
    const yaml = generateTeamsOrgYaml(TEAMS).replace(/( {2}t\d+-(dev|staging|prod):\n {4}id: ")2/g, (_m, head: string, environment: 'dev' | 'staging' | 'prod') => `${head}${{ dev: 3, staging: 4, prod: 5 }[environment]}`);
    const a = analyses(yaml, (templates) => addToArtifactBucketPolicy(templates, denyOtherRoles('arn:aws:s3:::big-artifacts-3*')));
    passingAsByAccountClass(a);
    expect(deniedResults(a).length).toBeGreaterThan(0);
    expect(deniedResults(a).every((r) => r.path.resource.startsWith('arn:aws:s3:::big-artifacts-3'))).toBe(true);
  });

  it("teams named in another account's policy (the tools account's, in an org of few teams) are proved as by account class (review s52-mutations-10)", () => {
    passingAsByAccountClass(analyses(generateTeamsOrgYaml(8)));
  });
});
