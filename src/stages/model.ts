/** Stages: one template, rolled out as one StackSet to its target accounts. */
import type { TemplateDefinition } from '../cfn/template';
import type { Account } from '../org/model';

/**
 * A value that differs between a stage's target accounts. A StackSet has one
 * parameter set for all its instances, so the template chooses each
 * account's value itself (src/cfn/account-switch.ts); this records, for the
 * report, each account's value and where in the org file it comes from.
 */
export interface AccountValue {
  readonly name: string;
  readonly byAccount: ReadonlyMap<string, { readonly value: string; readonly origin: string }>;
}

/**
 * Something a stage's template names that another stage creates (a role by
 * its name, an export): that stage is rolled out first, and removed last.
 */
export interface Use {
  readonly stage: string;
  readonly what: string;
}

export interface Stage {
  readonly id: string;
  /** The template module under templates/ that builds it. */
  readonly module: string;
  readonly definition: TemplateDefinition;
  readonly targets: readonly Account[];
  /** Values its template chooses by account. */
  readonly accountValues: readonly AccountValue[];
  /** What it names of other stages' resources; the rollout order is derived from these. */
  readonly uses: readonly Use[];
  /** Choices the compiler made for this stage, in words (compact forms, chunking). */
  readonly notes: readonly string[];
  /** One of several templates one stage is split into (a limit forced it), or a family's only part when it is not its first: the first part's id and how many there are. */
  readonly part?: { readonly family: string; readonly count: number };
  /** A family's part (src/stages/family.ts): its number and its units' keys, as the org's layout records them. */
  readonly placement?: { readonly family: string; readonly part: number; readonly units: readonly string[] };
}

/** How the report names a stage's statements: a part of a split stage by the whole, so that its rows fold across parts. */
export const stageLabel = (stage: Stage): string => (stage.part ? `${stage.part.family} (${stage.part.count} parts)` : stage.id);

/**
 * Every stage id xstack makes, before a family's part number: plan.ts names its
 * stages only through `stageId`, so this list is the one place they are written.
 * A family's part n > 1 is `<id>-<n>` (family.ts). The StackSet is `<prefix>-<stage id>`.
 */
export const STAGE_IDS = [
  'pipeline-identity',
  'source-repositories',
  'source-identity',
  'pipeline-foundation',
  'source-events',
  'pipelines',
  'ci-identity',
  'ci-network',
  'access-roles',
  'access-callers',
] as const;
export type StageBaseId = (typeof STAGE_IDS)[number];
/** A stage id from STAGE_IDS (checked by the compiler). */
export const stageId = (id: StageBaseId): StageBaseId => id;

/** The stages made as families (src/stages/family.ts): the families a layout file records. */
export const FAMILY_STAGE_IDS: readonly StageBaseId[] = ['source-repositories', 'source-identity', 'source-events', 'pipelines', 'access-roles'];

/**
 * Stage ids of xstack before StackSets went by kind of template (issue 12): one
 * StackSet per source account or pipeline, `<base>-<account or pipeline name>`
 * (`source-identity-<account>`, `source-repositories-<account>`,
 * `source-events-<account>[-n]`, `access-roles-<account>`, `pipeline-<pipeline>`).
 * Still recognized so that deploy and destroy with this version remove them
 * (README "Upgrading from an earlier xstack").
 */
const EARLIER_STAGE_BASES = ['source-identity', 'source-repositories', 'source-events', 'access-roles', 'pipeline'] as const;

const isCurrentStageId = (rest: string): boolean =>
  STAGE_IDS.some((id) => rest === id || (rest.startsWith(`${id}-`) && /^[0-9]+$/.test(rest.slice(id.length + 1))));

/**
 * Whether `name` is a StackSet xstack makes for `prefix`: `<prefix>-<stage id>`.
 * The prefix alone does not say so: another org deployed from the same
 * administrator whose prefix begins with `<prefix>-` (`acme-team` beside `acme`)
 * has StackSets `acme-team-<stage id>`, and `team-<stage id>` is no stage id.
 * No current stage id is another one with `-<stage id>` after it, and part
 * numbers are digits, so a current id never matches a nested org's StackSet.
 * An earlier id is `<base>-<name>`, with `<name>` not a current stage id: that
 * keeps out a nested org `acme-pipeline` (its `acme-pipeline-pipelines`, rest
 * `pipeline-pipelines`). Left ambiguous: a nested org on an earlier xstack
 * whose prefix is `<prefix>-<earlier base>` (such an org is to be destroyed
 * and deployed again anyway).
 */
export function isOrgStackSetName(name: string, prefix: string): boolean {
  if (!name.startsWith(`${prefix}-`)) return false;
  const rest = name.slice(prefix.length + 1);
  if (isCurrentStageId(rest)) return true;
  return EARLIER_STAGE_BASES.some((base) => rest.startsWith(`${base}-`) && rest.length > base.length + 1 && !isCurrentStageId(rest.slice(base.length + 1)));
}
