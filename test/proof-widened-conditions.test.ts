/**
 * A condition that narrows a principal (aws:PrincipalArn on an account root, aws:SourceArn on a service) must not be
 * widenable, nor removable, with the compile staying green (review s59-proof M2). Each case below changes one statement
 * of the compiled example in memory, as the reviewer's scripts did, and requires the proof to fail naming the refused
 * path whose sample the widened form admits: each "someone else" sample shares the literal start of the name or pattern
 * it must be refused by (services/needs.ts someoneElsesRole, nameLike), so ArnLike `role/acme-*` in place of ArnEquals
 * `role/acme-pipeline` admits it.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { analyseAccess, type AccessAnalysis } from '../src/audit/paths';
import { Names } from '../src/naming';
import { loadOrgFile, parseOrg } from '../src/org/load';
import type { Stage } from '../src/stages/model';
import { planStages } from '../src/stages/plan';

type Json = Record<string, any>;
type Statement = { Sid?: string; Condition?: Json; [key: string]: unknown };

const org = loadOrgFile('parameters/example.yaml');
const sub = (text: string) => ({ 'Fn::Sub': text });
/** The text of a compiled `Fn::Sub` (an intrinsic function object, read as it is written). */
const subText = (value: unknown): string => {
  const text = (JSON.parse(JSON.stringify(value)) as Json)['Fn::Sub'];
  expect(typeof text, JSON.stringify(value)).toBe('string');
  return text as string;
};

/** The resources of a stage of `stages`, as the compile wrote them. */
const resourcesOf = (stages: Stage[], stage: string) => stages.find((s) => s.id === stage)!.definition.resources as unknown as Record<string, { Type: string; Properties: Json }>;
/** Statement `sid` of a policy document. */
const statement = (document: Json, sid: string): Statement => {
  const found = (document.Statement as Statement[]).find((s) => s.Sid === sid);
  expect(found, sid).toBeDefined();
  return found!;
};
/** The resources of `stage` whose logical id starts with `start`, of `type`: at least one. */
const each = (stages: Stage[], stage: string, start: string, type: string) => {
  const found = Object.entries(resourcesOf(stages, stage)).filter(([id, r]) => id.startsWith(start) && r.Type === type).map(([, r]) => r);
  expect(found.length, `${stage} ${start}`).toBeGreaterThan(0);
  return found;
};
/** A statement's `aws:PrincipalArn` ArnEquals made ArnLike with `pattern`. */
const widenPrincipalArn = (s: Statement, pattern: string) => {
  expect(s.Condition?.ArnEquals?.['aws:PrincipalArn'], s.Sid).toBeDefined();
  delete s.Condition!.ArnEquals;
  s.Condition!.ArnLike = { 'aws:PrincipalArn': sub(pattern) };
};
/** A statement's `aws:SourceArn` ArnLike given `pattern`. */
const widenSourceArn = (s: Statement, pattern: string) => {
  expect(s.Condition?.ArnLike?.['aws:SourceArn'], s.Sid).toBeDefined();
  s.Condition!.ArnLike['aws:SourceArn'] = sub(pattern);
};

/** The proof of the example with `mutate` applied to its compiled stages. */
function proofWith(mutate: (stages: Stage[]) => void): AccessAnalysis {
  const stages = planStages(org);
  mutate(stages);
  return analyseAccess(org, stages);
}

/** The problems that say a path of `need` is allowed where it must be refused: at least one, each naming its path. */
function refusedPathsAllowed(a: AccessAnalysis, need: string): string[] {
  const paths = a.paths.filter((p) => p.need === need && p.denied);
  expect(paths.length, `${need}: no such refused path`).toBeGreaterThan(0);
  return a.problems.filter((p) => p.endsWith(', which must be refused') && paths.some((path) => p.startsWith(`${path.purpose}: `)));
}

const ACCOUNT = '${AWS::AccountId}';
const PARTITION = '${AWS::Partition}';
const REGION = '${AWS::Region}';

