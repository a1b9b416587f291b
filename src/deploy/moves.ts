/**
 * Resources leaving one part (StackSet) of a family for another: a layout
 * file lost, not kept, or edited (src/stages/layout.ts), or a unit its part
 * can no longer hold (src/stages/family.ts). StackSets cannot move a resource
 * between StackSets, so a move is a delete in one stack and a create in
 * another. Found before any operation, from the deployed templates:
 * - a retained resource with a fixed name (a repository) cannot move at all:
 *   the part it leaves retains it (DeletionPolicy Retain or RetainExceptOnCreate,
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html),
 *   and the part it enters fails to create it ("already exists"), in every
 *   run; deploy refuses it;
 * - any other moves in one run when the part it leaves is updated before the
 *   part it enters (moveOrder); those no order lets through deploy refuses too.
 */
import { compareText } from '../order';
import type { CfnTemplate } from '../cfn/template';
import { retainedUnderFixedName } from './retained';
import { conditionHolds } from '../cfn/account-switch';

export interface FamilyPart {
  stackSet: string;
  /** As deployed; absent for a StackSet not created yet. */
  deployed?: CfnTemplate;
  /** As compiled; absent for a part the org no longer has. */
  desired?: CfnTemplate;
}

export interface RetainedMove {
  logicalId: string;
  type: string;
  from: string;
  to: string;
}

/** A resource leaving one part of a family for another; `retained`: one that cannot (a retained resource of fixed name). */
export interface FamilyMove extends RetainedMove {
  retained: boolean;
}

const resourceIds = (t: CfnTemplate | undefined): Map<string, { type: string; retained: boolean }> =>
  new Map(Object.entries(t?.Resources ?? {}).map(([id, r]) => [id, { type: r.Type, retained: retainedUnderFixedName(r) }]));

/** The resources of one family that leave one part and enter another (logical ids are the family's, unique across parts). */
export function familyMoves(parts: readonly FamilyPart[]): FamilyMove[] {
  const leaving = new Map<string, string>();
  const entering = new Map<string, { type: string; retained: boolean; to: string }>();
  for (const part of parts) {
    const deployed = resourceIds(part.deployed);
    const desired = resourceIds(part.desired);
    for (const id of deployed.keys()) if (!desired.has(id)) leaving.set(id, part.stackSet);
    // A part not deployed yet enters everything it holds.
    for (const [id, r] of desired) if (!deployed.has(id)) entering.set(id, { ...r, to: part.stackSet });
  }
  return [...entering]
    .filter(([id]) => leaving.has(id))
    .map(([logicalId, { type, retained, to }]) => ({ logicalId, type, from: leaving.get(logicalId)!, to, retained }))
    .sort((a, b) => compareText(a.logicalId, b.logicalId));
}

/**
 * The order that makes a move finish in one run: the part a resource leaves
 * is updated first, and the part it enters only once that update has ended.
 * A resource's custom name must be unique across the account's active stacks
 * ("Resource names must be unique across all your active stacks",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html),
 * and the part it leaves deletes it in the last phase of its update
 * (UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, "removal of old resources ... after a
 * successful stack update", before UPDATE_COMPLETE,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html);
 * a StackSet operation SUCCEEDED has "completed creating or updating all the
 * specified stacks without exceeding the failure tolerance"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperation.html),
 * so deploy reads each instance's status after it, and an account that failed
 * fails the stage. Assumed, not documented: an instance reads CURRENT only once
 * its stack's update has ended, cleanup included; and CloudFormation may give
 * up a delete in the cleanup phase and still end the update complete (the
 * aws-cdk CLI shows such DELETE_FAILED events as skipped, aws/aws-cdk-cli#1564),
 * leaving the resource in place (README "Not yet").
 *
 * A move from an earlier wave is in that order already; within a wave,
 * `waitsFor` puts it so (an order across waves would break the stage graph).
 * The others no run could finish, since the part a resource enters would be
 * updated while the part it leaves still holds its name, and fail, and roll
 * back, in every run: `blocked`, which deploy refuses before any operation.
 * They are a move from a part in a later wave; from a part the org no longer
 * has (deleted after every create and update); and moves between parts that
 * exchange resources both ways, directly or round a ring (each update
 * creates before it deletes, so no order lets any of them through).
 */
