/**
 * EventBridge's quota of rules per event bus
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html,
 * "Number of rules": 100 in af-south-1 and eu-south-1, 300 in every other
 * Region, adjustable) is checked at compile time: an org past it fails naming
 * the account, the count, the quota and the setting that declares a raised
 * one; a declared raise lets it compile.
 */
import { describe, expect, it } from 'vitest';
import { compileOrg } from '../src/compile';
import { OrgFileError } from '../src/errors';
import { parseOrg } from '../src/org/load';
import { planStages } from '../src/stages/plan';
import { renderTemplate } from '../src/cfn/template';
import { Resolver } from '../src/audit/resolve';
import { eventBridgeQuotaProblems } from '../src/checks/eventbridge-quotas';
import { LIMITS } from '../src/limits';
import { generateOrgYaml } from '../bench/generate-org.mjs';
import { compileProblems } from './helpers';

const DOC = 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html';

const problemsOf = (text: string, file = 'rules.yaml'): string[] => compileProblems(text, file);

/**
 * generateOrgYaml(n) without its declared quotas beyond IAM's: the source account's
 * default bus holds 2 repositories x 2 branches x ceil(n/2/5) forwarding rules
 * (250 pipeline accounts: 100; 251: 102; 751: 302).
 */
const generated = (n: number, region = 'us-east-1', extra = '') =>
  `${generateOrgYaml(n).replace('  region: us-east-1\n', `  region: ${region}\n`).replace(/eventBridgeQuotas:\n  rulesPerBus: \d+\n/, '')}${extra}`;

