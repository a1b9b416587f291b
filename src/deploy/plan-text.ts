/**
 * The plan as a person reads it: one block per StackSet, accounts by name and
 * id, long lists folded (`--json` has everything), colour on a terminal unless
 * NO_COLOR is set (https://no-color.org/), as terraform and cdk colour theirs.
 */
import type { DestroyPlan, StackSetPlan } from './deployer';
import { MOVE_FIX, orderedMoveNote } from './moves';

export interface PlanTextOptions {
  /** Account id → name, from the org file. */
  accountNames: ReadonlyMap<string, string>;
  colour: boolean;
}

/** Lists longer than this show their first FOLDED_SHOWN entries and a count. */
export const FOLD_AFTER = 8;
const FOLDED_SHOWN = 5;

/** How a StackSet's change reads: its plan's action, but an update that only removes instances says so. */
type Kind = StackSetPlan['action'] | 'remove instances';

const SYMBOL: Record<Kind, string> = { create: '+', update: '~', 'remove instances': '-', delete: '-', unchanged: '=' };
const COLOUR: Record<Kind, number> = { create: 32, update: 33, 'remove instances': 33, delete: 31, unchanged: 2 };

/**
 * An update whose only change is deleting instances in accounts the org file no longer targets (its template and
 * every other instance as they are): deploy's summary counts it "with instances removed", and so does the plan.
 */
export const removesInstancesOnly = (p: StackSetPlan): boolean =>
  p.action === 'update' && !p.templateChanged && !p.rolesChange && !p.tagsChange && p.addAccounts.length === 0 && p.retryAccounts.length === 0 && p.removeAccounts.length + (p.removeFirst?.length ?? 0) > 0;

const kindOf = (p: StackSetPlan): Kind => (removesInstancesOnly(p) ? 'remove instances' : p.action);

/**
 * What fails the StackSet's stage when deploy reaches it (deployer.ts reconcileStage): an INOPERABLE instance the org
 * file targets, a name in the way of a create, a StackSet xstack did not create, instances in other Regions, another
 * permission model, managed execution on, tags past the StackSet's 50, a template bucket missing or another's. Not the refusals of the whole run before any operation (moves, replacements, a locked execution
 * role, no instance kept, missing roles).
 */
export const failsStage = (p: StackSetPlan): boolean =>
  p.retryAccounts.some((r) => r.cannotUpdate || r.unreachable) || p.collisions.length > 0 || p.foreign !== undefined || p.otherRegions !== undefined || p.otherPermissionModel !== undefined || p.managedExecution !== undefined || p.tagsRefused !== undefined || p.templateBucket !== undefined;

/**
 * plan --detailed-exitcode: 2 when deploy would change something or fail a stage (✗: a StackSet it leaves alone, an
 * INOPERABLE instance, …), so that a CI that deploys on 2 meets the failure rather than reading "no changes" (review
 * s44-verify-plan V6: a foreign StackSet gave plan 0 and verify 2); else 0.
 */
export const planExitCode = (plans: readonly StackSetPlan[]): 0 | 2 => (plans.some((p) => p.action !== 'unchanged' || failsStage(p)) ? 2 : 0);

/** An account as the plan names it: `name (id)` as the org file names it, else its id. */
const accountLabel =
  (names: ReadonlyMap<string, string>) =>
  (id: string): string => {
    const name = names.get(id);
    return name ? `${name} (${id})` : id;
  };

/** A long list's first FOLDED_SHOWN entries and a count of the rest, indented as they are, with where the whole list is read. */
function fold<T>(items: readonly T[], show: (x: T) => string, what: string, whole = '--json lists every one'): string[] {
  if (items.length <= FOLD_AFTER) return items.map(show);
  const shown = items.slice(0, FOLDED_SHOWN).map(show);
  const indent = /^ */.exec(shown[0])![0];
  return [...shown, `${indent}… and ${items.length - FOLDED_SHOWN} more ${what} (${whole})`];
}

