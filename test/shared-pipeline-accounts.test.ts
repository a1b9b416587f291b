/**
 * Pipeline accounts fed by several source accounts (review s59-proof M1): each source account's role reaches only its
 * own pipelines' artifacts there, on both sides of the cross-account request ("you must also attach an
 * identity-based policy", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html):
 * the bucket policy's statement of each such source account and its source role name the artifact folders of its
 * pipelines (naming.ts artifactFolder). A pipeline account fed by one keeps the whole bucket. moto evaluates no bucket
 * policy: what is shown is the templates' text, cfn-lint's reading of it, and the proof's evaluation.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyseAccess } from '../src/audit/paths';
import { Resolver } from '../src/audit/resolve';
import { resourcePolicyQuotaProblems } from '../src/checks/resource-policy-quotas';
import { policySizes } from '../src/checks/iam-quotas';
import { renderTemplate, type CfnTemplate } from '../src/cfn/template';
import { compileOrg } from '../src/compile';
import { parseOrg } from '../src/org/load';
import { compileProblems, tempDir } from './helpers';

const EXAMPLE = readFileSync('parameters/example.yaml', 'utf8');
/** The example with a second source account, billing (666666666666), whose one pipeline deploys to dev alone: dev is fed by both. */
const withBilling = (pipeline = 'billing-api') =>
  EXAMPLE.replace('  tools:\n    id: "555555555555"\n    role: tools\n', '  tools:\n    id: "555555555555"\n    role: tools\n  billing:\n    id: "666666666666"\n    role: source\n')
    .replace('pipelines:\n', `  billing-api:\n    account: billing\n    description: Billing\npipelines:\n  ${pipeline}:\n    repository: billing-api\n    branches:\n      dev: main\n    deploy:\n      type: codedeploy\n`);
const TEXT = withBilling();
const compiled = compileOrg(parseOrg(TEXT, 'parameters/example.yaml'));
const template = (module: string): CfnTemplate => renderTemplate(compiled.stages.find((s) => s.module === module)!.definition);
type Statement = { Sid: string; Resource: unknown; Principal: unknown };
const bucketStatements = (t: CfnTemplate) => (t.Resources.ArtifactBucketPolicy.Properties as { PolicyDocument: { Statement: unknown[] } }).PolicyDocument.Statement;

