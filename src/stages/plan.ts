/**
 * From the org to its stages: which template goes to which accounts. One
 * stage per kind of template, for every account it serves: the source
 * accounts' repositories, roles, rules and access roles, and the pipelines,
 * are families (family.ts) whose units carry a condition naming their
 * accounts, split only where a template's limits force it; so the StackSet
 * count grows with neither pipeline accounts nor source accounts nor
 * pipelines, but with what one template can hold. No template takes
 * parameters: what another stage made is named (roles by name, the key by
 * its export), and a value that differs
 * between target accounts is chosen by the template's conditions
 * (src/cfn/account-switch.ts), so every StackSet has one parameter set and
 * accounts share operations. The order is not declared here: the graph
 * derives it from what each stage uses.
 */
import { unsettledRegionNote, usesFipsCodeCommit } from '../aws/partitions';
import { AccountSwitch } from '../cfn/account-switch';
import type { TemplateDefinition } from '../cfn/template';
import { CompileError } from '../errors';
import { EXPLICIT, type Form } from '../forms';
import { LIMITS, policyChars, RESOURCE_POLICY_LIMITS } from '../limits';
import { artifactFolder, Names } from '../naming';
import { accountByName, accountOfEnvironment, deployedName, repositoryByName, type Account, type CiNetwork, type DeveloperAccess, type Org, type Pipeline, type Repository } from '../org/model';
import { pipeline } from '../../templates/pipeline';
import { pipelineFoundation } from '../../templates/pipeline-foundation';
import { pipelineIdentity } from '../../templates/pipeline-identity';
import { sourceEvents, TARGETS_PER_RULE, type ForwardingRule } from '../../templates/source-events';
import { sourceIdentity, sourceRoleIds } from '../../templates/source-identity';
import { sourceRepositories } from '../../templates/source-repositories';
import { accessRoles } from '../../templates/access-roles';
import { ciIdentity, ciReadersByOrganization } from '../../templates/ci-identity';
import { accessCallers, namedByOrganization } from '../../templates/access-callers';
import { CI_SUBNET_EXTRA_BITS, ciEndpointPrincipals, ciNetwork, codeCommitEndpointScope } from '../../templates/ci-network';
import { logicalId } from '../cfn/resources';
import { DEAD_LETTER_QUEUE_ID } from '../cfn/dead-letter';
import { familyStages, type Unit } from './family';
import { stageId, type AccountValue, type Stage, type Use } from './model';
import { withPermissionsBoundary } from '../iam/permissions-boundary';
import { locatedField } from '../org/locate';
import { closest, editDistance } from '../org/schema';
import { grouped } from '../count';

/**
 * Source roles one unit of the source-identity family held before layouts (a
 * role and its managed policy each, beside the forwarder's two, inside
 * CloudFormation's 500 resources a template): now each role is a unit, and
 * this many of a source account a pack group, which a first compile packs as
 * one (family.ts).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
 */
export const SOURCE_ROLES_PER_TEMPLATE = 249;

/**
 * Repositories one unit of the source-repositories family held before layouts (a resource and an output each,
 * inside the 200 outputs of a template): now a pack group, the repositories a first compile packs as one.
 */
export const REPOSITORIES_PER_TEMPLATE = 200;

/**
 * Forwarding rules one unit of the source-events family held before layouts
 * (now each rule is a unit, and this many of a source account a pack group,
 * which a first compile packs as one; a part packs units of several source
 * accounts). All of an account's
 * rules are on its default bus whatever the units, so the quota of rules per
 * bus is checked per account (src/checks/eventbridge-quotas.ts), not here.
 * 300 is that quota's largest default (eb-quota.html: 300, 100 in af-south-1
 * and eu-south-1): an account the default admits is one group, and only a
 * raised quota splits one. It also keeps a group inside a template's bytes: a
 * rule with 5 targets, each with its dead-letter queue (src/cfn/dead-letter.ts),
 * is about 2.7 KB (3.1 KB with a 100-character repository and a 128-character
 * branch), so 300 of them about 0.8 MB (0.93 MB), inside the 1 MB of a
 * template from S3; with the longest names past the 850 KB a part takes
 * (family.ts), so such a group is a part alone. 450 made 1.2 MB (1.4 MB): a
 * compile that fails.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
 */
export const RULES_PER_TEMPLATE = 300;
const NONCURRENT_VERSION_DAYS = 30;
/** An execution's access logs are kept a year (an audit cycle); its artifacts as the org file says (Org.artifactRetentionDays). */
const ACCESS_LOG_DAYS = 365;

const uses = (stage: string, what: string): Use => ({ stage, what });

interface SourceAccountPlan {
  account: Account;
  repositories: string[];
  /** Pipeline accounts reading this account's repositories, in file order. */
  consumers: Account[];
  /** Pipeline account → the repositories of this account its pipelines read. */
  readBy: Map<string, string[]>;
  /** Pipeline account → the pipelines (org file names) reading this account's repositories there. */
  pipelinesIn: Map<string, string[]>;
  /** (repository, branch) → pipeline accounts tracking it. */
  tracked: Array<{ repository: string; branch: string; accounts: Account[] }>;
}

/** Logical ids of a source account's unit: suffixed with the account's id, which never changes (its name in the org file may). */
const inAccount = (source: Account) => (id: string) => `${id}In${source.id}`;

