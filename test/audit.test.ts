import { describe, expect, it } from 'vitest';
import { analyseAccess } from '../src/audit/paths';
import { evaluate } from '../src/audit/evaluate';
import { loadOrgFile } from '../src/org/load';
import type { Stage } from '../src/stages/model';
import { planStages } from '../src/stages/plan';
import { ARTIFACT_OBJECT_WRITE } from '../src/iam/grants';

const org = loadOrgFile('parameters/example.yaml');
const fresh = () => planStages(org);
const props = (stages: Stage[], stage: string, resource: string) => (stages.find((s) => s.id === stage)!.definition.resources[resource] as unknown as { Properties: any }).Properties;

describe('access analysis of the compiled policies', () => {
  it('proves every declared path of both example orgs on both sides, and refuses pushes to protected branches', () => {
    for (const file of ['parameters/example.yaml', 'parameters/govcloud.yaml']) {
      const o = loadOrgFile(file);
      const a = analyseAccess(o, planStages(o));
      expect(a.problems, file).toEqual([]);
      expect(a.results.length, file).toBeGreaterThan(150);
      for (const r of a.results) expect(r.allowed, `${r.path.purpose} ${r.action}`).toBe(!r.path.denied);
    }
    const a = analyseAccess(org, fresh());
    const crossAccountWrite = a.results.find((r) => r.path.purpose.startsWith('the source role writes') && r.action === 's3:PutObject')!;
    expect(crossAccountWrite.reason).toBe('both sides allow it');
    expect(crossAccountWrite.grantedBy.map((g) => g.policy).sort()).toEqual(['ArtifactBucketPolicy/SourceRolesWriteArtifacts', 'SourceRole222222222222SourceActionIn111111111111/WriteArtifacts']);
    expect(a.results.filter((r) => r.path.denied).length).toBeGreaterThan(0);
  });

  it('a key policy without the source roles fails, naming principal, action, resource and the missing side', () => {
    const stages = fresh();
    const key = props(stages, 'pipeline-foundation', 'ArtifactKey');
    key.KeyPolicy.Statement = key.KeyPolicy.Statement.filter((s: { Sid: string }) => s.Sid !== 'SourceRolesUseKey');
    const problems = analyseAccess(org, stages).problems;
    expect(problems).toContain(
      'the source role encrypts with the artifact key (web-app in dev): arn:aws:iam::111111111111:role/acme-source-222222222222 may not kms:GenerateDataKey on arn:aws:kms:eu-west-1:222222222222:key/{pipeline-foundation/ArtifactKey}: no key policy statement allows it',
    );
  });

  it('the artifact bucket refuses an upload that names another encryption, and lets a multipart upload\'s parts (no header) through; a plain StringNotEquals, which refuses them, fails the proof', () => {
    const a = analyseAccess(org, fresh());
    const write = a.results.find((r) => r.path.purpose.startsWith('the source role writes the source artifact') && r.action === 's3:PutObject')!;
    const part = a.results.find((r) => r.path.purpose.startsWith('the source role uploads a part of the source artifact'))!;
    expect(part.path.context).toBeUndefined();
    expect([part.action, part.allowed]).toEqual(['s3:PutObject', true]);
    const other = evaluate(a.index, { principal: write.path.principal, action: 's3:PutObject', resource: write.path.resource, resourceAccount: write.path.resourceAccount, context: { 's3:x-amz-server-side-encryption': ['AES256'] } }, org.organizationId);
    expect(other.allowed).toBe(false);
    expect(other.refusedBy && 'deny' in other.refusedBy && other.refusedBy.deny.policy).toBe('ArtifactBucketPolicy/DenyOtherEncryption');

    const stages = fresh();
    const deny = props(stages, 'pipeline-foundation', 'ArtifactBucketPolicy').PolicyDocument.Statement.find((s: { Sid: string }) => s.Sid === 'DenyOtherEncryption');
    delete deny.Condition.Null;
    const problems = analyseAccess(org, stages).problems;
    expect(problems.some((p) => p.startsWith('the source role uploads a part of the source artifact, which names no encryption (web-app in dev): ') && p.includes('may not s3:PutObject'))).toBe(true);
  });

  it('an identity policy action no declared path needs fails the compile, naming statement, action and role; so does one on a resource no path names', () => {
    const stages = fresh();
    const policy = props(stages, 'pipelines', 'WebAppPipelinePolicy').PolicyDocument;
    const deploy = policy.Statement.find((s: { Sid: string }) => s.Sid === 'DeployWithCodeDeploy');
    deploy.Action = [...deploy.Action, 'codedeploy:DeleteApplication'];
    const problems = analyseAccess(org, stages).problems;
    expect(problems.filter((p) => p.includes('codedeploy:DeleteApplication'))).toEqual(
      ['222222222222', '333333333333', '444444444444'].map(
        (a) =>
          `pipelines @ ${a}: WebAppPipelinePolicy/DeployWithCodeDeploy grants codedeploy:DeleteApplication on arn:aws:codedeploy:eu-west-1:${a}:application:acme-web-app, arn:aws:codedeploy:eu-west-1:${a}:deploymentgroup:acme-web-app/acme-web-app, arn:aws:codedeploy:eu-west-1:${a}:deploymentconfig:CodeDeployDefault.OneAtATime to arn:aws:iam::${a}:role/acme-pipeline, which no declared access path needs`,
      ),
    );
    // In a resource policy too: S3's log delivery given a read it never asks.
    const logs = fresh();
    const delivery = props(logs, 'pipeline-foundation', 'AccessLogBucketPolicy').PolicyDocument.Statement.find((s: { Sid: string }) => s.Sid === 'S3DeliversAccessLogs');
    delivery.Action = [...[delivery.Action].flat(), 's3:GetObject'];
    expect(analyseAccess(org, logs).problems.filter((p) => p.includes('s3:GetObject'))).toEqual(
      ['222222222222', '333333333333', '444444444444'].map(
        (a) => `pipeline-foundation @ ${a}: AccessLogBucketPolicy/S3DeliversAccessLogs grants s3:GetObject on arn:aws:s3:::acme-access-logs-${a}-eu-west-1/artifacts/* to logging.s3.amazonaws.com, which no declared access path needs`,
      ),
    );
    // A used statement that also names a resource no path uses (another application).
    const wider = fresh();
    const deployWider = props(wider, 'pipelines', 'WebAppPipelinePolicy').PolicyDocument.Statement.find((s: { Sid: string }) => s.Sid === 'DeployWithCodeDeploy');
    deployWider.Resource = [...deployWider.Resource, { 'Fn::Sub': 'arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:application:someone-elses' }];
    const widerProblems = analyseAccess(org, wider).problems;
    expect(widerProblems.length).toBe(3);
    expect(widerProblems[0]).toMatch(
      /^pipelines @ 222222222222: WebAppPipelinePolicy\/DeployWithCodeDeploy grants codedeploy:CreateDeployment, .* on arn:aws:codedeploy:eu-west-1:222222222222:application:someone-elses to arn:aws:iam::222222222222:role\/acme-pipeline \(its paths are on .*application:acme-web-app.*\), which no declared access path needs$/,
    );
    // A principal no path needs, added to a used resource-policy statement: a service to a trust, a role of the key's own
    // account (a key policy alone lets it use the key) to the pipeline role's key statement.
    const principals = fresh();
    const trust = props(principals, 'pipelines', 'WebAppCodeDeployRole').AssumeRolePolicyDocument.Statement[0];
    trust.Principal = { Service: ['codedeploy.amazonaws.com', 'ec2.amazonaws.com'] };
    const keyStatement = props(principals, 'pipeline-foundation', 'ArtifactKey').KeyPolicy.Statement.find((s: { Sid: string }) => s.Sid === 'PipelineRoleUsesKey');
    keyStatement.Principal = { AWS: [keyStatement.Principal.AWS, { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/anyone-here' }] };
    const principalProblems = analyseAccess(org, principals).problems;
    expect(principalProblems.filter((p) => p.includes('to ec2.amazonaws.com'))).toEqual(
      ['222222222222', '333333333333', '444444444444'].map((a) => expect.stringMatching(new RegExp(`^pipelines @ ${a}: WebAppCodeDeployRole/TrustService grants sts:AssumeRole on .* to ec2\\.amazonaws\\.com \\(its paths are of service:codedeploy\\.amazonaws\\.com\\), which no declared access path needs$`))),
    );
    expect(principalProblems.filter((p) => p.includes('role/anyone-here'))).toHaveLength(3);
    // A needed action on a resource no path names: the statement grants no path.
    const other = fresh();
    props(other, 'pipelines', 'WebAppPipelinePolicy').PolicyDocument.Statement.push({
      Sid: 'ReadOtherApplication',
      Effect: 'Allow',
      Action: 'codedeploy:GetApplication',
      Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:application:someone-elses' },
    });
    expect(analyseAccess(org, other).problems).toContain(
      'pipelines @ 222222222222: WebAppPipelinePolicy/ReadOtherApplication grants codedeploy:GetApplication on arn:aws:codedeploy:eu-west-1:222222222222:application:someone-elses to arn:aws:iam::222222222222:role/acme-pipeline, which no declared access path needs',
    );
  });

  it('a missing identity grant fails on the identity side', () => {
    const stages = fresh();
    const policy = props(stages, 'source-identity', 'SourceRole444444444444SourceActionIn111111111111');
    policy.PolicyDocument.Statement = policy.PolicyDocument.Statement.filter((s: { Sid: string }) => s.Sid !== 'WriteArtifacts');
    const problems = analyseAccess(org, stages).problems;
    expect(problems.some((p) => /source role writes the source artifact \(web-app in prod\): .* may not s3:PutObject on arn:aws:s3:::acme-artifacts-444444444444-eu-west-1\/acme-web-app\/SourceArti\/Ab1Cd2E: no identity policy of the principal allows it/.test(p))).toBe(true);
  });

  it('a widened cross-account grant fails as too broad, naming the policy', () => {
    const stages = fresh();
    const bucket = props(stages, 'pipeline-foundation', 'ArtifactBucketPolicy');
    const write = bucket.PolicyDocument.Statement.find((s: { Sid: string }) => s.Sid === 'SourceRolesWriteArtifacts');
    write.Action = [...ARTIFACT_OBJECT_WRITE.actions, 's3:DeleteObject'];
    const problems = analyseAccess(org, stages).problems;
    expect(problems).toContain(
      'pipeline-foundation @ 222222222222: ArtifactBucketPolicy/SourceRolesWriteArtifacts grants s3:DeleteObject on arn:aws:s3:::acme-artifacts-222222222222-eu-west-1/* to arn:aws:iam::111111111111:role/acme-source-222222222222, which no declared access path needs',
    );
  });

  it("a key policy that admits another pipeline account's source role, by aws:PrincipalArn, is found", () => {
    const stages = fresh();
    const key = props(stages, 'pipeline-foundation', 'ArtifactKey');
    const use = key.KeyPolicy.Statement.find((s: { Sid: string }) => s.Sid === 'SourceRolesUseKey');
    const named = use.Condition.ArnEquals['aws:PrincipalArn'];
    // A new condition object: the bucket policy's statements share the one the template made.
    use.Condition = { ArnEquals: { 'aws:PrincipalArn': [...(Array.isArray(named) ? named : [named]), { 'Fn::Sub': 'arn:${AWS::Partition}:iam::111111111111:role/acme-source-444444444444' }] } };
    const problems = analyseAccess(org, stages).problems;
    expect(problems).toContain(
      'pipeline-foundation @ 222222222222: ArtifactKey/SourceRolesUseKey admits arn:aws:iam::111111111111:role/acme-source-444444444444, the source role of another pipeline account',
    );
    expect(problems.filter((p) => p.includes('the source role of another pipeline account'))).toHaveLength(2);
  });

  it("a key policy that also admits another role of its own account, which no path uses, fails as too broad: a role's ARN admits that role, not its account's others (review s50-mutations-9)", () => {
    const stages = fresh();
    const use = props(stages, 'pipeline-foundation', 'ArtifactKey').KeyPolicy.Statement.find((s: { Sid: string }) => s.Sid === 'PipelineRoleUsesKey');
    use.Principal = { AWS: [use.Principal.AWS, { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/acme-other' }] };
    const problems = analyseAccess(org, stages).problems;
    expect(problems).toContain(
      'pipeline-foundation @ 222222222222: ArtifactKey/PipelineRoleUsesKey grants kms:Decrypt, kms:DescribeKey, kms:Encrypt, kms:GenerateDataKey on arn:aws:kms:eu-west-1:222222222222:key/{pipeline-foundation/ArtifactKey} to arn:aws:iam::222222222222:role/acme-other (its paths are of aws:arn:aws:iam::222222222222:role/acme-pipeline), which no declared access path needs',
    );
    expect(problems).toHaveLength(3);
  });

  it('a trust widened to another account\'s root fails as too broad', () => {
    const stages = fresh();
    const role = props(stages, 'access-roles', 'CiReaderRoleIn111111111111');
    role.AssumeRolePolicyDocument.Statement[0].Principal = { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::999999999999:root' } };
    role.AssumeRolePolicyDocument.Statement[0].Condition = { Bool: { 'aws:MultiFactorAuthPresent': 'true' } };
    const problems = analyseAccess(org, stages).problems;
    expect(problems).toContain(
      'access-roles @ 111111111111: CiReaderRoleIn111111111111/CiInstanceAssumes grants sts:AssumeRole on arn:aws:iam::111111111111:role/acme-ci-reader to arn:aws:iam::999999999999:root, which no declared access path needs',
    );
    expect(problems.some((p) => p.startsWith('CI assumes the pull-only role of shared-services'))).toBe(true);
  });

  it("the events dead-letter queues (src/cfn/dead-letter.ts): EventBridge may send for the account's own rules, for no other rule, and no other account's principal may send", () => {
    const a = analyseAccess(org, fresh());
    const outcome = (need: string) => [...new Set(a.results.filter((r) => r.path.need === need).map((r) => `${r.action} ${r.allowed}`))];
    for (const hop of ['event-forwarding-dead-letter', 'trigger-dead-letter']) {
      expect(outcome(hop), hop).toEqual(['sqs:SendMessage true']);
      expect(outcome(`${hop}-other-rule`), hop).toEqual(['sqs:SendMessage false']);
      expect(outcome(`${hop}-other-account`), hop).toEqual(['sqs:SendMessage false']);
    }
    const forwarded = a.results.find((r) => r.path.need === 'event-forwarding-dead-letter')!;
    expect([forwarded.path.resource, forwarded.grantedBy.map((g) => g.policy)]).toEqual(['arn:aws:sqs:eu-west-1:111111111111:acme-forward-dlq', ['EventsDeadLetterQueuePolicyIn111111111111/ForwardingRulesDeadLetters']]);

    // Without its aws:SourceArn condition, the queue takes any rule's events: the proof refuses the compile.
    const unpinned = fresh();
    const allow = props(unpinned, 'pipeline-foundation', 'EventsDeadLetterQueuePolicy').PolicyDocument.Statement[0];
    delete allow.Condition.ArnLike;
    expect(analyseAccess(org, unpinned).problems).toContain(
      "EventBridge may not put the events of a rule outside the queue's rule-name pattern in the dead-letter queue (one of the account's rules named to fit it may) (dev): events.amazonaws.com may sqs:SendMessage on arn:aws:sqs:eu-west-1:222222222222:acme-events-dlq, which must be refused",
    );
    // Another account's principal admitted: too broad, and the refusal the proof asks for fails.
    const opened = fresh();
    props(opened, 'source-identity', 'EventsDeadLetterQueuePolicyIn111111111111').PolicyDocument.Statement.push({
      Sid: 'Others',
      Effect: 'Allow',
      Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::999999999999:root' } },
      Action: 'sqs:SendMessage',
      Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:acme-forward-dlq' },
    });
    const problems = analyseAccess(org, opened).problems;
    expect(problems).toContain(
      'source-identity @ 111111111111: EventsDeadLetterQueuePolicyIn111111111111/Others grants sqs:SendMessage on arn:aws:sqs:eu-west-1:111111111111:acme-forward-dlq to arn:aws:iam::999999999999:root, which no declared access path needs',
    );
    expect(problems.some((p) => p.startsWith('a principal of another account may not send to the dead-letter queue (shared-services, ') && p.endsWith('which must be refused'))).toBe(true);
  });

  it('without the protected-branch deny, pushes to main are flagged', () => {
    const stages = fresh();
    const doc = props(stages, 'access-roles', 'DeveloperRoleCodecommitDeveloperIn111111111111').PolicyDocument;
    doc.Statement = doc.Statement.filter((s: { Sid: string }) => s.Sid !== 'DenyWritesToProtectedBranches');
    const problems = analyseAccess(org, stages).problems;
    expect(problems).toContain('developers may not change main of web-app: arn:aws:iam::111111111111:role/acme-developer may codecommit:GitPush on arn:aws:codecommit:eu-west-1:111111111111:web-app, which must be refused');
  });

  it('a protected-branch deny that leaves out one branch write the developers are granted (CreateBranch) is flagged: the proof asks every one of them', () => {
    const stages = fresh();
    const doc = props(stages, 'access-roles', 'DeveloperRoleCodecommitDeveloperIn111111111111').PolicyDocument;
    const deny = doc.Statement.find((s: { Sid: string }) => s.Sid === 'DenyWritesToProtectedBranches');
    expect(deny.Action).toContain('codecommit:CreateBranch');
    deny.Action = deny.Action.filter((a: string) => a !== 'codecommit:CreateBranch');
    const problems = analyseAccess(org, stages).problems;
    expect(problems).toContain('developers may not change main of web-app: arn:aws:iam::111111111111:role/acme-developer may codecommit:CreateBranch on arn:aws:codecommit:eu-west-1:111111111111:web-app, which must be refused');
  });
});