describe('a pipeline account fed by two source accounts', () => {
  it('the bucket policy: shared-services on every artifact where it alone feeds (staging, prod), each source account on its own folders in dev', () => {
    expect(TEXT).toContain('billing-api:\n    repository: billing-api');
    const statements = bucketStatements(template('pipeline-foundation'));
    const sids = statements.map((s) => ((s as { 'Fn::If'?: [string, Statement] })['Fn::If']?.[1] ?? (s as Statement)).Sid);
    expect(sids).toEqual(['DenyInsecureTransport', 'DenyOtherEncryption', 'SourceRolesWriteArtifacts', 'Source111111111111WritesOwnArtifacts', 'Source666666666666WritesOwnArtifacts', 'SourceRolesListBucket']);
    // Kept where one source account alone feeds: staging and prod.
    const [keptWhere, whole] = (statements[2] as { 'Fn::If': [string, Statement, unknown] })['Fn::If'];
    expect(keptWhere).not.toBe('AccountDev');
    expect(whole.Resource).toEqual({ 'Fn::Sub': '${ArtifactBucket.Arn}/*' });
    // shared-services' root, with no condition again inside the statement's own (cfn-lint's W1028).
    expect(whole.Principal).toEqual({ AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::111111111111:root' } });
    const own = (i: number) => (statements[i] as { 'Fn::If': [string, Statement, unknown] })['Fn::If'];
    expect(own(3)[0]).toBe('AccountDev');
    expect(own(3)[1].Resource).toEqual([{ 'Fn::Sub': '${ArtifactBucket.Arn}/acme-web-app/*' }, { 'Fn::Sub': '${ArtifactBucket.Arn}/acme-payments-api/*' }]);
    expect(own(4)[1].Resource).toEqual({ 'Fn::Sub': '${ArtifactBucket.Arn}/acme-billing-api/*' });
    expect(own(4)[2]).toEqual({ Ref: 'AWS::NoValue' });
  });

  it("the source roles: dev's in each source account holds its own folders; staging's and prod's every artifact, as before", () => {
    const identity = compiled.stages.filter((s) => s.module === 'source-identity').map((s) => renderTemplate(s.definition));
    const writes = (policyId: string) => {
      const t = identity.find((x) => x.Resources[policyId])!;
      const doc = (t.Resources[policyId].Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument;
      return doc.Statement.find((s) => s.Sid === 'WriteArtifacts')!.Resource;
    };
    expect(writes('SourceRole222222222222SourceActionIn666666666666')).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::acme-artifacts-222222222222-${AWS::Region}/acme-billing-api/*' });
    expect(writes('SourceRole222222222222SourceActionIn111111111111')).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::acme-artifacts-222222222222-${AWS::Region}/acme-web-app/*' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::acme-artifacts-222222222222-${AWS::Region}/acme-payments-api/*' },
    ]);
    expect(writes('SourceRole444444444444SourceActionIn111111111111')).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::acme-artifacts-444444444444-${AWS::Region}/*' });
  });

  it("the proof: each source role writes its own pipelines' artifacts in dev, and may not read or replace the other's", () => {
    const { results, problems } = analyseAccess(compiled.org, compiled.stages);
    expect(problems).toEqual([]);
    const refused = results.filter((r) => r.path.purpose.includes('may not read or replace'));
    expect(refused.map((r) => r.path.purpose).sort()).toEqual([
      ...Array(4).fill("the source role of dev in billing may not read or replace web-app's source artifact there (its repository is in shared-services)"),
      ...Array(4).fill("the source role of dev in shared-services may not read or replace billing-api's source artifact there (its repository is in billing)"),
    ]);
    for (const r of refused) expect(r.allowed, `${r.path.purpose}: ${r.action}`).toBe(false);
    const writes = results.filter((r) => r.path.purpose.startsWith('the source role writes the source artifact'));
    expect(new Set(writes.map((r) => r.path.purpose))).toEqual(new Set(['web-app in dev', 'web-app in staging', 'web-app in prod', 'payments-api in dev', 'payments-api in prod', 'billing-api in dev'].map((p) => `the source role writes the source artifact (${p})`)));
    for (const r of writes) expect(r.allowed, `${r.path.purpose}: ${r.action}`).toBe(true);
  });

  it("the proof fails where billing's bucket statement is widened to every artifact: the isolation rule names the statement (the path stays refused, by billing's own narrowed role, which billing's administrators could widen)", () => {
    const stages = compiled.stages.map((s) => {
      if (s.module !== 'pipeline-foundation') return s;
      const t = JSON.parse(JSON.stringify(renderTemplate(s.definition)));
      const own = bucketStatements(t)[4] as { 'Fn::If': [string, Statement, unknown] };
      own['Fn::If'][1].Resource = { 'Fn::Sub': '${ArtifactBucket.Arn}/*' };
      return { ...s, definition: { ...s.definition, resources: { ...s.definition.resources, ArtifactBucketPolicy: t.Resources.ArtifactBucketPolicy } } };
    });
    const problems = analyseAccess(compiled.org, stages).problems;
    expect(problems).toEqual([
      "pipeline-foundation @ 222222222222: ArtifactBucketPolicy/Source666666666666WritesOwnArtifacts lets the source roles of 666666666666 at every artifact of a bucket that source accounts 111111111111, 666666666666 all write: each must be held to its own pipelines' folders",
    ]);
  });

  it("as each account receives it: dev's bucket policy holds the two per-folder statements and not the whole-bucket one (whose principals are all shared-services' where it alone feeds), staging's the whole-bucket one alone (review s59-second-read B1)", () => {
    const stage = compiled.stages.find((s) => s.module === 'pipeline-foundation')!;
    const templates = new Map(compiled.stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const resolver = new Resolver(compiled.org, compiled.stages, templates);
    const sidsIn = (account: string) =>
      bucketStatements(templates.get(stage.id)!).flatMap((s) => {
        const branches = (s as { 'Fn::If'?: [string, Statement, unknown] })['Fn::If'];
        return !branches ? [(s as Statement).Sid] : resolver.holds(stage.id, branches[0], account) ? [branches[1].Sid] : [];
      });
    expect(sidsIn('222222222222')).toEqual(['DenyInsecureTransport', 'DenyOtherEncryption', 'Source111111111111WritesOwnArtifacts', 'Source666666666666WritesOwnArtifacts', 'SourceRolesListBucket']);
    expect(sidsIn('333333333333')).toEqual(['DenyInsecureTransport', 'DenyOtherEncryption', 'SourceRolesWriteArtifacts', 'SourceRolesListBucket']);
    expect(resourcePolicyQuotaProblems(compiled.org, compiled.stages, templates, resolver)).toEqual([]);
    // The whole-bucket statement kept everywhere and its principals each kept where it alone feeds, as 228da54 wrote
    // it: in dev it names no principal, which S3 refuses, and the check says so.
    const t = JSON.parse(JSON.stringify(templates.get(stage.id)!));
    const list = bucketStatements(t) as Array<{ 'Fn::If'?: [string, Statement & { Condition: { ArnEquals: Record<string, unknown> } }, unknown] }>;
    const [where, st] = list[2]['Fn::If']!;
    const keptThere = (v: unknown) => [{ 'Fn::If': [where, v, { Ref: 'AWS::NoValue' }] }];
    st.Principal = { AWS: keptThere((st.Principal as { AWS: unknown }).AWS) };
    st.Condition.ArnEquals['aws:PrincipalArn'] = keptThere(st.Condition.ArnEquals['aws:PrincipalArn']);
    list[2] = st as never;
    const unwrapped = new Map(templates).set(stage.id, t);
    expect(resourcePolicyQuotaProblems(compiled.org, compiled.stages, unwrapped, new Resolver(compiled.org, compiled.stages, unwrapped))).toEqual([
      'pipeline-foundation @ dev (222222222222): ArtifactBucketPolicy: statement SourceRolesWriteArtifacts names no principal here; expected one, or the statement left out where it has none',
      'pipeline-foundation @ dev (222222222222): ArtifactBucketPolicy: statement SourceRolesWriteArtifacts: condition ArnEquals aws:PrincipalArn has no value here',
    ]);
  });

  it("the size check measures a statement kept in some accounts as that account receives it, not as escaped JSON text (review s59-second-read m2: 11 % over)", () => {
    const stage = 'pipeline-foundation';
    const templates = new Map(compiled.stages.map((s) => [s.id, renderTemplate(s.definition)]));
    const resolver = new Resolver(compiled.org, compiled.stages, templates);
    const doc = (templates.get(stage)!.Resources.ArtifactBucketPolicy.Properties as { PolicyDocument: unknown }).PolicyDocument;
    const NONE = Symbol('AWS::NoValue');
    // The document an account's stack sends: each Fn::If by its condition there, AWS::NoValue dropped, each other function resolved.
    const received = (v: unknown, account: string): unknown => {
      if (Array.isArray(v)) return v.map((x) => received(x, account)).filter((x) => x !== NONE);
      if (v === null || typeof v !== 'object') return v;
      const o = v as Record<string, unknown>;
      if (o.Ref === 'AWS::NoValue') return NONE;
      const branches = o['Fn::If'] as [string, unknown, unknown] | undefined;
      if (branches) return received(resolver.holds(stage, branches[0], account) ? branches[1] : branches[2], account);
      const keys = Object.keys(o);
      if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return resolver.resolve(stage, account, o);
      return Object.fromEntries(keys.map((k) => [k, received(o[k], account)]).filter(([, x]) => x !== NONE));
    };
    const size = policySizes(resolver, stage)(doc);
    for (const account of ['222222222222', '333333333333', '444444444444']) {
      const real = JSON.stringify(received(doc, account)).length;
      // At most a comma more for each statement left out there, which the list's separators still count.
      expect(size(account) - real, account).toBeGreaterThanOrEqual(0);
      expect(size(account) - real, account).toBeLessThanOrEqual(3);
    }
  });

  it("the release table: another source account's role is no writer of a pipeline's artifacts in the shared account, as the proof refuses it (review s59-second-read M1)", () => {
    const md = compiled.files.get('audit/report.md')!;
    const row = (repository: string, account: string) => md.split('\n').find((l) => l.startsWith(`| ${repository} (`) && l.includes(`| dev (${account}) |`))!;
    expect(row('web-app', '222222222222')).toContain('arn:aws:iam::111111111111:role/acme-source-222222222222');
    expect(row('web-app', '222222222222')).not.toContain('666666666666:role/acme-source');
    expect(row('billing-api', '222222222222')).toContain('arn:aws:iam::666666666666:role/acme-source-222222222222');
    expect(row('billing-api', '222222222222')).not.toContain('111111111111:role/acme-source');
  });

  it("a source account sharing two pipeline accounts with different pipelines in each gets a statement for each set of its folders, exact in each (review s59-second-read m1)", () => {
    const both = compileOrg(parseOrg(TEXT.replace('    branches:\n      dev: main\n    deploy:\n      type: codedeploy\n', '    branches:\n      dev: main\n      staging: main\n    deploy:\n      type: codedeploy\n'), 'parameters/example.yaml'));
    const statements = bucketStatements(renderTemplate(both.stages.find((s) => s.module === 'pipeline-foundation')!.definition)) as Array<{ 'Fn::If'?: [string, Statement, unknown] } & Statement>;
    const own = statements.filter((s) => s['Fn::If']?.[1].Sid.includes('WritesOwnArtifacts')).map((s) => [s['Fn::If']![0], s['Fn::If']![1].Sid, s['Fn::If']![1].Resource]);
    expect(own).toEqual([
      ['AccountDev', 'Source111111111111WritesOwnArtifacts', [{ 'Fn::Sub': '${ArtifactBucket.Arn}/acme-web-app/*' }, { 'Fn::Sub': '${ArtifactBucket.Arn}/acme-payments-api/*' }]],
      ['AccountStaging', 'Source111111111111WritesOwnArtifacts2', { 'Fn::Sub': '${ArtifactBucket.Arn}/acme-web-app/*' }],
      [expect.not.stringMatching(/^Account/), 'Source666666666666WritesOwnArtifacts', { 'Fn::Sub': '${ArtifactBucket.Arn}/acme-billing-api/*' }],
    ]);
    expect(analyseAccess(both.org, both.stages).problems).toEqual([]);
  });

  it('cfn-lint accepts the templates, the statements kept in some accounts included', { timeout: 60_000 }, () => {
    const dir = tempDir('shared-lint');
    const files = [...compiled.files].filter(([path]) => path.startsWith('templates/')).map(([path, body]) => {
      const file = join(dir, path.slice('templates/'.length));
      writeFileSync(file, body);
      return file;
    });
    const run = spawnSync(process.env.XSTACK_CFN_LINT ?? '.venv/bin/cfn-lint', ['--regions', 'eu-west-1', '--', ...files], { encoding: 'utf8' });
    expect(run.error).toBeUndefined();
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it("two pipelines of different source accounts in one pipeline account whose folders are the same (their names' first 20 characters) are a compile error naming both", () => {
    const clash = withBilling('web-app-billing-run').replace('  web-app:\n    repository: web-app', '  web-app-billing-ru:\n    repository: web-app');
    expect(compileProblems(clash, 'parameters/example.yaml')).toEqual([
      expect.stringMatching(/^parameters\/example\.yaml:\d+:\d+: pipelines\.web-app-billing-run: pipeline acme-web-app-billing-run \(repository in billing\) keeps its artifacts in folder 'acme-web-app-billing' of dev's artifact bucket, as does acme-web-app-billing-ru \(repository in shared-services\): .*expected pipeline names that differ in their first 15 characters \(after 'acme-'\)$/),
      expect.stringMatching(/^parameters\/example\.yaml:\d+:\d+: pipelines\.web-app-billing-ru: pipeline acme-web-app-billing-ru \(repository in shared-services\) keeps its artifacts in folder 'acme-web-app-billing'/),
    ]);
    // The same folder where no account holds both: billing's pipeline in staging, the other name on payments-api (dev, prod).
    const apart = withBilling('web-app-billing-run')
      .replace('    branches:\n      dev: main\n    deploy:\n      type: codedeploy\n', '    branches:\n      staging: main\n    deploy:\n      type: codedeploy\n')
      .replace('  payments-api:\n    repository: payments-api', '  web-app-billing-ru:\n    repository: payments-api');
    expect(apart).toContain('web-app-billing-ru:\n    repository: payments-api');
    expect(compileProblems(apart, 'parameters/example.yaml')).toEqual([]);
  });
});