export interface MoveOrder {
  /** StackSet → the StackSets of its wave whose update ends before its own starts, sorted. */
  waitsFor: ReadonlyMap<string, readonly string[]>;
  /**
   * StackSet → how long it waits, once the parts its resources leave have ended, before its own update: the longest
   * time a service refuses the name of a resource moving to it after the delete (NAME_HELD_AFTER_DELETE), with it.
   */
  holds: ReadonlyMap<string, { ms: number; move: FamilyMove }>;
  blocked: ReadonlyArray<FamilyMove & { why: string }>;
}

/**
 * Types whose name the service refuses for a while after a delete, so that a move (a delete in one part, a create of
 * the same name in another) fails unless the create waits: SQS, "When you delete a queue, you must wait at least 60
 * seconds before creating a queue with the same name"
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteQueue.html); CloudFormation's
 * handler does not wait it out (a create then fails with QueueDeletedRecently). A second more than said.
 */
export const NAME_HELD_AFTER_DELETE: Readonly<Record<string, { ms: number; doc: string }>> = {
  'AWS::SQS::Queue': { ms: 61_000, doc: 'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteQueue.html' },
};

/**
 * An instance's failure because a queue's name is still held (a quick retry after a rolled-back create, or a queue
 * deleted by hand): the handler passes SQS's QueueDeletedRecently on, "You must wait 60 seconds after deleting a queue
 * before you can create another queue with the same name" (API_DeleteQueue, above). The line with what to do, or as it
 * was.
 */
export function heldNameAdvice(line: string): string {
  if (!/QueueDeletedRecently|wait 60 seconds after deleting a queue/i.test(line)) return line;
  return `${line.replace(/\.$/, '')}: SQS holds a deleted queue's name for 60 s (${NAME_HELD_AFTER_DELETE['AWS::SQS::Queue'].doc}); deploy again in a minute`;
}

/** `waveOf`: a desired StackSet's wave; undefined for a StackSet the org no longer has. Retained moves are not ordered: deploy refuses them. */
export function moveOrder(moves: readonly FamilyMove[], waveOf: (stackSet: string) => number | undefined): MoveOrder {
  const movable = moves.filter((m) => !m.retained);
  const sameWave = (m: FamilyMove) => waveOf(m.from) !== undefined && waveOf(m.from) === waveOf(m.to);
  const edges = new Map<string, Set<string>>();
  for (const m of movable) if (sameWave(m)) (edges.get(m.from) ?? edges.set(m.from, new Set()).get(m.from)!).add(m.to);
  const ring = inRings(edges);
  const why = (m: FamilyMove): string | undefined => {
    const from = waveOf(m.from);
    if (from === undefined) return 'the part it leaves is gone from the org, and deleted only after every create and update';
    if (from > waveOf(m.to)!) return `the part it leaves deploys in a later wave (${from}) than the part it enters (${waveOf(m.to)})`;
    if (ring.has(m.from) && ring.get(m.from) === ring.get(m.to)) return 'the parts exchange resources both ways, and an update creates before it deletes';
    return undefined;
  };
  const waitsFor = new Map<string, Set<string>>();
  const holds = new Map<string, { ms: number; move: FamilyMove }>();
  const blocked: Array<FamilyMove & { why: string }> = [];
  for (const m of movable) {
    const reason = why(m);
    if (reason) {
      blocked.push({ ...m, why: reason });
      continue;
    }
    if (sameWave(m)) (waitsFor.get(m.to) ?? waitsFor.set(m.to, new Set()).get(m.to)!).add(m.from);
    // From an earlier wave too: that wave may have ended just now.
    const held = NAME_HELD_AFTER_DELETE[m.type];
    if (held && held.ms > (holds.get(m.to)?.ms ?? 0)) holds.set(m.to, { ms: held.ms, move: m });
  }
  return {
    waitsFor: new Map([...waitsFor].sort(([a], [b]) => compareText(a, b)).map(([to, from]) => [to, [...from].sort()])),
    holds: new Map([...holds].sort(([a], [b]) => compareText(a, b))),
    blocked,
  };
}

