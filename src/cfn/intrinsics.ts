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

/**
 * The stack's own unique id, the last part of `AWS::StackId` (the page's example, its partition written as the pseudo parameter: "arn:${AWS::Partition}:cloudformation:us-west-2:123456789012:stack/
 * teststack/51af3dc0-da77-11e4-872e-1234567890ab", https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html#cfn-pseudo-param-stackid):
 * new with every stack, so a name that ends in it is never the name of a resource an earlier stack kept.
 */
export const stackUniqueId = (): IntrinsicFunction => new IntrinsicFunction('Fn::Select', [2, split('/', ref('AWS::StackId'))]);

/** Whether a template's value is `stackUniqueId()` (as the YAML reads back). */
export function isStackUniqueId(v: unknown): boolean {
  const select = (v as { 'Fn::Select'?: unknown })?.['Fn::Select'];
  if (!Array.isArray(select) || Number(select[0]) !== 2) return false;
  const parts = (select[1] as { 'Fn::Split'?: unknown })?.['Fn::Split'];
  return Array.isArray(parts) && parts[0] === '/' && (parts[1] as { Ref?: unknown })?.Ref === 'AWS::StackId';
}

/** A name that is `start` followed by the stack's unique id (stackUniqueId). */
export const stackUniqueName = (start: string): IntrinsicFunction => new IntrinsicFunction('Fn::Join', ['', [start, stackUniqueId()]]);
