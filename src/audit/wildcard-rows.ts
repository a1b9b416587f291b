/** The audit report's table of the wildcards inside names the org's templates write, and what bounds each (rule XS017). */
import type { CfnTemplate } from '../cfn/template';
import { policyDocuments } from '../checks/documents';
import { recordWildcards } from '../checks/rules';
import { grouped } from '../count';
import { BOUNDED_WILDCARDS, type WildcardContext, type WildcardUse } from '../iam/wildcards';

/** The most texts a row shows of one wildcard; the rest are counted. */
const TEXTS_SHOWN = 4;

/**
 * One row per listed wildcard used, in src/iam/wildcards.ts's order: its shape (the org's prefix written in); its texts
 * as the templates write them, the shape's `<name>` and role placeholders read as the org's own names, each of the
 * org's account ids (`accounts`) written `<account>` so that one text stands for every account's (twelve digits that
 * are no account of the org's stay, as in a name: review s61-second-read m6); where it is; the statements that hold it
 * (by Sid); and its reason, with the condition it rests on. A wildcard the list lacks failed the compile before the
 * report is made (rule XS017), so each the templates hold has its entry.
 */
export function wildcardRows(used: WildcardUse, prefix?: string, accounts: ReadonlySet<string> = new Set()): string[][] {
  const named = (shape: string) => (prefix === undefined ? shape : shape.replaceAll('<prefix>', prefix));
  return BOUNDED_WILDCARDS.filter((w) => used.has(w)).map((w) => {
    const { sids, texts } = used.get(w)!;
    return [
      `\`${named(w.shape)}\``,
      writtenAs(texts, named(w.shape), accounts),
      w.element === 'Resource' ? 'Resource' : `condition ${w.element}`,
      [...sids].sort().join(', '),
      w.heldBy ? `${w.reason}; the statement must hold ${w.heldBy.operators.join(' or ')} on ${w.heldBy.key}${w.heldBy.organizationId ? ", naming the organization's id" : ''}${w.heldBy.value ? `, naming ${named(w.heldBy.value)} alone` : ''}` : w.reason,
    ];
  });
}

/**
 * A wildcard's distinct texts, the org's account ids written `<account>`, in code-unit order: the first TEXTS_SHOWN,
 * and a count of the rest; "the shape" where the one text is the shape itself.
 */
function writtenAs(texts: ReadonlySet<string>, shape: string, accounts: ReadonlySet<string>): string {
  const distinct = [...new Set([...texts].map((t) => t.replace(/(?<!\d)\d{12}(?!\d)/g, (id) => (accounts.has(id) ? '<account>' : id))))].sort();
  if (distinct.length === 1 && distinct[0] === shape) return 'the shape';
  const shown = distinct.slice(0, TEXTS_SHOWN).map((t) => `\`${t}\``);
  return distinct.length > TEXTS_SHOWN ? `${shown.join('; ')}; and ${grouped(distinct.length - TEXTS_SHOWN)} more` : shown.join('; ');
}

/** The listed wildcards every Allow of `templates` holds, read statement by statement (as the compile's checks gather them). */
export function wildcardsUsedIn(templates: Iterable<CfnTemplate>, ctx?: WildcardContext): WildcardUse {
  const used: WildcardUse = new Map();
  for (const template of templates) for (const doc of policyDocuments(template)) recordWildcards(doc, used, ctx);
  return used;
}
