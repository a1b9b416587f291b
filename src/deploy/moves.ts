/**
 * A retained resource with a fixed name (a repository) moving from one part
 * of a family to another (src/stages/family.ts: a layout file lost or not
 * kept, so parts were packed afresh): the part it leaves retains it (DeletionPolicy: Retain), and
 * the part it enters then fails to create it ("already exists"), in every
 * later run too, and in both directions. A resource removed from a template
 * with DeletionPolicy Retain is kept, outside the stack
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
 * Found before any operation, from the deployed templates, so that deploy
 * refuses instead of starting what it cannot finish.
 */
import type { CfnTemplate } from '../cfn/template';
import { retainedUnderFixedName } from './retained';

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
    .sort((a, b) => a.logicalId.localeCompare(b.logicalId));
}


export const moveText = (m: RetainedMove) => `${m.type} ${m.logicalId} would move from StackSet ${m.from} to ${m.to}`;

/**
 * What a move that deploy lets through does: the parts of a family deploy in
 * the same wave, in parallel, and a stack removes the resources its update
 * drops last, after its creates and updates ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS:
 * Ongoing removal of old resources ... after a successful stack update",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html),
 * so the part it enters meets the name still in use; the next deploy, after
 * the other part deleted it, creates it. A pipeline so moved starts without
 * its execution history.
 */
export const MOVE_NOTE =
  "a resource of fixed name: this deploy's create fails ('already exists') if the part it leaves still holds it, and the next deploy creates it; keep the org's layout file (<org>.layout.json) from version control to keep units in place";

/**
 * What to do instead, for the refusal. StackSets has no operation that moves one resource between StackSets
 * (ImportStacksToStackSet takes whole stacks:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ImportStacksToStackSet.html), so the only
 * change that finishes is one that leaves the part boundaries where they are deployed.
 */
export const MOVE_FIX =
  "CloudFormation would retain it in the StackSet it leaves and fail to create it in the other, and StackSets cannot move one resource between StackSets; keep the parts as deployed: restore the org's layout file (<org>.layout.json beside the org file) from version control as it was at the last deploy (deploy writes it before its first operation; dist/<org>/manifest.json records its SHA-256), and compile again (see the README's \"Parts keep their units\")";
