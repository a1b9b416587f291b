/**
 * "Release control": for each pipeline and environment, the branch it deploys, whether that branch is protected, who
 * may write it and who may start or change the pipeline (review s18-audit M2 a). Who may write is asked of the access
 * proof's evaluator: each principal the reach tables find with codecommit:GitPush on the repository is asked a push to
 * that branch (`codecommit:References` = `refs/heads/<branch>`), so a Deny on protected branches is read from the
 * compiled policy, not restated; who may act as that principal is its role's "assume" rows of the same tables.
 */
import { accountByName, accountOfEnvironment, repositoryByName, type Org, type Pipeline } from '../org/model';
import { Names, SOURCE_ACTION, SOURCE_STAGE } from '../naming';
import { listIn, madeOnce } from '../memo';
import { isBranchWrite } from '../services/needs';
import { rolePathAndName } from '../iam/role-path';
import { accountOf, evaluate, GrantIndex, matches, matchesResource, RequestAnswers } from './evaluate';
import { executionRoleArn, executionRoleGrants, ROLE_REWRITES } from './execution-reach';
import type { ResolvedStatement } from './grants';
import type { AccessAnalysis } from './paths';
import type { ReachEntry } from './reach';
import type { ReportInput, Section } from './report';
import { ACCOUNTS_LISTED, mergeAccountRows, teamsToFold, type TeamFold } from './scale';
import { forEachIdWithin } from './classes';
import { TOKEN_MARK } from './symbolic';

const GIT_PUSH = 'codecommit:GitPush';
const PUT_OBJECT = 's3:PutObject';
/**
 * What starts a run, or changes what a run deploys, by the resource it is asked on.
 * - The pipeline. A V2 pipeline (templates/pipeline.ts makes every pipeline V2) takes a source revision override on
 *   StartPipelineExecution, and "for the COMMIT_ID … the source revision ID applies to all content in the repository,
 *   across all branches": https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-trigger-source-overrides.html
 *   RollbackStage re-runs a stage on an earlier run: "The target pipeline execution chosen for rollback is used to
 *   retrieve source revisions and variables": https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-rollback.html
 * - The deployment group (every pipeline deploys with CodeDeploy): CreateDeployment deploys the revision it names,
 *   "s3Location: The Amazon S3 bucket name that contains the revision … version: (Optional) The Amazon S3 version
 *   identifier", with no pipeline: https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-create-cli.html
 *   UpdateDeploymentGroup rewrites which instances a run deploys to (its ec2TagSet, on-premises tags) and the service
 *   role it deploys with: https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_UpdateDeploymentGroup.html
 * - The trigger rule: its target's input transformer may carry a source revision override ("You can also create a
 *   source override using input transform entry … in EventBridge for your pipeline event", the overrides page above);
 *   PutTargets names the trigger role too, so it needs iam:PassRole on that role.
 */
const PIPELINE_CONTROL = ['codepipeline:StartPipelineExecution', 'codepipeline:UpdatePipeline', 'codepipeline:RollbackStage'];
/**
 * On the pipeline's Source action (its resource type is the action, `<pipeline>/<stage>/<action>`, in the Service
 * Authorization Reference): PutActionRevision "Provides information to CodePipeline about new revisions to a source",
 * the pipeline then "starts processing the revision"
 * (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_PutActionRevision.html). Whether CodePipeline takes
 * one for a CodeCommit source action is not documented: counted, as an auditor should (review s58-audit m5).
 */