export function planStages(org: Org): Stage[] {
  const names = new Names(org.prefix, org.bucketGeneration);
  // Every role the templates create carries the org's boundary, if it has one: given to each family's unit before it
  // is measured for packing, and to the other stages' definitions at the end; the compile checks that none is left out.
  const bounded = (definition: TemplateDefinition) => withPermissionsBoundary(definition, org.permissionsBoundary);
  const pipelineAccounts = org.accounts.filter((a) => a.role === 'pipeline');
  const sources = planSources(org);
  const feeders = new Map<string, SourceAccountPlan[]>();
  for (const src of sources) for (const c of src.consumers) (feeders.get(c.id) ?? feeders.set(c.id, []).get(c.id)!).push(src);
  const artifacts = sharedArtifactFolders(org, names, feeders);
  const repositoriesOf = repositoriesByAccount(org);
  const stages: Stage[] = [];

  stages.push({
    id: stageId('pipeline-identity'),
    module: 'pipeline-identity',
    definition: pipelineIdentity({ names, cloudWatchAgent: org.deploymentTargets.cloudWatchAgent, existingInstanceRoles: Boolean(org.deploymentTargets.instanceRoles) }),
    targets: pipelineAccounts,
    accountValues: [],
    uses: [],
    notes: [],
  });

  // Logical ids named by the account, where two source accounts would hold the same (a role of each);
  // repositories and rules are named by what is unique in the org already, and keep their ids.
  const unit = (source: Account, definition: TemplateDefinition, more: Partial<Unit> = {}, ids: 'by account' | 'unique' = 'by account'): Unit => ({
    key: `account ${source.id}`,
    label: `source account ${source.name}`,
    conditionLabel: `Account ${source.name}`,
    accounts: [source],
    definition: bounded(definition),
    ...(ids === 'unique' ? {} : { renameIds: inAccount(source) }),
    uses: [],
    accountValues: [],
    notes: [],
    ...more,
  });

  // A unit a repository: one added never grows another unit, so none has to leave its part (a retained repository
  // cannot: src/deploy/moves.ts). Grouped as the units of up to 200 repositories xstack made before it kept layouts,
  // which a first compile packs as one.
  const layoutOf = (family: string) => org.layout?.get(family);
  stages.push(
    ...familyStages(
      { id: stageId('source-repositories'), module: 'source-repositories', description: 'xstack source-repositories: CodeCommit repositories of the source accounts' },
      madeInTurn(sources, (src) =>
        madeEach(repositoriesOf(src.account), (repository, i) =>
          unit(
            src.account,
            sourceRepositories([repository]),
            // Keyed by the name it was first deployed under: a renamed repository stays in its part (a StackSet), as its logical id stays.
            { key: `repository ${deployedName(repository)}`, label: `repository ${repository.name}${repository.renamedFrom ? ` (first deployed as ${repository.renamedFrom})` : ''}`, packGroup: `account ${src.account.id} ${Math.floor(i / REPOSITORIES_PER_TEMPLATE)}` },
            'unique',
          ),
        ),
      ),
      layoutOf('source-repositories'),
    ),
  );

  const identityUnits = madeInTurn(sources, (source) => {
    if (source.consumers.length === 0) return [];
    const s = source.account;
    const notes: string[] = [];
    const forwarding = chooseForm(org, s, notes, 'event forwarder policy', [
      // A managed policy (src/cfn/resources.ts role()): IAM's 6,144 characters.
      [forwarderPolicyChars(org, source.consumers), LIMITS.managedPolicyChars, 'characters of managed policy'],
    ]);
    // A unit the forwarder and one each source role: a pipeline account added, wherever in the file, grows no other
    // unit and shifts none. Grouped as the units of up to 249 roles (the forwarder in the first) xstack made before
    // it kept layouts, which a first compile packs as one.
    const group = (i: number) => `account ${s.id} source roles ${Math.floor(i / SOURCE_ROLES_PER_TEMPLATE)}`;
    return chained(
      [
        unit(s, sourceIdentity({ names, consumers: [], forwarding: { form: forwarding, busAccountIds: source.consumers.map((c) => c.id) } }), {
          key: `account ${s.id} event forwarder`,
          packGroup: group(0),
          notes,
        }),
      ],
      madeEach(source.consumers, (c, i) =>
        unit(s, sourceIdentity({ names, consumers: [[c.id, source.readBy.get(c.id) ?? [], artifacts.foldersIn(source, c.id)]] }), {
          key: `account ${s.id} source role ${c.id}`,
          label: `source role of ${c.name} in ${s.name}`,
          packGroup: group(i),
          uses: [uses('pipeline-identity', 'the pipeline roles its source roles trust')],
        }),
      ),
    );
  });
  // Each feeding source account's events dead-letter queue, a unit of its own, after every other unit of the family:
  // where no layout places units, those before it pack as they did before it existed.
  const deadLetterUnits = madeInTurn(sources, (source) =>
    source.consumers.length === 0
      ? []
      : [
          unit(source.account, sourceIdentity({ names, consumers: [], deadLetterQueue: true }), {
            key: `account ${source.account.id} events dead-letter queue`,
            label: `events dead-letter queue of source account ${source.account.name}`,
          }),
        ],
  );
  const identityStages = familyStages(
    {
      id: stageId('source-identity'),
      module: 'source-identity',
      description: 'xstack source-identity: cross-account source roles with their grants, the event forwarders and their dead-letter queues, of the source accounts',
    },
    chained(identityUnits, deadLetterUnits),
    layoutOf('source-identity'),
  );
  stages.push(...identityStages);
  /**
   * The source-identity stage holding a role (by its logical id), the first that holds it: found in an index of the
   * stages' logical ids made once, not by a search of the stages for each rule and pipeline (thousands at 250 teams).
   */
  const holderOf = new Map<string, string>();
  for (const st of identityStages) for (const id of Object.keys(st.definition.resources)) if (!holderOf.has(id)) holderOf.set(id, st.id);
  const holding = (logicalId: string) => {
    const id = holderOf.get(logicalId);
    if (id === undefined) throw new Error(`internal: no source-identity stage holds ${logicalId}`);
    return id;
  };
  const sourceRoleStage = (source: Account, consumer: Account) => holding(inAccount(source)(sourceRoleIds(consumer.id).role));
  const forwarderStage = (source: Account) => holding(inAccount(source)('EventForwarderRole'));
  const deadLetterStage = (source: Account) => holding(inAccount(source)(DEAD_LETTER_QUEUE_ID));

  /** The source accounts whose repositories a pipeline account's pipelines read, in file order. */
  const fedBy = (a: Account) => feeders.get(a.id) ?? [];
  for (const a of pipelineAccounts) {
    if (fedBy(a).length === 0) {
      throw new CompileError('ORG_INVALID', [
        `${locatedField(org.file, `accounts.${a.name}`)}: pipeline account runs no pipeline (no pipeline names environment '${a.environment}' in its branches); add one, or remove the account`,
      ]);
    }
  }
  const foundationSwitch = new AccountSwitch(pipelineAccounts);
  /** The pipeline accounts one source account alone feeds: the whole bucket is its. */
  const fedByOne = pipelineAccounts.filter((a) => !artifacts.shared(a.id));
  const feeds = sources.filter((src) => src.consumers.length > 0);
  stages.push({
    id: stageId('pipeline-foundation'),
    module: 'pipeline-foundation',
    definition: withConditions(foundationSwitch, () =>
      pipelineFoundation({
        names,
        executionRoleName: org.stackSets.executionRoleName,
        keyAdministratorRoles: org.keyAdministratorRoles,
        noncurrentVersionDays: NONCURRENT_VERSION_DAYS,
        artifactDays: org.artifactRetentionDays,
        accessLogDays: ACCESS_LOG_DAYS,
        sourcePrincipals: (arnOf) => feeds.map((src) => foundationSwitch.item(`FedBy ${src.account.name}`, src.consumers.map((c) => c.id), arnOf(src.account.id))),
        artifactWriters: {
          wholeBucket: (arnOf) =>
            feeds.flatMap((src) => {
              const alone = src.consumers.filter((c) => !artifacts.shared(c.id));
              if (alone.length === 0) return [];
              // Inside the statement kept where one source account feeds (wholeBucketItem): no condition again where
              // that is all of this one's, which cfn-lint reads as a branch never taken (W1028).
              return [alone.length === fedByOne.length ? arnOf(src.account.id) : foundationSwitch.item(`FedBy ${src.account.name}`, alone.map((c) => c.id), arnOf(src.account.id))];
            }),
          wholeBucketItem: <T,>(st: T) => foundationSwitch.item('FedBy one source account', fedByOne.map((a) => a.id), st),
          // One statement for each set of folders a source account writes in the accounts it shares (in each of them,
          // the folders of its pipelines there and no others: review s59-second-read m1).
          byFolder: feeds.flatMap((src) =>
            artifacts.folderSets(src).map(({ folders, accounts }, i) => ({
              sourceAccountId: src.account.id,
              sid: `Source${src.account.id}WritesOwnArtifacts${i === 0 ? '' : i + 1}`,
              folders,
              item: <T,>(st: T) => foundationSwitch.item(`FedBy ${src.account.name} beside others${i === 0 ? '' : ` ${i + 1}`}`, accounts, st),
            })),
          ),
        },
        deployTargetRoles: deployTargetRoles(org, names),
      }),
    ),
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
    uses: [
      uses('pipeline-identity', org.deploymentTargets.instanceRoles ? "this account's pipeline role" : "this account's pipeline and deployment-target roles"),
      ...identityStages.map((st) => uses(st.id, 'the source roles and event forwarders it names as principals')),
    ],
    notes: [...(org.keyAdministratorRoles.length === 0 ? [keyAdministratorNote(org.stackSets)] : []), ...[unsettledRegionNote(org.region)].filter((n) => n !== undefined)],
  });

  const eventUnits = madeInTurn(feeds, (source) => {
    const s = source.account;
    // A unit a rule, named by its repository, branch and chunk of targets: a branch tracked anew adds a rule and
    // shifts none. Grouped as the units of up to 300 rules xstack made before it kept layouts, for a first compile.
    return madeEach(
      forwardingRules(source),
      (rule, i): Unit => ({
        key: `rule ${names.forwardingRule(rule.repository, rule.branch, rule.chunk)}`,
        packGroup: `account ${s.id} rules ${Math.floor(i / RULES_PER_TEMPLATE)}`,
        label: `rules of source account ${s.name}`,
        conditionLabel: `Account ${s.name}`,
        accounts: [s],
        // Rules are named by repository and branch, unique in the org: their logical ids need no account.
        definition: bounded(sourceEvents(names, [rule])),
        uses: [
          uses(forwarderStage(s), 'the event forwarder role its rules deliver with'),
          uses(deadLetterStage(s), 'the dead-letter queue its rules name'),
          // After the pipeline accounts' bus policy that admits the forwarder: AWS's cross-account procedure sets the
          // receiver's permission first ("On the receiver account, edit the permissions on an event bus … On the sender
          // account, set up one or more rules that have the receiver account's event bus as the target",
          // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html), and EventBridge is said to
          // check the target bus's policy when a rule's target is put (aws-cdk's events Rule deploys the bus policy in a
          // stack the rule's depends on; review s16-events M1).
          uses(stageId('pipeline-foundation'), "the pipeline accounts' bus policy admitting its forwarder"),
        ],
        accountValues: [],
        notes: [],
      }),
    );
  });
  stages.push(...familyStages({ id: stageId('source-events'), module: 'source-events', description: 'xstack source-events: forwards CodeCommit branch events from the source accounts to the pipeline accounts' }, eventUnits, layoutOf('source-events')));

  stages.push(...accessStages(org, names, unit, repositoriesOf));

  const pipelineUnits = madeInTurn(org.pipelines, (p): Unit[] => {
    const repository = repositoryByName(org, p.repository);
    const source = accountByName(org, repository.account);
    const targets = p.branches.map(([environment]) => accountOfEnvironment(org, environment));
    const sw = new AccountSwitch(targets);
    const branch: AccountValue = {
      name: `${p.name} branch`,
      byAccount: new Map(p.branches.map(([environment, b]) => [accountOfEnvironment(org, environment).id, { value: b, origin: `pipelines.${p.name}.branches.${environment}` }])),
    };
    const environment: AccountValue = {
      name: `${p.name} environment`,
      byAccount: new Map(targets.map((a) => [a.id, { value: a.environment!, origin: `accounts.${a.name}.environment` }])),
    };
    const valuesOf = (v: AccountValue) => new Map([...v.byAccount].map(([id, x]) => [id, x.value]));
    // logicalId(p.name, id), its first part made once for all the pipeline's resources.
    const pipelineIds = logicalId(p.name);
    const definition = withConditions(sw, () =>
      pipeline({
        names,
        pipeline: p,
        sourceAccountId: source.id,
        branch: sw.value(`${p.name} Branch`, valuesOf(branch)),
        environment: sw.value(`${p.name} Environment`, valuesOf(environment)),
        applicationTagGroup: (group) => {
          const shared = p.deploy.sharedEnvironments;
          return shared ? sw.item(`${p.name} Shares`, targets.filter((a) => shared.includes(a.environment!)).map((a) => a.id), group) : group;
        },
      }),
    );
    return [
      {
        key: `pipeline ${p.name}`,
        label: `pipeline ${p.name}`,
        locate: () => locatedField(org.file, `pipelines.${p.name}`),
        conditionLabel: `Runs ${p.name}`,
        accounts: targets,
        // A pipeline's name is unique in the org: its resources' logical ids start with it.
        definition: bounded(definition),
        renameIds: (id) => pipelineIds + logicalId(id),
        accountValues: [branch, environment].filter((v) => new Set(valuesOf(v).values()).size > 1),
        uses: [
          uses('pipeline-identity', "this account's pipeline role"),
          uses('pipeline-foundation', "this account's artifact bucket and the key it exports"),
          ...[...new Set(targets.map((a) => sourceRoleStage(source, a)))].map((id) => uses(id, 'the source role its source action assumes')),
        ],
        notes: p.deploy.applicationTagDefaulted ? [applicationTagNote(p)] : [],
      },
    ];
  });
  stages.push(...familyStages({ id: stageId('pipelines'), module: 'pipeline', description: 'xstack pipelines: each pipeline, its deploy stage and trigger, in the pipeline accounts of its environments' }, pipelineUnits, layoutOf('pipelines')));
  // A family's parts are made of units bounded already.
  return stages.map((stage) => (stage.placement ? stage : { ...stage, definition: bounded(stage.definition) }));
}