/**
 * The parts a part that creates resources waits for when they turn out to
 * have instances to apply again: after a failed update a StackSet holds its
 * new template, but the stacks it failed for still hold what that template
 * dropped (UpdateStackSet: "the stack set is updated with your changes",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html),
 * so a move the templates no longer show may still be under way there. Only
 * parts that create nothing are waited for, and they wait for nobody: nothing
 * moves into a part that creates nothing, so these waits and moveOrder's make
 * no cycle. Same wave, desired parts only. Sorted.
 */
export function settlingOrder(parts: readonly FamilyPart[], waveOf: (stackSet: string) => number | undefined): Map<string, string[]> {
  const desired = parts.filter((p) => p.desired && waveOf(p.stackSet) !== undefined);
  const creates = new Set(desired.filter((p) => addedResources(p).length > 0));
  const creating = desired.filter((p) => creates.has(p));
  const settled = desired.filter((p) => p.deployed && !creates.has(p));
  const order = new Map<string, string[]>();
  for (const g of creating) {
    const before = settled.filter((r) => waveOf(r.stackSet) === waveOf(g.stackSet)).map((r) => r.stackSet).sort();
    if (before.length > 0) order.set(g.stackSet, before);
  }
  return order;
}

/** The resources of a part's desired template that its deployed template lacks (all of them for a part not deployed yet). */
function addedResources(part: FamilyPart): Array<[string, NonNullable<FamilyPart['desired']>['Resources'][string]]> {
  const deployed = resourceIds(part.deployed);
  return Object.entries(part.desired?.Resources ?? {}).filter(([id]) => !deployed.has(id));
}

/**
 * The accounts where a part creates resources this run: of its targets, those
 * where one of the resources its deployed template lacks applies (a family's
 * resources are conditioned on their accounts; a part not created yet lacks
 * them all).
 */
export function creatingAccounts(part: FamilyPart, targets: readonly string[]): string[] {
  const added = addedResources(part);
  if (added.some(([, r]) => !r.Condition)) return [...targets];
  const conditions = part.desired?.Conditions as Record<string, unknown> | undefined;
  return targets.filter((account) => added.some(([, r]) => conditionHolds(conditions, r.Condition!, account)));
}

/** Each node on a cycle of `edges` → its strongly connected component's number (Tarjan's algorithm); nodes on no cycle are absent. */
function inRings(edges: ReadonlyMap<string, ReadonlySet<string>>): Map<string, number> {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const ring = new Map<string, number>();
  let next = 0;
  let rings = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1) {
      rings++;
      for (const w of component) ring.set(w, rings);
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return ring;
}

export const moveText = (m: RetainedMove) => `${m.type} ${m.logicalId} would move from StackSet ${m.from} to ${m.to}`;

/** What an ordered move (moveOrder) does, for plan: it finishes in one run, with the resource absent for a while. */
export const orderedMoveNote = (from: readonly string[], holdSeconds?: number) =>
  `deploy updates ${from.join(', ')} first, which deletes each of these resources, and this StackSet once that has ended${holdSeconds ? ` and ${holdSeconds} s more (a queue's name is refused that long after its delete)` : ''}, which creates it: the move finishes in this run, the resource absent in between (a pipeline starts without its execution history)`;

/** Why a retained move is refused (deploy lists each refused move with its reason). */
export const RETAINED_MOVE_WHY = 'retained under its name: the part it leaves keeps it, and the part it enters fails to create it, in every run';

/**
 * What to do instead, for the refusal. StackSets has no operation that moves one resource between StackSets
 * (ImportStacksToStackSet takes whole stacks:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ImportStacksToStackSet.html), so the only
 * change that finishes is one that leaves the part boundaries where they are deployed.
 */
export const MOVE_FIX =
  "StackSets cannot move one resource between StackSets; keep the parts as deployed: restore the org's layout file (<org>.layout.json beside the org file) from version control as it was at the last deploy (deploy writes it before its first operation; dist/<org>/manifest.json records its SHA-256), and compile again (see the README's \"Parts keep their units\")";
