/** Stages: one template, rolled out as one StackSet to its target accounts. */
import type { TemplateDefinition } from '../cfn/template';
import type { Account } from '../org/model';

/** An output of a stage, read in one of its target accounts. */
export interface OutputRef {
  readonly stage: string;
  readonly output: string;
  readonly account: string;
}

/** `stage.Output@account`: how parameter files and the report name a wired value's source. */
export const outputRefLabel = (r: OutputRef): string => `${r.stage}.${r.output}@${r.account}`;

export type ParamSource =
  /** Known at compile time; `origin` says where in the org file (or how) it comes from. */
  | { readonly kind: 'value'; readonly value: string; readonly origin: string }
  /** Wired: the outputs, joined by commas for list parameters, of earlier stages. */
  | { readonly kind: 'wired'; readonly refs: readonly OutputRef[] };

export interface Stage {
  readonly id: string;
  /** The template module under templates/ that builds it. */
  readonly module: string;
  readonly definition: TemplateDefinition;
  readonly targets: readonly Account[];
  /** Account id → parameter name → where its value comes from. */
  readonly inputs: ReadonlyMap<string, Readonly<Record<string, ParamSource>>>;
  /** Choices the compiler made for this stage, in words (compact forms, chunking). */
  readonly notes: readonly string[];
  /** One of several templates one stage is split into (a limit forced it): the first part's id and how many there are. */
  readonly part?: { readonly family: string; readonly count: number };
}

/** How the report names a stage's statements: a part of a split stage by the whole, so that its rows fold across parts. */
export const stageLabel = (stage: Stage): string => (stage.part ? `${stage.part.family} (${stage.part.count} parts)` : stage.id);