/** The deployment targets' instance roles of every pipeline account: xstack's own, or the existing ones the org file names. */
export const deployTargetRoles = (org: Org, names: Names): readonly string[] => org.deploymentTargets.instanceRoles ?? [names.deployTargetRole()];

/** A template made with a switch, with the conditions its choices need. */
function withConditions(sw: AccountSwitch, make: () => TemplateDefinition): TemplateDefinition {
  const definition = make();
  const conditions = sw.section();
  return Object.keys(conditions).length > 0 ? { ...definition, conditions } : definition;
}

/** Developer and CI access (seed 000): only when the org file has an `access` section. */
function accessStages(
  org: Org,
  names: Names,
  unit: (source: Account, definition: TemplateDefinition, more?: Partial<Unit>) => Unit,
  repositoriesOf: (account: Account) => readonly Repository[],
): Stage[] {
  const { developers, ci } = org.access;
  if (!developers && !ci) return [];
  const sources = org.accounts.filter((a) => a.role === 'source');
  const repositoryNames = (a: Account) => repositoriesOf(a).map((r) => r.name);
  const stages: Stage[] = [];
  const ciAccount = ci ? accountByName(org, ci.account) : undefined;
  if (ci && ciAccount) {
    const byOrganization = ciByOrganization(org, names, sources);
    const sourceCount = () => grouped(sources.length);
    const missing = [
      ...(byOrganization.identity.byOrganization && !org.organizationId
        ? [
            organizationIdNeeded(org, 'access.ci', `the CI role's policy letting it assume ${names.ciReaderRole()} in each of the ${sourceCount()} source accounts (ci-identity)`, byOrganization.identity.chars, managedPolicyShare(), 'it names them all at once (aws:ResourceOrgID)'),
          ]
        : []),
      ...(byOrganization.network?.byOrganization && !org.organizationId
        ? [
            organizationIdNeeded(org, 'access.ci.network', `the CI network's CodeCommit endpoint policies admitting ${names.ciReaderRole()} of each of the ${sourceCount()} source accounts (ci-network)`, byOrganization.network.chars, endpointShare(byOrganization.network.limit), 'they admit them all at once (aws:PrincipalOrgID)'),
          ]
        : []),
    ];
    if (missing.length > 0) throw new CompileError('ORG_INVALID', missing);
    const inOrganization = org.organizationId ? { organizationId: org.organizationId } : undefined;
    stages.push({
      id: stageId('ci-identity'),
      module: 'ci-identity',
      definition: ciIdentity(names, sources.map((s) => s.id), ci.runtime, { isolated: ci.network !== undefined && !ci.network.nat, network: ci.network !== undefined }, { partition: org.partition, ...(org.organizationId ? { id: org.organizationId } : {}) }),
      targets: [ciAccount],
      accountValues: [],
      uses: [],
      notes: byOrganization.identity.byOrganization
        ? [`the CI role's policy: each source account's ${names.ciReaderRole()} by its ARN would take about ${grouped(byOrganization.identity.chars)} characters, over ${managedPolicyShare()}; it names ${names.ciReaderRole()} in any account of organization ${org.organizationId} instead (aws:ResourceOrgID), still with its other conditions`]
        : [],
    });
    if (ci.network) {
      const repositories = sources.map((s) => [s.id, repositoryNames(s)] as const);
      const { scope, chars, limit } = codeCommitEndpointScope({ repositories }, names.ciReaderRole(), org);
      const readersByOrganization = byOrganization.network?.byOrganization ? inOrganization : undefined;
      const definition = ciNetwork({
        names,
        network: ci.network,
        // aws-cn is refused (no CodePipeline there), where only some services' names take `cn.com.amazonaws` (review s24-ci m1).
        endpointServicePrefix: 'com.amazonaws',
        fipsEndpoints: usesFipsCodeCommit(org.partition),
        repositories,
        repositoryScope: scope,
        ...(readersByOrganization ? { readersByOrganization } : {}),
        ciRuntime: ci.runtime.kind,
      });
      const room = subnetRoomNote(ci.network, definition);
      stages.push({
        id: stageId('ci-network'),
        module: 'ci-network',
        definition,
        targets: [ciAccount],
        accountValues: [],
        uses: [],
        notes: [
          ...(scope === 'accounts'
            ? [`CodeCommit endpoint policies: each repository by name would take about ${grouped(chars)} characters (the compile allows ${grouped(limit)} of a VPC endpoint policy's ${grouped(RESOURCE_POLICY_LIMITS.endpoint.limit)}); they name every repository of each source account instead (codecommit:<region>:<account>:*), still for the org's CI reader roles only, whose own policies name each repository`]
            : []),
          ...(readersByOrganization && byOrganization.network
            ? [`CI endpoint policies: each source account's id and ${names.ciReaderRole()} would take about ${grouped(byOrganization.network.chars)} characters, over ${endpointShare(byOrganization.network.limit)}; they admit ${names.ciReaderRole()} of any account of organization ${readersByOrganization.organizationId} instead (aws:PrincipalOrgID on the CodeCommit endpoints, aws:ResourceOrgID on the STS endpoint)`]
            : []),
          ...(room ? [room] : []),
          ...(ci.runtime.kind === 'eks-pod-identity' ? [EKS_IN_NETWORK_NOTE] : []),
        ],
      });
    }
  }
  // The same for every source account: made once.
  const developerAccess = developers && {
    ...developers,
    sourceAccountIds: developers.assumedBy.map((r) => accountByName(org, r.account).id),
    maintainerAccountIds: developers.maintainers.map((r) => accountByName(org, r.account).id),
  };
  const units = madeInTurn(sources, (s) => [
    unit(
      s,
      accessRoles({
        names,
        repositories: repositoryNames(s),
        developers: developerAccess,
        ...(ci && ciAccount ? { ci: { accountId: ciAccount.id, runtime: ci.runtime.kind } } : {}),
      }),
      {
        uses: ciAccount ? [uses('ci-identity', 'the CI role its CI reader role trusts')] : [],
        // Said once, with the first source account's roles, not once per source account.
        notes:
          s === sources[0] && developers
            ? [...(developers.protectedBranches.length === 0 ? [unprotectedBranchesNote(org)] : unprotectedReleaseNotes(org, developers.protectedBranches)), ...federatedSourcesNote(developers)]
            : [],
      },
    ),
  ]);
  stages.push(...familyStages({ id: stageId('access-roles'), module: 'access-roles', description: "xstack access-roles: developer and CI roles for the source accounts' CodeCommit repositories" }, units, org.layout?.get('access-roles')));
  if (developers) stages.push(accessCallersStage(org, names, developers, sources));
  return stages;
}

