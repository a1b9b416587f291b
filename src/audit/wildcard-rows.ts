/** The audit report's table of the wildcards inside names the org's templates write, and what bounds each (rule XS017). */
import type { CfnTemplate } from '../cfn/template';
import { policyDocuments } from '../checks/documents';
import { recordWildcards } from '../checks/rules';
import { BOUNDED_WILDCARDS, type WildcardContext, type WildcardUse } from '../iam/wildcards';

/**
 * One row per listed wildcard used, in src/iam/wildcards.ts's order: its shape (the org's prefix written in), where it
 * is, the statements that hold it (by Sid) and its reason, with the condition it rests on. A wildcard the list lacks
 * failed the compile before the report is made (rule XS017), so each the templates hold has its entry.
 */
export function wildcardRows(used: WildcardUse, prefix?: string): string[][] {
  const named = (shape: string) => (prefix === undefined ? shape : shape.replaceAll('<prefix>', prefix));
  return BOUNDED_WILDCARDS.filter((w) => used.has(w)).map((w) => [
    `\`${named(w.shape)}\``,
    w.element === 'Resource' ? 'Resource' : `condition ${w.element}`,
    [...used.get(w)!].sort().join(', '),
    w.heldBy ? `${w.reason}; the statement must hold ${w.heldBy.operators.join(' or ')} on ${w.heldBy.key}${w.heldBy.organizationId ? ", naming the organization's id" : ''}${w.heldBy.value ? `, naming ${named(w.heldBy.value)} alone` : ''}` : w.reason,
  ]);
}

/** The listed wildcards every Allow of `templates` holds, read statement by statement (as the compile's checks gather them). */
export function wildcardsUsedIn(templates: Iterable<CfnTemplate>, ctx?: WildcardContext): WildcardUse {
  const used: WildcardUse = new Map();
  for (const template of templates) for (const doc of policyDocuments(template)) recordWildcards(doc, used, ctx);
  return used;
}