export function formatPlan(plans: readonly StackSetPlan[], options: PlanTextOptions): string {
  const paint = (code: number, text: string) => (options.colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const account = accountLabel(options.accountNames);
  // Refusals of the whole run before any operation, read from the deployed template (replacements.ts) and the family's
  // moves (moves.ts); each with its way out.
  const runRefusals = (p: StackSetPlan): string[] => [
    ...(p.refusedReplacements ?? []).map((r) => `    ${paint(31, '✗')} deploy refuses: ${r}`),
    ...fold(p.refusedMoves ?? [], (m) => `    ${paint(31, '✗')} deploy refuses: ${m}`, 'moves'),
    ...(p.refusedMoves?.length ? [`      way past it: ${MOVE_FIX}`] : []),
  ];
  const lines: string[] = [];
  // One refused move stops the whole deploy: no other move happens either.
  const refusing = plans.some((p) => (p.refusedMoves ?? []).length > 0);
  for (const p of plans) {
    const kind = kindOf(p);
    lines.push(`${paint(COLOUR[kind], SYMBOL[kind])} ${p.stackSet}: ${kind}`);
    // Read where this run writes its key policy (deployer.ts existingRoleFindings): deploy refuses before any operation.
    for (const r of p.missingRoles ?? []) lines.push(`    ${paint(31, '✗')} deploy refuses, a role its key policy names is not there as named: ${r}`);
    // Read with its instances (deployer.ts otherRegionsText): deploy refuses the stage before any operation, changed or not.
    if (p.otherRegions) lines.push(`    ${paint(31, '✗')} deploy refuses: ${p.otherRegions.replace(/\n/g, '\n      ')}`);
    if (p.otherPermissionModel) lines.push(`    ${paint(31, '✗')} deploy refuses: ${p.otherPermissionModel}`);
    if (p.managedExecution) lines.push(`    ${paint(31, '✗')} deploy refuses: ${p.managedExecution}`);
    if (p.foreign) lines.push(`    ${paint(31, '✗')} ${p.foreign}`);
    if (p.executionRoleLocked) lines.push(`    ${paint(31, '✗')} deploy refuses: ${p.executionRoleLocked}`);
    if (p.noInstanceKept) lines.push(`    ${paint(31, '✗')} deploy refuses the org file, changing nothing: ${p.noInstanceKept}`);
    for (const r of p.retryAccounts.filter((x) => x.cannotUpdate)) lines.push(`    ${paint(31, '✗')} instance deploy cannot update: ${account(r.account)} is ${r.status}: ${r.reason}`);
    for (const r of p.retryAccounts.filter((x) => x.unreachable)) lines.push(`    ${paint(31, '✗')} instance no operation reaches, which deploy cannot apply again: ${account(r.account)} is ${r.status}: ${r.unreachable}`);
    // What fails this stage in deploy (not the whole run before any operation, as the refusals above and below do): its
    // wave runs on, and deploy stops after it (review s43-plan m1).
    if (failsStage(p)) lines.push(`    ${paint(31, '✗')} this stage fails: deploy runs the rest of its wave but the stages that wait on it, then stops (no later wave, no removal)`);
    // A StackSet deploy leaves alone keeps the run's refusals (deployer.ts sentNothing), which refuse the whole run.
    if (p.action === 'unchanged') {
      lines.push(...runRefusals(p));
      continue;
    }
    const accounts = (ids: readonly string[]) => fold(ids, account, 'accounts').join(', ');
    // Narrowed to the instances it keeps when some leave (deployer.ts reconcileStage): "every instance it keeps" (review s43-plan n3).
    if (p.rolesChange) lines.push(`    roles (sent with an UpdateStackSet, which updates every instance it keeps): ${p.rolesChange}`);
    if (p.tagsChange && !p.tagsRefused) lines.push(`    tags (sent with an UpdateStackSet, which updates every instance it keeps and passes them on to the resources that take tags): ${p.tagsChange}`);
    if (p.tagsRefused) lines.push(`    ${paint(31, '✗')} deploy fails this stage before its update: ${p.tagsRefused}`);
    if (p.templateBucket) lines.push(`    ${paint(31, '✗')} deploy fails this stage at its first operation: ${p.templateBucket}`);
    if (p.addAccounts.length) lines.push(`    instances to add: ${accounts(p.addAccounts)}`);
    if (p.removeFirst?.length) lines.push(`    ${refusing ? 'once no move is refused (✗ in this plan), ' : ''}instances to remove first, before its template update (another part of its family creates resources there): ${accounts(p.removeFirst)}`);
    if (p.removeAccounts.length) lines.push(`    instances to remove (after every create and update, in reverse rollout order): ${accounts(p.removeAccounts)}`);
    lines.push(
      ...fold(
        p.leftBehind ?? [],
        (l) => `    stays in ${account(l.account)} when its instance goes (retained; adding the account back later meets the named ones): ${l.resources.join(', ')}`,
        'accounts with resources left',
      ),
    );
    lines.push(...fold(p.keepStacks ?? [], (k) => `    ${paint(33, '!')} removed keeping its stack, which stays in the account for you to delete: ${account(k.account)}: ${k.why}`, 'instances removed keeping their stacks'));
    lines.push(...fold(p.retryAccounts.filter((r) => !r.cannotUpdate && !r.recreate && !r.unreachable), (r) => `    instance to apply again: ${account(r.account)} is ${r.status}${r.reason ? `: ${r.reason}` : ''}`, 'instances to apply again'));
    lines.push(
      ...fold(
        p.retryAccounts.filter((r) => r.recreate),
        (r) => `    instance to remove and create again (its stack was deleted outside StackSets): ${account(r.account)} is ${r.status}${r.reason ? `: ${r.reason}` : ''}`,
        'instances to create again',
      ),
    );
    for (const h of p.held ?? []) lines.push(`    ${paint(31, '✗')} instance deploy holds, not removing it: ${account(h.account)}: ${h.by}'s instance there stays (no operation reaches it), and its stack may still use what this one holds`);
    for (const u of p.unreachable ?? []) {
      // An early removal (before the template update) that strands its instance fails the stage, and deploy stops after its wave.
      const effect = p.removeFirst?.includes(u.account)
        ? 'which deploy cannot remove before its template update: the stage fails, and deploy runs neither the stages of its wave that wait on it, nor any later wave, nor any removal'
        : 'which deploy cannot remove (nor, after it, the instances of the stages it removes later in that account)';
      lines.push(`    ${paint(31, '✗')} instance no operation reaches, ${effect}: ${account(u.account)}: ${u.why}`);
    }
    for (const c of p.collisions) lines.push(`    ${paint(31, '✗')} left by an earlier stack (a destroy, a removal, or a stack deleted outside StackSets), creation will fail: ${c}`);
    for (const fix of p.collisionFixes ?? []) lines.push(`      way past it: ${fix}`);
    lines.push(...runRefusals(p));
    for (const w of p.replacementWarnings ?? []) lines.push(`    ${paint(33, '!')} ${w}`);
    if (p.runsLast) lines.push(`    ${p.runsLast}`);
    lines.push(...fold(p.moves ?? [], (m) => `    ${paint(33, '!')} ${m}`, 'moves'));
    if (p.moves?.length) lines.push(`      ${refusing ? 'once no move is refused (✗ in this plan), ' : ''}${orderedMoveNote(p.movesAfter ?? [], p.movesHoldSeconds)}`);
    for (const r of p.retained ?? []) lines.push(`    retained by an earlier destroy or removal, of an earlier bucket generation, no longer used (delete it when its data is not needed): ${r}`);
    if (p.templateChanged && p.templateDiff) lines.push(p.templateDiff.replace(/^/gm, '    ').trimEnd());
  }
  const n = (k: Kind) => plans.filter((p) => kindOf(p) === k).length;
  const none = plans.every((p) => p.action === 'unchanged');
  const removing = n('remove instances') > 0 ? `, ${n('remove instances')} to remove instances from` : '';
  // A stage deploy fails is said beside "no changes" (review s43-diff m2).
  const failing = plans.filter(failsStage).length;
  const fails = failing > 0 ? `; ${failing} stage${failing === 1 ? '' : 's'} fail${failing === 1 ? 's' : ''} (✗ above)` : '';
  lines.push('', `plan: ${n('create')} to create, ${n('update')} to update${removing}, ${n('delete')} to delete, ${n('unchanged')} unchanged${none ? ' — no changes' : ''}${fails}`);
  return `${lines.join('\n')}\n`;
}

/**
 * destroy's list of what it removes, before its question: each StackSet with its instances' accounts (by name and id,
 * as the org file names them), the stacks it leaves and the instances it cannot remove, as the plan says them for
 * deploy's removals.
 */
export function formatDestroyRemovals(
  remove: DestroyPlan['remove'],
  options: { accountNames: ReadonlyMap<string, string>; deleteRetained: boolean; /** Where the StackSets live, for the command that lists every instance. */ region?: string; callAs?: string },
): string[] {
  const named = accountLabel(options.accountNames);
  // destroy also reaches accounts the org file no longer names (the StackSet's instances are read, not the file).
  const account = (id: string) => (options.accountNames.has(id) ? named(id) : `${id} (not in the org file)`);
  // A stage gone from the org file: its StackSet is removed without looking for what its stacks retain (review s31-destroy M2).
  const gone = (r: DestroyPlan['remove'][number]) =>
    r.gone ? (options.deleteRetained ? ' (gone from the org file: what its stacks retain is found by its deployed template, and deleted too)' : ' (gone from the org file)') : '';
  // Long lists folded as the plan folds them (a 1,000-account org's StackSet would print a thousand names; review s44-diff C3);
  // what destroy cannot remove is listed whole, as the plan lists its ✗ lines.
  // destroy's --json is its run's summary, not this list: the whole list is the StackSet's instances.
  return remove.map((r) => {
    const whole = `aws cloudformation list-stack-instances --stack-set-name ${r.stackSet}${options.region ? ` --region ${options.region}` : ''}${options.callAs && options.callAs !== 'SELF' ? ` --call-as ${options.callAs}` : ''} lists every one`;
    return [
      `  - ${r.stackSet}: ${r.accounts.length} instance${r.accounts.length === 1 ? '' : 's'}${r.accounts.length > 0 ? ` (${fold(r.accounts, account, 'accounts', whole).join(', ')})` : ''}${gone(r)}`,
      ...fold(r.keepStacks ?? [], (k) => `      ! removed keeping its stack, which stays in the account with all it holds, for you to delete: ${account(k.account)}: ${k.why}`, 'instances removed keeping their stacks', whole),
      ...(r.unreachable ?? []).map(
        (u) => `      ✗ instance no operation reaches, which destroy cannot remove, so the StackSet stays (its other instances go; the StackSets it removes after this one send nothing to that account): ${account(u.account)}: ${u.why}`,
      ),
      ...(r.held ?? []).map(
        (h) => `      ✗ instance destroy holds, not removing it, so the StackSet stays: ${account(h.account)}: ${h.by}'s instance there stays (no operation reaches it), and its stack may still use what this one holds`,
      ),
    ].join('\n');
  });
}
