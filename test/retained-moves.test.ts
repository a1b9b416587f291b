// A retained resource with a fixed name moving between the parts of a family
// (src/deploy/moves.ts): found from the deployed and the compiled templates.
import { describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../src/cfn/template';
import { creatingAccounts, familyMoves, heldNameAdvice, moveOrder, NAME_HELD_AFTER_DELETE, settlingOrder, type FamilyMove, type FamilyPart } from '../src/deploy/moves';

/** The moves deploy refuses: of retained resources. */
const retainedMoves = (parts: readonly FamilyPart[]) => familyMoves(parts).filter((m) => m.retained).map(({ retained: _, ...m }) => m);

// As compiled now (RetainExceptOnCreate, src/cfn/extensions.ts retain); `deployedRepository` as stacks deployed before still say.
const repository = (name: string) => ({ Type: 'AWS::CodeCommit::Repository', DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain', Properties: { RepositoryName: name } });
const deployedRepository = (name: string) => ({ Type: 'AWS::CodeCommit::Repository', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: { RepositoryName: name } });
const role = { Type: 'AWS::IAM::Role', Properties: {} };
const template = (resources: Record<string, unknown>): CfnTemplate => ({ Resources: resources }) as unknown as CfnTemplate;

describe('retained resources moving between the parts of a family', () => {
  it('a repository leaving one part for another is a move; a role is not (it is replaced, and may be)', () => {
    const moves = retainedMoves([
      { stackSet: 'acme-source-repositories', deployed: template({ RepositoryA: repository('a'), RepositoryB: repository('b'), RoleA: role }), desired: template({ RepositoryA: repository('a') }) },
      { stackSet: 'acme-source-repositories-2', deployed: template({ RepositoryC: repository('c') }), desired: template({ RepositoryB: repository('b'), RepositoryC: repository('c'), RoleA: role }) },
    ]);
    expect(moves).toEqual([{ logicalId: 'RepositoryB', type: 'AWS::CodeCommit::Repository', from: 'acme-source-repositories', to: 'acme-source-repositories-2' }]);
  });

  it('every resource that changes part is a move; only a retained one of fixed name is one deploy refuses', () => {
    expect(
      familyMoves([
        { stackSet: 'acme-source-repositories', deployed: template({ RepositoryA: repository('a'), RepositoryB: repository('b'), RoleA: role }), desired: template({ RepositoryA: repository('a') }) },
        { stackSet: 'acme-source-repositories-2', deployed: template({ RepositoryC: repository('c') }), desired: template({ RepositoryB: repository('b'), RepositoryC: repository('c'), RoleA: role }) },
      ]),
    ).toEqual([
      { logicalId: 'RepositoryB', type: 'AWS::CodeCommit::Repository', from: 'acme-source-repositories', to: 'acme-source-repositories-2', retained: true },
      { logicalId: 'RoleA', type: 'AWS::IAM::Role', from: 'acme-source-repositories', to: 'acme-source-repositories-2', retained: false },
    ]);
  });

  it('into a part not deployed yet, and out of a part the org no longer has', () => {
    expect(
      retainedMoves([
        { stackSet: 'acme-source-repositories', deployed: template({ RepositoryA: repository('a'), RepositoryB: repository('b') }), desired: template({ RepositoryA: repository('a') }) },
        { stackSet: 'acme-source-repositories-2', desired: template({ RepositoryB: repository('b') }) },
      ]).map((m) => m.to),
    ).toEqual(['acme-source-repositories-2']);
    expect(
      retainedMoves([
        { stackSet: 'acme-source-repositories', deployed: template({ RepositoryA: repository('a') }), desired: template({ RepositoryA: repository('a'), RepositoryB: repository('b') }) },
        { stackSet: 'acme-source-repositories-2', deployed: template({ RepositoryB: repository('b') }) },
      ]).map((m) => m.from),
    ).toEqual(['acme-source-repositories-2']);
  });

  it('a repository deployed as Retain and compiled as RetainExceptOnCreate moves (and is refused) alike; one without a DeletionPolicy is not retained', () => {
    expect(
      familyMoves([
        { stackSet: 'p', deployed: template({ RepositoryA: deployedRepository('a'), RepositoryB: deployedRepository('b') }), desired: template({ RepositoryA: repository('a') }) },
        { stackSet: 'p-2', deployed: template({}), desired: template({ RepositoryB: repository('b') }) },
        { stackSet: 'p-3', deployed: template({ RepositoryD: { Type: 'AWS::CodeCommit::Repository', Properties: { RepositoryName: 'd' } } }), desired: template({}) },
        { stackSet: 'p-4', deployed: template({}), desired: template({ RepositoryD: { Type: 'AWS::CodeCommit::Repository', Properties: { RepositoryName: 'd' } } }) },
      ]).map((m) => [m.logicalId, m.from, m.to, m.retained]),
    ).toEqual([
      ['RepositoryB', 'p', 'p-2', true],
      ['RepositoryD', 'p-3', 'p-4', false],
    ]);
  });

  it('a repository added, removed or staying where it is moves nothing; nor does a first rollout', () => {
    expect(
      retainedMoves([
        { stackSet: 'p', deployed: template({ RepositoryA: repository('a'), RepositoryGone: repository('g') }), desired: template({ RepositoryA: repository('a'), RepositoryNew: repository('n') }) },
        { stackSet: 'p-2', deployed: template({ RepositoryB: repository('b') }), desired: template({ RepositoryB: repository('b') }) },
      ]),
    ).toEqual([]);
    expect(retainedMoves([{ stackSet: 'p', desired: template({ RepositoryA: repository('a') }) }, { stackSet: 'p-2', desired: template({ RepositoryB: repository('b') }) }])).toEqual([]);
  });
});

describe('the order deploy gives the moves it lets through (moveOrder)', () => {
  const move = (logicalId: string, from: string, to: string, retained = false): FamilyMove => ({ logicalId, type: 'AWS::IAM::Role', from, to, retained });
  const waves = (byStackSet: Record<string, number>) => (stackSet: string) => byStackSet[stackSet];

  it('within a wave, the part a resource enters waits for every part it leaves; a chain is ordered link by link', () => {
    const order = moveOrder([move('RoleB', 'p-2', 'p'), move('RoleC', 'p-3', 'p-2'), move('RoleD', 'p-3', 'p')], waves({ p: 4, 'p-2': 4, 'p-3': 4 }));
    expect([...order.waitsFor]).toEqual([
      ['p', ['p-2', 'p-3']],
      ['p-2', ['p-3']],
    ]);
    expect(order.blocked).toEqual([]);
  });

  it('a move from an earlier wave needs no wait; from a later wave, from a part gone, or both ways round a ring, it is blocked with its reason', () => {
    const order = moveOrder(
      [move('RoleA', 'early', 'late'), move('RoleB', 'late', 'early'), move('RoleC', 'gone', 'early'), move('RoleD', 'x', 'y'), move('RoleE', 'y', 'z'), move('RoleF', 'z', 'x'), move('RoleG', 'z', 'w')],
      waves({ early: 1, late: 2, x: 3, y: 3, z: 3, w: 3 }),
    );
    expect([...order.waitsFor]).toEqual([['w', ['z']]]);
    expect(order.blocked.map((m) => [m.logicalId, m.why])).toEqual([
      ['RoleB', 'the part it leaves deploys in a later wave (2) than the part it enters (1)'],
      ['RoleC', 'the part it leaves is gone from the org, and deleted only after every create and update'],
      ['RoleD', 'the parts exchange resources both ways, and an update creates before it deletes'],
      ['RoleE', 'the parts exchange resources both ways, and an update creates before it deletes'],
      ['RoleF', 'the parts exchange resources both ways, and an update creates before it deletes'],
    ]);
  });

  it("a queue's move also waits out the 60 s SQS refuses its name after the delete, from the same wave or an earlier one; other types and blocked moves do not", () => {
    const queue = (logicalId: string, from: string, to: string): FamilyMove => ({ ...move(logicalId, from, to), type: 'AWS::SQS::Queue' });
    const order = moveOrder([queue('QueueA', 'p-2', 'p'), move('RoleB', 'p-3', 'p-2'), queue('QueueC', 'early', 'p-3'), queue('QueueD', 'late', 'early')], waves({ p: 4, 'p-2': 4, 'p-3': 4, early: 1, late: 2 }));
    expect([...order.holds].map(([to, h]) => [to, h.ms, h.move.logicalId])).toEqual([
      ['p', 61_000, 'QueueA'],
      ['p-3', 61_000, 'QueueC'],
    ]);
    expect(order.blocked.map((m) => m.logicalId)).toEqual(['QueueD']);
    expect(NAME_HELD_AFTER_DELETE['AWS::SQS::Queue'].doc).toMatch(/API_DeleteQueue\.html$/);
  });

  it("an instance failed on a queue's held name (a quick retry after a rollback) is told to deploy again in a minute; other failures are left as they are", () => {
    const failed = 'account 222222222222 eu-west-1: FAILED: ResourceLogicalId:EventsDeadLetterQueue, ResourceType:AWS::SQS::Queue, ResourceStatusReason:Resource handler returned message: "You must wait 60 seconds after deleting a queue before you can create another with the same name. (Service: Sqs, Status Code: 400, Request ID: x)".';
    expect(heldNameAdvice(failed)).toMatch(/\(Service: Sqs, Status Code: 400, Request ID: x\)": SQS holds a deleted queue's name for 60 s \(https:\/\/docs\.aws\.amazon\.com\/AWSSimpleQueueService\/latest\/APIReference\/API_DeleteQueue\.html\); deploy again in a minute$/);
    expect(heldNameAdvice('QueueDeletedRecently: name held')).toContain('deploy again in a minute');
    const other = 'account 222222222222 eu-west-1: FAILED: ResourceStatusReason:AccessDenied.';
    expect(heldNameAdvice(other)).toBe(other);
  });

  it('retained moves are neither ordered nor blocked here: deploy refuses them on their own account', () => {
    const order = moveOrder([move('RepositoryA', 'p', 'p-2', true)], waves({ p: 1, 'p-2': 1 }));
    expect(order.waitsFor.size).toBe(0);
    expect(order.blocked).toEqual([]);
  });
});

describe('the parts a creating part waits for when they have instances to apply again (settlingOrder)', () => {
  it('a part that creates resources waits for the parts of its wave that create none; parts that create nothing wait for nobody', () => {
    const order = settlingOrder(
      [
        // Its template already updated by a failed run: it creates nothing, yet its stacks may hold what it dropped.
        { stackSet: 'p-2', deployed: template({ RoleC: role }), desired: template({ RoleC: role }) },
        { stackSet: 'p', deployed: template({ RoleA: role }), desired: template({ RoleA: role, RoleB: role }) },
        { stackSet: 'p-3', desired: template({ RoleD: role }) },
        { stackSet: 'p-4', deployed: template({ RoleE: role }), desired: template({ RoleE: role }) },
        { stackSet: 'gone', deployed: template({ RoleF: role }) },
      ],
      (name) => ({ p: 2, 'p-2': 2, 'p-3': 2, 'p-4': 3 })[name],
    );
    expect([...order]).toEqual([
      ['p', ['p-2']],
      ['p-3', ['p-2']],
    ]);
  });
});

describe('where a part creates resources (creatingAccounts)', () => {
  const conditioned = (resources: Record<string, string>) =>
    ({
      Conditions: { AccountA: { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '111111111111'] }, AccountB: { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '222222222222'] } },
      Resources: Object.fromEntries(Object.entries(resources).map(([id, condition]) => [id, { ...role, Condition: condition }])),
    }) as unknown as CfnTemplate;

  it('the accounts where a resource its deployed template lacks applies; every account of a part not deployed yet; none when it adds nothing', () => {
    const targets = ['111111111111', '222222222222'];
    expect(creatingAccounts({ stackSet: 'p', deployed: conditioned({ RoleA: 'AccountA' }), desired: conditioned({ RoleA: 'AccountA', RoleB: 'AccountB' }) }, targets)).toEqual(['222222222222']);
    expect(creatingAccounts({ stackSet: 'p', desired: conditioned({ RoleA: 'AccountA', RoleB: 'AccountB' }) }, targets)).toEqual(targets);
    expect(creatingAccounts({ stackSet: 'p', deployed: conditioned({ RoleA: 'AccountA', RoleB: 'AccountB' }), desired: conditioned({ RoleA: 'AccountA' }) }, targets)).toEqual([]);
  });
});
