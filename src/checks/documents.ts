/** Every policy document in a rendered template, with what kind of policy it is. */
import type { CfnTemplate } from '../cfn/template';

export type PolicyKind = 'trust' | 'identity' | 'key' | 'bucket' | 'event-bus' | 'endpoint' | 'queue';

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
  /**
   * The document says `Version: 2012-10-17`: IAM reads policy variables in it. Without it "variables like
   * ${aws:username} are treated as literal strings" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html);
   * a bus policy's one-statement form carries no Version.
   */
  versioned: boolean;
  metadata?: Record<string, unknown>;
}

/**
 * A document's statements, each as written: a statement only some accounts keep (`Fn::If [condition, statement,
 * AWS::NoValue]`, account-switch.ts item) is read as the statement it is where kept, so that every rule holds of it.
 */
const statementsOf = (document: unknown): PlainStatement[] => {
  const s = (document as { Statement?: unknown } | undefined)?.Statement;
  const list = Array.isArray(s) ? (s as unknown[]) : s ? [s] : [];
  return list.flatMap((x) => {
    const branches = (x as { 'Fn::If'?: [string, unknown, unknown] } | null)?.['Fn::If'];
    if (!branches) return [x as PlainStatement];
    const [condition, kept, otherwise] = branches;
    return [kept, otherwise].flatMap((b, i) => {
      if ((b as { Ref?: unknown } | null)?.Ref === 'AWS::NoValue') return [];
      keptWhere.set(b as PlainStatement, { condition, holds: i === 0 });
      return [b as PlainStatement];
    });
  });
};

/** Statements kept in some accounts only: the condition whose value (`holds`) keeps each. */
const keptWhere = new WeakMap<PlainStatement, { condition: string; holds: boolean }>();

/** Where a statement of a document policyDocuments read is kept: undefined for one the document always holds. */
export const statementKeptWhere = (statement: PlainStatement): { condition: string; holds: boolean } | undefined => keptWhere.get(statement);

/**
 * The properties of a resource policyDocuments reads (with its type and metadata): a role's trust and inline
 * policies, a policy's document, a key's policy, a bus policy's statement and its id. What a check reads of a resource
 * through its documents is in these (alike.ts compares resources by them).
 */
export const POLICY_PROPERTIES: readonly string[] = ['AssumeRolePolicyDocument', 'Policies', 'PolicyDocument', 'KeyPolicy', 'Statement', 'StatementId'];

export function policyDocuments(template: CfnTemplate): FoundDocument[] {
  const found: FoundDocument[] = [];
  // Called by every check and by the audit for every template: keys, not entries, and no closure a resource.
  const resources = template.Resources;
  for (const id of Object.keys(resources)) {
    const r = resources[id];
    const p = (r.Properties ?? {}) as Record<string, unknown>;
    switch (r.Type) {
      case 'AWS::IAM::Role':
        found.push(documentOf(id, r, 'trust', p.AssumeRolePolicyDocument));
        for (const policy of (p.Policies as Array<{ PolicyDocument: unknown }> | undefined) ?? []) found.push(documentOf(id, r, 'identity', policy.PolicyDocument));
        break;
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
        found.push(documentOf(id, r, 'identity', p.PolicyDocument));
        break;
      case 'AWS::KMS::Key':
        found.push(documentOf(id, r, 'key', p.KeyPolicy));
        break;
      case 'AWS::S3::BucketPolicy':
        found.push(documentOf(id, r, 'bucket', p.PolicyDocument));
        break;
      case 'AWS::EC2::VPCEndpoint':
        if (p.PolicyDocument) found.push(documentOf(id, r, 'endpoint', p.PolicyDocument));
        break;
      case 'AWS::SQS::QueuePolicy':
        found.push(documentOf(id, r, 'queue', p.PolicyDocument));
        break;
      case 'AWS::Events::EventBusPolicy':
        found.push({ ...documentOf(id, r, 'event-bus', undefined), statements: p.Statement ? [busStatement(p.Statement as PlainStatement, p.StatementId)] : [] });
        break;
    }
  }
  return found;
}

/**
 * A bus policy's statement as EventBridge keeps it: under its StatementId, which it writes as the statement's Sid
 * (`aws events describe-event-bus`; https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-events-eventbuspolicy.html).
 */
const busStatement = (statement: PlainStatement, statementId: unknown): PlainStatement => (typeof statementId === 'string' ? { ...statement, Sid: statementId } : statement);

const documentOf = (resource: string, r: CfnTemplate['Resources'][string], kind: PolicyKind, document: unknown): FoundDocument => ({
  resource,
  type: r.Type,
  kind,
  statements: statementsOf(document),
  versioned: (document as { Version?: unknown } | undefined)?.Version === '2012-10-17',
  metadata: r.Metadata,
});

export const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The AWS principals of a statement (each a string or an intrinsic object). */
export function awsPrincipals(principal: unknown): unknown[] {
  if (principal === '*') return ['*'];
  if (principal && typeof principal === 'object' && 'AWS' in principal) return asList((principal as { AWS: unknown }).AWS);
  return [];
}
