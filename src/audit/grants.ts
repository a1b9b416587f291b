/**
 * Every grant of the compiled org, resolved per account: identity policies
 * (attached to a role), role trust, key, bucket and event-bus policies. The
 * auditor's matrices and the access proof read this one model.
 */
import { asList, policyDocuments, type PlainStatement, type PolicyKind } from '../checks/documents';
import type { CfnTemplate } from '../cfn/template';
import type { Org } from '../org/model';
import type { Stage } from '../stages/model';
import { Resolver, type Value } from './resolve';

export type PrincipalRef = { kind: 'aws'; arn: string } | { kind: 'service'; service: string } | { kind: 'any' };

export interface ResolvedStatement {
  stage: string;
  account: string;
  /** Resource logical id and statement Sid, e.g. `ArtifactKey/SourceRolesUseKey`. */
  policy: string;
  kind: PolicyKind;
  effect: 'Allow' | 'Deny';
  /** Identity policies: the role they are attached to. */
  attachedTo?: string;
  principals: PrincipalRef[];
  actions: string[];
  resources: string[];
  conditions: Record<string, Record<string, string[]>>;
}

const flat = (v: Value | Value[]): string[] => (Array.isArray(v) ? v.flatMap((x) => flat(x)) : [v]);

export function collectGrants(org: Org, stages: readonly Stage[], templates?: ReadonlyMap<string, CfnTemplate>): { grants: ResolvedStatement[]; resolver: Resolver } {
  const resolver = new Resolver(org, stages, templates);
  const grants: ResolvedStatement[] = [];
  for (const stage of stages) {
    const template = resolver.template(stage.id);
    // The endpoint policies are the network layer: reported, not part of who-may-do-what.
    const documents = policyDocuments(template).filter((doc) => doc.kind !== 'endpoint');
    for (const account of stage.targets) {
      const r = (e: unknown) => flat(resolver.resolve(stage.id, account.id, e));
      for (const doc of documents) {
        const resource = template.Resources[doc.resource];
        const p = (resource.Properties ?? {}) as Record<string, unknown>;
        const attachedTo =
          doc.kind !== 'identity'
            ? undefined
            : resource.Type === 'AWS::IAM::Role'
              ? r({ 'Fn::GetAtt': [doc.resource, 'Arn'] })[0]
              : r(p.Roles).map((name) => `arn:${org.partition}:iam::${account.id}:role/${name}`)[0];
        // A trust policy's resource is its role; a key policy's "*" is its key.
        const implicitResource = doc.kind === 'trust' || doc.kind === 'key' ? r({ 'Fn::GetAtt': [doc.resource, 'Arn'] }) : undefined;
        for (const s of doc.statements) grants.push(resolveStatement(stage.id, account.id, doc.resource, doc.kind, s, attachedTo, implicitResource, r));
      }
    }
  }
  return { grants, resolver };
}

/** What a statement is whatever the account: its name, effect and actions (shared by every account's copy). */
const staticParts = new WeakMap<PlainStatement, Pick<ResolvedStatement, 'effect' | 'actions'> & { sid: string }>();
function staticPartsOf(s: PlainStatement) {
  let parts = staticParts.get(s);
  if (!parts) staticParts.set(s, (parts = { sid: s.Sid ?? '(no Sid)', effect: s.Effect === 'Deny' ? 'Deny' : 'Allow', actions: asList(s.Action).map(String) }));
  return parts;
}

function resolveStatement(
  stage: string,
  account: string,
  resourceId: string,
  kind: PolicyKind,
  s: PlainStatement,
  attachedTo: string | undefined,
  implicitResource: string[] | undefined,
  r: (e: unknown) => string[],
): ResolvedStatement {
  const principals: PrincipalRef[] = [];
  if (s.Principal === '*') principals.push({ kind: 'any' });
  else if (s.Principal && typeof s.Principal === 'object') {
    const p = s.Principal as Record<string, unknown>;
    if (p.AWS !== undefined) for (const arn of r(p.AWS)) principals.push(arn === '*' ? { kind: 'any' } : { kind: 'aws', arn });
    if (p.Service !== undefined) for (const service of r(p.Service)) principals.push({ kind: 'service', service });
  }
  const conditions: ResolvedStatement['conditions'] = {};
  for (const [operator, keys] of Object.entries(s.Condition ?? {})) {
    conditions[operator] = Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, r(v)]));
  }
  const { sid, effect, actions } = staticPartsOf(s);
  return {
    stage,
    account,
    policy: `${resourceId}/${sid}`,
    kind,
    effect,
    ...(attachedTo ? { attachedTo } : {}),
    principals,
    actions,
    resources: implicitResource ?? r(s.Resource),
    conditions,
  };
}
