/**
 * Org file → every file of its dist/ folder, in memory. Nothing is written
 * here; a compile that fails anywhere produces no files at all.
 */
import { takeRendering, type CfnTemplate } from './cfn/template';
import { checkPolicies } from './checks/policy-checks';
import { alikeResources, importsReadingOnlyTheId, type AlikeResources } from './checks/alike';
import { formatFinding } from './checks/rules';
import { stageValues } from './checks/service-authorization';
import { Resolver } from './audit/resolve';
import { CompileError, XstackError } from './errors';
import { ADJUSTABLE_IAM_QUOTAS, LIMITS, needsTemplateBucket, utf8BytesOver } from './limits';
import type { Org } from './org/model';
import { orderStages, type Rollout } from './stages/graph';
import type { Stage } from './stages/model';
import { planStages } from './stages/plan';
import { provePrincipals, roleIndex } from './stages/proof';
import { checkStackInstanceQuota, checkStackSetQuota } from './checks/stackset-quota';
import { toYaml, toYamlWithResources } from './yaml';
import { sha256 } from './hash';
import { jenkinsExample } from './access/jenkins';
import { setupTemplate, type SetupTemplate } from './setup';
import { analyseAccess, type AccessAnalysis } from './audit/paths';
import { iamQuotaProblems } from './checks/iam-quotas';
import { eventBridgeQuotaProblems } from './checks/eventbridge-quotas';
import { resourcePolicyQuotaProblems } from './checks/resource-policy-quotas';
import { compiledTemplates, executionPolicyOf as deriveExecutionPolicy, keyActions, resolvePolicy, type ExecutionStatement, type ExecutionTemplate, type PipelineNames } from './deploy/execution-policy';
import { executionQuotaProblems } from './checks/execution-quota';
import { executionAuthorizationProblems } from './checks/execution-authorization';
import { executionRoleOutsideReach } from './audit/execution-reach';
import { toHtml, toMarkdown } from './audit/render';
import { buildReport, type ReportInput } from './audit/report';
import { rolloutSvg } from './audit/svg';
import { existsSync, readFileSync } from 'node:fs';
import { classesOf, orgResources } from './audit/reach';
import { auditModel, MODEL_FILE, sinceSections, type AuditModel } from './audit/since';
import { teamsToFold } from './audit/scale';
import { findTeams } from './audit/teams';
import { layoutPath, layoutText, recordedChangeNotes, recordOf, type Layout } from './stages/layout';
import { Names } from './naming';
import { boundaryArnIn, unboundedRoles } from './iam/permissions-boundary';
import { globRegExp } from './checks/service-authorization';
import { textReferenceProblems } from './checks/text-references';
import { keyAdministratorProblems, roleSourceProblems } from './checks/own-roles';
import { wildcardContext, type WildcardUse } from './iam/wildcards';

export interface CompileOptions {
  /** The source revision to record in the report, manifest and audit model (`xstack audit`, `compile --revision`); never by default, so committed dist/ stays a function of its inputs. */
  revision?: string;
  /** A previous compile's audit model: the report gains "Changes since" (`xstack audit --since`). */
  since?: { label: string; model: AuditModel; notes?: readonly string[]; /** The previous compile's templates by path and SHA-256 (its manifest.json), where it has them. */ templates?: ReadonlyMap<string, string> };
}

export interface CompiledOrg {
  org: Org;
  stages: readonly Stage[];
  rollout: Rollout;
  /** Path relative to the org's dist folder → content. */
  files: ReadonlyMap<string, string>;
  access: AccessAnalysis;
  /** Which part of each family holds each unit, as compiled: the org's layout file after this compile (src/stages/layout.ts). */
  layout: Layout;
  /** What the compile chose for the org as a whole and says so (compile prints them, as it does each stage's notes). */
  notes: readonly string[];
  /** The setup template's file, role and digest: a call refused through its role compares the deployed role's tag with it. */
  setup: Pick<SetupTemplate, 'path' | 'role' | 'digest'>;
}