const ACTION_CONTROL = ['codepipeline:PutActionRevision'];
/** The Source action's part of its ARN, after the pipeline's name. */
const SOURCE_ACTION_PATH = `/${SOURCE_STAGE}/${SOURCE_ACTION}`;
const DEPLOYMENT_CONTROL = ['codedeploy:CreateDeployment', 'codedeploy:UpdateDeploymentGroup'];
const TRIGGER_CONTROL = ['events:PutTargets'];
const CONTROL = [...PIPELINE_CONTROL, ...ACTION_CONTROL, ...DEPLOYMENT_CONTROL, ...TRIGGER_CONTROL];

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
  const protectedBranches = org.access.developers?.protectedBranches ?? [];
  const read = releaseReach(input);
  const writers = writersOf(input, read);
  const starters = startersOf(input);
  const replacers = replacersOf(input, read);
  const many = org.accounts.filter((a) => a.role === 'pipeline').length > ACCOUNTS_LISTED;
  // Many accounts and no teams: an account by its id alone, so that the environments deploying one branch are one row
  // (an org of teams names each, which folds to {team}-prod, whether or not this report folds by team).
  const byId = many && !fold && teamsToFold(org) === undefined;
  // The cells of an item's row, `shown` written for its account's id: the id, or a class's token (byClass below).
  const cellsOf = ({ p, source, account, branch, later }: ReleaseItem, shown: string): string[] => {
    const repositoryArn = `arn:${org.partition}:codecommit:${org.region}:${source.id}:${p.repository}`;
    const ref = input.classOf(account.id) ?? account.id;
    const isProtected = protectedBranches.includes(branch);
    return [
      `${p.repository} (${source.name})`,
      byId ? shown : `${account.name} (${account.id})`,
      branch,
      isProtected ? 'yes' : later && protectedBranches.length > 0 ? 'no ⚠ (a later environment)' : 'no',
      writers(repositoryArn, source, branch),
      starters(p.name, ref, byId ? shown : account.name).replaceAll(ref, shown),
      replacers(ref, source, byId ? shown : account.name).replaceAll(ref, shown),
      // By id (many accounts, one row for all), the environment as words: each account has its own.
      deploysTo(p, byId ? "<the account's environment>" : account.environment!),
    ];
  };
  const items: ReleaseItem[] = [];
  // By id, the environments of an account class that deploy one branch of a pipeline are one item, the class's, its
  // token written for the id (byClass): each of their rows would be made, folded, and merged into the same one.
  const ofClass = new Map<string, ReleaseItem | null>();
  for (const [n, p] of org.pipelines.entries()) {
    const repository = repositoryByName(org, p.repository);
    const source = accountByName(org, repository.account);
    for (const [i, [environment, branch]] of p.branches.entries()) {
      const item: ReleaseItem = { p, source, account: accountOfEnvironment(org, environment), branch, later: i > 0 };
      const token = byId ? input.classOf(item.account.id) : undefined;
      if (token === undefined) {
        items.push(item);
        continue;
      }
      const key = `${n} ${i > 0} ${branch} ${token}`;
      let known = ofClass.get(key);
      if (known === undefined) {
        // Asked once per class, pipeline and branch: whether the item may stand for the members' (else each is its own).
        const made: ReleaseItem = { ...item, byClass: { token, first: item, count: 0 } };
        ofClass.set(key, (known = readsForEachMember(cellsOf(made, token), (shown) => cellsOf(made, shown), token, input.classOf) ? made : null));
      }
      if (known === null) items.push(item);
      // The class's item stands where its first environment's would.
      else if (known.byClass!.count++ === 0) items.push(known);
    }
  }
  // A class item of one environment is that environment's own.
  const rows = mergeAccountRows(
    items.map((x) => (x.byClass?.count === 1 ? x.byClass.first : x)),
    (item) => {
      const shown = item.byClass?.token ?? item.account.id;
      return { cells: cellsOf(item, shown), account: shown, merge: many, ...(item.byClass ? { accounts: item.byClass.count } : {}) };
    },
    fold,
  );
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
          'The StackSet execution role of the source account is listed where its policy lets it rewrite the trust or the policies of a role that may push to the branch: it can then make that role trust anyone, or give it a push, and push as it; who may act as the execution role is under "What this report cannot see". ' +
          'Who may start or change a pipeline decides what it deploys as much as the branch does: every pipeline is V2, whose StartPipelineExecution takes a source revision override, any commit of the repository whatever its branch (https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-trigger-source-overrides.html), as does the trigger rule\'s target through its input transformer (events:PutTargets, with iam:PassRole on the trigger role); RollbackStage re-runs a stage on an earlier run\'s revision (https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-rollback.html); codedeploy:CreateDeployment on the environment\'s deployment group deploys any revision the deployment targets can read, with no pipeline (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-create-cli.html); and codedeploy:UpdateDeploymentGroup rewrites which instances it deploys to (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_UpdateDeploymentGroup.html). ' +
          'No pipeline has an approval action (each runs Source, then Deploy) and xstack makes no CodeCommit approval rule: whoever may write a deployed branch, or start its pipeline, releases to that environment alone, with no second person. ' +
          'Whoever may replace an artifact in the environment\'s artifact bucket decides what a run deploys too, without the branch or the pipeline: the column "who may write the artifacts" lists the roles "Who can act on each resource" finds with s3:PutObject on the bucket (the source role that writes the source artifact, the pipeline role), who may act as each (its "assume" rows), the source account\'s StackSet execution role where its policy lets it rewrite the source role, and a principal of the pipeline account whose own policy allows s3:PutObject there, as the bucket policy limits other accounts, not the bucket\'s own ("If either the identity-based policy or the resource-based policy within the same account allows the request and the other doesn\'t, the request is still allowed", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html); and the bucket requires SSE-KMS, not the artifact key, so such a writer needs no use of that key (README "Not yet": the artifact bucket refuses another encryption, not another key). ' +
          '"no ⚠" marks a later environment (after a pipeline\'s first) deploying from a branch access.developers.protectedBranches does not name. ' +
          'The last column is what the deployment group selects: every instance of the account that carries all those tags receives the revision, whoever launched or tagged it ("The deployment group includes only Amazon EC2 instances identified by all the tag groups", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-codedeploy-deploymentgroup-ec2tagset.html); who may tag instances there is the account\'s own policies\' to decide.',
      },
      { kind: 'table', head: ['repository', 'environment (account)', 'branch', 'protected', 'who may write the branch', 'who may start or change the pipeline', 'who may write the artifacts', 'deploys to the instances tagged'], rows },
    ],
  };
}

