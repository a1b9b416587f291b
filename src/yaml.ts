/**
 * Plain CloudFormation YAML. CloudFormation and cfn-lint read YAML 1.1, where
 * `yes`, `on`, `0123` or `1e3` are not strings; the `yaml` library, told to
 * write 1.1, quotes every such string. No anchors or aliases, no line folding,
 * block style throughout. Every document is read back and compared before it is
 * returned, so what is written is exactly what was meant.
 */
import { isDeepStrictEqual } from 'node:util';
import { Document, parse } from 'yaml';

const OPTIONS = { version: '1.1' as const };

export function toYaml(data: unknown): string {
  const doc = new Document(data, { ...OPTIONS, aliasDuplicateObjects: false });
  const text = doc.toString({ lineWidth: 0, minContentWidth: 0, indentSeq: true });
  const back = parse(text, OPTIONS);
  if (!isDeepStrictEqual(back, data)) {
    throw new Error('internal: emitted YAML does not read back to the object it was made from');
  }
  return text;
}

export function fromYaml(text: string): unknown {
  return parse(text, OPTIONS);
}