/** The share of a managed policy's size past which a policy naming a role in each source account names it by the organization (namedByOrganization). */
const managedPolicyShare = () => `90 % of IAM's ${grouped(LIMITS.managedPolicyChars)} for a managed policy`;
const endpointShare = (limit: number) => `the ${grouped(limit)} the compile allows of a VPC endpoint policy's ${grouped(RESOURCE_POLICY_LIMITS.endpoint.limit)} characters`;

/**
 * A policy that would name each source account's role past its size, in an org file without organization.id: `field`
 * says whose, and with the id the policy names them all at once (`how`).
 */
const organizationIdNeeded = (org: Org, field: string, what: string, chars: number, over: string, how: string) =>
  `${locatedField(org.file, field)}: ${what} would take about ${grouped(chars)} characters, over ${over}; with the organization's id ${how}: expected organization.id (aws organizations describe-organization)`;

/**
 * Whether the CI's policies name the source accounts' reader roles by the organization: the CI role's own
 * (templates/ci-identity.ts ciReadersByOrganization) and, with a CI network, its endpoints' (templates/ci-network.ts
 * ciEndpointPrincipals); each with the size its per-account form would take.
 */
function ciByOrganization(org: Org, names: Names, sources: readonly Account[]) {
  const ids = sources.map((s) => s.id);
  return {
    identity: ciReadersByOrganization(names, org.partition, ids),
    network: org.access.ci?.network ? ciEndpointPrincipals(ids, names.ciReaderRole(), org) : undefined,
  };
}