/** A pipeline's branch in an environment; with `byClass`, in each environment of a class's accounts that deploys it. */
interface ReleaseItem {
  p: Pipeline;
  source: { id: string; name: string };
  account: { id: string; name: string; environment?: string };
  branch: string;
  later: boolean;
  /** The class's token, written for the account's id; its first environment's item; how many environments it stands for. */
  byClass?: { token: string; first: ReleaseItem; count: number };
}

/**
 * Whether a class item's row, folded, is each member's row folded (a member's id and the token both written as
 * {account}), so that the item may stand for them: the cells made for the token (`cells`) hold it only where the row
 * writes the account (`made` for any other text writes that text there and nothing else differs), never beside a
 * digit or another token, and name no member's id. A member's row is then those cells with its id for the token.
 */
function readsForEachMember(cells: readonly string[], made: (shown: string) => readonly string[], token: string, classOf: (account: string) => string | undefined): boolean {
  // A text of no account and no class (a token's mark with no class character after it).
  const other = TOKEN_MARK;
  const elsewhere = made(other);
  for (let c = 0; c < cells.length; c++) {
    const cell = cells[c];
    if (cell.replaceAll(token, other) !== elsewhere[c]) return false;
    for (let at = cell.indexOf(token); at >= 0; at = cell.indexOf(token, at + token.length)) {
      if (beside(cell, at - 1) || beside(cell, at + token.length)) return false;
    }
    let named = false;
    forEachIdWithin(cell, (id) => {
      named ||= classOf(id) === token;
    });
    if (named) return false;
  }
  return true;
}

/** Whether the character at `i` (none past either end) is a digit or a token's. */
function beside(text: string, i: number): boolean {
  if (i < 0 || i >= text.length) return false;
  const c = text.charCodeAt(i);
  return (c >= 48 && c <= 57) || text[i] === TOKEN_MARK;
}

/**
 * The tags a pipeline's deployment group selects its instances by in an environment (templates/pipeline.ts), all of
 * which an instance must carry: the application's tag only where it is set, and when the org file left it out
 * (`applicationTagDefaulted`), only in the environments where the pipeline shares its account (`sharedEnvironments`,
 * the stage's `Shares` switch): elsewhere every instance of the environment's tag (review s36-audit F1). "The
 * deployment group includes only Amazon EC2 instances identified by all the tag groups"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-codedeploy-deploymentgroup-ec2tagset.html).
 */
const deploysTo = (p: Pipeline, environment: string): string => {
  const byApplication = p.deploy.applicationTagKey !== undefined && (!p.deploy.applicationTagDefaulted || (p.deploy.sharedEnvironments ?? []).includes(environment));
  return [`${p.deploy.ec2TagKey}=${environment}`, ...(byApplication ? [`${p.deploy.applicationTagKey}=${p.name}`] : [])].join(' and ');
};

