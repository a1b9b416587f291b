import { describe, expect, it } from 'vitest';
import { asList, awsPrincipals, policyDocuments } from '../src/checks/documents';
import { checkTemplate, RULES, segmentDependent } from '../src/checks/rules';
import { keptOnDelete } from '../src/cfn/deletion-policy';
import type { CfnTemplate } from '../src/cfn/template';
import { readFileSync } from 'node:fs';
import { compileOrg } from '../src/compile';
import { loadOrgFile, parseOrg } from '../src/org/load';
import { accountByName, accountOfEnvironment, repositoryByName } from '../src/org/model';
import { logicalId } from '../src/cfn/resources';
import { conditionHolds } from '../src/cfn/account-switch';
import { renderTemplate } from '../src/cfn/template';
import { toYaml } from '../src/yaml';
import { globRegExp } from '../src/checks/service-authorization';
import { compileFile, ORG_FILES, templatesOf } from './helpers';

const all = ORG_FILES.flatMap((file) => templatesOf(file).map(([stage, t]) => ({ file, stage, t })));
const resourcesOf = (type: string) => all.flatMap(({ stage, t }) => Object.entries(t.Resources).filter(([, r]) => r.Type === type).map(([id, r]) => ({ stage, id, p: r.Properties as Record<string, any> })));
const statements = all.flatMap(({ stage, t }) => policyDocuments(t).flatMap((d) => d.statements.map((s) => ({ stage, doc: d, s }))));

