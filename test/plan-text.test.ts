import { describe, expect, it } from 'vitest';
import type { StackSetPlan } from '../src/deploy/deployer';
import { verifyExitCode } from '../src/deploy/deployer';
import { FOLD_AFTER, formatDestroyRemovals, formatPlan, planExitCode } from '../src/deploy/plan-text';
import { planRefusal, verifySummary } from '../src/deploy/command';

const plan = (over: Partial<StackSetPlan>): StackSetPlan => ({
  stage: 's',
  stackSet: 'acme-s',
  action: 'update',
  templateChanged: false,
  addAccounts: [],
  removeAccounts: [],
  retryAccounts: [],
  collisions: [],
  ...over,
});
const names = new Map([['222222222222', 'dev'], ['444444444444', 'prod']]);

describe('the plan as text', () => {
  it('names accounts by name and id, and ends with the one-line summary', () => {
    const text = formatPlan(
      [plan({ addAccounts: ['222222222222'], retryAccounts: [{ account: '444444444444', status: 'OUTDATED', reason: 'injected' }] }), plan({ stackSet: 'acme-t', action: 'unchanged' })],
      { accountNames: names, colour: false },
    );
    expect(text).toBe(
      '~ acme-s: update\n    instances to add: dev (222222222222)\n    instance to apply again: prod (444444444444) is OUTDATED: injected\n= acme-t: unchanged\n\nplan: 0 to create, 1 to update, 0 to delete, 1 unchanged\n',
    );
  });

  it('says what is in the way and how to get past it, and what earlier bucket generations left behind', () => {
    const text = formatPlan(
      [
        plan({
          addAccounts: ['222222222222'],
          collisions: ['AWS::S3::Bucket acme-artifacts-222222222222-eu-west-1 (ArtifactBucket) in account 222222222222'],
          collisionFixes: ["a bucket: set 'bucketGeneration: 2' in org.yaml"],
          retained: ['AWS::S3::Bucket acme-access-logs-222222222222-eu-west-1 (AccessLogBucket) in account 222222222222'],
        }),
      ],
      { accountNames: names, colour: false },
    );
    expect(text).toContain(
      '    ✗ left by an earlier stack (a destroy, a removal, or a stack deleted outside StackSets), creation will fail: AWS::S3::Bucket acme-artifacts-222222222222-eu-west-1 (ArtifactBucket) in account 222222222222\n' +
        "      way past it: a bucket: set 'bucketGeneration: 2' in org.yaml\n" +
        '    retained by an earlier destroy or removal, of an earlier bucket generation, no longer used (delete it when its data is not needed): AWS::S3::Bucket acme-access-logs-222222222222-eu-west-1 (AccessLogBucket) in account 222222222222\n',
    );
  });

  it('a stage deploy will fail is said to stop the run after its wave; an INOPERABLE instance alone is no change deploy makes (review s43-plan m1)', () => {
    const stuck = plan({ action: 'unchanged', retryAccounts: [{ account: '222222222222', status: 'INOPERABLE', reason: 'delete it first', cannotUpdate: true }] });
    expect(formatPlan([stuck], { accountNames: names, colour: false })).toBe(
      '= acme-s: unchanged\n' +
        '    ✗ instance deploy cannot update: dev (222222222222) is INOPERABLE: delete it first\n' +
        '    ✗ this stage fails: deploy runs the rest of its wave but the stages that wait on it, then stops (no later wave, no removal)\n' +
        '\nplan: 0 to create, 0 to update, 0 to delete, 1 unchanged — no changes; 1 stage fails (✗ above)\n',
    );
    const colliding = formatPlan([plan({ addAccounts: ['222222222222'], collisions: ['AWS::S3::Bucket b (ArtifactBucket) in account 222222222222'] })], { accountNames: names, colour: false });
    expect(colliding).toContain('    ✗ this stage fails: deploy runs the rest of its wave but the stages that wait on it, then stops (no later wave, no removal)\n');
    // Tags past the StackSet's 50: deploy fails the stage before its update, not a tags line (review s43-plan m2).
    const tagged = formatPlan([plan({ tagsChange: 'CostCenter: 4711 → 4712', tagsRefused: "the org file's tags (CostCenter: 4711 → 4712) cannot be set: over 50" })], { accountNames: names, colour: false });
    expect(tagged).toContain("    ✗ deploy fails this stage before its update: the org file's tags (CostCenter: 4711 → 4712) cannot be set: over 50\n");
    expect(tagged).toContain('    ✗ this stage fails: deploy runs the rest of its wave but the stages that wait on it, then stops');
    expect(tagged).not.toContain('    tags (sent with');
    // A plain update fails nothing.
    expect(formatPlan([plan({ addAccounts: ['222222222222'] })], { accountNames: names, colour: false })).not.toContain('this stage fails');
  });

  it('deploy --require-approval any-change refuses from the plan what deploy refuses before any operation, in its order, rather than asking (review s43-plan m3)', () => {
    const move = 'AWS::CodeCommit::Repository RepositoryB would move from StackSet acme-source-repositories to acme-source-repositories-2: retained under its name';
    const every = [
      plan({ stackSet: 'acme-a', missingRoles: ['role x is not there'] }),
      plan({ stackSet: 'acme-b', noInstanceKept: 'StackSet acme-b: keeps none' }),
      plan({ stackSet: 'acme-c', executionRoleLocked: 'StackSet acme-c: key policy keeps the old role' }),
      plan({ stackSet: 'acme-d', refusedReplacements: ['StackSet acme-d: a named role replaced'] }),
      plan({ stackSet: 'acme-e', refusedMoves: [move] }),
    ];
    const codes: string[] = [];
    for (let n = every.length; n > 0; n--) codes.push((planRefusal(every.slice(0, n)) as { code?: string }).code ?? '');
    expect(codes).toEqual(['REFUSED_MOVE', 'REFUSED_REPLACEMENT', 'EXECUTION_ROLE_LOCKED', 'NO_INSTANCE_KEPT', 'EXISTING_ROLES_NOT_FOUND']);
    expect(planRefusal(every)!.message).toContain(`nothing was changed: this org file moves resources between the StackSets of one family that no deploy can move:\n  ${move}\n`);
    expect(planRefusal(every.slice(0, 3))!.message).toBe('nothing was changed:\n  StackSet acme-c: key policy keeps the old role');
    expect(planRefusal([plan({ addAccounts: ['222222222222'] })])).toBeUndefined();
  });

  it('names the resources that move into a StackSet from another part of its family, and what such a move does', () => {
    const text = formatPlan([plan({ moves: ['AWS::Events::Rule ForwardingRuleAb1 would move from StackSet acme-source-events to acme-source-events-2'], movesAfter: ['acme-source-events'] })], { accountNames: names, colour: false });
    expect(text).toContain(
      '    ! AWS::Events::Rule ForwardingRuleAb1 would move from StackSet acme-source-events to acme-source-events-2\n      deploy updates acme-source-events first, which deletes each of these resources, and this StackSet once that has ended, which creates it: the move finishes in this run',
    );
  });

  it("a queue's move says the wait for its name", () => {
    const text = formatPlan([plan({ moves: ['AWS::SQS::Queue EventsDeadLetterQueueIn111111111111 would move from StackSet acme-source-identity to acme-source-identity-2'], movesAfter: ['acme-source-identity'], movesHoldSeconds: 61 })], { accountNames: names, colour: false });
    expect(text).toContain("deploy updates acme-source-identity first, which deletes each of these resources, and this StackSet once that has ended and 61 s more (a queue's name is refused that long after its delete), which creates it");
  });

  it('names the instances a removal would delete keeping their stacks, and why', () => {
    const text = formatPlan([plan({ removeAccounts: ['222222222222', '444444444444'], keepStacks: [{ account: '444444444444', why: 'the account is suspended: StackSets cannot reach it' }] })], { accountNames: names, colour: false });
    expect(text).toContain(
      '    instances to remove (after every create and update, in reverse rollout order): dev (222222222222), prod (444444444444)\n' +
        '    ! removed keeping its stack, which stays in the account for you to delete: prod (444444444444): the account is suspended: StackSets cannot reach it\n',
    );
  });

  it('a StackSet whose only change is removing instances reads so, in its heading and in the summary line', () => {
    const text = formatPlan([plan({ removeAccounts: ['333333333333'] }), plan({ stackSet: 'acme-t', removeAccounts: ['333333333333'], templateChanged: true, templateDiff: 'diff' }), plan({ stackSet: 'acme-u', action: 'unchanged' })], { accountNames: names, colour: false });
    expect(text).toContain('- acme-s: remove instances\n    instances to remove (after every create and update, in reverse rollout order): 333333333333\n~ acme-t: update\n');
    expect(text).toContain('\nplan: 0 to create, 1 to update, 1 to remove instances from, 0 to delete, 1 unchanged\n');
  });

  it('an update that changes the tags or roles beside removing instances reads as an update, with each change shown: UpdateStackSet updates every instance (review s41-mutations-3 PT1, PT3, PT4)', () => {
    const text = formatPlan(
      [
        plan({ removeAccounts: ['333333333333'], tagsChange: '+CostCenter=4711' }),
        plan({ stackSet: 'acme-t', removeAccounts: ['333333333333'], rolesChange: 'execution role acme-exec → acme-exec-2' }),
        plan({ stackSet: 'acme-u', templateChanged: true, templateDiff: '- Old: 1\n+ New: 2' }),
      ],
      { accountNames: names, colour: false },
    );
    expect(text).toContain('~ acme-s: update\n    tags (sent with an UpdateStackSet, which updates every instance it keeps and passes them on to the resources that take tags): +CostCenter=4711\n');
    expect(text).toContain('~ acme-t: update\n    roles (sent with an UpdateStackSet, which updates every instance it keeps): execution role acme-exec → acme-exec-2\n');
    expect(text).toContain('~ acme-u: update\n    - Old: 1\n    + New: 2\n');
    expect(text).toContain('\nplan: 0 to create, 3 to update, 0 to delete, 0 unchanged\n');
  });

  it('instances removed first (another part of the family creates resources there) are listed apart from those removed last', () => {
    const text = formatPlan([plan({ removeFirst: ['222222222222'], removeAccounts: ['333333333333'] })], { accountNames: names, colour: false });
    expect(text).toContain('    instances to remove first, before its template update (another part of its family creates resources there): dev (222222222222)\n    instances to remove (after every create and update, in reverse rollout order): 333333333333\n');
  });

  it('while any move is refused, the moves deploy would order are said to wait for that', () => {
    const text = formatPlan(
      [
        plan({ moves: ['AWS::Events::Rule ForwardingRuleAb1 would move from StackSet acme-source-events to acme-source-events-2'], movesAfter: ['acme-source-events'] }),
        plan({ stackSet: 'acme-source-repositories-2', refusedMoves: ['AWS::CodeCommit::Repository RepositoryB would move from StackSet acme-source-repositories to acme-source-repositories-2: retained under its name'] }),
      ],
      { accountNames: names, colour: false },
    );
    expect(text).toContain('      once no move is refused (✗ in this plan), deploy updates acme-source-events first');
  });

  it('names the moves deploy refuses, each with its reason, and the way past them', () => {
    const text = formatPlan([plan({ refusedMoves: ['AWS::IAM::Role RoleA would move from StackSet acme-source-identity-2 to acme-source-identity: the parts exchange resources both ways, and an update creates before it deletes'] })], { accountNames: names, colour: false });
    expect(text).toContain(
      "    ✗ deploy refuses: AWS::IAM::Role RoleA would move from StackSet acme-source-identity-2 to acme-source-identity: the parts exchange resources both ways, and an update creates before it deletes\n      way past it: StackSets cannot move one resource between StackSets; keep the parts as deployed: restore the org's layout file",
    );
  });

  it('names the replacements deploy refuses (✗) and those it warns about (!), each with its way out', () => {
    const text = formatPlan(
      [plan({ templateChanged: true, refusedReplacements: ['StackSet acme-s: AWS::IAM::ManagedPolicy P keeps its custom name … Way out: rename it'], replacementWarnings: ['StackSet acme-s: AWS::EC2::SecurityGroup G is replaced …'] })],
      { accountNames: names, colour: false },
    );
    expect(text).toContain('    ✗ deploy refuses: StackSet acme-s: AWS::IAM::ManagedPolicy P keeps its custom name … Way out: rename it\n    ! StackSet acme-s: AWS::EC2::SecurityGroup G is replaced …\n');
  });

  it('folds long lists, saying how many it left out and where to find them', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => String(100000000001 + i));
    const text = formatPlan([plan({ action: 'create', addAccounts: ids, retryAccounts: ids.map((account) => ({ account, status: 'OUTDATED' })) })], { accountNames: names, colour: false });
    expect(text.split('\n').length).toBeLessThan(20);
    expect(text).toContain('… and 995 more accounts (--json lists every one)');
    expect(text).toContain('\n    … and 995 more instances to apply again (--json lists every one)\n');
    expect(formatPlan([plan({ addAccounts: ids.slice(0, FOLD_AFTER) })], { accountNames: names, colour: false })).not.toContain('more accounts');
  });

  it('colours the action symbols only when asked (a terminal without NO_COLOR)', () => {
    const plans = [plan({ action: 'create' }), plan({ action: 'delete' })];
    expect(formatPlan(plans, { accountNames: names, colour: true })).toContain('\u001b[32m+\u001b[0m acme-s: create');
    expect(formatPlan(plans, { accountNames: names, colour: true })).toContain('\u001b[31m-\u001b[0m acme-s: delete');
    expect(formatPlan(plans, { accountNames: names, colour: false })).not.toContain('\u001b[');
  });
});