/**
 * What the release table reads of "Who can act on each resource", read once for the columns of who may write a branch
 * and who may write the artifacts: the principals (by ARN) allowed a push on each repository and s3:PutObject on each
 * bucket, by its ARN; who may assume each role; the roles the org makes, by account; and what the execution role may
 * rewrite of each (`rewritesOf`), which both columns ask of the same roles.
 */
interface ReleaseReach {
  pushers: Map<string, ReachEntry[]>;
  writing: Map<string, ReachEntry[]>;
  assumers: Map<string, string[]>;
  roles: Map<string, Set<string>>;
  rewritesOf: RewritesOf | undefined;
}

/**
 * Who may assume a role, each once: a sample the proof names for a pattern (`AWSReservedSSO_Maintainer_x0`, the caller
 * side's policy attached to a permission set's role) is left out beside the pattern of the trust that takes it in
 * (review s58-audit m4: one permission set read as four principals).
 */
function withoutSamplesOf(principals: readonly string[]): string[] {
  const patterns = principals.filter((p) => p.includes('*'));
  return principals.filter((p) => p.includes('*') || !patterns.some((pattern) => matches(pattern, p)));
}

function releaseReach(input: ReleaseInput): ReleaseReach {
  const pushers = new Map<string, ReachEntry[]>();
  const writing = new Map<string, ReachEntry[]>();
  const assumers = new Map<string, string[]>();
  const roles = new Map<string, Set<string>>();
  for (const e of input.reach) {
    if (e.reach === 'use' && e.principal.startsWith('arn:')) {
      if (e.resource.kind === 'repository' && e.actions.includes(GIT_PUSH)) listIn(pushers, e.resource.arn).push(e);
      if (e.resource.kind === 'bucket' && e.actions.includes(PUT_OBJECT)) listIn(writing, e.resource.arn).push(e);
    }
    if (e.resource.kind === 'role' && e.reach === 'assume') listIn(assumers, e.resource.arn).push(e.principal);
    if (e.resource.kind === 'role') (roles.get(e.resource.account) ?? roles.set(e.resource.account, new Set()).get(e.resource.account)!).add(e.resource.arn);
  }
  for (const [role, principals] of assumers) assumers.set(role, withoutSamplesOf(principals));
  return { pushers, writing, assumers, roles, rewritesOf: executionRoleRewritesOf(input, roles) };
}

/** The text of who may write a branch of a repository, asked once per repository and branch. */
function writersOf(input: ReleaseInput, read: ReleaseReach): (repositoryArn: string, source: { id: string; name: string }, branch: string) => string {
  const { org, access, executionRole, label } = input;
  // Every role the org makes, by account (`roles`): any of them, given a push by whoever may rewrite it, writes the branch.
  const { pushers, assumers } = read;
  const execution = executionRoleHolds(org, executionRole, (a) => isBranchWrite(a));
  const rewrites = executionRoleRewrites(read);
  // The last answer kept, not every one: an org of teams asks each repository and branch about once (6 of 1,506 asked
  // again at 250 teams), and a map of every answer (~1.5 million characters) outlived the table for nothing. Items come
  // pipeline by pipeline, so a branch its environments share is asked in turn.
  let asked: { key: string; text: string } | undefined;
  return (repositoryArn, source, branch) => {
    const key = `${repositoryArn} ${branch}`;
    if (asked?.key === key) return asked.text;
    const writers = (pushers.get(repositoryArn) ?? []).flatMap((w) => {
      const d = evaluate(
        access.index,
        { principal: { kind: 'aws', arn: w.principal }, action: GIT_PUSH, resource: repositoryArn, resourceAccount: source.id, context: { 'codecommit:References': [`refs/heads/${branch}`] }, identityManagedElsewhere: w.identityOutsideModel },
        org.organizationId,
      );
      return d.allowed ? [{ principal: w.principal, by: [...new Set(d.grantedBy.map(label))].join('; ') }] : [];
    });
    const who = writers.map(({ principal, by }) => {
      const via = assumers.get(principal);
      return `${principal} (${by})${via ? `, assumed by ${via.join(', ')}` : ''}`;
    });
    const byExecution = execution ? `the StackSet execution role of ${source.name} ${execution}` : rewrites(source, writers.map((w) => w.principal));
    const text = [...who, ...(byExecution ? [byExecution] : []), `principals of ${source.name} whose own policies allow a push (outside the org file)`].join('; ');
    asked = { key, text };
    return text;
  };
}

