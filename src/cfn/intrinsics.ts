/**
 * The few intrinsic functions the templates use, built on cloudform-types'
 * IntrinsicFunction so that resource properties stay typed.
 *
 * cloudform-types' own `Fn.Sub` always emits the list form and, called with one
 * argument, emits `[s, null]`, which cfn-lint rejects; `sub` here emits the
 * one-argument string form.
 */
import { IntrinsicFunction, type Value } from 'cloudform-types/types/dataTypes';

export type { Value };

export const ref = (logicalId: string): IntrinsicFunction => new IntrinsicFunction('Ref', logicalId);

export const getAtt = (logicalId: string, attribute: string): IntrinsicFunction =>
  new IntrinsicFunction('Fn::GetAtt', [logicalId, attribute]);

export const sub = (template: string): IntrinsicFunction => new IntrinsicFunction('Fn::Sub', template);

export const split = (delimiter: string, source: Value<string>): IntrinsicFunction =>
  new IntrinsicFunction('Fn::Split', [delimiter, source]);

/** `arn:${AWS::Partition}:…` — every ARN the templates write goes through here. */
export const arn = (rest: string): IntrinsicFunction => sub(`arn:\${AWS::Partition}:${rest}`);

export const PSEUDO = {
  accountId: ref('AWS::AccountId'),
  region: ref('AWS::Region'),
  partition: ref('AWS::Partition'),
} as const;