/** The reviewer's M2 table, row by row (the compiled statement changed, the refused path that must now fail), and the samples' wider reach. */
const CASES: Array<{ what: string; need: string; mutate: (stages: Stage[]) => void; sample: RegExp }> = [
  {
    what: "the bus policy without its ArnEquals aws:PrincipalArn (the event forwarder)",
    need: 'event-forwarding-bus-other-role',
    mutate: (stages) => delete resourcesOf(stages, 'pipeline-foundation').CodeCommitEventsBusPolicy.Properties.Statement.Condition.ArnEquals,
    sample: /^arn:aws:iam::111111111111:role\/acme-event-forwarder-someone-elses$/,
  },
  {
    what: 'the source roles\' trust ArnEquals role/acme-pipeline made ArnLike role/acme-*',
    need: 'source-action-role-other-role',
    mutate: (stages) => {
      for (const r of each(stages, 'source-identity', 'SourceRole', 'AWS::IAM::Role')) {
        const s = statement(r.Properties.AssumeRolePolicyDocument, 'PipelineRoleAssumes');
        const named = subText(s.Condition!.ArnEquals['aws:PrincipalArn']);
        expect(named).toMatch(/:role\/acme-pipeline$/);
        widenPrincipalArn(s, named.replace('role/acme-pipeline', 'role/acme-*'));
      }
    },
    sample: /^arn:aws:iam::(222222222222|333333333333|444444444444):role\/acme-pipeline-someone-elses$/,
  },
  {
    what: 'the artifact key\'s PipelineRoleUsesKey made ArnLike role/acme-*',
    need: 'artifact-key-other-role',
    mutate: (stages) => widenPrincipalArn(statement(resourcesOf(stages, 'pipeline-foundation').ArtifactKey.Properties.KeyPolicy, 'PipelineRoleUsesKey'), `arn:${PARTITION}:iam::${ACCOUNT}:role/acme-*`),
    sample: /:role\/acme-pipeline-someone-elses$/,
  },
  {
    what: 'the artifact key\'s AdministerKey role/platform-admin made role/platform-*',
    need: 'key-administration-other-role',
    mutate: (stages) => {
      const arns = statement(resourcesOf(stages, 'pipeline-foundation').ArtifactKey.Properties.KeyPolicy, 'AdministerKey').Condition!.ArnLike['aws:PrincipalArn'] as Json[];
      const i = arns.findIndex((a) => subText(a).endsWith('role/platform-admin'));
      expect(i).toBeGreaterThanOrEqual(0);
      arns[i] = sub(`arn:${PARTITION}:iam::${ACCOUNT}:role/platform-*`);
    },
    sample: /:role\/platform-admin-someone-elses$/,
  },
  {
    what: 'the CI reader role\'s trust ArnEquals role/acme-ci-instance made ArnLike 555555555555:role/acme-*',
    need: 'ci-assume-reader-other-role',
    mutate: (stages) => {
      for (const r of each(stages, 'access-roles', 'CiReaderRoleIn', 'AWS::IAM::Role')) {
        widenPrincipalArn((r.Properties.AssumeRolePolicyDocument.Statement as Statement[])[0], `arn:${PARTITION}:iam::555555555555:role/acme-*`);
      }
    },
    sample: /^arn:aws:iam::555555555555:role\/acme-ci-instance-someone-elses$/,
  },
  {
    what: 'the web-app trigger role\'s trust aws:SourceArn rule/acme-web-app-trigger made rule/acme-*',
    need: 'trigger-role-other-rule',
    mutate: (stages) => widenSourceArn(statement(resourcesOf(stages, 'pipelines').WebAppTriggerRole.Properties.AssumeRolePolicyDocument, 'TrustService'), `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/acme-*`),
    sample: /:rule\/acme-web-app-trigger-someone-elses$/,
  },
  {
    what: 'the web-app CodeDeploy role\'s trust deploymentgroup:acme-web-app/* made deploymentgroup:acme-*',
    need: 'codedeploy-service-role-other-group',
    mutate: (stages) => widenSourceArn(statement(resourcesOf(stages, 'pipelines').WebAppCodeDeployRole.Properties.AssumeRolePolicyDocument, 'TrustService'), `arn:${PARTITION}:codedeploy:${REGION}:${ACCOUNT}:deploymentgroup:acme-*`),
    sample: /:deploymentgroup:acme-web-app-someone-elses\/x$/,
  },
  {
    what: 'the event forwarder\'s trust rule/acme-codecommit-fwd-* made rule/acme-*',
    need: 'event-forwarding-role-other-rule',
    mutate: (stages) => {
      for (const r of each(stages, 'source-identity', 'EventForwarderRoleIn', 'AWS::IAM::Role')) {
        widenSourceArn(statement(r.Properties.AssumeRolePolicyDocument, 'TrustService'), `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/acme-*`);
      }
    },
    sample: /:rule\/acme-someone-elses$/,
  },
  {
    // The review's m1: ForAllValues is true of a request without the key; the Null guard is what refuses it.
    what: "the bus policy without its Null guard on events:source and events:detail-type (review s59-proof m1)",
    need: 'event-forwarding-bus-no-source',
    mutate: (stages) => delete resourcesOf(stages, 'pipeline-foundation').CodeCommitEventsBusPolicy.Properties.Statement.Condition.Null,
    sample: /^arn:aws:iam::111111111111:role\/acme-event-forwarder$/,
  },
  // Beyond the table: the other narrowings the same samples guard.
  {
    what: "the pipeline account's trigger dead-letter queue's rule/acme-*-trigger made rule/acme-*",
    need: 'trigger-dead-letter-other-rule',
    mutate: (stages) => widenSourceArn(statement(resourcesOf(stages, 'pipeline-foundation').EventsDeadLetterQueuePolicy.Properties.PolicyDocument, 'TriggerRulesDeadLetters'), `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/acme-*`),
    sample: /:rule\/acme-someone-elses$/,
  },
  {
    what: 'the artifact bucket\'s SourceRolesWriteArtifacts role/acme-source-<account> made ArnLike role/acme-source-*',
    need: 'source-action-artifact-other-role',
    mutate: (stages) => widenPrincipalArn(statement(resourcesOf(stages, 'pipeline-foundation').ArtifactBucketPolicy.Properties.PolicyDocument, 'SourceRolesWriteArtifacts'), `arn:${PARTITION}:iam::111111111111:role/acme-source-*`),
    sample: /^arn:aws:iam::111111111111:role\/acme-source-someone-elses-\d{12}$/,
  },
  {
    what: "the artifact key's DeployTargetsDecryptViaS3 role/acme-deploy-target made ArnLike role/acme-deploy-*",
    need: 'artifact-key-other-role',
    mutate: (stages) => widenPrincipalArn(statement(resourcesOf(stages, 'pipeline-foundation').ArtifactKey.Properties.KeyPolicy, 'DeployTargetsDecryptViaS3'), `arn:${PARTITION}:iam::${ACCOUNT}:role/acme-deploy-*`),
    sample: /:role\/acme-deploy-target-someone-elses$/,
  },
];

