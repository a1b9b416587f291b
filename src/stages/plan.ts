/**
 * From the org to its stages: which template goes to which accounts. Source-
 * account stages are one per source account (each hosts different
 * repositories); pipeline-account stages are one per role for all
 * environments. No template takes parameters: what another stage made is
 * named (roles by name, the key by its export), and a value that differs
 * between target accounts is chosen by the template's conditions
 * (src/cfn/account-switch.ts), so every StackSet has one parameter set and
 * accounts share operations. The order is not declared here: the graph
 * derives it from what each stage uses.
 */
import { usesFipsCodeCommit } from '../aws/partitions';
import { AccountSwitch } from '../cfn/account-switch';
import type { TemplateDefinition } from '../cfn/template';
import { CompileError } from '../errors';
import { EXPLICIT, type Form } from '../forms';
import { LIMITS, policyChars } from '../limits';
import { Names } from '../naming';
import { accountByName, accountOfEnvironment, repositoryByName, type Account, type Org } from '../org/model';
import { pipeline } from '../../templates/pipeline';
import { pipelineFoundation } from '../../templates/pipeline-foundation';
import { pipelineIdentity } from '../../templates/pipeline-identity';
import { sourceEvents, TARGETS_PER_RULE, type ForwardingRule } from '../../templates/source-events';
import { sourceIdentity } from '../../templates/source-identity';
import { sourceRepositories } from '../../templates/source-repositories';
import { accessRoles } from '../../templates/access-roles';
import { ciIdentity } from '../../templates/ci-identity';
import { ciNetwork } from '../../templates/ci-network';
import type { AccountValue, Stage, Use } from './model';

/**
 * Source roles a source-identity template holds: a role and its managed
 * policy each, beside the forwarder's two, inside CloudFormation's 500
 * resources a template (about 2.5 KB each: inside the 1 MB a template may
 * have from S3; the sizes are checked after emitting all the same).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
 */
export const SOURCE_ROLES_PER_TEMPLATE = 249;
const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
const part = (i: number) => (i === 0 ? '' : `-${i + 1}`);
const sourceIdentityStage = (s: Account, i: number) => `source-identity-${s.name}${part(Math.floor(i))}`;
const partOf = (family: string, count: number) => (count > 1 ? { part: { family, count } } : {});
const splitNote = (parts: number, accounts: number, what: string, i = 0): string[] =>
  parts > 1 ? [`${what} of ${accounts} pipeline accounts split over ${parts} templates of up to ${SOURCE_ROLES_PER_TEMPLATE}; this is part ${i + 1}`] : [];

/**
 * Forwarding rules a source-events template holds: one resource each, inside
 * the 500 resources of a template, and about 1.7 KB of YAML each with 5
 * targets, inside the 1 MB a template may have from S3 (checked after
 * emitting all the same).
 */
export const RULES_PER_TEMPLATE = 450;
const NONCURRENT_VERSION_DAYS = 30;
/** An execution's artifacts are kept half a year; its access logs a year (an audit cycle). */
const ARTIFACT_DAYS = 180;
const ACCESS_LOG_DAYS = 365;

