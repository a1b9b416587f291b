/**
 * From the org to its stages: which template goes to which accounts, and where
 * every parameter of every account comes from. Source-account stages are one
 * per source account (each hosts different repositories); pipeline-account
 * stages are one per role for all environments, per-account values being
 * parameters. The order is not declared here: the graph derives it from the
 * wiring.
 */
import { usesFipsCodeCommit } from '../aws/partitions';
import { CompileError } from '../errors';
import { EXPLICIT, type Form } from '../forms';
import { LIMITS, policyChars } from '../limits';
import { Names } from '../naming';
import { accountByName, accountOfEnvironment, repositoryByName, type Account, type Org } from '../org/model';
import { pipeline } from '../../templates/pipeline';
import { pipelineFoundation } from '../../templates/pipeline-foundation';
import { pipelineIdentity } from '../../templates/pipeline-identity';
import { sourceEvents, TARGETS_PER_RULE, type ForwardingRule } from '../../templates/source-events';
import { sourceIdentity, sourceRoleIds } from '../../templates/source-identity';
import { sourceRepositories } from '../../templates/source-repositories';
import { accessRoles } from '../../templates/access-roles';
import { ciIdentity } from '../../templates/ci-identity';
import { ciNetwork } from '../../templates/ci-network';
import type { OutputRef, ParamSource, Stage } from './model';

/**
 * Source roles a source-identity template holds: a pipeline role parameter, a
 * role, its managed policy and an output each; 16 stay inside 200 parameters
 * and 51,200 bytes (checked after emitting all the same).
 */
export const SOURCE_ROLES_PER_TEMPLATE = 16;
const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
const part = (i: number) => (i === 0 ? '' : `-${i + 1}`);
const sourceIdentityStage = (s: Account, i: number) => `source-identity-${s.name}${part(Math.floor(i))}`;
const partOf = (family: string, count: number) => (count > 1 ? { part: { family, count } } : {});
const splitNote = (parts: number, accounts: number, what: string, i = 0): string[] =>
  parts > 1 ? [`${what} of ${accounts} pipeline accounts split over ${parts} templates of up to ${SOURCE_ROLES_PER_TEMPLATE}; this is part ${i + 1}`] : [];

/** Forwarding rules a source-events template holds; keeps each template under 51,200 bytes (a rule with 5 targets is about 1.7 KB of YAML); the byte limit is checked after emitting all the same. */
export const RULES_PER_TEMPLATE = 25;
const NONCURRENT_VERSION_DAYS = 30;
/** An execution's artifacts are kept half a year; its access logs a year (an audit cycle). */
const ARTIFACT_DAYS = 180;
const ACCESS_LOG_DAYS = 365;

const wired = (...refs: OutputRef[]): ParamSource => ({ kind: 'wired', refs });
const value = (v: string, origin: string): ParamSource => ({ kind: 'value', value: v, origin });

interface SourceAccountPlan {
  account: Account;
  repositories: string[];
  /** Pipeline accounts reading this account's repositories, in file order. */
  consumers: Account[];
  /** Pipeline account → the repositories of this account its pipelines read. */
  readBy: Map<string, string[]>;
  /** (repository, branch) → pipeline accounts tracking it. */
  tracked: Array<{ repository: string; branch: string; accounts: Account[] }>;
}