describe('a widened or removed principal condition fails the proof, naming the refused path (review s59-proof M2)', () => {
  it('the example as compiled: no problem, and every refused path of the cases below refused', () => {
    const a = analyseAccess(org, planStages(org));
    expect(a.problems).toEqual([]);
    for (const { need } of CASES) {
      const results = a.results.filter((r) => r.path.need === need);
      expect(results.length, need).toBeGreaterThan(0);
      for (const r of results) expect(r.allowed, r.path.purpose).toBe(false);
    }
  });

  for (const c of CASES) {
    it(`${c.what}: ${c.need} is allowed, which must be refused`, () => {
      const a = proofWith(c.mutate);
      const named = refusedPathsAllowed(a, c.need);
      expect(named.length, a.problems.join('\n')).toBeGreaterThan(0);
      // The sample the widened condition admits shares the literal start of what it stood for.
      const samples = a.paths.filter((p) => p.need === c.need).flatMap((p) => [p.principal.kind === 'aws' ? p.principal.arn : '', ...Object.values(p.context ?? {}).flat()]);
      expect(samples.some((s) => c.sample.test(s)), samples.join('\n')).toBe(true);
    });
  }

  it("the reviewer's controls stay caught: the bucket policy's narrowing dropped, the key or bucket granted to an account root", () => {
    const dropped = proofWith((stages) => delete statement(resourcesOf(stages, 'pipeline-foundation').ArtifactBucketPolicy.Properties.PolicyDocument, 'SourceRolesWriteArtifacts').Condition);
    expect(refusedPathsAllowed(dropped, 'source-action-artifact-other-role').length).toBeGreaterThan(0);
    const keyRoot = proofWith((stages) =>
      (resourcesOf(stages, 'pipeline-foundation').ArtifactKey.Properties.KeyPolicy.Statement as Statement[]).push({ Sid: 'EnableIam', Effect: 'Allow', Principal: { AWS: sub(`arn:${PARTITION}:iam::${ACCOUNT}:root`) }, Action: 'kms:Decrypt', Resource: '*' }),
    );
    expect(refusedPathsAllowed(keyRoot, 'artifact-key-other-role').length).toBeGreaterThan(0);
    const bucketRoot = proofWith((stages) =>
      (resourcesOf(stages, 'pipeline-foundation').ArtifactBucketPolicy.Properties.PolicyDocument.Statement as Statement[]).push({ Sid: 'Tools', Effect: 'Allow', Principal: { AWS: sub('arn:aws:iam::555555555555:root') }, Action: 's3:GetObject', Resource: sub('${ArtifactBucket.Arn}/*') }),
    );
    expect(bucketRoot.problems.some((p) => p.includes('ArtifactBucketPolicy/Tools grants s3:GetObject') && p.endsWith('which no declared access path needs'))).toBe(true);
  });

  it('no sample is a name the org gives: each role, rule and deployment group sample is outside naming.ts\'s names of the org', () => {
    for (const file of ['parameters/example.yaml', 'parameters/govcloud.yaml']) {
      const o = loadOrgFile(file);
      const a = analyseAccess(o, planStages(o));
      expect(a.problems, file).toEqual([]);
      const names = new Names(o.prefix, o.bucketGeneration);
      const given = new Set([
        ...o.accounts.flatMap((account) => names.prefixNames(account.id, o.region).map(([, name]) => name)),
        ...o.pipelines.flatMap((p) => names.pipelineNames(p.name).map(([, name]) => name)),
        ...o.pipelines.map((p) => `${names.codeDeployApplication(p.name)}/${names.codeDeployGroup(p.name)}`),
      ]);
      // The last part of each sample's ARN: a role's name, a rule's, an application and its group.
      const samples = [...new Set(a.paths.filter((p) => p.denied).flatMap((p) => [p.principal.kind === 'aws' ? p.principal.arn : '', ...Object.values(p.context ?? {}).flat()]).filter((v) => v.includes('someone-elses')))];
      expect(samples.length, file).toBeGreaterThan(10);
      for (const sample of samples) expect(given.has(sample.replace(/^.*?(:role\/|:rule\/|:deploymentgroup:)/, '')), `${file}: ${sample}`).toBe(false);
    }
  });

  it('an org whose own names take the samples\' (a pipeline named someone-elses, a key administrator named as a sample) compiles: the samples step aside', () => {
    const text = readFileSync('parameters/example.yaml', 'utf8');
    const taken = text.replace('  payments-api:\n    repository: payments-api\n', '  someone-elses:\n    repository: payments-api\n').replace('  - platform-admin\n', '  - platform-admin\n  - platform-admin-someone-elses\n  - "AWSCloudFormationStackSetExecutionRole-*"\n');
    expect(taken).toContain('platform-admin-someone-elses');
    expect(taken).toContain('  someone-elses:\n');
    const o = parseOrg(taken, 'taken.yaml');
    const a = analyseAccess(o, planStages(o));
    expect(a.problems).toEqual([]);
    const administration = a.paths.filter((p) => p.need === 'key-administration-other-role').map((p) => (p.principal.kind === 'aws' ? p.principal.arn.replace(/^.*:role\//, '') : ''));
    // The execution role's name and the pattern after it both start `AWSCloudFormationStackSetExecutionRole-`, all of
    // whose names the pattern takes: their sample is cut before the hyphen. platform-admin's usual sample is taken.
    expect([...new Set(administration)].sort()).toEqual(['AWSCloudFormationStackSetExecutionRolesomeone-elses', 'platform-admin-qqqqqq', 'platform-admin-someone-elses-someone-elses']);
  });

  it("a role added by name to a trust's ArnLike list is a principal no path needs (review s60-second-read: the root stood for it, used by the developers' own paths)", () => {
    const added = `arn:${PARTITION}:iam::555555555555:role/AWSCloudFormationStackSetExecutionRole`;
    const a = proofWith((stages) => {
      for (const r of each(stages, 'access-roles', 'DeveloperRoleIn', 'AWS::IAM::Role')) {
        const s = statement(r.Properties.AssumeRolePolicyDocument, 'DevelopersAssume');
        s.Condition!.ArnLike['aws:PrincipalArn'] = [...(s.Condition!.ArnLike['aws:PrincipalArn'] as Json[]), sub(added)];
      }
    });
    expect(a.problems.filter((p) => p.includes('AWSCloudFormationStackSetExecutionRole') && p.includes('which no declared access path needs')).length).toBeGreaterThan(0);
    // The same list as compiled: nothing unneeded.
    expect(proofWith(() => undefined).problems).toEqual([]);
  });
});