export const templatePath = (stage: Stage) => `templates/${stage.id}.yaml`;
/** The values a stage's template chooses by account, every target account in one file: a 1,000-account org gets a few files, not thousands. */
export const valuesPath = (stage: Stage) => `values/${stage.id}.json`;

export function compileOrg(org: Org, options: CompileOptions = {}): CompiledOrg {
  const stages = planStages(org);
  // Before anything else is made: an org AWS would stop halfway through its first rollout is refused whole.
  checkStackSetQuota(org, stages.length);
  checkStackInstanceQuota(org, stages.map((s) => [s.id, s.targets.length]));
  const rollout = orderStages(stages);
  const files = new Map<string, string>();
  const problems: string[] = [];
  // Rendered once; the checks, the access analysis and the report all read these.
  const templates = new Map(stages.map((s) => [s.id, takeRendering(s.definition)]));
  // Policies' values resolved per account: the ARN checks and the access analysis share what it compiles.
  const resolver = new Resolver(org, stages, templates);
  const pipelineAccounts = org.accounts.filter((a) => a.role === 'pipeline').map((a) => a.id);
  const roles = roleIndex(stages, templates, resolver, (org.deploymentTargets.instanceRoles ?? []).map((name) => ({ name, accounts: pipelineAccounts })));
  problems.push(...keyAdministratorProblems(org, roles), ...roleSourceProblems(org, roles));

  // Each template's classes of resources alike but for their account's id, read from its text: the checks that can, check a class once.
  const alike = new Map<string, AlikeResources>();
  // And alike up to their team (a team's units repeated for each team), where the org has teams.
  const teams = findTeams(org);
  // The listed wildcards the templates hold (rule XS017), gathered by the checks for the report's table.
  const wildcards: WildcardUse = new Map();
  const wildcardNames = wildcardContext(org);
  for (const stage of stages) {
    const template = templates.get(stage.id)!;
    const written = toYamlWithResources(template);
    const yaml = written.text;
    alike.set(stage.id, alikeResources(template, written, teams, importsReadingOnlyTheId(resolver, stage.id, stage.targets.map((a) => a.id))));
    problems.push(...checkPolicies(template, { valuesOf: stageValues(resolver, stage, template), text: yaml, alike: alike.get(stage.id), wildcards, ctx: wildcardNames }).map((f) => `${stage.id}: ${formatFinding(f)}`));
    problems.push(...provePrincipals(stage, template, rollout, resolver, roles));
    if (org.permissionsBoundary !== undefined) {
      for (const id of unboundedRoles(template.Resources, org.permissionsBoundary)) problems.push(`${stage.id}: internal: role ${id} lacks the org's permissions boundary ${org.permissionsBoundary}`);
    }
    problems.push(...limitProblems(stage, template, yaml));
    files.set(templatePath(stage), yaml);
    if (stage.accountValues.length > 0) files.set(valuesPath(stage), valuesFile(org, stage));
  }
  // The setup template a user deploys by hand is held to the same policy rules as the stages' (a setup's own, by file).
  const setup = setupTemplate(org, stages);
  problems.push(...checkPolicies(setup.template, { wildcards, ctx: wildcardNames }).map((f) => `${setup.path}: ${formatFinding(f)}`));
  problems.push(...iamQuotaProblems(org, stages, templates, resolver, alike));
  // What `xstack bootstrap` would grant the execution role: counted here against IAM's quotas, proved below, reported.
  const execution = executionPolicyOf(org, compiledTemplates(stages, (s) => templates.get(s.id)!));
  const targetIds = [...new Set(stages.flatMap((s) => s.targets.map((a) => a.id)))];
  const executionAccount = targetIds[0] ?? '000000000000';
  if ('statements' in execution) problems.push(...executionQuotaProblems(org, execution.statements, targetIds), ...executionAuthorizationProblems(org, execution.statements), ...boundaryWritableProblems(org, execution.statements));
  // What this compile changes against the layout file's record that a deploy would do quietly (a repository left behind, new buckets).
  const notes = [...recordedChangeNotes(org), ...('statements' in execution && execution.pipelineNames.names === 'shapes' ? [executionShapesNote(org, execution.pipelineNames)] : [])];
  problems.push(...eventBridgeQuotaProblems(org, stages, templates, resolver));
  problems.push(...resourcePolicyQuotaProblems(org, stages, templates, resolver));
  problems.push(...textReferenceProblems(org, templates.values()));
  if (problems.length > 0) throw new CompileError('CHECKS_FAILED', problems);
  // SELF_MANAGED: the execution role's own policy is bootstrap's (SERVICE_MANAGED: StackSets' own role, not narrowed).
  const executionKeyActions = org.stackSets.permissionModel === 'SELF_MANAGED' && 'statements' in execution ? keyActions(execution.statements) : undefined;
  const access = analyseAccess(org, stages, templates, { resolver, alike, ...(executionKeyActions ? { executionKeyActions } : {}) });
  if (access.problems.length > 0) throw new CompileError('ACCESS_ANALYSIS_FAILED', access.problems);
  if (org.access.ci) for (const [path, text] of jenkinsExample(org)) files.set(path, text);
  files.set(setup.path, toYaml(setup.template));
  // The org file's hash when it is a file (a generated org in a test is not): the report, the model and the manifest carry it.
  const orgFileSha256 = existsSync(org.file) ? sha256(readFileSync(org.file, 'utf8')) : null;
  const source = { orgFileSha256, ...(options.revision ? { revision: options.revision } : {}) };
  const executionRole: ReportInput['executionRole'] =
    'statements' in execution
      ? { statements: execution.statements, pipelineNames: execution.pipelineNames, outside: executionRoleOutsideReach(org, execution.statements, executionAccount, execution.pipelineNames) }
      : execution;
  if (executionRole && 'outside' in executionRole) {
    // Refused, or reached by design by the pipeline names' shapes (when the policy uses them, and only those names).
    const allowed = (executionRole.outside ?? []).filter((r) => r.allowedBy && !r.byDesign);
    if (allowed.length > 0) {
      throw new CompileError('ACCESS_ANALYSIS_FAILED', allowed.map((r) => `the StackSet execution role may ${r.action} on ${r.resource}, outside the org's names (allowed by ${r.allowedBy}); it must be refused`));
    }
  }
  // Each file hashed once: the report's table of hashes and the manifest list the same files.
  const hashes = new Map<string, string>();
  const sha256Of = (path: string, text: string) => hashes.get(path) ?? hashes.set(path, sha256(text)).get(path)!;
  for (const [path, text] of auditBundle({ org, stages, templates, rollout, access, files, sha256Of, svg: rolloutSvg(stages, rollout), source, executionRole, resolver, wildcards }, options.since)) files.set(path, text);

  const layout = layoutOf(stages);
  files.set('manifest.json', json(manifest(org, stages, rollout, files, source, sha256Of, layout)));
  return { org, stages, rollout, access, layout, notes, setup: { path: setup.path, role: setup.role, digest: setup.digest }, files: new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1))) };
}

