/** The audit report's table of the wildcards inside names the org's templates write, and what bounds each (rule XS017). */
import type { CfnTemplate } from '../cfn/template';
import { policyDocuments } from '../checks/documents';
import { wildcardsOf } from '../checks/rules';
import { BOUNDED_WILDCARDS, type BoundedWildcard } from '../iam/wildcards';

/**
 * One row per listed wildcard the templates use, in src/iam/wildcards.ts's order: its shape, where it is, the
 * statements that hold it (by Sid) and its reason. Every Allow is read: a wildcard the list lacks failed the compile
 * before the report is made (rule XS017), so each found here has its entry.
 */
export function wildcardRows(templates: Iterable<CfnTemplate>): string[][] {
  const used = new Map<BoundedWildcard, Set<string>>();
  for (const template of templates) {
    for (const doc of policyDocuments(template)) {
      for (const s of doc.statements) {
        if (s.Effect !== 'Allow') continue;
        for (const w of wildcardsOf(s)) {
          if (!w.bounded) continue;
          let sids = used.get(w.bounded);
          if (!sids) used.set(w.bounded, (sids = new Set()));
          sids.add(s.Sid ?? '');
        }
      }
    }
  }
  return BOUNDED_WILDCARDS.filter((w) => used.has(w)).map((w) => [`\`${w.shape}\``, w.element === 'Resource' ? 'Resource' : `condition ${w.element}`, [...used.get(w)!].sort().join(', '), w.heldBy ? `${w.reason}; held by ${w.heldBy}` : w.reason]);
}