/**
 * The execution role of a source account as a writer of a branch: where its policy allows it to rewrite the trust or
 * the policies of a role of the account (ROLE_REWRITES), it may make that role trust anyone or give it a push, and
 * push as it, whether the role pushes today or not (review s22-diff D1). CodeCommit has no resource policy to refuse
 * that ("CodeCommit does not support resource-based policies": https://docs.aws.amazon.com/codecommit/latest/userguide/security-iam.html),
 * so IAM alone decides, and each rewrite is asked of the proof's evaluator against the role's policy as it is in the
 * source account (its Denies too). The roles asked are the org's there (`roles`): those that push are named, the rest
 * counted.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAssumeRolePolicy.html
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html
 */
function executionRoleRewrites(
  { roles, rewritesOf }: Pick<ReleaseReach, 'roles' | 'rewritesOf'>,
  /** What such a role is given and then does as the writer; `namedOnly`: only the writers count (another role of the account, given the right, would still be refused by the resource). */
  deed: { give: string; act: string; namedOnly?: boolean } = { give: 'a push', act: 'push' },
): (source: { id: string; name: string }, writers: readonly string[]) => string | undefined {
  if (!rewritesOf) return () => undefined;
  return (source, writers) => {
    const rewrites = rewritesOf(source.id);
    const pushing = new Set(writers.filter((w) => w.includes(':role/')));
    const others = deed.namedOnly ? [] : [...(roles.get(source.id) ?? [])].filter((r) => !pushing.has(r)).sort();
    // Each role the execution role may rewrite, grouped by what it may do there and which statements allow it.
    const byWay = new Map<string, { actions: string[]; sids: string[]; named: string[]; others: number }>();
    for (const arn of [...pushing, ...others]) {
      const rewrite = rewrites(arn);
      if (!rewrite) continue;
      const { actions, sids, key } = rewrite;
      const way = byWay.get(key) ?? byWay.set(key, { actions, sids, named: [], others: 0 }).get(key)!;
      if (pushing.has(arn)) way.named.push(rolePathAndName(arn));
      else way.others++;
    }
    const ways = [...byWay.values()].map(({ actions, sids, named, others }) => {
      const rest = others > 0 ? `${others} ${pushing.size > 0 ? 'other ' : ''}role${others > 1 ? 's' : ''} the org makes there` : '';
      const which = [named.join(', '), rest].filter(Boolean).join(' and ');
      return `${actions.join(', ')} on ${which}: ${sids.join(', ')}`;
    });
    if (ways.length === 0) return undefined;
    return `the StackSet execution role of ${source.name} (${ways.join('; ')}, under "The StackSet execution role": it may make such a role trust anyone, or give it ${deed.give}, and ${deed.act} as it; who may act as the execution role: "Who may assume the StackSet execution role", under "What this report cannot see")`;
  };
}

/** What the execution role may rewrite of one role (its ARN) of an account: the actions, the statements allowing them; null for none. */
type RewritesOf = (account: string) => (arn: string) => { actions: string[]; sids: string[]; key: string } | null;

/**
 * What the execution role of an account may rewrite of each of the account's roles (ROLE_REWRITES), asked of the
 * proof's evaluator against the statements of its policy that can decide one; undefined where its policy is not
 * xstack's or names no rewrite. An answer reads only the policy, the account, the roles the org makes there (`roles`)
 * and the role asked, never who asks it, so the writers of a branch and of the artifacts share them.
 */
