/**
 * "Release control": for each pipeline and environment, the branch it deploys, whether that branch is protected, who
 * may write it and who may start or change the pipeline (review s18-audit M2 a). Who may write is asked of the access
 * proof's evaluator: each principal the reach tables find with codecommit:GitPush on the repository is asked a push to
 * that branch (`codecommit:References` = `refs/heads/<branch>`), so a Deny on protected branches is read from the
 * compiled policy, not restated; who may act as that principal is its role's "assume" rows of the same tables.
 */
import { accountByName, accountOfEnvironment, repositoryByName, type Org } from '../org/model';
import { Names } from '../naming';
import { listIn, madeOnce } from '../memo';
import { isBranchWrite } from '../services/needs';
import { evaluate, matches } from './evaluate';
import type { ResolvedStatement } from './grants';
import type { AccessAnalysis } from './paths';
import type { ReachEntry } from './reach';
import type { ReportInput, Section } from './report';
import { ACCOUNTS_LISTED, mergeAccountRows, teamsToFold, type TeamFold } from './scale';

const GIT_PUSH = 'codecommit:GitPush';
/**
 * What starts a run, or changes what a run builds. A V2 pipeline (templates/pipeline.ts makes every pipeline V2) takes
 * a source revision override on StartPipelineExecution, and "for the COMMIT_ID … the source revision ID applies to all
 * content in the repository, across all branches":
 * https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-trigger-source-overrides.html
 */
const PIPELINE_CONTROL = ['codepipeline:StartPipelineExecution', 'codepipeline:UpdatePipeline'];

export interface ReleaseInput {
  org: Org;
  access: AccessAnalysis;
  reach: readonly ReachEntry[];
  executionRole: ReportInput['executionRole'];
  /** A statement as the report names it (stage: Sid). */
  label: (g: ResolvedStatement) => string;
  fold: TeamFold | undefined;
  /** The proof's class of a pipeline account (its token stands for its id in the statements), when proved by class. */
  classOf: (account: string) => string | undefined;
}

export function releaseControlSection(input: ReleaseInput): Section {
  const { org, fold } = input;
  const names = new Names(org.prefix, org.bucketGeneration);
  const protectedBranches = org.access.developers?.protectedBranches ?? [];
  const writers = writersOf(input);
  const starters = startersOf(input);
  const many = org.accounts.filter((a) => a.role === 'pipeline').length > ACCOUNTS_LISTED;
  // Many accounts and no teams: an account by its id alone, so that the environments deploying one branch are one row
  // (an org of teams names each, which folds to {team}-prod, whether or not this report folds by team).
  const byId = many && !fold && teamsToFold(org) === undefined;
  const items = org.pipelines.flatMap((p) => {
    const repository = repositoryByName(org, p.repository);
    const source = accountByName(org, repository.account);
    return p.branches.map(([environment, branch], i) => ({ p, source, account: accountOfEnvironment(org, environment), branch, later: i > 0 }));
  });
  const rows = mergeAccountRows(items, ({ p, source, account, branch, later }) => {
    const repositoryArn = `arn:${org.partition}:codecommit:${org.region}:${source.id}:${p.repository}`;
    const ref = input.classOf(account.id) ?? account.id;
    const pipelineArn = `arn:${org.partition}:codepipeline:${org.region}:${ref}:${names.pipeline(p.name)}`;
    const isProtected = protectedBranches.includes(branch);
    return {
      cells: [
        `${p.repository} (${source.name})`,
        byId ? account.id : `${account.name} (${account.id})`,
        branch,
        isProtected ? 'yes' : later && protectedBranches.length > 0 ? 'no ⚠ (a later environment)' : 'no',
        writers(repositoryArn, source, branch),
        starters(pipelineArn, byId ? account.id : account.name).replaceAll(ref, account.id),
      ],
      account: account.id,
      merge: many,
    };
  }, fold);
  return {
    id: 'release',
    title: 'Release control: which branch each environment deploys, and who may change it',
    level: 2,
    blocks: [
      {
        kind: 'p',
        text:
          'Each pipeline deploys one branch to each environment. Who may write that branch is asked of the same evaluator as the access matrix (a push to the branch, with its codecommit:References), for every principal "Who can act on each resource" finds with codecommit:GitPush on the repository; who may act as each is its role\'s "assume" rows there. ' +
          'CodeCommit has no resource policy (https://docs.aws.amazon.com/codecommit/latest/userguide/security-iam.html), so a principal of the source account whose own policy allows a push may write any branch: those policies are outside the org file. ' +
          'Who may start or change a pipeline decides what it deploys as much as the branch does: every pipeline is V2, whose StartPipelineExecution takes a source revision override, any commit of the repository whatever its branch (https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-trigger-source-overrides.html). ' +
          '"no ⚠" marks a later environment (after a pipeline\'s first) deploying from a branch access.developers.protectedBranches does not name.',
      },
      { kind: 'table', head: ['repository', 'environment (account)', 'branch', 'protected', 'who may write the branch', 'who may start or change the pipeline'], rows },
    ],
  };
}

