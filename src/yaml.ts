/**
 * Plain CloudFormation YAML. CloudFormation and cfn-lint read YAML 1.1, where
 * `yes`, `on`, `0123` or `1e3` are not strings; the `yaml` library, told to
 * write 1.1, quotes every such string. No anchors or aliases, no line folding,
 * block style throughout. That every template reads back to exactly the
 * object it was made from, under this reader and under js-yaml, is checked by
 * test/output.test.ts over every emitted file (here it would double the
 * compile's YAML cost).
 */
import { Document, parse } from 'yaml';

const OPTIONS = { version: '1.1' as const };

export function toYaml(data: unknown): string {
  return new Document(data, { ...OPTIONS, aliasDuplicateObjects: false }).toString({ lineWidth: 0, minContentWidth: 0, indentSeq: true });
}

export function fromYaml(text: string): unknown {
  return parse(text, OPTIONS);
}