/** dist/<org>/audit/: the report as HTML and Markdown, the rollout graph, and the audit model a later `--since` compares with. */
function auditBundle(input: ReportInput & { source: { orgFileSha256: string | null; revision?: string }; resolver: Resolver }, previous: CompileOptions['since']): Map<string, string> {
  const resources = orgResources(input.org, input.stages, input.templates, classesOf(input.access), input.resolver);
  const teams = teamsToFold(input.org);
  const model = auditModel(input.org.recordedFile, input.source, resources, input.access, teams, input);
  // Each template's SHA-256 as the manifest records it (hashed once: sha256Of), beside the previous compile's.
  const templateHashes = () => new Map(input.stages.map((s) => [templatePath(s), input.sha256Of!(templatePath(s), input.files.get(templatePath(s))!)]));
  const since = previous && sinceSections(previous.label, previous.model, model, { access: input.access, organizationId: input.org.organizationId, templates: { before: previous.templates, now: templateHashes() } }, previous.notes);
  const report = buildReport({ ...input, resources, since, teams: teams ?? null });
  return new Map([
    ['audit/report.html', toHtml(report)],
    ['audit/report.md', toMarkdown(report)],
    ['audit/rollout.svg', input.svg],
    [MODEL_FILE, json(model)],
  ]);
}

