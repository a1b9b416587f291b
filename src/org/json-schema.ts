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
import { orgSchema } from './load';

export const ORG_SCHEMA_FILE = 'parameters/org.schema.json';

export function orgJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'xstack organization file',
    ...orgSchema.schema,
    description: `${orgSchema.schema.description}. Generated from xstack's validator (src/org/load.ts); 'xstack compile' checks more than this schema can say.`,
  };
}

export const orgJsonSchemaText = () => `${JSON.stringify(orgJsonSchema(), null, 2)}\n`;
