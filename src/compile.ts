/**
 * Org file → every file of its dist/ folder, in memory. Nothing is written
 * here; a compile that fails anywhere produces no files at all.
 */
import { renderTemplate, type CfnTemplate } from './cfn/template';
import { checkTemplate, formatFinding } from './checks/rules';
import { checkServiceAuthorization, stageValues } from './checks/service-authorization';
import { Resolver } from './audit/resolve';
import { CompileError, XstackError } from './errors';
import { LIMITS } from './limits';
import type { Org } from './org/model';
import { orderStages, type Rollout } from './stages/graph';
import { outputRefLabel, type ParamSource, type Stage } from './stages/model';
import { planStages } from './stages/plan';
import { provePrincipals } from './stages/proof';
import { toYaml } from './yaml';
import { sha256 } from './hash';
import { jenkinsExample } from './access/jenkins';
import { analyseAccess, type AccessAnalysis } from './audit/paths';
import { iamQuotaProblems } from './checks/iam-quotas';
import { executionPolicyFor } from './deploy/execution-policy';
import { toHtml, toMarkdown } from './audit/render';
import { buildReport, type ReportInput } from './audit/report';
import { rolloutSvg } from './audit/svg';
import { existsSync, readFileSync } from 'node:fs';
import { classesOf, orgResources } from './audit/reach';
import { auditModel, MODEL_FILE, sinceSections, type AuditModel } from './audit/since';

export interface CompileOptions {
  /** The source revision to record in the report, manifest and audit model (`xstack audit`, `compile --revision`); never by default, so committed dist/ stays a function of its inputs. */
  revision?: string;
  /** A previous compile's audit model: the report gains "Changes since" (`xstack audit --since`). */
  since?: { label: string; model: AuditModel };
}

export interface CompiledOrg {
  org: Org;
  stages: readonly Stage[];
  rollout: Rollout;
  /** Path relative to the org's dist folder → content. */
  files: ReadonlyMap<string, string>;
  access: AccessAnalysis;
}

export const templatePath = (stage: Stage) => `templates/${stage.id}.yaml`;
/** One file per stage, every target account in it: a 1,000-account org gets a few files, not thousands. */
export const parameterPath = (stage: Stage) => `parameters/${stage.id}.json`;

export function compileOrg(org: Org, options: CompileOptions = {}): CompiledOrg {
  const stages = planStages(org);
  const rollout = orderStages(stages);
  const byId = new Map(stages.map((s) => [s.id, s]));
  const files = new Map<string, string>();
  const problems: string[] = [];
  // Rendered once; the checks, the access analysis and the report all read these.
  const templates = new Map(stages.map((s) => [s.id, renderTemplate(s.definition)]));
  // Policies' values resolved per account: the ARN checks and the access analysis share what it compiles.
  const resolver = new Resolver(org, stages, templates);

  for (const stage of stages) {
    const template = templates.get(stage.id)!;
    problems.push(...checkTemplate(template).map((f) => `${stage.id}: ${formatFinding(f)}`));
    problems.push(...checkServiceAuthorization(template, stageValues(resolver, stage, template)).map((f) => `${stage.id}: ${formatFinding(f)}`));
    problems.push(...provePrincipals(stage, template, rollout, byId));
    const yaml = toYaml(template);
    problems.push(...limitProblems(stage, template, yaml));
    files.set(templatePath(stage), yaml);
    files.set(parameterPath(stage), parameterFile(org, stage));
  }
  problems.push(...iamQuotaProblems(org, stages, templates, resolver));
  if (problems.length > 0) throw new CompileError('CHECKS_FAILED', problems);
  const access = analyseAccess(org, stages, templates, { resolver });
  if (access.problems.length > 0) throw new CompileError('ACCESS_ANALYSIS_FAILED', access.problems);
  if (org.access.ci) for (const [path, text] of jenkinsExample(org)) files.set(path, text);
  // The org file's hash when it is a file (a generated org in a test is not): the report, the model and the manifest carry it.
  const orgFileSha256 = existsSync(org.file) ? sha256(readFileSync(org.file, 'utf8')) : null;
  const source = { orgFileSha256, ...(options.revision ? { revision: options.revision } : {}) };
  const executionRole = executionRoleOf([...templates.values()], org.prefix);
  for (const [path, text] of auditBundle({ org, stages, templates, rollout, access, files, svg: rolloutSvg(stages, rollout), source, executionRole }, options.since)) files.set(path, text);

  files.set('manifest.json', json(manifest(org, stages, rollout, files, source)));
  return { org, stages, rollout, access, files: new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1))) };
}

/** dist/<org>/audit/: the report as HTML and Markdown, the rollout graph, and the audit model a later `--since` compares with. */
function auditBundle(input: ReportInput & { source: { orgFileSha256: string | null; revision?: string } }, previous: CompileOptions['since']): Map<string, string> {
  const resources = orgResources(input.org, input.stages, input.templates, classesOf(input.access));
  const model = auditModel(input.org.file, input.source, resources, input.access);
  const since = previous && sinceSections(previous.label, previous.model, model);
  const report = buildReport({ ...input, resources, since });
  return new Map([
    ['audit/report.html', toHtml(report)],
    ['audit/report.md', toMarkdown(report)],
    ['audit/rollout.svg', input.svg],
    [MODEL_FILE, json(model)],
  ]);
}

