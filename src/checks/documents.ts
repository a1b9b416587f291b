/** Every policy document in a rendered template, with what kind of policy it is. */
import type { CfnTemplate } from '../cfn/template';

export type PolicyKind = 'trust' | 'identity' | 'key' | 'bucket' | 'event-bus' | 'endpoint';

export interface PlainStatement {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface FoundDocument {
  resource: string;
  type: string;
  kind: PolicyKind;
  statements: PlainStatement[];
  metadata?: Record<string, unknown>;
}

const statementsOf = (document: unknown): PlainStatement[] => {
  const s = (document as { Statement?: unknown } | undefined)?.Statement;
  return Array.isArray(s) ? (s as PlainStatement[]) : s ? [s as PlainStatement] : [];
};

export function policyDocuments(template: CfnTemplate): FoundDocument[] {
  const found: FoundDocument[] = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    const p = (r.Properties ?? {}) as Record<string, unknown>;
    const add = (kind: PolicyKind, statements: PlainStatement[]) =>
      found.push({ resource: id, type: r.Type, kind, statements, metadata: r.Metadata });
    switch (r.Type) {
      case 'AWS::IAM::Role':
        add('trust', statementsOf(p.AssumeRolePolicyDocument));
        for (const policy of (p.Policies as Array<{ PolicyDocument: unknown }> | undefined) ?? []) add('identity', statementsOf(policy.PolicyDocument));
        break;
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
        add('identity', statementsOf(p.PolicyDocument));
        break;
      case 'AWS::KMS::Key':
        add('key', statementsOf(p.KeyPolicy));
        break;
      case 'AWS::S3::BucketPolicy':
        add('bucket', statementsOf(p.PolicyDocument));
        break;
      case 'AWS::EC2::VPCEndpoint':
        if (p.PolicyDocument) add('endpoint', statementsOf(p.PolicyDocument));
        break;
      case 'AWS::Events::EventBusPolicy':
        add('event-bus', p.Statement ? [p.Statement as PlainStatement] : []);
        break;
    }
  }
  return found;
}

export const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The AWS principals of a statement (each a string or an intrinsic object). */
export function awsPrincipals(principal: unknown): unknown[] {
  if (principal === '*') return ['*'];
  if (principal && typeof principal === 'object' && 'AWS' in principal) return asList((principal as { AWS: unknown }).AWS);
  return [];
}