/**
 * The caller's side of the developers' and maintainers' path (templates/access-callers.ts): one StackSet, in each
 * account that holds their roles, its policies each where its roles are (an AccountSwitch condition otherwise).
 */
function accessCallersStage(org: Org, names: Names, developers: DeveloperAccess, sources: readonly Account[]): Stage {
  const kinds = [['developer', developers.assumedBy, 'assumedBy'], ['maintainer', developers.maintainers, 'maintainers']] as const;
  // One policy for each kind of role, in the accounts of its sources; the sources that name transitive session tags
  // get sts:TagSession in it, for their roles only.
  const wanted = kinds.flatMap(([role, roleSources]) =>
    roleSources.length === 0
      ? []
      : [
          {
            role,
            homes: [...new Set(roleSources.map((r) => accountByName(org, r.account).id))],
            tagged: roleSources.filter((r) => r.transitiveTagKeys.length > 0).map((source) => ({ source, accountId: accountByName(org, source.account).id })),
          },
        ],
  );
  const targets = org.accounts.filter((a) => wanted.some((w) => w.homes.includes(a.id)));
  const sourceAccountIds = sources.map((s) => s.id);
  // Each switch to the org-scoped form said, as ci-identity's is (README, "Many accounts").
  const notes: string[] = [];
  for (const [role, roleSources, field] of kinds) {
    if (roleSources.length === 0) continue;
    const roleName = role === 'developer' ? names.developerRole() : names.maintainerRole();
    const { byOrganization, chars } = namedByOrganization(roleName, { partition: org.partition, sourceAccountIds });
    if (byOrganization && !org.organizationId) {
      throw new CompileError('ORG_INVALID', [
        organizationIdNeeded(org, `access.developers.${field}`, `the policy letting these roles assume ${roleName} in each of the ${sourceAccountIds.length} source accounts (access-callers)`, chars, managedPolicyShare(), 'it names them all at once (aws:ResourceOrgID)'),
      ]);
    }
    if (byOrganization) {
      notes.push(`the policy letting the roles access.developers.${field} names assume ${roleName}: each of the ${sourceAccountIds.length} source accounts' ${roleName} by its ARN would take about ${grouped(chars)} characters, over ${managedPolicyShare()}; it names ${roleName} in any account of organization ${org.organizationId} instead (aws:ResourceOrgID)`);
    }
  }
  const sw = new AccountSwitch(targets);
  return {
    id: stageId('access-callers'),
    module: 'access-callers',
    definition: withConditions(sw, () =>
      accessCallers({
        names,
        partition: org.partition,
        sourceAccountIds,
        ...(org.organizationId ? { organizationId: org.organizationId } : {}),
        policies: wanted.map(({ role, homes, tagged }) => {
          const condition = sw.when(role === 'developer' ? 'Developers' : 'Maintainers', homes);
          return { role, tagged, ...(condition ? { condition } : {}) };
        }),
      }),
    ),
    targets,
    accountValues: [],
    uses: [],
    notes,
  };
}

