import { describe, expect, it } from 'vitest';
import { toYaml, yamlBytes } from '../src/yaml';
import { ORG_FILES, templatesOf } from './helpers';

describe('yamlBytes, the size a family packs its units by', () => {
  it('is the UTF-8 length of the text toYaml writes, quoted strings beyond ASCII included', () => {
    const data = {
      plain: 'arn:${AWS::Partition}:s3:::bucket/*',
      quoted: ['Zürich', 'a\u2028b', 'smile \u{1F600}', 'a: b', 'yes', '0123', '\u0085', ''],
      nested: [['a', []], {}, [{ k: ['é'] }], { 'clé: x': 1.5, n: -3, t: true, z: null }],
    };
    expect(yamlBytes(data)).toBe(Buffer.byteLength(toYaml(data)));
  });

  it('is the length of every template of the example orgs', () => {
    for (const file of ORG_FILES) {
      for (const [id, template] of templatesOf(file)) expect(yamlBytes(template), id).toBe(Buffer.byteLength(toYaml(template)));
    }
  });
});

describe('toYaml, the keys of a map', () => {
  it('writes own enumerable keys only, in their order, as Object.keys gives them', () => {
    const map = Object.create({ inherited: 'not written' }) as Record<string, unknown>;
    map.b = 'B';
    map['2'] = 'two';
    map.a = 'A';
    Object.defineProperty(map, 'hidden', { value: 'not written', enumerable: false });
    expect(toYaml({ map })).toBe('map:\n  "2": two\n  b: B\n  a: A\n');
  });
});