/** The text of who may write a branch of a repository, asked once per repository and branch. */
function writersOf({ org, access, reach, executionRole, label }: ReleaseInput): (repositoryArn: string, source: { id: string; name: string }, branch: string) => string {
  const pushers = new Map<string, ReachEntry[]>();
  const assumers = new Map<string, string[]>();
  for (const e of reach) {
    if (e.resource.kind === 'repository' && e.reach === 'use' && e.principal.startsWith('arn:') && e.actions.includes(GIT_PUSH)) listIn(pushers, e.resource.arn).push(e);
    if (e.resource.kind === 'role' && e.reach === 'assume') listIn(assumers, e.resource.arn).push(e.principal);
  }
  const execution = executionRoleHolds(org, executionRole, (a) => isBranchWrite(a));
  const asked = new Map<string, string>();
  return (repositoryArn, source, branch) => {
    const key = `${repositoryArn} ${branch}`;
    const known = asked.get(key);
    if (known !== undefined) return known;
    const who = (pushers.get(repositoryArn) ?? []).flatMap((w) => {
      const d = evaluate(
        access.index,
        { principal: { kind: 'aws', arn: w.principal }, action: GIT_PUSH, resource: repositoryArn, resourceAccount: source.id, context: { 'codecommit:References': [`refs/heads/${branch}`] }, identityManagedElsewhere: w.identityOutsideModel },
        org.organizationId,
      );
      if (!d.allowed) return [];
      const by = [...new Set(d.grantedBy.map(label))].join('; ');
      const via = assumers.get(w.principal);
      return [`${w.principal} (${by})${via ? `, assumed by ${via.join(', ')}` : ''}`];
    });
    const text = [...who, ...(execution ? [`the StackSet execution role of ${source.name} ${execution}`] : []), `principals of ${source.name} whose own policies allow a push (outside the org file)`].join('; ');
    asked.set(key, text);
    return text;
  };
}

/** The text of who may start or change a pipeline: the org's roles whose policies allow it, the execution role, and the account's own principals. */
function startersOf({ org, access, executionRole, label }: ReleaseInput): (pipelineArn: string, account: string) => string {
  // Asked once per action text: every team's statements hold the same few.
  const controlsPipeline = madeOnce((action: string) => PIPELINE_CONTROL.some((c) => matches(action, c, true)));
  // The statements that allow starting or changing a pipeline, by the pipeline they name (their few patterns apart).
  const byArn = new Map<string, ResolvedStatement[]>();
  const patterns: ResolvedStatement[] = [];
  for (const g of access.grants) {
    if (g.effect !== 'Allow' || g.kind !== 'identity' || !g.actions.some(controlsPipeline)) continue;
    for (const r of g.resources) {
      if (r.includes('*') || r.includes('?')) patterns.push(g);
      else listIn(byArn, r).push(g);
    }
  }
  const execution = executionRoleHolds(org, executionRole, (a) => PIPELINE_CONTROL.includes(a));
  // Asked once per pipeline ARN: an account class's pipelines share one (its token for the account).
  const rolesFor = madeOnce((pipelineArn: string) => {
    const grants = [...(byArn.get(pipelineArn) ?? []), ...patterns.filter((g) => g.resources.some((r) => matches(r, pipelineArn)))];
    return [...new Set(grants.map((g) => `${g.attachedTo} (${g.actions.filter(controlsPipeline).join(', ')}: ${label(g)})`))];
  });
  return (pipelineArn, account) =>
    [
      ...rolesFor(pipelineArn),
      ...(execution ? [`the StackSet execution role of ${account} ${execution}`] : []),
      `principals of ${account} whose own policies allow ${PIPELINE_CONTROL.join(' or ')} (outside the org file), a run on any commit by a source revision override`,
    ].join('; ');
}

/** What the execution role's policy holds of some actions, in words: the statements by Sid, or where its policy is; undefined when bootstrap's policy holds none. */
function executionRoleHolds(org: Org, role: ReportInput['executionRole'], wanted: (action: string) => boolean): string | undefined {
  if (org.stackSets.permissionModel === 'SERVICE_MANAGED') return '(service-managed: its policy is not xstack\'s, see "The StackSet execution role")';
  if (!role || 'error' in role) return '(its policy is outside the org file)';
  const holding = role.statements.filter((s) => s.Effect !== 'Deny' && s.Action.some(wanted));
  if (holding.length === 0) return undefined;
  const actions = [...new Set(holding.flatMap((s) => s.Action.filter(wanted)))];
  return `(${actions.join(', ')}: ${holding.map((s) => s.Sid).join(', ')}, under "The StackSet execution role")`;
}