/**
 * A CI network with the CI on EKS Pod Identity (with IRSA it is refused by the loader): it serves the cluster's nodes placed in
 * its subnets, where its STS endpoint, with private DNS, takes every STS call ("resolves to the private IP addresses of
 * the endpoint network interfaces in the VPC", CreateVpcEndpoint PrivateDnsEnabled,
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html) and admits only the CI role
 * assuming the reader roles (templates/ci-network.ts): any other workload's STS call there is refused (review s24-ci M1).
 */
const EKS_IN_NETWORK_NOTE = `access.ci.network with access.ci.eks (pod-identity): the network serves the cluster's nodes only if they run in its subnets, where its STS endpoint takes every STS call and admits only the CI role assuming the reader roles: any other workload there that calls STS (an add-on with IRSA, such as the VPC CNI, the EBS CSI driver or the load balancer controller, which call AssumeRoleWithWebIdentity) is refused; run those with EKS Pod Identity, or keep the cluster's nodes in a VPC of their own and leave access.ci.network out (its NAT gateway and endpoints then serve nothing)`;

/** A pipeline whose deployment group selects by the application's tag because it shares an account (src/org/load.ts withApplicationTags): said, as its instances need the tag. */
function applicationTagNote(p: Pipeline): string {
  const shared = p.deploy.sharedEnvironments ?? [];
  const alone = p.branches.map(([environment]) => environment).filter((e) => !shared.includes(e));
  return (
    `pipelines.${p.name}: shares a pipeline account with another pipeline in ${shared.join(', ')}, so its deployment group there selects the instances tagged ${p.deploy.ec2TagKey}=<environment> and ${p.deploy.applicationTagKey}=${p.name} (the environment's tag alone would also select the other's servers, and CodeDeploy deploys to every instance a tag group selects); tag its instances there so, or name the key with deploy.applicationTagKey` +
    (alone.length > 0 ? ` (which then applies in every environment); in ${alone.join(', ')}, where it is alone, it selects by ${p.deploy.ec2TagKey}=<environment> only` : '')
  );
}

/** Developers without protectedBranches may write to every branch, the ones the pipelines deploy from too: said, as it is allowed. */
/**
 * Roles assumed through SAML or OIDC federation: an identity provider may mark session tags transitive
 * ("Incoming transitive session tags – The tags inherited from a previous session in a role chain", set by the
 * TransitiveTagKeys SAML attribute or OIDC claim, https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html),
 * and a chained AssumeRole carrying them needs sts:TagSession, which the people roles' trusts do not grant (README,
 * "Not yet"). Said, so that a first clone refused for it is not a surprise (review s27-access M1).
 */
function federatedSourcesNote(developers: NonNullable<Org['access']['developers']>): string[] {
  const federated = [...developers.assumedBy.map((r) => ['assumedBy', r] as const), ...developers.maintainers.map((r) => ['maintainers', r] as const)].filter(([, r]) => r.federated && r.transitiveTagKeys.length === 0);
  if (federated.length === 0) return [];
  const named = federated.map(([list, r]) => `${list}: ${r.roleNames.join(', ')} in ${r.account}`).join('; ');
  return [
    `federated roles (${named}): if their identity provider marks session tags transitive (TransitiveTagKeys), the developer and maintainer roles refuse the chained AssumeRole, as their trusts grant sts:TagSession only for the keys a role source's transitiveTagKeys names, and these name none; name them there, or check one first clone (the README's "Not yet" on session tags)`,
  ];
}

function unprotectedBranchesNote(org: Org): string {
  const deployed = [...new Set(org.pipelines.flatMap((p) => p.branches.map(([, branch]) => branch)))];
  return `access.developers.protectedBranches is empty: the developer role may push to, merge into and delete every branch, those the pipelines deploy from too (${deployed.join(', ')}); name the branches only reviewed changes may reach there`;
}

/**
 * With protected branches, a pipeline whose later environments (staging, prod: all but its first) deploy from a branch
 * that is not protected: every developer may push what they deploy, past review and the maintainers. Said, as it is
 * allowed (a team may mean it), once per pipeline.
 */
function unprotectedReleaseNotes(org: Org, protectedBranches: readonly string[]): string[] {
  // The protected branches no pipeline deploys from: each a possible typo of an unprotected one (below).
  const deployed = new Set(org.pipelines.flatMap((p) => p.branches.map(([, branch]) => branch)));
  const unused = protectedBranches.filter((b) => !deployed.has(b));
  return org.pipelines.flatMap((p) => {
    const open = p.branches.slice(1).filter(([, branch]) => !protectedBranches.includes(branch));
    if (open.length === 0) return [];
    const which = open.map(([environment, branch]) => `${environment} from ${branch}`).join(', ');
    // A protected branch no pipeline deploys from, a letter or two off one that is not protected: most likely a typo (review s50-input m10).
    const typos = unused.flatMap((b) => {
      const meant = closest(b, [...new Set(open.map(([, branch]) => branch))]);
      return meant && editDistance(b, meant) <= 2 ? [`protectedBranches names '${b}', which no pipeline deploys from: did you mean '${meant}'?`] : [];
    });
    return [`pipelines.${p.name}: ${which}, which access.developers.protectedBranches does not name: every developer may push what ${open.length === 1 ? 'it deploys' : 'they deploy'}, without review or a maintainer; protect the branch, or deploy from a protected one${typos.length > 0 ? ` (${typos.join('; ')})` : ''}`];
  });
}

/** An account's repositories, in the org file's order: grouped once, not filtered from every repository for each source account. */
function repositoriesByAccount(org: Org): (account: Account) => readonly Repository[] {
  const groups = groupBy(org.repositories, (r) => r.account);
  return (account) => groups.get(account.name) ?? [];
}

/**
 * Where several source accounts feed one pipeline account, each one's source role may reach only its own pipelines'
 * artifacts there (review s59-proof M1): both sides of a cross-account request must allow it
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html), so the
 * bucket policy and the source role each name its pipelines' artifact folders (naming.ts artifactFolder), not every
 * object. `shared`: whether a pipeline account is fed by several; `foldersIn`: a source account's folders in one such
 * account (undefined where it alone feeds it: the whole bucket is its own); `folderSets`: the accounts it shares,
 * grouped by its folders there, each group a bucket-policy statement of the source account. Two pipelines of
 * different source accounts in one pipeline account whose folders are the same are a compile error: a folder is the
 * first 20 characters of a pipeline's name, and the org file chooses those.
 */