describe('a StackSet deploy leaves alone', () => {
  it("still shows the run's refusals it carries (refused replacements and moves), which refuse the whole run (review s44-diff M4)", () => {
    const text = formatPlan([plan({ action: 'unchanged', otherRegions: 'elsewhere', refusedReplacements: ['a custom-named bucket replaced'], refusedMoves: ['a repository moving'] })], { accountNames: names, colour: false });
    expect(text).toContain('    ✗ deploy refuses: a custom-named bucket replaced\n');
    expect(text).toContain('    ✗ deploy refuses: a repository moving\n      way past it: ');
  });
});

describe("destroy's list before its question", () => {
  it('names each StackSet with its accounts, the stacks it leaves (!) and the instances it cannot remove (✗), by name and id', () => {
    const lines = formatDestroyRemovals(
      [
        { stackSet: 'acme-s', accounts: ['222222222222', '444444444444'], keepStacks: [{ account: '444444444444', why: 'Organizations reports the account not ACTIVE (suspended or closing): StackSets cannot reach it' }] },
        { stackSet: 'acme-t', accounts: ['555555555555'], gone: true, unreachable: [{ account: '555555555555', why: 'its account left the organization' }] },
        { stackSet: 'acme-u', accounts: [] },
      ],
      { accountNames: names, deleteRetained: false },
    );
    expect(lines).toEqual([
      '  - acme-s: 2 instances (dev (222222222222), prod (444444444444))\n' +
        '      ! removed keeping its stack, which stays in the account with all it holds, for you to delete: prod (444444444444): Organizations reports the account not ACTIVE (suspended or closing): StackSets cannot reach it',
      "  - acme-t: 1 instance (555555555555 (not in the org file)) (gone from the org file)\n      ✗ instance no operation reaches, which destroy cannot remove, so the StackSet stays (its other instances go; the StackSets it removes after this one send nothing to that account): 555555555555 (not in the org file): its account left the organization",
      '  - acme-u: 0 instances',
    ]);
    expect(formatDestroyRemovals([{ stackSet: 'acme-t', accounts: [], gone: true }], { accountNames: names, deleteRetained: true })).toEqual([
      '  - acme-t: 0 instances (gone from the org file: what its stacks retain is found by its deployed template, and deleted too)',
    ]);
  });

  it("folds a StackSet's long lists as the plan does, naming where the whole list is read (its --json is the run's summary) (review s44-diff C3)", () => {
    const ids = Array.from({ length: FOLD_AFTER + 1 }, (_, i) => String(100000000000 + i));
    const [listed] = formatDestroyRemovals([{ stackSet: 'acme-s', accounts: ids, keepStacks: ids.map((account) => ({ account, why: 'suspended' })) }], { accountNames: names, deleteRetained: false });
    const shown = ids.slice(0, 5).map((id) => `${id} (not in the org file)`);
    const whole = 'aws cloudformation list-stack-instances --stack-set-name acme-s lists every one';
    expect(listed.split('\n')).toEqual([
      `  - acme-s: ${ids.length} instances (${shown.join(', ')}, … and ${ids.length - 5} more accounts (${whole}))`,
      ...shown.map((a) => `      ! removed keeping its stack, which stays in the account with all it holds, for you to delete: ${a}: suspended`),
      `      … and ${ids.length - 5} more instances removed keeping their stacks (${whole})`,
    ]);
    // Where the StackSets live, and as whom, in the command that lists them (review s45-diff D5).
    const [elsewhere] = formatDestroyRemovals([{ stackSet: 'acme-s', accounts: ids }], { accountNames: names, deleteRetained: false, region: 'eu-west-1', callAs: 'DELEGATED_ADMIN' });
    expect(elsewhere).toContain('(aws cloudformation list-stack-instances --stack-set-name acme-s --region eu-west-1 --call-as DELEGATED_ADMIN lists every one)');
    expect(formatDestroyRemovals([{ stackSet: 'acme-s', accounts: ids }], { accountNames: names, deleteRetained: false, region: 'eu-west-1', callAs: 'SELF' })[0]).toContain('--stack-set-name acme-s --region eu-west-1 lists every one)');
    // At the fold's edge, every one is listed.
    const [edge] = formatDestroyRemovals([{ stackSet: 'acme-s', accounts: ids.slice(0, FOLD_AFTER) }], { accountNames: names, deleteRetained: false });
    expect(edge).toBe(`  - acme-s: ${FOLD_AFTER} instances (${ids.slice(0, FOLD_AFTER).map((id) => `${id} (not in the org file)`).join(', ')})`);
  });
});

