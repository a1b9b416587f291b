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

const retainedIds = (t: CfnTemplate | undefined): Map<string, string> =>
  new Map(Object.entries(t?.Resources ?? {}).flatMap(([id, r]) => (retainedUnderFixedName(r) ? [[id, r.Type] as [string, string]] : [])));

/** The retained resources of one family that leave one part and enter another (logical ids are the family's, unique across parts). */
export function retainedMoves(parts: readonly FamilyPart[]): RetainedMove[] {
  const leaving = new Map<string, string>();
  const entering = new Map<string, { type: string; to: string }>();
  for (const part of parts) {
    const deployed = retainedIds(part.deployed);
    const desired = retainedIds(part.desired);
    for (const id of deployed.keys()) if (!desired.has(id)) leaving.set(id, part.stackSet);
    // A part not deployed yet enters everything it holds.
    for (const [id, type] of desired) if (!deployed.has(id)) entering.set(id, { type, to: part.stackSet });
  }
  return [...entering]
    .filter(([id]) => leaving.has(id))
    .map(([logicalId, { type, to }]) => ({ logicalId, type, from: leaving.get(logicalId)!, to }))
    .sort((a, b) => a.logicalId.localeCompare(b.logicalId));
}

export const moveText = (m: RetainedMove) => `${m.type} ${m.logicalId} would move from StackSet ${m.from} to ${m.to}`;

/**
 * What to do instead, for the refusal. StackSets has no operation that moves one resource between StackSets
 * (ImportStacksToStackSet takes whole stacks:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ImportStacksToStackSet.html), so the only
 * change that finishes is one that leaves the part boundaries where they are deployed.
 */
export const MOVE_FIX =
  "CloudFormation would retain it in the StackSet it leaves and fail to create it in the other, and StackSets cannot move one resource between StackSets; keep the parts as deployed: restore the org's layout file (<org>.layout.json beside the org file) from version control as it was at the last deploy (deploy writes it before its first operation; dist/<org>/manifest.json records its SHA-256), and compile again (see the README's \"Parts keep their units\")";