function sharedArtifactFolders(org: Org, names: Names, feeders: ReadonlyMap<string, readonly SourceAccountPlan[]>) {
  const shared = (pipelineAccountId: string) => (feeders.get(pipelineAccountId)?.length ?? 0) > 1;
  const foldersIn = (source: SourceAccountPlan, pipelineAccountId: string): string[] | undefined =>
    shared(pipelineAccountId) ? [...new Set((source.pipelinesIn.get(pipelineAccountId) ?? []).map((p) => artifactFolder(names.pipeline(p))))] : undefined;
  const folderSets = (source: SourceAccountPlan): Array<{ folders: string[]; accounts: string[] }> => {
    const sets = new Map<string, { folders: string[]; accounts: string[] }>();
    for (const c of source.consumers) {
      const folders = foldersIn(source, c.id);
      if (!folders) continue;
      const key = folders.join('\u0000');
      (sets.get(key) ?? sets.set(key, { folders, accounts: [] }).get(key)!).accounts.push(c.id);
    }
    return [...sets.values()];
  };
  const clashes: string[] = [];
  for (const [account, feeding] of feeders) {
    if (feeding.length < 2) continue;
    for (const x of feeding) {
      const reached = new Set(foldersIn(x, account));
      for (const y of feeding) {
        if (y === x) continue;
        for (const p of y.pipelinesIn.get(account) ?? []) {
          const folder = artifactFolder(names.pipeline(p));
          if (!reached.has(folder)) continue;
          const other = (x.pipelinesIn.get(account) ?? []).find((q) => artifactFolder(names.pipeline(q)) === folder)!;
          const pipelineAccount = org.accounts.find((a) => a.id === account)!;
          clashes.push(
            `${locatedField(org.file, `pipelines.${p}`)}: pipeline ${names.pipeline(p)} (repository in ${y.account.name}) keeps its artifacts in folder '${folder}' of ${pipelineAccount.name}'s artifact bucket, as does ${names.pipeline(other)} (repository in ${x.account.name}): ` +
              `CodePipeline names the folder after the first 20 characters of a pipeline's name, so ${x.account.name}'s source role, which may write its own pipelines' folders there, would reach ${p}'s artifacts; expected pipeline names that differ in their first ${20 - names.pipeline('').length} characters (after '${names.pipeline('')}')`,
          );
        }
      }
    }
  }
  if (clashes.length > 0) throw new CompileError('ORG_INVALID', [...new Set(clashes)]);
  return { shared, foldersIn, folderSets };
}

function planSources(org: Org): SourceAccountPlan[] {
  const accountOfRepository = new Map(org.repositories.map((r) => [r.name, r.account]));
  const position = new Map(org.accounts.map((a, i) => [a.id, i]));
  const repositoriesOf = groupBy(org.repositories, (r) => r.account);
  const pipelinesOf = groupBy(org.pipelines, (p) => accountOfRepository.get(p.repository));
  return org.accounts
    .filter((a) => a.role === 'source')
    .map((account) => {
      const repositories = (repositoriesOf.get(account.name) ?? []).map((r) => r.name);
      const consumers = new Map<string, Account>();
      const readBy = new Map<string, string[]>();
      const pipelinesIn = new Map<string, string[]>();
      const tracked = new Map<string, { repository: string; branch: string; accounts: Account[] }>();
      for (const p of pipelinesOf.get(account.name) ?? []) {
        for (const [environment, branch] of p.branches) {
          const target = accountOfEnvironment(org, environment);
          consumers.set(target.id, target);
          const read = readBy.get(target.id) ?? readBy.set(target.id, []).get(target.id)!;
          if (!read.includes(p.repository)) read.push(p.repository);
          const running = pipelinesIn.get(target.id) ?? pipelinesIn.set(target.id, []).get(target.id)!;
          if (!running.includes(p.name)) running.push(p.name);
          const key = `${p.repository}\u0000${branch}`;
          const entry = tracked.get(key) ?? { repository: p.repository, branch, accounts: [] };
          if (!entry.accounts.includes(target)) entry.accounts.push(target);
          tracked.set(key, entry);
        }
      }
      const trackedRepositories = new Set([...tracked.values()].map((t) => t.repository));
      return {
        account,
        repositories: repositories.filter((r) => trackedRepositories.has(r)),
        consumers: [...consumers.values()].sort((a, b) => position.get(a.id)! - position.get(b.id)!),
        readBy,
        pipelinesIn,
        tracked: [...tracked.values()],
      };
    });
}

/**
 * The units `make` makes of each item, each made when a family reads it:
 * familyStages renders a unit before it reads the next, so that a unit's
 * definition is garbage once rendered instead of living until all are made.
 * `make` gives an item's units as madeEach does where it makes many (a source
 * account's roles, rules or repositories), not as a list made at once.
 */
function* madeInTurn<T, U>(items: Iterable<T>, make: (item: T) => Iterable<U>): Generator<U> {
  for (const item of items) yield* make(item);
}

/** `make` of each item in turn, each made when read: a list's units made one at a time, not all before the first is rendered. */
function* madeEach<T, U>(items: readonly T[], make: (item: T, index: number) => U): Generator<U> {
  for (let i = 0; i < items.length; i++) yield make(items[i], i);
}

/** The items of each iterable in turn. */
function* chained<T>(...lists: Iterable<T>[]): Generator<T> {
  for (const list of lists) yield* list;
}