export function planStages(org: Org): Stage[] {
  const names = new Names(org.prefix);
  const pipelineAccounts = org.accounts.filter((a) => a.role === 'pipeline');
  const sources = planSources(org);
  const stages: Stage[] = [];
  const everyAccount = (accounts: readonly Account[], inputs: (a: Account) => Record<string, ParamSource>) =>
    new Map(accounts.map((a) => [a.id, inputs(a)]));

  stages.push({
    id: 'pipeline-identity',
    module: 'pipeline-identity',
    definition: pipelineIdentity({ names, cloudWatchAgent: org.deploymentTargets.cloudWatchAgent }),
    targets: pipelineAccounts,
    inputs: everyAccount(pipelineAccounts, () => ({})),
    notes: [],
  });

  for (const source of sources) {
    const s = source.account;
    const repositories = org.repositories.filter((r) => r.account === s.name);
    stages.push({
      id: `source-repositories-${s.name}`,
      module: 'source-repositories',
      definition: sourceRepositories(repositories),
      targets: [s],
      inputs: everyAccount([s], () => ({})),
      notes: [],
    });
    if (source.consumers.length === 0) continue;

    const notes: string[] = [];
    const busArns = source.consumers.map((c) => `arn:${org.partition}:events:${org.region}:${c.id}:event-bus/default`);
    const forwarding = chooseForm(org, s, notes, 'event forwarder policy', [
      [policyChars({ Statement: [{ Action: 'events:PutEvents', Resource: busArns }] }) + 100, LIMITS.inlineRolePolicyChars, 'characters of inline policy'],
    ]);
    const parts = chunks(source.consumers, SOURCE_ROLES_PER_TEMPLATE);
    parts.forEach((part, i) => {
      stages.push({
        id: sourceIdentityStage(s, i),
        module: 'source-identity',
        definition: sourceIdentity({
          names,
          consumers: part.map((c) => [c.id, source.readBy.get(c.id) ?? []] as const),
          ...(i === 0 ? { forwarding: { form: forwarding, busAccountIds: source.consumers.map((c) => c.id) } } : {}),
        }),
        targets: [s],
        inputs: everyAccount([s], () =>
          Object.fromEntries(
            part.map((c) => [sourceRoleIds(c.id).pipelineRoleParameter, wired({ stage: 'pipeline-identity', output: 'PipelineRoleArn', account: c.id })]),
          ),
        ),
        notes: i === 0 ? [...notes, ...splitNote(parts.length, source.consumers.length, 'source roles')] : splitNote(parts.length, source.consumers.length, 'source roles', i),
        ...partOf(sourceIdentityStage(s, 0), parts.length),
      });
    });
  }

  stages.push({
    id: 'pipeline-foundation',
    module: 'pipeline-foundation',
    definition: pipelineFoundation({
      names,
      executionRoleName: org.stackSets.executionRoleName,
      keyAdministratorRoles: org.keyAdministratorRoles,
      noncurrentVersionDays: NONCURRENT_VERSION_DAYS,
      artifactDays: ARTIFACT_DAYS,
      accessLogDays: ACCESS_LOG_DAYS,
    }),
    targets: pipelineAccounts,
    inputs: everyAccount(pipelineAccounts, (a) => {
      const feeding = sources.filter((src) => src.consumers.includes(a));
      const fromSources = (output: (src: SourceAccountPlan) => string, stage: (src: SourceAccountPlan) => string) =>
        wired(...feeding.map((src) => ({ stage: stage(src), output: output(src), account: src.account.id })));
      return {
        PipelineRoleArn: wired({ stage: 'pipeline-identity', output: 'PipelineRoleArn', account: a.id }),
        DeployTargetRoleArn: wired({ stage: 'pipeline-identity', output: 'DeployTargetRoleArn', account: a.id }),
        DeployTargetRoleName: wired({ stage: 'pipeline-identity', output: 'DeployTargetRoleName', account: a.id }),
        SourceRoleArns: fromSources(() => sourceRoleIds(a.id).arnOutput, (src) => sourceIdentityStage(src.account, src.consumers.indexOf(a) / SOURCE_ROLES_PER_TEMPLATE)),
        EventForwarderRoleArns: fromSources(() => 'EventForwarderRoleArn', (src) => sourceIdentityStage(src.account, 0)),
      };
    }),
    notes: [],
  });

  for (const source of sources) {
    if (source.consumers.length === 0) continue;
    const s = source.account;
    const rules = forwardingRules(source);
    const ruleChunks = Math.ceil(rules.length / RULES_PER_TEMPLATE);
    for (let chunk = 0; chunk < ruleChunks; chunk++) {
      stages.push({
        id: `source-events-${s.name}${chunk === 0 ? '' : `-${chunk + 1}`}`,
        module: 'source-events',
        definition: sourceEvents(names, rules.slice(chunk * RULES_PER_TEMPLATE, (chunk + 1) * RULES_PER_TEMPLATE)),
        targets: [s],
        inputs: everyAccount([s], () => ({
          EventForwarderRoleArn: wired({ stage: sourceIdentityStage(s, 0), output: 'EventForwarderRoleArn', account: s.id }),
        })),
        notes:
          ruleChunks > 1
            ? [`${rules.length} forwarding rules (${TARGETS_PER_RULE} targets each at most) split over ${ruleChunks} templates of up to ${RULES_PER_TEMPLATE}; this is part ${chunk + 1}`]
            : [],
        ...partOf(`source-events-${s.name}`, ruleChunks),
      });
    }
  }

  stages.push(...accessStages(org, names));

  for (const p of org.pipelines) {
    const repository = repositoryByName(org, p.repository);
    const source = accountByName(org, repository.account);
    const targets = p.branches.map(([environment]) => accountOfEnvironment(org, environment));
    stages.push({
      id: `pipeline-${p.name}`,
      module: 'pipeline',
      definition: pipeline({ names, pipeline: p, sourceAccountId: source.id }),
      targets,
      inputs: new Map(
        p.branches.map(([environment, branch]) => {
          const a = accountOfEnvironment(org, environment);
          const own = (stage: string, output: string) => wired({ stage, output, account: a.id });
          return [
            a.id,
            {
              EnvironmentName: value(environment, `accounts.${a.name}.environment`),
              BranchName: value(branch, `pipelines.${p.name}.branches.${environment}`),
              PipelineRoleArn: own('pipeline-identity', 'PipelineRoleArn'),
              PipelineRoleName: own('pipeline-identity', 'PipelineRoleName'),
              SourceRoleArn: wired({
                stage: sourceIdentityStage(source, sources.find((src) => src.account === source)!.consumers.indexOf(a) / SOURCE_ROLES_PER_TEMPLATE),
                output: sourceRoleIds(a.id).arnOutput,
                account: source.id,
              }),
              ArtifactBucketName: own('pipeline-foundation', 'ArtifactBucketName'),
              ArtifactBucketArn: own('pipeline-foundation', 'ArtifactBucketArn'),
              ArtifactObjectsArn: own('pipeline-foundation', 'ArtifactObjectsArn'),
              ArtifactKeyArn: own('pipeline-foundation', 'ArtifactKeyArn'),
            },
          ];
        }),
      ),
      notes: [],
    });
  }
  return stages;
}

