/**
 * The org file's JSON Schema, made from the validator's own checks
 * (./schema.ts), so the two cannot drift apart: editors with the YAML
 * language server read it from `parameters/org.schema.json`
 * (`# yaml-language-server: $schema=./org.schema.json`), `make compile`
 * writes it, a test checks it is fresh. It carries the structure (fields,
 * types, patterns, choices, ranges), without the values the validator reads
 * only to refuse them with the reason (./schema.ts acceptsOnly); rules across
 * fields and refinements stay with the validator, which remains the judge.
 */
import { sha256 } from '../hash';
import { orgSchema, SCHEMA_TITLE } from './load';

export const ORG_SCHEMA_FILE = 'parameters/org.schema.json';

export function orgJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: SCHEMA_TITLE,
    ...orgSchema.schema,
    description: `${orgSchema.schema.description}. Generated from xstack's validator (src/org/load.ts); 'xstack compile' checks more than this schema can say.`,
  };
}

/**
 * The schema's stamp: `schema --out` replaces a file only while it is as an xstack wrote it, so that a schema a user
 * customised (a description, a tighter pattern) is never replaced without a word (review s38-cli m10). The stamp is
 * the SHA-256 of the file's text with the stamp's own digits zeroed; `$comment` is JSON Schema's keyword for notes to
 * maintainers, which validators and editors ignore (https://json-schema.org/understanding-json-schema/reference/comments).
 */
const STAMP_WORDS = "Written by 'xstack schema', which replaces this file only while it is as written. SHA-256 of this text with these digits zeroed: ";
const UNSTAMPED = '0'.repeat(64);
const STAMP = new RegExp(`${STAMP_WORDS.replace(/[.()']/g, '\\$&')}([0-9a-f]{64})`);

/** `text` with its stamp: the SHA-256 of the text as it stands, written over the zeroed digits. */
const stamped = (text: string) => text.replace(`${STAMP_WORDS}${UNSTAMPED}`, `${STAMP_WORDS}${sha256(text)}`);

export const orgJsonSchemaText = () => {
  const { $schema, title, ...rest } = orgJsonSchema();
  return stamped(`${JSON.stringify({ $schema, title, $comment: `${STAMP_WORDS}${UNSTAMPED}`, ...rest }, null, 2)}\n`);
};

/**
 * Whether `text` is a schema as an xstack wrote it: `unstamped` when it carries no stamp (written by an xstack before
 * the stamp, or by hand), `edited` when its stamp no longer matches it. CRLF line ends are read as LF (a checkout with
 * git's core.autocrlf writes them; xstack writes LF).
 */
export function schemaStampOf(text: string): 'as written' | 'unstamped' | 'edited' {
  const lf = text.replaceAll('\r\n', '\n');
  const stamp = STAMP.exec(lf)?.[1];
  if (!stamp) return 'unstamped';
  return sha256(lf.replace(`${STAMP_WORDS}${stamp}`, `${STAMP_WORDS}${UNSTAMPED}`)) === stamp ? 'as written' : 'edited';
}
