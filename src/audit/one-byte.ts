/**
 * Texts held one byte a character in V8 where their characters allow. V8 keeps a text made from a two-byte one (a slice,
 * or a class's token replaced: classes.ts writes tokens past Latin-1) two-byte, whatever is left of it, and
 * JSON.stringify writes a whole document two-byte from the first such text it meets: a few hundred of the audit model's
 * entries made its JSON (1.4 million characters at 250 teams) twice its size, and the pieces it is made from as much again.
 */
const PAST_LATIN1 = /[^\x00-\xff]/;

/** `text`, the same characters, copied one-byte when each is Latin-1 (V8 tells no one how a text is held: always a copy). */
export const latin1 = (text: string): string => (PAST_LATIN1.test(text) ? text : Buffer.from(text, 'latin1').toString('latin1'));

/** Plain data (texts, lists, records) with each text as `latin1` gives it, its keys in their order; a copy where it holds a text. */
export function latin1Copy<T>(value: T): T {
  if (typeof value === 'string') return latin1(value) as T;
  if (Array.isArray(value)) return value.map(latin1Copy) as T;
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = latin1Copy((value as Record<string, unknown>)[key]);
  return out as T;
}
