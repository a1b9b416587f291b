/**
 * IAM policy statements, built and checked at the call that makes them, and
 * normalised for output (fixed key order, single values unwrapped).
 */
import { IntrinsicFunction } from 'cloudform-types/types/dataTypes';
import type { Value } from '../cfn/intrinsics';
import { PolicyError } from '../errors';

export type Effect = 'Allow' | 'Deny';
/** A single value may be a list-typed `Ref` (CommaDelimitedList parameter). */
export type Values = Value<string> | readonly Value<string>[];

export type Principal = '*' | { AWS: Values } | { Service: string } | { Federated: Values };

export type Conditions = Record<string, Record<string, unknown>>;

export interface StatementProps {
  sid: string;
  effect?: Effect;
  principal?: Principal;
  actions: readonly string[];
  /** Omitted only in trust policies, where the role itself is the resource. */
  resources?: Values;
  conditions?: Conditions;
}

export interface Statement {
  Sid: string;
  Effect: Effect;
  Principal?: Principal;
  Action: string | string[];
  Resource?: Values;
  Condition?: Conditions;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Statement[];
}

const SID = /^[A-Za-z0-9]+$/;
const ACTION = /^[a-z0-9-]+:[A-Za-z0-9*]+$/;

const unwrap = <T>(values: T | readonly T[]): T | T[] =>
  Array.isArray(values) ? (values.length === 1 ? values[0] : [...values]) : (values as T);

export function statement(props: StatementProps): Statement {
  const effect = props.effect ?? 'Allow';
  if (!SID.test(props.sid)) throw new PolicyError(`statement id '${props.sid}' must be alphanumeric`);
  if (props.actions.length === 0) throw new PolicyError(`statement ${props.sid} has no actions`);
  const seen = new Set<string>();
  for (const action of props.actions) {
    if (!ACTION.test(action)) throw new PolicyError(`statement ${props.sid}: '${action}' is not an IAM action`);
    if (seen.has(action)) throw new PolicyError(`statement ${props.sid}: action ${action} is listed twice`);
    seen.add(action);
    // Wildcards only ever narrow a Deny; in an Allow they grant what nobody reviewed.
    if (effect === 'Allow' && action.includes('*')) {
      throw new PolicyError(`statement ${props.sid}: wildcard action ${action} in an Allow; list the actions`);
    }
  }
  if (Array.isArray(props.resources) && props.resources.length === 0) {
    throw new PolicyError(`statement ${props.sid} has an empty resource list`);
  }
  const out: Partial<Statement> & Pick<Statement, "Sid" | "Effect"> = { Sid: props.sid, Effect: effect };
  if (props.principal !== undefined) {
    out.Principal =
      typeof props.principal === 'object' && 'AWS' in props.principal
        ? { AWS: unwrap(props.principal.AWS) }
        : props.principal;
  }
  out.Action = unwrap(props.actions);
  if (props.resources !== undefined) out.Resource = unwrap(props.resources);
  if (props.conditions !== undefined) out.Condition = props.conditions;
  return out as Statement;
}

/**
 * Roles admitted by ARN: their accounts' roots as the principal, narrowed to
 * the roles by `aws:PrincipalArn` (other accounts' roles, and the roles of a
 * key's own account that another StackSet makes). A role named in a
 * Principal element is stored by its unique id: deleted and created again
 * under the same name (a unit moving to another part of a family, a repair by
 * hand), it no longer matches, and nothing updates the policy that named it
 * ("if you delete and recreate the role ... the relationship is broken",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles).
 * `aws:PrincipalArn` compares the role's ARN, the same for the new role
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
 * Across accounts both sides must allow a request either way: the other
 * account's own policies still decide what its role may do; within a key's
 * account, a root principal makes KMS ask the role's own policies too.
 */
export function rolesByArn(roots: Values, roleArns: Values, more: Conditions = {}): Pick<StatementProps, 'principal' | 'conditions'> {
  return { principal: { AWS: roots }, conditions: { ...more, ArnEquals: { 'aws:PrincipalArn': unwrap(roleArns) } } };
}

export function policyDocument(statements: readonly Statement[]): PolicyDocument {
  const sids = new Set<string>();
  for (const s of statements) {
    // A statement only some accounts keep is `Fn::If [condition, statement, AWS::NoValue]` (account-switch.ts item).
    const sid = s instanceof IntrinsicFunction ? (s.toJSON() as { 'Fn::If'?: [string, Statement] })['Fn::If']?.[1].Sid ?? '' : s.Sid;
    if (sids.has(sid)) throw new PolicyError(`statement id ${sid} is used twice in one policy`);
    sids.add(sid);
  }
  return { Version: '2012-10-17', Statement: [...statements] };
}

/**
 * Trust policy for an AWS service, narrowed against the confused deputy by the
 * conditions given; services that send no source context (EC2) get none, with
 * an exception recorded on the role.
 */
export function serviceTrust(service: string, conditions: Conditions): PolicyDocument {
  return policyDocument([
    statement({
      sid: 'TrustService',
      principal: { Service: service },
      actions: ['sts:AssumeRole'],
      ...(Object.keys(conditions).length > 0 ? { conditions } : {}),
    }),
  ]);
}