function executionRoleRewritesOf({ org, executionRole }: ReleaseInput, roles: ReadonlyMap<string, ReadonlySet<string>>): RewritesOf | undefined {
  if (!executionRole || 'error' in executionRole) return undefined;
  // Only what can decide a rewrite of a role of the account: the statements naming a rewrite (an Allow grants it, a
  // Deny refuses it), and of their resources none that names another role exactly, or another IAM type. The whole
  // policy, resolved for each source account and asked in full, cost seconds at 250 teams for the same answer.
  const rewriting = executionRole.statements
    .filter((s) => s.Action.some((a) => ROLE_REWRITES.some((rewrite) => matches(a, rewrite, true))))
    .map((s) => ({ Sid: s.Sid, Effect: s.Effect === 'Deny' ? ('Deny' as const) : ('Allow' as const), Action: [...s.Action], Resource: [...s.Resource] }));
  if (rewriting.length === 0) return undefined;
  // Each statement's resources read once: those naming one role exactly, by that role's path and name; those that may
  // name any role (a pattern); and none of another IAM type (a policy, an instance profile, with no wildcard before
  // its type), which names no role.
  const sorted = rewriting.map((s) => {
    const byRole = new Map<string, string[]>();
    const anyRole: string[] = [];
    for (const resource of s.Resource) {
      const named = /:role\/([^*?]+)$/.exec(resource);
      const typed = named ? null : /^([^*?]*):([a-z-]+)\//.exec(resource);
      if (named) listIn(byRole, named[1]).push(resource);
      else if (typed === null || typed[2] === 'role') anyRole.push(resource);
    }
    return { statement: s, byRole, anyRole };
  });
  // What the execution role may rewrite of a role of the account (null: nothing), asked once per role: each of the
  // account's repositories and branches asks about the same roles.
  return madeOnce((account: string) => {
    const names = [...new Set([...(roles.get(account) ?? [])].map(rolePathAndName))];
    const statements = sorted
      .map(({ statement, byRole, anyRole }) => ({ ...statement, Resource: [...anyRole, ...names.flatMap((n) => byRole.get(n) ?? [])] }))
      .filter((s) => s.Resource.length > 0);
    const index = new GrantIndex(executionRoleGrants(org, statements, account));
    const principal = { kind: 'aws' as const, arn: executionRoleArn(org, account) };
    // A role's rewrites differ only in their action, which whether a statement applies never reads (evaluate.ts AppliesMemo).
    const applies = new RequestAnswers();
    return madeOnce((arn: string): { actions: string[]; sids: string[]; key: string } | null => {
      applies.clear();
      const allowed = ROLE_REWRITES.map((action) => ({ action, d: evaluate(index, { principal, action, resource: arn, resourceAccount: account, context: {} }, org.organizationId, applies) })).filter(({ d }) => d.allowed);
      if (allowed.length === 0) return null;
      const actions = allowed.map(({ action }) => action);
      const sids = [...new Set(allowed.flatMap(({ d }) => d.grantedBy.map((g) => g.policy)))];
      return { actions, sids, key: `${actions.join(',')} ${sids.join(',')}` };
    });
  });
}

/**
 * The text of who may write the objects of an environment's artifact bucket, which a run deploys from (review
 * s50-audit m3): the principals "Who can act on each resource" finds with s3:PutObject on the bucket, each with who
 * may assume it; the source account's execution role where it may rewrite one of them (as for a branch's writers); the
 * pipeline account's own execution role where it may put the bucket's policy or rewrite a role of the account (review
 * s58-audit m3: a bucket policy naming it is enough within its account, "If either the identity-based policy or the
 * resource-based policy within the same account allows the request and the other doesn't, the request is still
 * allowed", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html);
 * and the account's own principals, whose own policies the bucket policy does not limit (it refuses other accounts,
 * not the bucket's own).
 */
function replacersOf(input: ReleaseInput, read: ReleaseReach): (account: string, source: { id: string; name: string }, accountName: string) => string {
  const { org } = input;
  const names = new Names(org.prefix, org.bucketGeneration);
  const { writing, assumers } = read;
  // The bucket policy admits the source roles by ARN: another role of the source account, given a write, is refused.
  const rewrites = executionRoleRewrites(read, { give: 'a write to the bucket', act: 'write', namedOnly: true });
  const ownExecution = executionRoleHolds(org, input.executionRole, (a) => a === 's3:PutBucketPolicy' || ROLE_REWRITES.includes(a));
  // Another source account's source role is held to its own pipelines' folders where it shares the bucket, as the
  // compile proves (paths.ts sharedBucketPaths, environmentIsolation): no writer of this pipeline's artifacts (review
  // s59-second-read M1).
  const ownOrNoSourceRole = (principal: string, source: string) => names.sourceRoleFor(principal) === undefined || accountOf(principal) === source;
  return madeOnce2((account, source, accountName) => {
    const bucketArn = `arn:${org.partition}:s3:::${names.artifactBucket(account, org.region)}`;
    const writers = (writing.get(bucketArn) ?? []).filter((e) => ownOrNoSourceRole(e.principal, source.id));
    const who = writers.map((e) => {
      const via = assumers.get(e.principal);
      return `${e.principal} (${e.grantedBy.join('; ')})${via ? `, assumed by ${via.join(', ')}` : ''}`;
    });
    const bySourceExecution = rewrites(source, writers.map((e) => e.principal).filter((p) => p.includes(`:iam::${source.id}:`)));
    return [
      ...who,
      ...(bySourceExecution ? [bySourceExecution] : []),
      ...(ownExecution ? [`the StackSet execution role of ${accountName} ${ownExecution}: it may give itself or the pipeline role a write to the bucket, and write`] : []),
      `principals of ${accountName} whose own policies allow ${PUT_OBJECT} on the bucket (outside the org file)`,
    ].join('; ');
  });
}

