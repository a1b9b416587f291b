/**
 * How a member team's statements and paths are compared with its class's first team's (paths.ts alikeTeams): the
 * first's items, written with the compared tokens, are read once into `Compared` texts (a text with tokens cut at them
 * once, each token as its slot among a member's values), and each member's own items are then compared with them in
 * place, its values written for the slots, field by field: no text looked up or scanned for a token per member.
 */
import { principalName, type PrincipalRef, type ResolvedStatement } from './grants';
import type { AccessPath } from './paths';
import { latin1 } from './one-byte';
import { hasToken, piecesOf } from './symbolic';

/**
 * A text of a class's first team's items (written with the compared tokens), as a member's is compared with it: the
 * text where it holds no token, else with its pieces (slotPieces), cut once for every member. What statementText and
 * pathText hold of a statement or a path, each text so, in the order the written item's fields and keys stand.
 */
export type Compared = string | { readonly text: string; readonly pieces: ReadonlyArray<string | number> };
/** A list of texts, and the written list itself (writtenList gives the item's own where the tokens changed none of it). */
interface ComparedList {
  readonly list: readonly string[];
  readonly texts: readonly Compared[];
}
/** A record's keys (Object.keys' order) and lists. */
interface ComparedRecord {
  readonly keys: readonly Compared[];
  readonly lists: readonly ComparedList[];
}
interface ComparedPrincipal {
  readonly kind: PrincipalRef['kind'];
  readonly name: Compared;
}
export interface ComparedStatement {
  readonly kind: ResolvedStatement['kind'];
  readonly effect: ResolvedStatement['effect'];
  readonly account: Compared;
  readonly attachedTo: Compared | undefined;
  readonly madeFor: Compared | undefined;
  readonly principals: readonly ComparedPrincipal[];
  readonly actions: ComparedList;
  readonly resources: ComparedList;
  /** Its operators (Object.keys' order) and each one's keys and lists. */
  readonly conditions: { readonly operators: readonly Compared[]; readonly records: readonly ComparedRecord[] };
}
export interface ComparedPath {
  readonly denied: boolean | undefined;
  readonly identityManagedElsewhere: boolean | undefined;
  readonly resourceManagedElsewhere: boolean | undefined;
  readonly outsideDecides: boolean | undefined;
  readonly need: Compared | undefined;
  readonly principal: ComparedPrincipal;
  readonly resource: Compared;
  readonly resourceAccount: Compared;
  readonly actions: ComparedList;
  readonly context: ComparedRecord | undefined;
}

const comparedList = (list: readonly string[], cut: (text: string) => Compared): ComparedList => ({ list, texts: list.map(cut) });
function comparedRecord(record: Readonly<Record<string, readonly string[]>>, cut: (text: string) => Compared): ComparedRecord {
  const keys = Object.keys(record);
  return { keys: keys.map(cut), lists: keys.map((key) => comparedList(record[key], cut)) };
}
const comparedPrincipal = (p: PrincipalRef, cut: (text: string) => Compared): ComparedPrincipal => ({ kind: p.kind, name: cut(principalName(p)) });
const comparedOptional = (text: string | undefined, cut: (text: string) => Compared): Compared | undefined => (text === undefined ? undefined : cut(text));

function comparedStatement(g: ResolvedStatement, cut: (text: string) => Compared): ComparedStatement {
  const operators = Object.keys(g.conditions);
  return {
    kind: g.kind,
    effect: g.effect,
    account: cut(g.account),
    attachedTo: comparedOptional(g.attachedTo, cut),
    madeFor: comparedOptional(g.madeFor, cut),
    principals: g.principals.map((p) => comparedPrincipal(p, cut)),
    actions: comparedList(g.actions, cut),
    resources: comparedList(g.resources, cut),
    conditions: { operators: operators.map(cut), records: operators.map((operator) => comparedRecord(g.conditions[operator], cut)) },
  };
}

function comparedPath(p: AccessPath, cut: (text: string) => Compared): ComparedPath {
  return {
    denied: p.denied,
    identityManagedElsewhere: p.identityManagedElsewhere,
    resourceManagedElsewhere: p.resourceManagedElsewhere,
    outsideDecides: p.outsideDecides,
    need: comparedOptional(p.need, cut),
    principal: comparedPrincipal(p.principal, cut),
    resource: cut(p.resource),
    resourceAccount: cut(p.resourceAccount),
    actions: comparedList(p.actions, cut),
    context: p.context && comparedRecord(p.context, cut),
  };
}

/**
 * The first team's items (written with the compared tokens) as compared: `slots`, each compared token's slot among a
 * member's values; any other token stays a piece as it is.
 */