const json = (data: unknown) => `${JSON.stringify(data, null, 2)}\n`;

function limitProblems(stage: Stage, template: CfnTemplate, yaml: string): string[] {
  const problems: string[] = [];
  const count = (what: string, n: number, limit: number) => {
    if (n > limit) problems.push(`${stage.id}: ${n} ${what}, over CloudFormation's limit of ${limit}`);
  };
  count('bytes of template body', Buffer.byteLength(yaml), LIMITS.templateBodyBytes);
  count('parameters', Object.keys(template.Parameters ?? {}).length, LIMITS.parameters);
  count('resources', Object.keys(template.Resources).length, LIMITS.resources);
  count('outputs', Object.keys(template.Outputs ?? {}).length, LIMITS.outputs);
  for (const [accountId, params] of stage.inputs) {
    for (const [name, source] of Object.entries(params)) {
      if (source.kind === 'value' && Buffer.byteLength(source.value) > LIMITS.parameterValueBytes) {
        problems.push(`${stage.id} @ ${accountId}: parameter ${name} is over ${LIMITS.parameterValueBytes} bytes`);
      }
    }
  }
  return problems;
}

/**
 * What the deployer passes as ParameterOverrides, account by account: a value
 * with where in the org file it comes from, or the outputs it is wired from
 * (`stage.Output@account`), resolved at rollout. One parameter a line, so a
 * diff shows exactly which account's value changed.
 */
function parameterFile(org: Org, stage: Stage): string {
  const line = (key: string, source: ParamSource) =>
    `${JSON.stringify(key)}: ${JSON.stringify(source.kind === 'value' ? { value: source.value, from: source.origin } : { wiredFrom: source.refs.map(outputRefLabel) })}`;
  const accounts = stage.targets.map((account) => {
    const params = stage.inputs.get(account.id) ?? {};
    const lines = Object.keys(params)
      .sort()
      .map((key) => `        ${line(key, params[key])}`);
    return `    ${JSON.stringify(account.name)}: {\n      "id": ${JSON.stringify(account.id)},\n      "parameters": {${lines.length ? `\n${lines.join(',\n')}\n      ` : ''}}\n    }`;
  });
  return `{\n  "stage": ${JSON.stringify(stage.id)},\n  "region": ${JSON.stringify(org.region)},\n  "accounts": {\n${accounts.join(',\n')}\n  }\n}\n`;
}

function manifest(org: Org, stages: readonly Stage[], rollout: Rollout, files: ReadonlyMap<string, string>, source: { orgFileSha256: string | null; revision?: string }) {
  return {
    format: 'xstack-manifest/1',
    source: { orgFile: org.file, ...source },
    organization: {
      file: org.file,
      id: org.organizationId ?? null,
      partition: org.partition,
      region: org.region,
      prefix: org.prefix,
      accounts: org.accounts.map((a) => ({ name: a.name, id: a.id, role: a.role, ...(a.environment ? { environment: a.environment } : {}) })),
    },
    stackSets: org.stackSets,
    waves: rollout.waves,
    stages: stages.map((s) => ({
      id: s.id,
      template: templatePath(s),
      module: `templates/${s.module}.ts`,
      wave: rollout.waveOf.get(s.id),
      dependsOn: rollout.dependsOn.get(s.id),
      accounts: s.targets.map((a) => a.id),
      regions: [org.region],
      parameters: Object.fromEntries(Object.entries(s.definition.parameters).map(([name, spec]) => [name, { type: spec.type, ...sourceSummary(s, name) }])),
      parameterFile: parameterPath(s),
      outputs: Object.keys(s.definition.outputs).sort(),
      notes: s.notes,
    })),
    files: Object.fromEntries([...files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, text]) => [path, { sha256: sha256(text) }])),
  };
}

/**
 * Where a parameter's values come from, across the stage's accounts; the
 * value for each account is in the stage's parameter file (hashed above).
 */
function sourceSummary(stage: Stage, name: string) {
  const accounts = new Set(stage.targets.map((a) => a.name));
  const environments = new Set(stage.targets.flatMap((a) => (a.environment ? [a.environment] : [])));
  // `pipelines.web-app.branches.dev` -> `pipelines.web-app.branches.<environment>`
  const general = (origin: string) =>
    origin
      .split('.')
      .map((part, i, parts) => (i === parts.length - 1 && environments.has(part) ? '<environment>' : i === 1 && parts[0] === 'accounts' && accounts.has(part) ? '<account>' : part))
      .join('.');
  const wiredFrom = new Set<string>();
  const origins = new Set<string>();
  for (const a of stage.targets) {
    const source = stage.inputs.get(a.id)![name];
    if (source.kind === 'wired') source.refs.forEach((r) => wiredFrom.add(`${r.stage}.${r.output}`));
    else origins.add(general(source.origin));
  }
  return { ...(origins.size ? { from: [...origins].sort() } : {}), ...(wiredFrom.size ? { wiredFrom: [...wiredFrom].sort() } : {}) };
}

/** What `xstack bootstrap` would grant the execution role, for the report; an org it cannot be derived for says why. */
function executionRoleOf(templates: CfnTemplate[], prefix: string): ReportInput['executionRole'] {
  try {
    return { statements: executionPolicyFor(templates, prefix) };
  } catch (error) {
    if (error instanceof XstackError) return { error: error.message };
    throw error;
  }
}