/** A function of (account, source, name) made once per account: every pipeline of an environment asks the same. */
const madeOnce2 = <R>(f: (account: string, source: { id: string; name: string }, name: string) => R) => {
  const made = new Map<string, R>();
  return (account: string, source: { id: string; name: string }, name: string): R => {
    const key = `${account} ${source.id} ${name}`;
    let r = made.get(key);
    if (r === undefined) made.set(key, (r = f(account, source, name)));
    return r;
  };
};

/** The text of who may start or change a pipeline, or deploy without it: the org's roles whose policies allow it, the execution role, and the account's own principals. */
function startersOf({ org, access, executionRole, label }: ReleaseInput): (pipeline: string, account: string, accountName: string) => string {
  const names = new Names(org.prefix, org.bucketGeneration);
  // Asked once per action text: every team's statements hold the same few.
  const controls = madeOnce((action: string) => CONTROL.some((c) => matches(action, c, true)));
  // The statements that allow one of those actions, by the resource they name (their few patterns apart).
  const byArn = new Map<string, ResolvedStatement[]>();
  const patterns: ResolvedStatement[] = [];
  for (const g of access.grants) {
    if (g.effect !== 'Allow' || g.kind !== 'identity' || !g.actions.some(controls)) continue;
    for (const r of g.resources) {
      if (r.includes('*') || r.includes('?')) patterns.push(g);
      else listIn(byArn, r).push(g);
    }
  }
  const execution = executionRoleHolds(org, executionRole, (a) => CONTROL.includes(a));
  // Asked once per resource ARN: an account class's pipelines share one (its token for the account).
  const rolesFor = madeOnce((arn: string) => {
    const wanted = arn.includes(':codepipeline:') ? (arn.endsWith(SOURCE_ACTION_PATH) ? ACTION_CONTROL : PIPELINE_CONTROL) : arn.includes(':codedeploy:') ? DEPLOYMENT_CONTROL : TRIGGER_CONTROL;
    const held = (g: ResolvedStatement) => g.actions.filter((a) => wanted.some((c) => matches(a, c, true)));
    const grants = [...(byArn.get(arn) ?? []), ...patterns.filter((g) => g.resources.some((r) => matchesResource(r, arn)))].filter((g) => held(g).length > 0);
    return [...new Set(grants.map((g) => `${g.attachedTo} (${held(g).join(', ')}: ${label(g)})`))];
  });
  return (pipeline, account, accountName) => {
    const arn = (service: string, resource: string) => `arn:${org.partition}:${service}:${org.region}:${account}:${resource}`;
    const arns = [
      arn('codepipeline', names.pipeline(pipeline)),
      arn('codepipeline', `${names.pipeline(pipeline)}${SOURCE_ACTION_PATH}`),
      arn('codedeploy', `deploymentgroup:${names.codeDeployApplication(pipeline)}/${names.codeDeployGroup(pipeline)}`),
      arn('events', `rule/${names.triggerRule(pipeline)}`),
    ];
    return [
      ...new Set(arns.flatMap(rolesFor)),
      ...(execution ? [`the StackSet execution role of ${accountName} ${execution}`] : []),
      `principals of ${accountName} whose own policies allow ${PIPELINE_CONTROL.join(', ')} on the pipeline, ${ACTION_CONTROL.join(', ')} on its Source action, ${DEPLOYMENT_CONTROL.join(', ')} on its deployment group, or ${TRIGGER_CONTROL.join(', ')} on its trigger rule with iam:PassRole on the trigger role (outside the org file): a run on any commit by a source revision override, an earlier run's revision by a rollback, any revision the deployment targets can read by a deployment without the pipeline, other instances by a deployment group rewritten`,
    ].join('; ');
  };
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