export function comparedItems(slots: ReadonlyMap<string, number>): { statement(g: ResolvedStatement): ComparedStatement; path(p: AccessPath): ComparedPath } {
  // A list may hold no value where one was expected (Fn::Select past its end): kept as it is, read as the same.
  const cut = (text: string): Compared => (typeof text === 'string' && hasToken(text) ? { text, pieces: slotPieces(text, slots) } : text);
  return { statement: (g) => comparedStatement(g, cut), path: (p) => comparedPath(p, cut) };
}

/**
 * A text with compared tokens cut at its tokens (piecesOf), each compared token as its slot, any other token or piece as
 * itself. A piece is cut from a text holding tokens, which V8 keeps two-byte, and so is the piece: copied one-byte where
 * its characters allow (one-byte.ts), as every member's own text is, it is compared with them a byte at a time (the same
 * characters, so the same answers; a text is cut once for every member).
 */
const slotPieces = (text: string, slots: ReadonlyMap<string, number>): Array<string | number> => piecesOf(text).map((piece) => slots.get(piece) ?? latin1(piece));

/**
 * Whether a member's text reads a class's (Compared), each slot written as the member's value in `values`: the same
 * text, or one with tokens whose pieces, so written, read it in place. A module function taking `values`, not a
 * closure per member, and no text looked up or scanned for a token: the class's texts were cut once.
 */
function reads(copy: Compared, own: string, values: readonly string[]): boolean {
  return typeof copy === 'object' && copy !== null ? copy.text === own || readsFilled(copy.pieces, values, own) : copy === own;
}

/** Whether `pieces`, each slot written as its value in `values`, read `own`: compared in place (classes.ts readsWritten, by slot). */
function readsFilled(pieces: ReadonlyArray<string | number>, values: readonly string[], own: string): boolean {
  let at = 0;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    const text = typeof piece === 'number' ? values[piece] : piece;
    if (!own.startsWith(text, at)) return false;
    at += text.length;
  }
  return at === own.length;
}

/** The written list itself reads every text as it is (a text with tokens reads itself: the same text); else text by text. */
function listReads(copy: ComparedList, own: readonly string[], values: readonly string[]): boolean {
  if (copy.list === own) return true;
  if (copy.texts.length !== own.length) return false;
  for (let i = 0; i < own.length; i++) if (!reads(copy.texts[i], own[i], values)) return false;
  return true;
}
function recordReads(copy: ComparedRecord, own: Readonly<Record<string, readonly string[]>>, values: readonly string[]): boolean {
  const ownKeys = Object.keys(own);
  if (copy.keys.length !== ownKeys.length) return false;
  for (let i = 0; i < ownKeys.length; i++) if (!reads(copy.keys[i], ownKeys[i], values) || !listReads(copy.lists[i], own[ownKeys[i]], values)) return false;
  return true;
}
const principalReads = (copy: ComparedPrincipal, own: PrincipalRef, values: readonly string[]): boolean => copy.kind === own.kind && reads(copy.name, principalName(own), values);
const optionalReads = (copy: Compared | undefined, own: string | undefined, values: readonly string[]): boolean => (copy === undefined ? own === undefined : own !== undefined && reads(copy, own, values));

/** Whether a class's statement (statementText's fields) reads as a member's own. */
export function statementReads(copy: ComparedStatement, own: ResolvedStatement, values: readonly string[]): boolean {
  if (copy.kind !== own.kind || copy.effect !== own.effect || !reads(copy.account, own.account, values) || !optionalReads(copy.attachedTo, own.attachedTo, values) || !optionalReads(copy.madeFor, own.madeFor, values)) return false;
  if (copy.principals.length !== own.principals.length) return false;
  for (let i = 0; i < own.principals.length; i++) if (!principalReads(copy.principals[i], own.principals[i], values)) return false;
  if (!listReads(copy.actions, own.actions, values) || !listReads(copy.resources, own.resources, values)) return false;
  const ownOperators = Object.keys(own.conditions);
  if (copy.conditions.operators.length !== ownOperators.length) return false;
  for (let i = 0; i < ownOperators.length; i++) if (!reads(copy.conditions.operators[i], ownOperators[i], values) || !recordReads(copy.conditions.records[i], own.conditions[ownOperators[i]], values)) return false;
  return true;
}

/** Whether a class's path (pathText's fields) reads as a member's own. */
export function pathReads(copy: ComparedPath, own: AccessPath, values: readonly string[]): boolean {
  return (
    copy.denied === own.denied &&
    copy.identityManagedElsewhere === own.identityManagedElsewhere &&
    copy.resourceManagedElsewhere === own.resourceManagedElsewhere &&
    copy.outsideDecides === own.outsideDecides &&
    optionalReads(copy.need, own.need, values) &&
    principalReads(copy.principal, own.principal, values) &&
    reads(copy.resource, own.resource, values) &&
    reads(copy.resourceAccount, own.resourceAccount, values) &&
    listReads(copy.actions, own.actions, values) &&
    (copy.context === undefined ? own.context === undefined : own.context !== undefined && recordReads(copy.context, own.context, values))
  );
}