/** The families' parts as placed. */
function layoutOf(stages: readonly Stage[]): Layout {
  const layout = new Map<string, Map<number, readonly string[]>>();
  for (const { placement } of stages) {
    if (!placement) continue;
    const parts = layout.get(placement.family) ?? layout.set(placement.family, new Map()).get(placement.family)!;
    parts.set(placement.part, placement.units);
  }
  return layout;
}

const json = (data: unknown) => `${JSON.stringify(data, null, 2)}\n`;

const LOGICAL_NAME = new RegExp(`^[A-Za-z0-9]{1,${LIMITS.logicalIdChars}}$`);

function limitProblems(stage: Stage, template: CfnTemplate, yaml: string): string[] {
  const problems: string[] = [];
  const count = (what: string, n: number, limit: number) => {
    if (n > limit) problems.push(`${stage.id}: ${n} ${what}, over CloudFormation's limit of ${limit}`);
  };
  // Over 51,200 bytes a template is deployed from the template bucket (src/deploy/template-store.ts), up to 1 MB.
  if (utf8BytesOver(yaml, LIMITS.templateUrlBytes)) count('bytes of template body', Buffer.byteLength(yaml), LIMITS.templateUrlBytes);
  count('parameters', Object.keys(template.Parameters ?? {}).length, LIMITS.parameters);
  count('resources', Object.keys(template.Resources).length, LIMITS.resources);
  count('outputs', Object.keys(template.Outputs ?? {}).length, LIMITS.outputs);
  for (const section of ['Parameters', 'Conditions', 'Resources', 'Outputs'] as const) {
    for (const name of Object.keys(template[section] ?? {})) {
      if (!LOGICAL_NAME.test(name)) problems.push(`${stage.id}: ${section} name ${name.length > 60 ? `${name.slice(0, 60)}… (${name.length} characters)` : name} is not 1 to ${LIMITS.logicalIdChars} letters and digits, as CloudFormation requires`);
    }
  }
  return problems;
}

/**
 * What each account's stack gets where the template chooses by account, with
 * where in the org file each value comes from. One value a line, so a diff
 * shows exactly which account's value changed.
 */
function valuesFile(org: Org, stage: Stage): string {
  const accounts = stage.targets.map((account) => {
    // A family's values are per unit: an account holds those of the units it is in.
    const lines = stage.accountValues.flatMap((v) => {
      const x = v.byAccount.get(account.id);
      return x ? [`        ${JSON.stringify(v.name)}: ${JSON.stringify({ value: x.value, from: x.origin })}`] : [];
    });
    return `    ${JSON.stringify(account.name)}: {\n      "id": ${JSON.stringify(account.id)},\n      "values": {\n${lines.join(',\n')}\n      }\n    }`;
  });
  return `{\n  "stage": ${JSON.stringify(stage.id)},\n  "region": ${JSON.stringify(org.region)},\n  "accounts": {\n${accounts.join(',\n')}\n  }\n}\n`;
}

