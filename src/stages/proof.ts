/**
 * Proves the rollout order against IAM, KMS, S3 and EventBridge, which reject a
 * policy naming a principal that does not exist yet ("Invalid principal in
 * policy", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html):
 * every AWS principal a policy names, as deployed in each target account, is
 * a role the same template creates in that account, a role an earlier wave's
 * stage creates in the account the ARN names, a role the org file says
 * exists already (deploymentTargets.instanceRoles), an account root
 * (conditioned; see the rules), or `*` (conditioned).
 */
import { flatValues, type Resolver } from '../audit/resolve';
import type { CfnTemplate } from '../cfn/template';
import { awsPrincipals, policyDocuments } from '../checks/documents';
import type { Rollout } from './graph';
import type { Stage } from './model';

const ROLE_ARN = /^arn:[\w-]+:iam::(\d{12}):role\/(.+)$/;
const ACCOUNT_ROOT = /^(arn:[\w-]+:iam::\d{12}:root|\d{12})$/;

/** Role name → account → the stages that create it there. */
export type RoleIndex = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

/** Stands, in the index, for the org file: roles it says exist before any rollout. */
export const EXISTING = '(existing, named in the org file)';

/** Every role every stage creates, by name and account, and the existing ones the org file names. */
export function roleIndex(stages: readonly Stage[], templates: ReadonlyMap<string, CfnTemplate>, resolver: Resolver, existing: ReadonlyArray<{ name: string; accounts: readonly string[] }> = []): RoleIndex {
  const index = new Map<string, Map<string, string[]>>();
  for (const { name, accounts } of existing) {
    const byAccount = index.get(name) ?? index.set(name, new Map()).get(name)!;
    for (const a of accounts) (byAccount.get(a) ?? byAccount.set(a, []).get(a)!).push(EXISTING);
  }
  for (const stage of stages) {
    for (const [id, r] of Object.entries(templates.get(stage.id)!.Resources)) {
      if (r.Type !== 'AWS::IAM::Role') continue;
      const name = resolver.compile(stage.id, r.Properties?.RoleName);
      for (const a of resolver.accountsWith(stage.id, id)) {
        const n = String(name.at(a));
        const byAccount = index.get(n) ?? index.set(n, new Map()).get(n)!;
        (byAccount.get(a) ?? byAccount.set(a, []).get(a)!).push(stage.id);
      }
    }
  }
  return index;
}

const flat = flatValues;

export function provePrincipals(stage: Stage, template: CfnTemplate, rollout: Rollout, resolver: Resolver, roles: RoleIndex): string[] {
  const problems = new Set<string>();
  const wave = rollout.waveOf.get(stage.id)!;
  for (const doc of policyDocuments(template)) {
    for (const s of doc.statements) {
      const principals = principalsToProve(s.Principal);
      if (principals === undefined) continue;
      const where = `${stage.id}: ${doc.resource} statement ${s.Sid ?? '(no Sid)'}`;
      // The list whole: an account reads only the items kept there, not every item asked in every account.
      const compiled = resolver.compile(stage.id, principals);
      // By index: this runs for every principal in every account, mostly before V8 has optimised it, when each for-of step is an object made.
      const accounts = resolver.accountsWith(stage.id, doc.resource);
      for (let i = 0; i < accounts.length; i++) {
        const arns = flat(compiled.at(accounts[i]));
        for (let j = 0; j < arns.length; j++) {
          const problem = proveOne(arns[j], accounts[i], stage.id, wave, rollout, roles);
          if (problem) problems.add(`${where}: ${problem}`);
        }
      }
    }
  }
  return [...problems];
}

/**
 * A statement's AWS principals but a written `*` (the rules see that it is
 * conditioned), as one expression: the template's own where it writes no
 * `*`, so that what the resolver compiled for it is reused.
 */
function principalsToProve(principal: unknown): unknown {
  const written = awsPrincipals(principal);
  const named = written.filter((p) => p !== '*');
  if (named.length === 0) return undefined;
  return named.length < written.length ? named : (principal as { AWS: unknown }).AWS;
}

function proveOne(arn: string, account: string, stageId: string, wave: number, rollout: Rollout, roles: RoleIndex): string | undefined {
  if (ACCOUNT_ROOT.test(arn)) return undefined;
  const role = ROLE_ARN.exec(arn);
  if (!role) return `cannot prove that principal ${arn} exists before ${stageId}`;
  const [, owner, name] = role;
  const makers = roles.get(name)?.get(owner) ?? [];
  if (makers.includes(stageId) && owner === account) return undefined;
  if (makers.some((m) => m === EXISTING || rollout.waveOf.get(m)! < wave)) return undefined;
  return makers.length === 0
    ? `principal ${arn} is a role no stage creates in account ${owner}`
    : `principal ${arn} is created by ${makers.join(', ')}, which is not rolled out before ${stageId}`;
}