/** Items by key, each group in the items' order. */
function groupBy<T, K>(items: readonly T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
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

/** The event forwarder's policy naming each pipeline account's bus, measured as chooseForm reads it. */
const forwarderPolicyChars = (org: Org, consumers: readonly Account[]) =>
  policyChars({ Statement: [{ Action: 'events:PutEvents', Resource: consumers.map((c) => `arn:${org.partition}:events:${org.region}:${c.id}:event-bus/default`) }] }) + 100;

/** A policy a compile of the org holds to the organization (aws:ResourceOrgID) instead of naming accounts, and the accounts it reaches. */
export interface OrganizationHeldPolicy {
  what: string;
  /** The accounts whose resources the policy reaches: each must be a member of the organization, or nothing there is allowed. */
  accounts: readonly Account[];
}

/**
 * The policies `org` compiles in their org-scoped form (aws:ResourceOrgID), which "is included in the request context
 * only if the account that owns the resource is a member of an organization"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceorgid):
 * the event forwarder's PutEvents on the pipeline accounts' buses, the callers' AssumeRole of the source accounts'
 * developer and maintainer roles, and the CI's of their CI reader roles (its role's policy; its network's endpoints, by
 * aws:PrincipalOrgID too, "only if the principal is a member of an organization", the same page). A SELF_MANAGED org
 * may target accounts outside the organization, where such a policy allows nothing; bootstrap, which reads the
 * organization's accounts, names them (review s39-readme, the helper's note on the forwarder).
 */
export function organizationHeldPolicies(org: Org): OrganizationHeldPolicy[] {
  if (!org.organizationId) return [];
  const names = new Names(org.prefix, org.bucketGeneration);
  const forwarders = planSources(org)
    .filter((s) => s.consumers.length > 0 && forwarderPolicyChars(org, s.consumers) > LIMITS.managedPolicyChars)
    .map((s) => ({ what: `the event forwarder of source account ${s.account.name} (events:PutEvents on the pipeline accounts' buses)`, accounts: s.consumers }));
  const developers = org.access.developers;
  const sources = org.accounts.filter((a) => a.role === 'source');
  const callers = !developers
    ? []
    : ([['developer', developers.assumedBy, names.developerRole()], ['maintainer', developers.maintainers, names.maintainerRole()]] as const)
        .filter(([, roleSources, roleName]) => roleSources.length > 0 && namedByOrganization(roleName, { partition: org.partition, sourceAccountIds: sources.map((s) => s.id) }).byOrganization)
        .map(([role, , roleName]) => ({ what: `the ${role}s' policy (access-callers: sts:AssumeRole of ${roleName} in the source accounts)`, accounts: sources }));
  const ci = org.access.ci ? ciByOrganization(org, names, sources) : undefined;
  const ciPolicies = [
    ...(ci?.identity.byOrganization ? [{ what: `the CI role's policy (ci-identity: sts:AssumeRole of ${names.ciReaderRole()} in the source accounts)`, accounts: sources }] : []),
    ...(ci?.network?.byOrganization ? [{ what: `the CI network's endpoint policies (ci-network: ${names.ciReaderRole()} of the source accounts, by aws:PrincipalOrgID and aws:ResourceOrgID)`, accounts: sources }] : []),
  ];
  return [...forwarders, ...callers, ...ciPolicies];
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
      `${locatedField(org.file, `accounts.${account.name}`)}: source account '${account.name}': the explicit ${what} would need ${why}.`,
      `Set organization.id so that xstack can use the org-scoped form (aws:PrincipalOrgID / aws:ResourceOrgID conditions), or split the pipelines over more source accounts.`,
    ]);
  }
  notes.push(`${what}: explicit form would need ${why}; using the org-scoped form (organization ${org.organizationId})`);
  return { kind: 'organization', organizationId: org.organizationId };
}

/**
 * How many addresses each CI subnet leaves for CI hosts (and, on EKS, pods), said when it is few: "AWS reserves
 * both the first four and the last IPv4 address in each subnet's CIDR block"
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html), and an interface endpoint has a network
 * interface, so an address, in each of its subnets (https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html).
 * A note, not an error: a small block is valid, and enough for a few CI hosts (review s17-templates m3).
 */
const AWS_RESERVED_SUBNET_ADDRESSES = 5;
/** Below this many addresses a subnet's room is said; a /20 network (/24 subnets) leaves 240-odd. */
const ROOMY_SUBNET_ADDRESSES = 64;
const ROOMY_CIDR_BITS = 20;

function subnetRoomNote(network: CiNetwork, definition: TemplateDefinition): string | undefined {
  const bits = Number(network.cidr.split('/')[1]) + CI_SUBNET_EXTRA_BITS;
  const addresses = 2 ** (32 - bits);
  const endpoints = Object.values(definition.resources).filter((r) => r.Type === 'AWS::EC2::VPCEndpoint' && (r.Properties as { VpcEndpointType?: string }).VpcEndpointType === 'Interface').length;
  const left = addresses - AWS_RESERVED_SUBNET_ADDRESSES - endpoints;
  if (left >= ROOMY_SUBNET_ADDRESSES) return undefined;
  return (
    `each CI subnet is a /${bits} (the network's ${network.cidr} split four bits further): of its ${addresses} addresses AWS reserves ${AWS_RESERVED_SUBNET_ADDRESSES} and the ` +
    `${endpoints} interface endpoints take one each, leaving ${left} for CI hosts (on EKS, each pod takes one too) in each zone; a /${ROOMY_CIDR_BITS} or larger cidr leaves ${2 ** (32 - ROOMY_CIDR_BITS - CI_SUBNET_EXTRA_BITS) - AWS_RESERVED_SUBNET_ADDRESSES - endpoints}`
  );
}

/**
 * An org without keyAdministratorRoles leaves the StackSet execution role the
 * artifact keys' only administrator: the key policy admits the account's root
 * only for the named roles, so renaming or deleting that role, or a move to
 * SERVICE_MANAGED (whose execution role AWS names), leaves every key with no
 * one to change its policy. KMS key policies grant nothing on their own, and
 * the account statement "reduces the risk of the KMS key becoming
 * unmanageable" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
 * A note, not an error: the org is valid as written (review m12).
 */
function keyAdministratorNote(stackSets: Org['stackSets']): string {
  const change = stackSets.permissionModel === 'SERVICE_MANAGED' ? 'leaving SERVICE_MANAGED' : 'renaming or deleting it, or moving to SERVICE_MANAGED,';
  return `keyAdministratorRoles is empty: the StackSet execution role (${stackSets.executionRoleName}) is the only administrator of every artifact key, so ${change} leaves the keys unmanageable (only AWS Support can restore access); name a break-glass role there`;
}
