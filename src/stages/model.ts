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