describe('exit codes and last lines', () => {
  it('plan --detailed-exitcode: 2 for a change, and for a stage deploy fails with nothing to change (a StackSet it leaves alone, an INOPERABLE instance); 0 otherwise (review s44-verify-plan V6)', () => {
    expect(planExitCode([plan({ action: 'unchanged' })])).toBe(0);
    expect(planExitCode([plan({ action: 'unchanged' }), plan({ action: 'update', templateChanged: true })])).toBe(2);
    expect(planExitCode([plan({ action: 'unchanged', foreign: 'StackSet acme-s exists but xstack did not create it' })])).toBe(2);
    expect(planExitCode([plan({ action: 'unchanged', retryAccounts: [{ account: '222222222222', status: 'INOPERABLE', cannotUpdate: true }] })])).toBe(2);
  });

  it("verify's last line: drifted instances counted with the way out, beside the differences and the drift it could not tell (review s44-verify-plan V7)", () => {
    const result = { differences: [], drift: [], driftUnknown: [], drifted: [], unread: [] };
    expect(verifySummary(result)).toBe('verify: deployed StackSets match the manifest');
    expect(verifySummary({ ...result, drifted: ['acme-s 222222222222 eu-west-1'] })).toBe(
      'verify: deployed StackSets match the manifest; 1 instance drifted (changed outside CloudFormation, above), which deploy does not undo: aws cloudformation describe-stack-resource-drifts --stack-name with its stack named above, in its account and Region, says what changed, to undo there',
    );
    expect(verifySummary({ ...result, differences: ['a', 'b'], drifted: ['x', 'y'], driftUnknown: ['acme-t'] })).toBe(
      'verify: 2 difference(s); 2 instances drifted (changed outside CloudFormation, above), which deploy does not undo: aws cloudformation describe-stack-resource-drifts --stack-name with each stack named above, in the instance\'s account and Region, says what changed, to undo there; drift unknown for acme-t',
    );
    // An account whose roles' managed policies could not be read: named above, counted here, and exit 1 (nothing differs, but not all was told).
    const unread = { ...result, unread: ['account 222222222222: AccessDenied'] };
    expect(verifySummary(unread)).toBe("verify: deployed StackSets match the manifest; 1 account whose roles' managed policies could not be read (above)");
    expect(verifyExitCode(unread)).toBe(1);
    expect(verifyExitCode({ ...unread, differences: ['a'] })).toBe(2);
    expect(verifyExitCode(result)).toBe(0);
  });
});