function manifest(
  org: Org,
  stages: readonly Stage[],
  rollout: Rollout,
  files: ReadonlyMap<string, string>,
  source: { orgFileSha256: string | null; revision?: string },
  sha256Of: (path: string, text: string) => string,
  layout: Layout,
) {
  return {
    format: 'xstack-manifest/1',
    // The layout as this compile placed it (what compile writes beside the org file): the parts are an input too.
    source: { orgFile: org.recordedFile, ...source, layoutFile: layoutPath(org.recordedFile), layoutSha256: sha256(layoutText(layout, recordOf(org))) },
    organization: {
      file: org.recordedFile,
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
      uses: s.uses.map((u) => ({ stage: u.stage, what: u.what })),
      templateDelivery: needsTemplateBucket(files.get(templatePath(s))!) ? 'template bucket (over 51,200 bytes)' : 'inline',
      ...(s.accountValues.length > 0 ? { valuesByAccount: { names: s.accountValues.map((v) => v.name), file: valuesPath(s) } } : {}),
      outputs: Object.keys(s.definition.outputs).sort(),
      notes: s.notes,
    })),
    files: Object.fromEntries([...files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, text]) => [path, { sha256: sha256Of(path, text) }])),
  };
}

/**
 * What `xstack bootstrap` would grant the execution role; an org it cannot be derived for says why (the report
 * shows it). Counted and proved in one account the stages target: the policy is the same in every one but for its id.
 */
function executionPolicyOf(org: Org, templates: readonly ExecutionTemplate[]): { statements: ExecutionStatement[]; pipelineNames: PipelineNames } | { error: string } {
  try {
    return deriveExecutionPolicy(org, templates);
  } catch (error) {
    if (error instanceof XstackError) return { error: error.message };
    throw error;
  }
}

/** The compile's note when the execution role's policy names pipelines' resources by shape: what the shapes reach, and why. */
function executionShapesNote(org: Org, chosen: Extract<PipelineNames, { names: 'shapes' }>): string {
  const s = new Names(org.prefix).shapes(true);
  return (
    `StackSet execution role: pipeline names by shape (roles ${s.role.slice(1).join(', ')} and their policies, policies ${s.managedPolicy[0]}, pipelines and CodeDeploy applications ${s.pipeline[0]}, rules ${s.rule[0]}), ${chosen.packs} managed policies: ${chosen.why}. ` +
    `In every target account the role may change any role, policy, pipeline, CodeDeploy application or rule of those forms, including ones another team or tool named with the prefix (the report's execution role section lists them); ` +
    `raise the quota (iamQuotas.managedPoliciesPerRole, which AWS approves up to ${ADJUSTABLE_IAM_QUOTAS.managedPoliciesPerRole.approved}) to keep exact names`
  );
}

/**
 * IAM actions that change what a managed policy says, or remove it (resource type `policy` in the Service Authorization
 * Reference: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html).
 */
const POLICY_WRITES = ['iam:CreatePolicy', 'iam:CreatePolicyVersion', 'iam:DeletePolicy', 'iam:DeletePolicyVersion', 'iam:SetDefaultPolicyVersion'];

/**
 * The org's permissions boundary must not be a policy the StackSet execution role may write: it holds every role the
 * templates create, and the role the boundary holds could otherwise widen it (review s24-diff m1). A name outside
 * the org's prefix never is; one made to fit the shapes of the execution role's policy names would be.
 */
function boundaryWritableProblems(org: Org, statements: readonly ExecutionStatement[]): string[] {
  if (org.permissionsBoundary === undefined) return [];
  const account = '123456789012';
  const arn = boundaryArnIn(org.permissionsBoundary, org.partition, account);
  return resolvePolicy(statements, { partition: org.partition, account, region: org.region })
    .Statement.filter((st) => st.Effect === 'Allow' && st.Action.some((a) => POLICY_WRITES.includes(a)) && st.Resource.some((r) => globRegExp(r).test(arn)))
    .map((st) => `permissionsBoundary: ${org.permissionsBoundary} is a policy the StackSet execution role may change (statement ${st.Sid} allows ${st.Action.filter((a) => POLICY_WRITES.includes(a)).join(', ')} on a name it fits), so the roles it bounds could be given more; name the boundary policy outside the org's prefix (${org.prefix}-…)`);
}