describe('EventBridge rules per bus at compile time', () => {
  it('302 forwarding rules on the source account\'s default bus are over the default 300: a clear error; a declared raise lets it compile', () => {
    expect(problemsOf(generated(750))).toEqual([]);
    expect(problemsOf(generated(751))).toEqual([
      `account source (900000000000): 302 EventBridge rules on its default event bus in us-east-1 made by xstack (source-events: 302), beside any the account already has, over EventBridge's quota of 300 rules per event bus (${DOC}); AWS raises it on request (Service Quotas: Amazon EventBridge, Number of rules): ask for at least 302 plus the account's own rules on that bus, then set eventBridgeQuotas.rulesPerBus in the org file`,
    ]);
    expect(problemsOf(generated(751, 'us-east-1', 'eventBridgeQuotas: { rulesPerBus: 400 }\n'))).toEqual([]);
    const stillOver = problemsOf(generated(751, 'us-east-1', 'eventBridgeQuotas: { rulesPerBus: 301 }\n'));
    expect(stillOver).toHaveLength(1);
    expect(stillOver[0]).toContain('302 EventBridge rules on its default event bus in us-east-1 made by xstack (source-events: 302), beside any the account already has, over the quota of 301 rules per event bus the org file declares (eventBridgeQuotas.rulesPerBus)');
  });

  it('the default follows the org\'s Region: 100 in af-south-1 and eu-south-1, 300 elsewhere', () => {
    for (const region of ['af-south-1', 'eu-south-1']) {
      expect(problemsOf(generated(250, region)), region).toEqual([]);
      const problems = problemsOf(generated(251, region));
      expect(problems, region).toHaveLength(1);
      expect(problems[0]).toMatch(new RegExp(`^account source \\(900000000000\\): 102 EventBridge rules on its default event bus in ${region} .*over EventBridge's quota of 100 rules per event bus \\(`));
      expect(problemsOf(generated(251, region, 'eventBridgeQuotas: { rulesPerBus: 200 }\n')), region).toEqual([]);
    }
    expect(problemsOf(generated(251, 'eu-west-1'))).toEqual([]);
  });

  it('the 1,000-pipeline-account bench org declares the raise it needs (400 rules), and compiles', () => {
    const text = generateOrgYaml(1000);
    expect(text).toContain('eventBridgeQuotas:\n  rulesPerBus: 1000\n');
    // Its 400 rules in two parts since each target names its dead-letter queue (about 2.7 KB a rule: 400 are past the 850 KB a part takes).
    expect(problemsOf(generated(1000))[0]).toMatch(/^account source \(900000000000\): 400 EventBridge rules on its default event bus in us-east-1 made by xstack \(source-events: 300, source-events-2: 100\)/);
    expect(problemsOf(text, 'generated-1000.yaml')).toEqual([]);
  });

  it('counts each account\'s rules as resolved there: the forwarding rules in the source account, each pipeline\'s trigger rule only in the accounts it runs in', () => {
    const text = [
      'organization: { partition: aws, region: eu-west-1 }',
      'prefix: acme',
      'accounts:',
      '  src: { id: "111111111111", role: source }',
      '  dev: { id: "222222222222", role: pipeline, environment: dev }',
      '  prod: { id: "333333333333", role: pipeline, environment: prod }',
      'repositories: { app1: { account: src }, app2: { account: src } }',
      'pipelines:',
      '  app1: { repository: app1, branches: { dev: main, prod: main }, deploy: { type: codedeploy } }',
      '  app2: { repository: app2, branches: { dev: develop }, deploy: { type: codedeploy } }',
      '',
    ].join('\n');
    const org = parseOrg(text, 'rules.yaml');
    const stages = planStages(org);
    const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
    // A quota of 1 (below any AWS grants, set here past the file's checks) shows every bus holding more than one rule.
    const problems = eventBridgeQuotaProblems({ ...org, eventBridgeQuotas: { rulesPerBus: 1 } }, stages, templates, new Resolver(org, stages, templates));
    expect(problems.map((p) => p.split(', beside')[0])).toEqual([
      // app1:main to dev and prod is one rule (5 targets a rule), app2:develop another.
      'account src (111111111111): 2 EventBridge rules on its default event bus in eu-west-1 made by xstack (source-events: 2)',
      'account dev (222222222222): 2 EventBridge rules on its default event bus in eu-west-1 made by xstack (pipelines: 2)',
    ]);
    expect(eventBridgeQuotaProblems(org, stages, templates, new Resolver(org, stages, templates))).toEqual([]);
  });

  it('the org file declares a raised quota, never one below its Region\'s default', () => {
    const declared = (region: string, n: number) => parseOrg(generated(2, region, `eventBridgeQuotas: { rulesPerBus: ${n} }\n`), 'rules.yaml');
    expect(declared('af-south-1', 200).eventBridgeQuotas).toEqual({ rulesPerBus: 200 });
    expect(() => declared('us-east-1', 200)).toThrow(OrgFileError);
    expect(() => declared('us-east-1', 200)).toThrow(/eventBridgeQuotas\.rulesPerBus: 200 is below EventBridge's default of 300 rules per event bus in us-east-1; expected the quota AWS raised for these accounts, 300 or more/);
    expect(() => declared('af-south-1', 99)).toThrow(/eventBridgeQuotas\.rulesPerBus: 99 is out of range/);
  });

  it('a source account with more rules than a unit holds is split so that each part stays inside 1 MB, even with long names', () => {
    // 1,150 pipeline accounts: 2 x 2 x 115 = 460 forwarding rules of 5 targets, with a 100-character repository
    // and a 128-character branch name about 3.1 KB each with their targets' dead-letter queues; 450 rules a unit made a
    // 1.07 MB template before those.
    const repository = (r: string) => `${r}-${'r'.repeat(96)}`;
    const text = generateOrgYaml(1150)
      .replace(/eventBridgeQuotas:\n  rulesPerBus: \d+\n/, 'eventBridgeQuotas:\n  rulesPerBus: 500\n')
      .replace(/^ {2}(app|lib):\n {4}account: source$/gm, (_, r: string) => `  ${repository(r)}:\n    account: source`)
      .replace(/^ {4}repository: (app|lib)$/gm, (_, r: string) => `    repository: ${repository(r)}`)
      .replace(/: (main|release)$/gm, (_, b: string) => `: ${b}/${'b'.repeat(128 - b.length - 1)}`);
    const { stages, files } = compileOrg(parseOrg(text, 'long-names.yaml'));
    const parts = stages.filter((s) => s.module === 'source-events');
    expect(parts.map((s) => Object.keys(s.definition.resources).length).reduce((a, b) => a + b)).toBe(460);
    for (const s of parts) expect(Buffer.byteLength(files.get(`templates/${s.id}.yaml`)!), s.id).toBeLessThanOrEqual(LIMITS.templateUrlBytes);
  });
});