/** Developer and CI access (seed 000): only when the org file has an `access` section. */
function accessStages(org: Org, names: Names): Stage[] {
  const { developers, ci } = org.access;
  if (!developers && !ci) return [];
  const sources = org.accounts.filter((a) => a.role === 'source');
  const repositoriesOf = (a: Account) => org.repositories.filter((r) => r.account === a.name).map((r) => r.name);
  const stages: Stage[] = [];
  const ciAccount = ci ? accountByName(org, ci.account) : undefined;
  if (ci && ciAccount) {
    stages.push({
      id: 'ci-identity',
      module: 'ci-identity',
      definition: ciIdentity(names, sources.map((s) => s.id), ci.runtime),
      targets: [ciAccount],
      inputs: new Map([[ciAccount.id, {}]]),
      notes: [],
    });
    if (ci.network) {
      stages.push({
        id: 'ci-network',
        module: 'ci-network',
        definition: ciNetwork({
          names,
          network: ci.network,
          endpointServicePrefix: org.partition === 'aws-cn' ? 'cn.com.amazonaws' : 'com.amazonaws',
          fipsEndpoints: usesFipsCodeCommit(org.partition),
          repositories: sources.map((s) => [s.id, repositoriesOf(s)] as const),
        }),
        targets: [ciAccount],
        inputs: new Map([[ciAccount.id, {}]]),
        notes: [],
      });
    }
  }
  for (const s of sources) {
    stages.push({
      id: `access-roles-${s.name}`,
      module: 'access-roles',
      definition: accessRoles({
        names,
        repositories: repositoriesOf(s),
        developers: developers && { ...developers, sourceAccountIds: developers.assumedBy.map((r) => accountByName(org, r.account).id) },
        ci: Boolean(ciAccount),
      }),
      targets: [s],
      inputs: new Map<string, Record<string, ParamSource>>([
        [s.id, ciAccount ? { CiInstanceRoleArn: wired({ stage: 'ci-identity', output: 'CiInstanceRoleArn', account: ciAccount.id }) } : {}],
      ]),
      notes: [],
    });
  }
  return stages;
}