const uses = (stage: string, what: string): Use => ({ stage, what });

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
  const sourceIdentityStages = sources.flatMap((src) => chunks(src.consumers, SOURCE_ROLES_PER_TEMPLATE).map((_, i) => sourceIdentityStage(src.account, i)));

  stages.push({
    id: 'pipeline-identity',
    module: 'pipeline-identity',
    definition: pipelineIdentity({ names, cloudWatchAgent: org.deploymentTargets.cloudWatchAgent }),
    targets: pipelineAccounts,
    accountValues: [],
    uses: [],
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
      accountValues: [],
      uses: [],
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
        accountValues: [],
        uses: [uses('pipeline-identity', 'the pipeline roles its source roles trust')],
        notes: i === 0 ? [...notes, ...splitNote(parts.length, source.consumers.length, 'source roles')] : splitNote(parts.length, source.consumers.length, 'source roles', i),
        ...partOf(sourceIdentityStage(s, 0), parts.length),
      });
    });
  }

  const fedBy = (a: Account) => sources.filter((src) => src.consumers.includes(a));
  for (const a of pipelineAccounts) {
    if (fedBy(a).length === 0) {
      throw new CompileError('ORG_INVALID', [
        `${org.file}: accounts.${a.name}: pipeline account runs no pipeline (no pipeline names environment '${a.environment}' in its branches); add one, or remove the account`,
      ]);
    }
  }
  const foundationSwitch = new AccountSwitch(pipelineAccounts);
  const feeds = sources.filter((src) => src.consumers.length > 0);
  stages.push({
    id: 'pipeline-foundation',
    module: 'pipeline-foundation',
    definition: withConditions(foundationSwitch, () => pipelineFoundation({
      names,
      executionRoleName: org.stackSets.executionRoleName,
      keyAdministratorRoles: org.keyAdministratorRoles,
      noncurrentVersionDays: NONCURRENT_VERSION_DAYS,
      artifactDays: ARTIFACT_DAYS,
      accessLogDays: ACCESS_LOG_DAYS,
      sourcePrincipals: (arnOf) =>
        feeds.map((src) => foundationSwitch.item(`FedBy ${src.account.name}`, src.consumers.map((c) => c.id), arnOf(src.account.id))),
    })),
    targets: pipelineAccounts,
    accountValues:
      feeds.length > 1 || feeds.some((src) => src.consumers.length < pipelineAccounts.length)
        ? [
            {
              name: 'source accounts',
              byAccount: new Map(pipelineAccounts.map((a) => [a.id, { value: fedBy(a).map((src) => src.account.name).join(', '), origin: `pipelines.*.branches.${a.environment}` }])),
            },
          ]
        : [],
    uses: [uses('pipeline-identity', 'this account\'s pipeline and deployment-target roles'), ...sourceIdentityStages.map((id) => uses(id, 'the source roles and event forwarder it names as principals'))],
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
        accountValues: [],
        uses: [uses(sourceIdentityStage(s, 0), 'the event forwarder role its rules deliver with')],
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
    const consumers = sources.find((src) => src.account === source)!.consumers;
    const targets = p.branches.map(([environment]) => accountOfEnvironment(org, environment));
    const sw = new AccountSwitch(targets);
    const branch: AccountValue = {
      name: 'branch',
      byAccount: new Map(p.branches.map(([environment, b]) => [accountOfEnvironment(org, environment).id, { value: b, origin: `pipelines.${p.name}.branches.${environment}` }])),
    };
    const environment: AccountValue = {
      name: 'environment',
      byAccount: new Map(targets.map((a) => [a.id, { value: a.environment!, origin: `accounts.${a.name}.environment` }])),
    };
    const valuesOf = (v: AccountValue) => new Map([...v.byAccount].map(([id, x]) => [id, x.value]));
    const definition = withConditions(sw, () =>
      pipeline({ names, pipeline: p, sourceAccountId: source.id, branch: sw.value('Branch', valuesOf(branch)), environment: sw.value('Environment', valuesOf(environment)) }),
    );
    const parts = [...new Set(targets.map((a) => sourceIdentityStage(source, consumers.indexOf(a) / SOURCE_ROLES_PER_TEMPLATE)))];
    stages.push({
      id: `pipeline-${p.name}`,
      module: 'pipeline',
      definition,
      targets,
      accountValues: [branch, environment].filter((v) => new Set(valuesOf(v).values()).size > 1),
      uses: [
        uses('pipeline-identity', 'this account\'s pipeline role'),
        uses('pipeline-foundation', 'this account\'s artifact bucket and the key it exports'),
        ...parts.map((id) => uses(id, 'the source role its source action assumes')),
      ],
      notes: [],
    });
  }
  return stages;
}

/** A template made with a switch, with the conditions its choices need. */
function withConditions(sw: AccountSwitch, make: () => TemplateDefinition): TemplateDefinition {
  const definition = make();
  const conditions = sw.section();
  return Object.keys(conditions).length > 0 ? { ...definition, conditions } : definition;
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
      accountValues: [],
      uses: [],
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
        accountValues: [],
        uses: [],
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
        ...(ciAccount ? { ciAccountId: ciAccount.id } : {}),
      }),
      targets: [s],
      accountValues: [],
      uses: ciAccount ? [uses('ci-identity', 'the CI role its CI reader role trusts')] : [],
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