describe('least privilege, over every statement of every template', () => {
  it('covers a meaningful number of statements', () => {
    expect(statements.length).toBeGreaterThan(60);
  });

  it('no Allow grants a wildcard action, and nothing uses NotAction or NotPrincipal', () => {
    for (const { stage, doc, s } of statements) {
      expect(s.NotAction, `${stage} ${doc.resource}`).toBeUndefined();
      expect(s.NotPrincipal, `${stage} ${doc.resource}`).toBeUndefined();
      if (s.Effect === 'Allow') for (const a of asList(s.Action)) expect(String(a), `${stage} ${doc.resource} ${s.Sid}`).not.toContain('*');
    }
  });

  it('identity policies use resource "*" only for the CodeDeploy target lookup, the repository list, the ECR login, the SSM Agent\'s calls without a resource type, the flow-log role\'s log group list and the CloudWatch agent\'s metrics (in its namespace) and describes', () => {
    const star = statements.filter(({ doc, s }) => doc.kind === 'identity' && asList(s.Resource).includes('*'));
    expect(new Set(star.map(({ s }) => s.Sid))).toEqual(new Set(['FindTaggedInstances', 'ListRepositories', 'EcrLogin', 'SessionManagerChannels', 'AgentPackagesAndCommands', 'FindLogGroup', 'AgentMetrics', 'AgentDescribes']));
    // The metrics are held to the agent's namespace.
    for (const { s } of star.filter(({ s }) => s.Sid === 'AgentMetrics')) expect(s.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'CWAgent' } });
  });

  it('"*" and account-root principals in an Allow always carry conditions that pin the principal (its ARN or account)', () => {
    let broadStatements = 0;
    for (const { stage, doc, s } of statements) {
      if (s.Effect !== 'Allow') continue;
      const broad = awsPrincipals(s.Principal).filter((p) => p === '*' || JSON.stringify(p).includes(':root'));
      if (broad.length === 0) continue;
      broadStatements++;
      const keys = Object.values((s.Condition ?? {}) as Record<string, Record<string, unknown>>).flatMap((o) => Object.keys(o));
      // The one exception: the isolated network's S3 gateway endpoint lets through ECR's presigned layer URLs, which
      // AWS signs (no principal of the org's): pinned to that bucket and to query-string authentication instead.
      if (s.Sid === 'EcrImageLayers') {
        expect(keys, `${stage} ${doc.resource} ${s.Sid}`).toEqual(['s3:authType']);
        continue;
      }
      expect(keys.filter((k) => k === 'aws:PrincipalArn' || k === 'aws:PrincipalAccount'), `${stage} ${doc.resource} ${s.Sid}`).not.toEqual([]);
    }
    expect(broadStatements).toBeGreaterThan(20);
  });

  it('every service trust carries aws:SourceAccount and aws:SourceArn, but EC2\'s and CodePipeline\'s, which record why not', () => {
    const trusts = statements.filter(({ doc, s }) => doc.kind === 'trust' && (s.Principal as any)?.Service);
    expect(trusts.length).toBeGreaterThan(5);
    for (const { stage, doc, s } of trusts) {
      if (['ec2.amazonaws.com', 'codepipeline.amazonaws.com'].includes((s.Principal as any).Service)) {
        expect(s.Condition, `${stage} ${doc.resource}`).toBeUndefined();
        expect((doc.metadata as any).xstack.exceptions.map((e: any) => e.rule)).toContain('XS005');
        continue;
      }
      expect(s.Condition?.StringEquals?.['aws:SourceAccount'], `${stage} ${doc.resource}`).toEqual({ Ref: 'AWS::AccountId' });
      // This account's resource of the service (a rule, a deployment group, a flow log): never a wildcard account or service.
      const sourceArns = asList(s.Condition?.ArnLike?.['aws:SourceArn']).map((a) => JSON.stringify(a));
      expect(sourceArns.length, `${stage} ${doc.resource}`).toBeGreaterThan(0);
      // VPC Flow Logs' is every flow log of the account (vpc-flow-log/*): the flow log's id is made with it.
      for (const a of sourceArns) {
        expect(a, `${stage} ${doc.resource}`).toMatch(/^\{"Fn::Sub":"arn:\$\{AWS::Partition\}:[a-z0-9-]+:(\$\{AWS::Region\})?:\$\{AWS::AccountId\}:([a-z-]+[/:][^*"]|vpc-flow-log\/\*")/);
      }
    }
  });

  it('attaches no AWS managed policy (AmazonSSMManagedInstanceCore neither), and no literal partition anywhere', () => {
    for (const { stage, p } of resourcesOf('AWS::IAM::Role')) expect(p.ManagedPolicyArns, `${stage} ${p.RoleName}`).toBeUndefined();
    for (const { stage, t } of all) expect(JSON.stringify(t), stage).not.toMatch(/arn:aws(-[a-z-]+)?:/);
  });

  it('the deployment targets\' role: Session Manager, and the CodeDeploy agent\'s install through Systems Manager, each action on its resource type', () => {
    const [policy] = resourcesOf('AWS::IAM::ManagedPolicy').filter(({ p }) => p.ManagedPolicyName === 'acme-deploy-target-codedeploy-agent-through-ssm');
    expect(policy.p.PolicyDocument.Statement).toEqual([
      {
        Sid: 'AgentAssociations',
        Effect: 'Allow',
        Action: ['ssm:ListInstanceAssociations', 'ssm:UpdateInstanceAssociationStatus', 'ssm:PutComplianceItems'],
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*' },
      },
      {
        Sid: 'AgentAssociationStatus',
        Effect: 'Allow',
        Action: 'ssm:UpdateInstanceAssociationStatus',
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:association/*' },
      },
      { Sid: 'ConfigurePackageDocument', Effect: 'Allow', Action: 'ssm:GetDocument', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-ConfigureAWSPackage' } },
      { Sid: 'CodeDeployAgentPackage', Effect: 'Allow', Action: ['ssm:DescribeDocument', 'ssm:GetDocument'], Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWSCodeDeployAgent' } },
      {
        Sid: 'AgentPackagesAndCommands',
        Effect: 'Allow',
        Action: [
          'ssm:GetManifest',
          'ssm:PutConfigurePackageResult',
          'ec2messages:AcknowledgeMessage',
          'ec2messages:DeleteMessage',
          'ec2messages:FailMessage',
          'ec2messages:GetEndpoint',
          'ec2messages:GetMessages',
          'ec2messages:SendReply',
        ],
        Resource: '*',
      },
    ]);
    const [sessions] = resourcesOf('AWS::IAM::ManagedPolicy').filter(({ p }) => p.ManagedPolicyName === 'acme-deploy-target-session-manager');
    expect(sessions.p.PolicyDocument.Statement.map((s: any) => s.Sid)).toEqual(['SessionManagerRegisters', 'SessionManagerChannels']);
  });

  it("every instance profile holds one role, of its own template, that EC2 alone may assume, and is named as that role (review s42-mutations-4 PI3)", () => {
    const profiles = all.flatMap(({ file, stage, t }) =>
      Object.entries(t.Resources)
        .filter(([, r]) => r.Type === 'AWS::IAM::InstanceProfile')
        .map(([id, r]) => ({ where: `${file} ${stage} ${id}`, t, p: r.Properties as Record<string, any> })),
    );
    // The deployment targets' (each pipeline account) and the CI host's, in both example orgs.
    expect(profiles.map((x) => x.where.split(' ')[2]).sort()).toEqual(expect.arrayContaining(['CiInstanceProfile', 'DeployTargetInstanceProfile']));
    for (const { where, t, p } of profiles) {
      expect(p.Roles, where).toEqual([{ Ref: expect.any(String) }]);
      const role = t.Resources[p.Roles[0].Ref] as { Type: string; Properties: Record<string, any> } | undefined;
      expect(role?.Type, where).toBe('AWS::IAM::Role');
      const trust = asList(role!.Properties.AssumeRolePolicyDocument.Statement) as Array<{ Effect: string; Principal: { Service?: unknown }; Action: unknown }>;
      expect(trust.map((s) => [s.Effect, s.Principal, s.Action]), where).toEqual([['Allow', { Service: 'ec2.amazonaws.com' }, 'sts:AssumeRole']]);
      expect(p.InstanceProfileName, where).toEqual(role!.Properties.RoleName);
    }
  });

  it('each pipeline account\'s source role may do only the CodeCommit source action, and write only that account\'s artifacts with only its key', () => {
    const policies = resourcesOf('AWS::IAM::ManagedPolicy').filter(({ p }) => /-source-\d{12}-/.test(p.ManagedPolicyName));
    // example: 3 pipeline accounts read one source account; govcloud: 2 pipeline accounts read each of 2 source accounts.
    expect(policies.length).toBe(7);
    for (const { p } of policies) {
      const account = /-source-(\d{12})-source-action$/.exec(p.ManagedPolicyName)![1];
      expect(p.Roles).toEqual([{ Ref: expect.stringMatching(new RegExp(`^SourceRole${account}In\\d{12}$`)) }]);
      const bySid = Object.fromEntries(p.PolicyDocument.Statement.map((s: any) => [s.Sid, s]));
      expect(new Set(Object.values(bySid).flatMap((s: any) => asList(s.Action)))).toEqual(
        new Set(['codecommit:GetBranch', 'codecommit:GetCommit', 'codecommit:GetRepository', 'codecommit:UploadArchive', 'codecommit:GetUploadArchiveStatus', 'codecommit:CancelUploadArchive', 's3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:PutObjectAcl', 's3:ListBucket', 'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']),
      );
      expect(bySid.ListArtifactBucket.Condition).toEqual({ StringEquals: { 'aws:ResourceAccount': account } });
      // That account's artifacts: all of them where this source account alone feeds it (example), else its own
      // pipelines' folders (govcloud: dev and prod run pipelines of both source accounts; review s59-proof M1).
      const objects = asList(bySid.WriteArtifacts.Resource).map((r: any) => r['Fn::Sub']);
      const folders = p.ManagedPolicyName.startsWith('gov-') ? ['gov-mission-app', 'gov-records-service'] : [''];
      expect(objects).toHaveLength(1);
      expect(objects[0]).toMatch(new RegExp(`^arn:\\$\\{AWS::Partition\\}:s3:::(acme|gov)-artifacts-${account}-\\$\\{AWS::Region\\}/(${folders.join('|')})/?\\*$`));
      expect(bySid.WriteArtifacts.Condition).toEqual({ StringEquals: { 'aws:ResourceAccount': account } });
      // That account's key, by account and alias.
      expect(bySid.UseArtifactKey.Resource).toEqual({ 'Fn::Sub': `arn:\${AWS::Partition}:kms:\${AWS::Region}:${account}:key/*` });
      expect(bySid.UseArtifactKey.Condition).toEqual({ 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': [expect.stringMatching(/^alias\/(acme|gov)-artifacts$/)] } });
    }
  });

  it('the flow-log role holds the minimum AWS\'s flow-log role page gives, its log group for each action that takes one (review s21-tpl T1)', () => {
    // https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html: "must include at least" these five.
    const policies = resourcesOf('AWS::IAM::ManagedPolicy').filter(({ stage, p }) => stage === 'ci-network' && p.Roles?.[0]?.Ref === 'FlowLogRole');
    expect(policies.length).toBe(2); // example and govcloud
    for (const { p } of policies) {
      const bySid = Object.fromEntries(p.PolicyDocument.Statement.map((s: any) => [s.Sid, s]));
      expect(new Set(Object.values(bySid).flatMap((s: any) => asList(s.Action)))).toEqual(
        new Set(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogGroups', 'logs:DescribeLogStreams']),
      );
      expect(bySid.DeliverFlowLogs.Resource).toEqual({ 'Fn::GetAtt': ['FlowLogGroup', 'Arn'] });
      expect(bySid.FindLogGroup).toMatchObject({ Action: 'logs:DescribeLogGroups', Resource: '*' });
    }
  });

  it('the checker passes every emitted template', () => {
    for (const { stage, t } of all) expect(checkTemplate(t), stage).toEqual([]);
  });
});

describe('stateful resources outlive their stack, but not a failed create (src/cfn/extensions.ts retain)', () => {
  it('every key, bucket, repository and log group: DeletionPolicy RetainExceptOnCreate, UpdateReplacePolicy Retain (which takes no RetainExceptOnCreate); the readers count it as kept', () => {
    const types = ['AWS::KMS::Key', 'AWS::S3::Bucket', 'AWS::CodeCommit::Repository', 'AWS::Logs::LogGroup'];
    const stateful = all.flatMap(({ file, stage, t }) =>
      Object.entries(t.Resources)
        .filter(([, r]) => types.includes(r.Type))
        .map(([id, r]) => ({ where: `${file} ${stage} ${id}`, r })),
    );
    expect(new Set(stateful.map(({ r }) => r.Type))).toEqual(new Set(types));
    for (const { where, r } of stateful) {
      expect([r.DeletionPolicy, r.UpdateReplacePolicy], where).toEqual(['RetainExceptOnCreate', 'Retain']);
      expect(keptOnDelete(r.DeletionPolicy), where).toBe(true);
    }
    // Stacks deployed before this change still say Retain: kept alike. Nothing else is.
    expect(['Retain', 'RetainExceptOnCreate', 'Delete', 'Snapshot', undefined].map(keptOnDelete)).toEqual([true, true, false, false, false]);
  });
});

describe('artifact key and bucket', () => {
  it('artifacts stay as long as the org file says (artifactRetentionDays): how far back a rollback reaches', () => {
    const text = readFileSync('parameters/example.yaml', 'utf8');
    const compiled = compileOrg(parseOrg(`${text}artifactRetentionDays: 400\n`, 'parameters/example.yaml'));
    const foundation = compiled.stages.find((s) => s.module === 'pipeline-foundation')!;
    const bucket = JSON.parse(JSON.stringify(foundation.definition.resources)).ArtifactBucket;
    expect(bucket.Properties.LifecycleConfiguration.Rules[0].ExpirationInDays).toBe(400);
  });

  /** The execution role and the org file's key administrators, in this account: what AdministerKey must name, exactly. */
  const administratorsOf = (file: string) => {
    const org = loadOrgFile(file);
    return [org.stackSets.executionRoleName, ...org.keyAdministratorRoles].map((r) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${r}` }));
  };

  it('keys rotate, are retained, and their administration is limited to named roles of their own account', () => {
    const keys = all.flatMap(({ file, stage, t }) => Object.values(t.Resources).filter((r) => r.Type === 'AWS::KMS::Key').map((r) => ({ file, stage, p: r.Properties as Record<string, any> })));
    expect(keys).toHaveLength(2);
    for (const { file, stage, p } of keys) {
      expect(p.EnableKeyRotation, stage).toBe(true);
      const admin = p.KeyPolicy.Statement.find((s: any) => s.Sid === 'AdministerKey');
      expect(admin.Principal).toEqual({ AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } });
      expect(Object.keys(admin.Condition)).toEqual(['ArnLike']);
      expect(admin.Condition.ArnLike['aws:PrincipalArn'], file).toEqual(administratorsOf(file));
      expect(admin.Action).not.toContain('kms:Decrypt');
      const users = p.KeyPolicy.Statement.filter((s: any) => s.Sid !== 'AdministerKey');
      // By name, no parameters, every role by ARN, its account's root the principal (src/iam/policy.ts rolesByArn): this
      // account's roles, which pipeline-identity makes and may make again without this policy (review s50-templates N1);
      // the source role named for this account in each source account.
      expect(users.slice(0, 2).map((s: any) => s.Principal.AWS)).toEqual([0, 1].map(() => ({ 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' })));
      expect(users.slice(0, 2).map((s: any) => s.Condition.ArnEquals['aws:PrincipalArn'])).toEqual([
        { 'Fn::Sub': expect.stringMatching(/^arn:\$\{AWS::Partition\}:iam::\$\{AWS::AccountId\}:role\/[a-z]+-pipeline$/) },
        { 'Fn::Sub': expect.stringMatching(/^arn:\$\{AWS::Partition\}:iam::\$\{AWS::AccountId\}:role\/[a-z]+-deploy-target$/) },
      ]);
      const [source] = users.slice(2);
      const values = (v: unknown) => asList(v).map((x: any) => x['Fn::If']?.[1] ?? x);
      for (const root of values(source.Principal.AWS)) expect(root).toEqual({ 'Fn::Sub': expect.stringMatching(/^arn:\$\{AWS::Partition\}:iam::\d{12}:root$/) });
      for (const role of values(source.Condition.ArnEquals['aws:PrincipalArn'])) {
        expect(role).toEqual({ 'Fn::Sub': expect.stringMatching(/^arn:\$\{AWS::Partition\}:iam::\d{12}:role\/[a-z]+-source-\$\{AWS::AccountId\}$/) });
      }
      expect(Object.keys(source.Condition)).toEqual(['ArnEquals']);
      expect(users).toHaveLength(3);
      // The deployment targets only decrypt, and only through S3.
      const targets = p.KeyPolicy.Statement.find((s: any) => s.Sid === 'DeployTargetsDecryptViaS3');
      expect(targets.Action).toBe('kms:Decrypt');
      expect(targets.Condition.StringEquals).toEqual({ 'kms:ViaService': { 'Fn::Sub': 's3.${AWS::Region}.amazonaws.com' } });
      expect(Object.keys(targets.Condition)).toEqual(['ArnEquals', 'StringEquals']);
    }
  });

  it('artifact buckets: SSE-KMS with the key, TLS only, encrypted puts only, no public access, versioned, artifacts expire, access logged', () => {
    const buckets = resourcesOf('AWS::S3::Bucket').filter(({ p }) => p.BucketName['Fn::Sub'].includes('-artifacts-'));
    expect(buckets.length).toBe(2);
    for (const { p } of buckets) {
      expect(p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': ['ArtifactKey', 'Arn'] } });
      expect(Object.values(p.PublicAccessBlockConfiguration)).toEqual([true, true, true, true]);
      expect(p.VersioningConfiguration.Status).toBe('Enabled');
      expect(p.LifecycleConfiguration.Rules[0].NoncurrentVersionExpiration.NoncurrentDays).toBeGreaterThan(0);
      // The default, as the example org sets none (README "How far back a rollback reaches").
      expect(p.LifecycleConfiguration.Rules[0].ExpirationInDays).toBe(180);
      expect(p.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: 'AccessLogBucket' }, LogFilePrefix: 'artifacts/' });
    }
    for (const { p } of resourcesOf('AWS::S3::BucketPolicy').filter(({ p }) => p.Bucket.Ref === 'ArtifactBucket')) {
      const bySid = Object.fromEntries(p.PolicyDocument.Statement.map((s: any) => [s.Sid, s]));
      expect(bySid.DenyInsecureTransport.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
      expect(bySid.DenyOtherEncryption.Condition).toEqual({ StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' }, Null: { 's3:x-amz-server-side-encryption': 'false' } });
    }
  });

  it('access-log buckets: SSE-S3 (all that log delivery accepts), written only by S3 logging for the artifact bucket of their own account', () => {
    const logs = resourcesOf('AWS::S3::Bucket').filter(({ p }) => p.BucketName['Fn::Sub'].includes('-access-logs-'));
    expect(logs.length).toBe(2);
    for (const { p } of logs) {
      expect(p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'AES256' });
      expect(Object.values(p.PublicAccessBlockConfiguration)).toEqual([true, true, true, true]);
    }
    for (const { p } of resourcesOf('AWS::S3::BucketPolicy').filter(({ p }) => p.Bucket.Ref === 'AccessLogBucket')) {
      const bySid = Object.fromEntries(p.PolicyDocument.Statement.map((s: any) => [s.Sid, s]));
      expect(bySid.S3DeliversAccessLogs).toMatchObject({
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Action: 's3:PutObject',
        Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': ['ArtifactBucket', 'Arn'] } }, StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      });
    }
  });
});

describe('bucket settings, in full', () => {
  it('every bucket of every template refuses uploads encrypted with a customer-provided key (SSE-C) in its one encryption rule: S3 blocks it by itself in buckets made since April 2026 outside Bahrain and UAE, and in older ones only where the account held no SSE-C object (blocking-unblocking-s3-c-encryption-gpb.html, its FAQ)', () => {
    // The bucket policies' encryption Deny cannot refuse SSE-C: such an upload sends no x-amz-server-side-encryption.
    let buckets = 0;
    for (const { file, stage, t } of all) {
      for (const [id, r] of Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::S3::Bucket')) {
        const rules = (r.Properties as Record<string, any>).BucketEncryption.ServerSideEncryptionConfiguration;
        expect(rules.map((rule: any) => rule.BlockedEncryptionTypes), `${file} ${stage} ${id}`).toEqual([{ EncryptionType: ['SSE-C'] }]);
        buckets++;
      }
    }
    expect(buckets).toBeGreaterThanOrEqual(4);
  });
});

describe('bucket and bus policies, in full', () => {
  it('every bucket policy refuses any S3 request without TLS, by anyone, on exactly its own bucket and its objects: the bucket its Bucket property names (review s40-mutations 3)', () => {
    // A policy without it, or one whose Deny names another bucket, would leave its bucket open to plain HTTP (Security
    // Hub S3.5), which neither checkov nor cfn-lint notices.
    let policies = 0;
    for (const { file, stage, t } of all) {
      for (const [id, r] of Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::S3::BucketPolicy')) {
        const p = r.Properties as Record<string, any>;
        const bucket: string = p.Bucket.Ref;
        expect(t.Resources[bucket]?.Type, `${file} ${stage} ${id}`).toBe('AWS::S3::Bucket');
        const tlsOnly = p.PolicyDocument.Statement.filter((s: any) => s.Effect === 'Deny' && JSON.stringify(s.Condition ?? {}).includes('aws:SecureTransport'));
        expect(tlsOnly, `${file} ${stage} ${id}`).toEqual([
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [{ 'Fn::GetAtt': [bucket, 'Arn'] }, { 'Fn::Sub': `\${${bucket}.Arn}/*` }],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ]);
        policies++;
      }
    }
    // Each example org's artifact bucket and access-log bucket.
    expect(policies).toBe(4);
  });

  it("the event bus admits only CodeCommit's branch-change events, and a PutEvents without events:source or events:detail-type not at all: the whole Condition (review s40-mutations 11)", () => {
    const buses = resourcesOf('AWS::Events::EventBusPolicy');
    expect(buses.length).toBe(2);
    for (const { stage, id, p } of buses) {
      // ForAllValues holds for a request without the key (vacuously): the Null beside it is what refuses one.
      expect(p.Statement.Condition, `${stage} ${id}`).toEqual({
        'ForAllValues:StringEquals': { 'events:source': ['aws.codecommit'], 'events:detail-type': ['CodeCommit Repository State Change'] },
        Null: { 'events:source': 'false', 'events:detail-type': 'false' },
        ArnEquals: { 'aws:PrincipalArn': expect.anything() },
      });
      // The other accounts' event forwarders, by ARN (an item fed to some target accounts only is an Fn::If).
      const forwarders = asList(p.Statement.Condition.ArnEquals['aws:PrincipalArn']).map((a: any) => ('Fn::If' in a ? a['Fn::If'][1] : a)['Fn::Sub']);
      expect(forwarders.length, `${stage} ${id}`).toBeGreaterThan(0);
      for (const f of forwarders) expect(f, `${stage} ${id}`).toMatch(/^arn:\$\{AWS::Partition\}:iam::\d{12}:role\/[a-z]+-event-forwarder$/);
    }
  });
});

describe('key administrators (review m12)', () => {
  const foundationNotes = (text: string) => compileOrg(parseOrg(text, 'org.yaml')).stages.find((s) => s.id === 'pipeline-foundation')!.notes;
  const example = readFileSync('parameters/example.yaml', 'utf8');
  const without = example.replace('keyAdministratorRoles:\n  - platform-admin\n', '');

  it("an org without keyAdministratorRoles is told that the execution role is every key's only administrator; one with them is not", () => {
    expect(without).not.toContain('keyAdministratorRoles');
    expect(foundationNotes(example)).toEqual([]);
    expect(foundationNotes(without)).toEqual([
      'keyAdministratorRoles is empty: the StackSet execution role (AWSCloudFormationStackSetExecutionRole) is the only administrator of every artifact key, so renaming or deleting it, or moving to SERVICE_MANAGED, leaves the keys unmanageable (only AWS Support can restore access); name a break-glass role there',
    ]);
    expect(compileFile('parameters/govcloud.yaml').stages.find((s) => s.id === 'pipeline-foundation')!.notes).toEqual([expect.stringContaining('keyAdministratorRoles is empty')]);
  });
});

describe('GovCloud Regions (review s45-govcloud G2)', () => {
  it("an org in us-gov-east-1 is told the two checks GovCloud's pages settle for us-gov-west-1 only (the agent bucket, the FIPS Git host); one in us-gov-west-1 is not", () => {
    const west = readFileSync('parameters/govcloud.yaml', 'utf8');
    const east = west.replace('region: us-gov-west-1', 'region: us-gov-east-1');
    expect(east).not.toBe(west);
    const notesOf = (text: string) => compileOrg(parseOrg(text, 'gov.yaml')).stages.find((s) => s.id === 'pipeline-foundation')!.notes;
    expect(notesOf(west).filter((n) => n.includes('us-gov-east-1'))).toEqual([]);
    expect(notesOf(east)).toContainEqual(
      "us-gov-east-1: two things GovCloud's pages list for us-gov-west-1 only, to check once before the first deploy: the CodeDeploy agent bucket aws-codedeploy-us-gov-east-1 the deployment targets install from (aws s3 ls s3://aws-codedeploy-us-gov-east-1/latest/ --region us-gov-east-1), and the FIPS Git host git-codecommit-fips.us-gov-east-1.amazonaws.com that xstack profiles and the Jenkins image name (nslookup it); README, \"Not yet\", GovCloud",
    );
  });
});

describe('protected branches (README review 1)', () => {
  it('developers without protectedBranches are told, once, that they may write to the branches the pipelines deploy from; with them, nothing is said', () => {
    const example = readFileSync('parameters/example.yaml', 'utf8');
    // Maintainers write the protected branches: without any, there are none.
    const without = example.replace(/\n    protectedBranches:[^\n]*/, '').replace(/\n    # Who releases[^\n]*\n    maintainers:\n(?: {6}[^\n]*\n)+/, '\n');
    expect(without).not.toMatch(/protectedBranches|maintainers/);
    const accessNotes = (text: string) => compileOrg(parseOrg(text, 'org.yaml')).stages.filter((s) => s.module === 'access-roles').flatMap((s) => s.notes);
    expect(accessNotes(example)).toEqual([]);
    expect(accessNotes(without)).toEqual([
      'access.developers.protectedBranches is empty: the developer role may push to, merge into and delete every branch, those the pipelines deploy from too (develop, release, main); name the branches only reviewed changes may reach there',
    ]);
    // Protected branches, and prod deploying from one that is not (review s18-audit M2): said per pipeline; the first environment's branch is not.
    const openProd = example.replace('    branches:\n      dev: develop\n      staging: release\n      prod: main\n', '    branches:\n      dev: develop\n      staging: release\n      prod: develop\n');
    expect(openProd).not.toBe(example);
    expect(accessNotes(openProd)).toEqual([
      'pipelines.web-app: prod from develop, which access.developers.protectedBranches does not name: every developer may push what it deploys, without review or a maintainer; protect the branch, or deploy from a protected one',
    ]);
    // A protected branch a letter or two off the unprotected one a pipeline deploys from, which no pipeline deploys from: a typo, pointed at (review s50-input m10).
    const typo = example.replace('protectedBranches: [main, release]', 'protectedBranches: [mian, release]');
    expect(typo).not.toBe(example);
    expect(accessNotes(typo)).toEqual([
      "pipelines.web-app: prod from main, which access.developers.protectedBranches does not name: every developer may push what it deploys, without review or a maintainer; protect the branch, or deploy from a protected one (protectedBranches names 'mian', which no pipeline deploys from: did you mean 'main'?)",
      "pipelines.payments-api: prod from main, which access.developers.protectedBranches does not name: every developer may push what it deploys, without review or a maintainer; protect the branch, or deploy from a protected one (protectedBranches names 'mian', which no pipeline deploys from: did you mean 'main'?)",
    ]);
  });
});

describe('federated developers (review s27-access M1)', () => {
  it('roles assumed through SAML or OIDC federation are told, once, that transitive session tags would be refused at the people roles (no sts:TagSession); Identity Center roles are not', () => {
    const notes = (file: string) => compileFile(file).stages.filter((s) => s.module === 'access-roles').flatMap((s) => s.notes).filter((n) => n.startsWith('federated roles'));
    expect(notes('parameters/govcloud.yaml')).toEqual([
      'federated roles (assumedBy: developer-federated in dev): if their identity provider marks session tags transitive (TransitiveTagKeys), the developer and maintainer roles refuse the chained AssumeRole, as their trusts grant sts:TagSession only for the keys a role source\'s transitiveTagKeys names, and these name none; name them there, or check one first clone (the README\'s "Not yet" on session tags)',
    ]);
    expect(notes('parameters/example.yaml')).toEqual([]);
    // Named, no note: the keys are allowed (test/session-tags.test.ts).
    const govcloud = readFileSync('parameters/govcloud.yaml', 'utf8');
    const withKeys = govcloud.replace(/(\n {8}federated: true\n)/, '$1        transitiveTagKeys: [department]\n');
    expect(withKeys).not.toBe(govcloud);
    expect(compileOrg(parseOrg(withKeys, 'parameters/govcloud.yaml')).stages.flatMap((s) => s.notes).filter((n) => n.startsWith('federated roles'))).toEqual([]);
  });
});

describe('pipelines', () => {
  const pipelines = resourcesOf('AWS::CodePipeline::Pipeline');
  it('source action runs with the source account role, without polling; the store names the key ARN', () => {
    expect(pipelines.length).toBe(4);
    for (const { stage, p } of pipelines) {
      const source = p.Stages[0].Actions[0];
      expect(source.ActionTypeId.Provider, stage).toBe('CodeCommit');
      expect(source.RoleArn).toEqual({ 'Fn::Sub': expect.stringMatching(/^arn:\$\{AWS::Partition\}:iam::\d{12}:role\/[a-z]+-source-\$\{AWS::AccountId\}$/) });
      expect(source.Configuration.PollForSourceChanges).toBe(false);
      // The key's ARN (a cross-account action cannot use an alias), imported from this account's pipeline-foundation.
      expect(p.ArtifactStore.EncryptionKey).toEqual({ Id: { 'Fn::ImportValue': expect.stringMatching(/^[a-z]+-artifact-key-arn$/) }, Type: 'KMS' });
      expect(p.Stages[1].Actions[0].ActionTypeId.Provider).toBe('CodeDeploy');
    }
  });

  it("deployment groups select by tag groups an instance must all carry (Ec2TagSet, never Ec2TagFilters beside it in a template): the environment's, and, where pipelines share an account, the pipeline's application tag (review s29-identity M1)", () => {
    type TagGroup = { Ec2TagGroup: Array<{ Key: string; Value: unknown; Type: string }> };
    // An item present in some accounts only is Fn::If [condition, item, AWS::NoValue] (src/cfn/account-switch.ts).
    const unwrap = (g: TagGroup | { 'Fn::If': [string, TagGroup, unknown] }): TagGroup => ('Fn::If' in g ? g['Fn::If'][1] : g);
    const groups = resourcesOf('AWS::CodeDeploy::DeploymentGroup');
    expect(groups.length).toBe(4);
    for (const { stage, id, p } of groups) {
      expect(p.Ec2TagFilters, `${stage} ${id}`).toBeUndefined();
      const sets = (p.Ec2TagSet.Ec2TagSetList as Parameters<typeof unwrap>[0][]).map(unwrap);
      // Both example orgs run two pipelines in their dev and prod accounts: each selects its own application's instances.
      expect(sets.map((g) => g.Ec2TagGroup.map((t) => t.Key)), `${stage} ${id}`).toEqual([['Environment'], ['Application']]);
      expect(sets[1].Ec2TagGroup[0].Type).toBe('KEY_AND_VALUE');
    }
    expect(groups.map(({ p }) => unwrap(p.Ec2TagSet.Ec2TagSetList[1]).Ec2TagGroup[0].Value).sort()).toEqual(['mission-app', 'payments-api', 'records-service', 'web-app']);
    // web-app also runs in staging, alone there: its application's group only where it shares (dev, prod), so a
    // pipeline added in one environment changes no other environment's instances (review s32-day2 M4).
    const example = compileOrg(parseOrg(readFileSync('parameters/example.yaml', 'utf8'), 'parameters/example.yaml'));
    const pipelines = renderTemplate(example.stages.find((st) => st.id === 'pipelines')!.definition);
    const webApp = (pipelines.Resources.WebAppDeploymentGroup.Properties as any).Ec2TagSet.Ec2TagSetList[1];
    expect(webApp['Fn::If'][0]).toBe('WebAppShares');
    expect(webApp['Fn::If'][2]).toEqual({ Ref: 'AWS::NoValue' });
    const accountsOf = (name: string) => example.org.accounts.filter((a) => ['dev', 'staging', 'prod'].includes(a.environment ?? '')).filter((a) => conditionHolds(pipelines.Conditions, name, a.id)).map((a) => a.environment);
    expect(accountsOf('WebAppShares')).toEqual(['dev', 'prod']);
    // A pipeline alone in its accounts selects by the environment's tag alone, as before.
    const alone = compileOrg(parseOrg(readFileSync('parameters/example.yaml', 'utf8').replace(/\n  payments-api:\n    repository: payments-api\n    branches:\n      dev: develop\n      prod: main\n    deploy:\n      type: codedeploy\n/, '\n'), 'parameters/example.yaml'));
    const [single] = Object.values(renderTemplate(alone.stages.find((st) => st.id === 'pipelines')!.definition).Resources).filter((r) => r.Type === 'AWS::CodeDeploy::DeploymentGroup');
    expect((single.Properties as any).Ec2TagSet.Ec2TagSetList.map((g: any) => g.Ec2TagGroup[0].Key)).toEqual(['Environment']);
  });

  it('trigger rules match only the source account, the repository and the tracked branch; forwarding rules only that repository and branch', () => {
    let triggers = 0;
    let forwards = 0;
    for (const file of ORG_FILES) {
      const org = loadOrgFile(file);
      const compiled = compileOrg(org);
      const pipelinesTemplate = compiled.stages.filter((s) => s.module === 'pipeline').map((s) => JSON.parse(JSON.stringify({ r: s.definition.resources, c: s.definition.conditions })));
      const eventsTemplate = compiled.stages.filter((s) => s.module === 'source-events').map((s) => JSON.parse(JSON.stringify(s.definition.resources)));
      for (const pipeline of org.pipelines) {
        const repository = repositoryByName(org, pipeline.repository);
        const source = accountByName(org, repository.account).id;
        const found = pipelinesTemplate.map((t) => ({ rule: t.r[`${logicalId(pipeline.name)}TriggerRule`], conditions: t.c })).find((x) => x.rule);
        expect(found, `${file} ${pipeline.name}`).toBeDefined();
        const pattern = found!.rule.Properties.EventPattern;
        expect(pattern.account, pipeline.name).toEqual([source]);
        expect(pattern.resources).toEqual([{ 'Fn::Sub': `arn:\${AWS::Partition}:codecommit:\${AWS::Region}:${source}:${repository.name}` }]);
        expect(pattern.detail.referenceType).toEqual(['branch']);
        expect([pattern.source, pattern['detail-type'], pattern.detail.event]).toEqual([['aws.codecommit'], ['CodeCommit Repository State Change'], ['referenceCreated', 'referenceUpdated']]);
        // Each account's branch, chosen by the template's conditions: one Fn::If per environment, holding in its account only.
        const [join] = pattern.detail.referenceName;
        expect(join['Fn::Join'][0]).toBe('');
        const chosen = join['Fn::Join'][1].map((choice: { 'Fn::If': [string, string, string] }) => {
          const [condition, branch, otherwise] = choice['Fn::If'];
          expect(otherwise).toBe('');
          return [found!.conditions[condition], branch];
        });
        expect(chosen).toEqual(pipeline.branches.map(([environment, branch]) => [{ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, accountOfEnvironment(org, environment).id] }, branch]));
        triggers++;
        // The source account forwards each of the pipeline's branches of that repository, and nothing else.
        for (const [, branch] of pipeline.branches) {
          const rules = eventsTemplate.flatMap((t) => Object.values(t) as any[]).filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties.Description.startsWith(`Forwards pushes to ${repository.name}:${branch} `));
          expect(rules.length, `${pipeline.name} ${branch}`).toBeGreaterThan(0);
          for (const r of rules) {
            // The whole pattern: a branch's creation (its first push) is forwarded as its updates are, as the trigger rule
            // starts on both; CodeCommit sends referenceCreated when a branch is made
            // (https://docs.aws.amazon.com/codecommit/latest/userguide/monitoring-events.html; review s42-mutations-4 SE2).
            expect(r.Properties.EventPattern).toEqual({
              source: ['aws.codecommit'],
              'detail-type': ['CodeCommit Repository State Change'],
              resources: [{ 'Fn::Sub': `arn:\${AWS::Partition}:codecommit:\${AWS::Region}:\${AWS::AccountId}:${repository.name}` }],
              detail: { referenceType: ['branch'], event: ['referenceCreated', 'referenceUpdated'], referenceName: [branch] },
            });
            expect(r.Properties.EventPattern.detail.event).toEqual(pattern.detail.event);
            forwards++;
          }
        }
      }
    }
    expect(triggers).toBe(4);
    expect(forwards).toBeGreaterThanOrEqual(triggers);
  });
});

describe('dead-letter queue of the event rules (src/cfn/dead-letter.ts)', () => {
  const SQS_ARN = /^arn:\$\{AWS::Partition\}:sqs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:([\w-]+)$/;
  const RULE_ARN = /^arn:\$\{AWS::Partition\}:events:\$\{AWS::Region\}:\$\{AWS::AccountId\}:rule\/(.+)$/;
  /** Each resource of a type, with the accounts it exists in (its stage's targets, narrowed by its condition). */
  const placed = (file: string, type: string) =>
    compileFile(file).stages.flatMap((stage) => {
      const t = renderTemplate(stage.definition);
      return Object.entries(t.Resources)
        .filter(([, r]) => r.Type === type)
        .map(([id, r]) => ({
          stage: stage.id,
          id,
          p: r.Properties as Record<string, any>,
          r,
          accounts: stage.targets.map((a) => a.id).filter((a) => !r.Condition || conditionHolds(t.Conditions as Record<string, unknown>, r.Condition, a)),
        }));
    });

  for (const file of ORG_FILES) {
    it(`${file}: every event rule target sends what it cannot deliver to the queue of the rule's own account, which exists there, one an account`, () => {
      const queues = placed(file, 'AWS::SQS::Queue');
      const rules = placed(file, 'AWS::Events::Rule');
      expect(rules.length).toBeGreaterThan(2);
      const queueIn = new Map<string, string[]>();
      for (const q of queues) for (const a of q.accounts) (queueIn.get(a) ?? queueIn.set(a, []).get(a)!).push(q.p.QueueName);
      // One queue an account: never one a rule.
      for (const [account, names] of queueIn) expect(names, account).toHaveLength(1);
      for (const rule of rules) {
        for (const target of rule.p.Targets) {
          const arn = target.DeadLetterConfig?.Arn?.['Fn::Sub'];
          expect(arn, `${rule.stage} ${rule.id} ${target.Id}`).toMatch(SQS_ARN);
          // ${AWS::AccountId}: the rule's own account, where the queue must be (EventBridge takes a DLQ of the rule's Region).
          for (const account of rule.accounts) expect(queueIn.get(account), `${rule.stage} ${rule.id} @ ${account}`).toEqual([SQS_ARN.exec(arn)![1]]);
        }
      }
    });

    it(`${file}: the queue is standard, SSE-SQS encrypted, keeps 14 days, goes with its stack; its policy admits only EventBridge, for this account's rules, and those of every rule there`, () => {
      const queues = placed(file, 'AWS::SQS::Queue');
      expect(queues.length).toBeGreaterThan(1);
      for (const q of queues) {
        expect(q.p, q.id).toEqual({ QueueName: q.stage.startsWith('source-identity') ? expect.stringMatching(/-forward-dlq$/) : expect.stringMatching(/-events-dlq$/), SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
        expect([(q.r as any).DeletionPolicy, (q.r as any).UpdateReplacePolicy]).toEqual(['Delete', 'Delete']);
      }
      const rules = placed(file, 'AWS::Events::Rule');
      for (const policy of placed(file, 'AWS::SQS::QueuePolicy')) {
        const queue = queues.find((q) => q.stage === policy.stage && q.id === policy.p.Queues[0].Ref)!;
        expect(queue, policy.id).toBeDefined();
        const queueArn = { 'Fn::Sub': `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${queue.p.QueueName}` };
        const allows = policy.p.PolicyDocument.Statement.filter((s: any) => s.Effect === 'Allow');
        expect(allows).toHaveLength(1);
        const [allow] = allows;
        expect(allow.Principal).toEqual({ Service: 'events.amazonaws.com' });
        expect(allow.Action).toBe('sqs:SendMessage');
        expect(allow.Resource).toEqual(queueArn);
        // aws:SourceArn alone, as AWS's DLQ page writes it: no page says EventBridge sends aws:SourceAccount with a dead letter.
        expect(Object.keys(allow.Condition)).toEqual(['ArnLike']);
        const pattern = RULE_ARN.exec(allow.Condition.ArnLike['aws:SourceArn']['Fn::Sub'])![1];
        // Every rule of the account that names this queue is one the condition admits (or EventBridge could not send for it).
        const own = rules.filter((r) => r.accounts.some((a) => queue.accounts.includes(a)));
        expect(own.length, policy.id).toBeGreaterThan(0);
        for (const r of own) expect(r.p.Name, `${policy.id}: ${pattern}`).toMatch(globRegExp(pattern));
        // TLS only.
        expect(policy.p.PolicyDocument.Statement.filter((s: any) => s.Effect === 'Deny').map((s: any) => s.Condition)).toEqual([{ Bool: { 'aws:SecureTransport': 'false' } }]);
      }
    });
  }
});

describe('rules catch what they are for', () => {
  const template = (type: string, properties: Record<string, unknown>, metadata?: Record<string, unknown>): CfnTemplate => ({
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 't',
    Resources: { R: { Type: type, ...(metadata ? { Metadata: metadata } : {}), Properties: properties } },
  });
  const identity = (statement: Record<string, unknown>, metadata?: Record<string, unknown>) =>
    template('AWS::IAM::Policy', { PolicyDocument: { Statement: [{ Sid: 'S', Effect: 'Allow', ...statement }] } }, metadata);
  const keyPolicy = (statement: Record<string, unknown>) => template('AWS::KMS::Key', { KeyPolicy: { Statement: [{ Sid: 'S', Effect: 'Allow', Resource: '*', ...statement }] } });
  const trust = (statement: Record<string, unknown>) =>
    template('AWS::IAM::Role', { AssumeRolePolicyDocument: { Statement: [{ Sid: 'S', Effect: 'Allow', Action: 'sts:AssumeRole', ...statement }] } });
  const reason = { xstack: { exceptions: [{ rule: 'XS002', statement: 'S', reason: 'no resource-level permissions' }] } };

  it.each([
    ['XS001', identity({ Action: 's3:*', Resource: 'arn' }), 'Action::s3:*'],
    ['XS001', identity({ Action: 'kms:ReEncrypt*', Resource: 'arn' }), 'Action::kms:ReEncrypt*'],
    ['XS001', identity({ NotAction: 's3:GetObject', Resource: 'arn' }), 'NotAction'],
    ['XS002', identity({ Action: 's3:GetObject', Resource: '*' }), 'Resource::*'],
    ['XS002', identity({ Action: 'ec2:DescribeInstances', Resource: '*' }), 'Resource::*'],
    ['XS003', keyPolicy({ Principal: { AWS: '*' }, Action: 'kms:Decrypt' }), 'Principal::*'],
    ['XS004', keyPolicy({ Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } }, Action: 'kms:Decrypt' }), 'Principal::arn:${AWS::Partition}:iam::${AWS::AccountId}:root'],
    ['XS005', trust({ Principal: { Service: 'codepipeline.amazonaws.com' } }), 'Principal::codepipeline.amazonaws.com'],
    // A service sending to a queue (a dead-letter queue) is narrowed as a service assuming a role is.
    ['XS005', template('AWS::SQS::QueuePolicy', { PolicyDocument: { Statement: [{ Sid: 'S', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: 'q' }] } }), 'Principal::events.amazonaws.com'],
    ['XS006', template('AWS::IAM::Policy', { PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'x' }] } }), 'Sid'],
    ['XS007', keyPolicy({ Action: 'kms:Decrypt' }), 'Principal'],
    ['XS008', template('AWS::IAM::Role', { ManagedPolicyArns: ['arn:${AWS::Partition}:iam::aws:policy/AWSCodeCommitFullAccess'] }), 'ManagedPolicyArns::arn:${AWS::Partition}:iam::aws:policy/AWSCodeCommitFullAccess'],
    // Any AWS managed policy, not only the broad names: the proof cannot read CloudWatchAgentServerPolicy's logs on "*" either.
    ['XS008', template('AWS::IAM::Role', { ManagedPolicyArns: [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/CloudWatchAgentServerPolicy' }] }), 'ManagedPolicyArns::arn:${AWS::Partition}:iam::aws:policy/CloudWatchAgentServerPolicy'],
    ['XS009', identity({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }), 'arn:aws:s3:::b/*'],
    ['XS016', template('AWS::IAM::Role', { Path: '/teams/' }), 'Path::/teams/'],
  ])('%s fires on %#', (rule, t, item) => {
    const findings = checkTemplate(t as CfnTemplate);
    expect(findings.map((f) => `${f.rule} ${f.item}`)).toContain(`${rule} ${item}`);
  });

  it("a role at the root path, or with none, is no XS016 finding (review s57-evaluator m5)", () => {
    for (const props of [{ Path: '/' }, {}]) expect(checkTemplate(template('AWS::IAM::Role', props) as CfnTemplate).filter((f) => f.rule === 'XS016')).toEqual([]);
  });

  it('finds a literal partition (XS009) given the template\'s text as the compile writes it, plain or quoted, in a policy or elsewhere; passes over a text without one', () => {
    const literal = [
      identity({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }),
      identity({ Action: 's3:GetObject', Resource: 'arn:aws-us-gov:s3:::b: "x"' }),
      template('AWS::SNS::Topic', { TopicName: 't', Tags: [{ Key: 'k', Value: 'see arn:aws:iam::123456789012:root' }] }),
    ];
    for (const t of literal) expect(checkTemplate(t, { text: toYaml(t) }).filter((f) => f.rule === 'XS009')).toEqual(checkTemplate(t).filter((f) => f.rule === 'XS009'));
    for (const t of literal) expect(checkTemplate(t, { text: toYaml(t) }).map((f) => f.rule)).toContain('XS009');
    const clean = identity({ Action: 's3:GetObject', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::b/*' } });
    expect(checkTemplate(clean, { text: toYaml(clean) })).toEqual(checkTemplate(clean));
  });

  it('finds a statement wherever a template holds a policy: a role\'s inline policy, a Statement of one object, a VPC endpoint\'s policy; a bare "*" principal is "*" (review s41-mutations-3-cfn DC1-DC4)', () => {
    const wide = { Sid: 'S', Effect: 'Allow', Action: 's3:*', Resource: 'arn' };
    const found = (t: CfnTemplate) => checkTemplate(t).map((f) => `${f.rule} ${f.item}`);
    expect(found(template('AWS::IAM::Role', { Policies: [{ PolicyName: 'inline', PolicyDocument: { Version: '2012-10-17', Statement: [wide] } }] }))).toContain('XS001 Action::s3:*');
    expect(found(template('AWS::IAM::ManagedPolicy', { PolicyDocument: { Version: '2012-10-17', Statement: wide } }))).toContain('XS001 Action::s3:*');
    expect(found(template('AWS::EC2::VPCEndpoint', { ServiceName: 's3', PolicyDocument: { Statement: [{ ...wide, Principal: { AWS: '*' } }] } }))).toContain('XS001 Action::s3:*');
    expect(found(keyPolicy({ Principal: '*', Action: 'kms:Decrypt' }))).toContain('XS003 Principal::*');
  });

  it('a recorded reason admits "*" only for actions without resource-level permissions', () => {
    expect(checkTemplate(identity({ Action: 'ec2:DescribeInstances', Resource: '*' }, reason))).toEqual([]);
    expect(checkTemplate(identity({ Action: ['ec2:DescribeInstances', 's3:GetObject'], Resource: '*' }, reason)).map((f) => f.rule)).toEqual(['XS002', 'XS014']);
  });

  it('XS002 admits cloudwatch:PutMetricData on "*" by its page, and no other action whose resource types IAM\'s data marks optional', () => {
    expect(checkTemplate(identity({ Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'CWAgent' } } }, reason))).toEqual([]);
    // Only in its page's form: held to a namespace.
    const [unheld] = checkTemplate(identity({ Action: 'cloudwatch:PutMetricData', Resource: '*' }, reason));
    expect(unheld).toMatchObject({ rule: 'XS002', item: 'Resource::*' });
    expect(unheld.message).toContain('cloudwatch:PutMetricData without the condition cloudwatch:namespace');
    // Optional in the data too, but alternatives a request always names one of: never on "*".
    for (const action of ['s3:GetObject', 'codecommit:TagResource', 'cloudwatch:GetMetricData']) expect(checkTemplate(identity({ Action: action, Resource: '*' }, reason)).map((f) => f.rule), action).toContain('XS002');
  });

  it('XS002 takes the actions that admit only "*" from IAM\'s data, not from a list kept by hand', () => {
    // No template of xstack grants sts:GetCallerIdentity; IAM gives it no resource type, so the reason admits it.
    expect(checkTemplate(identity({ Action: 'sts:GetCallerIdentity', Resource: '*' }, reason))).toEqual([]);
    // A name IAM does not define, or one with a resource type, is never admitted on "*", and the message names it.
    for (const action of ['codecommit:ListRepositoriez', 'codecommit:GetRepository']) {
      const [finding] = checkTemplate(identity({ Action: ['codecommit:ListRepositories', action], Resource: '*' }, reason));
      expect(finding).toMatchObject({ rule: 'XS002', item: 'Resource::*' });
      expect(finding.message).toContain(`resource "*" for ${action},`);
    }
  });

  it('XS014: S3 grants pin the bucket owner; only an AWS-owned bucket goes without, and only with a recorded reason', () => {
    const owned = { Action: 's3:GetObject', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::aws-codedeploy-${AWS::Region}/*' } };
    const xs014 = { xstack: { exceptions: [{ rule: 'XS014', statement: 'S', reason: "AWS's bucket" }] } };
    // Every rule but XS017, which these statements' `/*` meet too (its own tests: test/wildcards.test.ts).
    const rules = (t: CfnTemplate) => checkTemplate(t).filter((f) => f.rule !== 'XS017').map((f) => `${f.rule} ${f.item}`);
    expect(rules(identity({ Action: 's3:GetObject', Resource: 'arn:${AWS::Partition}:s3:::b/*' }))).toContain('XS014 Condition::aws:ResourceAccount');
    expect(rules(identity({ Action: 's3:GetObject', Resource: 'arn:${AWS::Partition}:s3:::b/*', Condition: { StringEquals: { 'aws:ResourceAccount': '111111111111' } } }))).toEqual([]);
    expect(rules(identity(owned))).toContain('XS014 Condition::aws:ResourceAccount');
    expect(rules(identity(owned, xs014))).toEqual([]);
    // The reason admits AWS's bucket only, not another bucket beside it.
    expect(rules(identity({ ...owned, Resource: [owned.Resource, 'arn:${AWS::Partition}:s3:::b/*'] }, xs014))).toContain('XS014 Condition::aws:ResourceAccount');
  });

  it("XS015: a Resource wildcard whose match across a colon depends on the reading of IAM's segment rule is refused; one ending its segment, or in the last segment, is not (review s38-lead-diff m7)", () => {
    const rules = (resource: unknown) => checkTemplate(identity({ Action: 'codecommit:GitPull', Resource: resource })).filter((f) => f.rule === 'XS015').map((f) => f.item);
    for (const ambiguous of ['arn:${AWS::Partition}:codecommit:eu-west-1:1111*1:repo', 'arn:${AWS::Partition}:codecommit:eu-west-?:111111111111:repo']) {
      expect(rules({ 'Fn::Sub': ambiguous })).toEqual([`Resource::${ambiguous}`]);
    }
    for (const plain of [
      'arn:${AWS::Partition}:codecommit:*:111111111111:repo',
      'arn:${AWS::Partition}:codecommit:eu-west-1:111111111111:repo-*',
      'arn:${AWS::Partition}:codecommit:eu-west-1:111111111111:r?po',
      'arn:${AWS::Partition}:logs:eu-west-1:111111111111:log-group:/acme/*:*',
      '*',
    ]) {
      expect(rules({ 'Fn::Sub': plain }), plain).toEqual([]);
    }
    // A Sub's own colons (${AWS::Partition}) are not the ARN's.
    expect(segmentDependent('arn:${AWS::Partition}:s3:::b/*')).toBe(false);
    expect(segmentDependent('arn:aws:s3:::b*c:d')).toBe(true);
    expect(checkTemplate(template('AWS::IAM::Policy', { PolicyDocument: { Statement: [{ Sid: 'S', Effect: 'Deny', Action: 's3:GetObject', NotResource: 'arn:${AWS::Partition}:s3:::b?:x' }] } })).map((f) => f.rule)).toContain('XS015');
  });

  it('conditions admit "*" and root principals; Deny statements may use wildcards', () => {
    expect(checkTemplate(keyPolicy({ Principal: { AWS: '*' }, Action: 'kms:Decrypt', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-x' } } }))).toEqual([]);
    expect(checkTemplate(template('AWS::S3::BucketPolicy', { PolicyDocument: { Statement: [{ Sid: 'D', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'x' }] } }))).toEqual([]);
  });

  it('lists each rule once with a description', () => {
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
    for (const r of RULES) expect(r.description.length).toBeGreaterThan(10);
  });
});