function planSources(org: Org): SourceAccountPlan[] {
  return org.accounts
    .filter((a) => a.role === 'source')
    .map((account) => {
      const repositories = org.repositories.filter((r) => r.account === account.name).map((r) => r.name);
      const consumerIds = new Set<string>();
      const readBy = new Map<string, string[]>();
      const tracked = new Map<string, { repository: string; branch: string; accounts: Account[] }>();
      for (const p of org.pipelines) {
        if (!repositories.includes(p.repository)) continue;
        for (const [environment, branch] of p.branches) {
          const target = accountOfEnvironment(org, environment);
          consumerIds.add(target.id);
          const read = readBy.get(target.id) ?? readBy.set(target.id, []).get(target.id)!;
          if (!read.includes(p.repository)) read.push(p.repository);
          const key = `${p.repository}\u0000${branch}`;
          const entry = tracked.get(key) ?? { repository: p.repository, branch, accounts: [] };
          if (!entry.accounts.includes(target)) entry.accounts.push(target);
          tracked.set(key, entry);
        }
      }
      const consumers = org.accounts.filter((a) => consumerIds.has(a.id));
      const used = repositories.filter((r) => [...tracked.values()].some((t) => t.repository === r));
      return { account, repositories: used, consumers, readBy, tracked: [...tracked.values()] };
    });
}

/**
 * One rule per (repository, branch, chunk of 5 target accounts); a chunk's
 * accounts in the file's order, so a new environment joins the last chunk.
 */
function forwardingRules(source: SourceAccountPlan): ForwardingRule[] {
  const rules: ForwardingRule[] = [];
  for (const t of source.tracked) {
    for (let i = 0; i < t.accounts.length; i += TARGETS_PER_RULE) {
      rules.push({
        chunk: i / TARGETS_PER_RULE + 1,
        repository: t.repository,
        branch: t.branch,
        targetAccountIds: t.accounts.slice(i, i + TARGETS_PER_RULE).map((a) => a.id),
      });
    }
  }
  return rules;
}

/**
 * Explicit ARNs while every measure fits its limit; past one, the org-scoped
 * form, which needs the organization id. Never a template AWS would reject.
 */
function chooseForm(org: Org, account: Account, notes: string[], what: string, measures: Array<[number, number, string]>): Form {
  const over = measures.filter(([size, limit]) => size > limit);
  if (over.length === 0) return EXPLICIT;
  const why = over.map(([size, limit, unit]) => `${size} ${unit} (limit ${limit})`).join(', ');
  if (!org.organizationId) {
    throw new CompileError('LIMIT_EXCEEDED', [
      `${org.file}: source account '${account.name}': the explicit ${what} would need ${why}.`,
      `Set organization.id so that xstack can use the org-scoped form (aws:PrincipalOrgID / aws:ResourceOrgID conditions), or split the pipelines over more source accounts.`,
    ]);
  }
  notes.push(`${what}: explicit form would need ${why}; using the org-scoped form (organization ${org.organizationId})`);
  return { kind: 'organization', organizationId: org.organizationId };
}
