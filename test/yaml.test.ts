import { describe, expect, it } from 'vitest';
import { load } from 'js-yaml';
import { parse } from 'yaml';
import { toYaml, toYamlWithResources, yamlBytes } from '../src/yaml';
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

describe('toYamlWithResources, a template with where each resource is written', () => {
  it("writes toYaml's text, each resource's value after its key, up to the next key", () => {
    for (const file of ORG_FILES) {
      for (const [id, template] of templatesOf(file)) {
        const { text, resources } = toYamlWithResources(template);
        expect(text, id).toBe(toYaml(template));
        const ids = Object.keys(template.Resources);
        expect([...resources.keys()], id).toEqual(ids);
        let at = text.indexOf('\nResources:') + '\nResources:'.length;
        for (const logicalId of ids) {
          const [start, end] = resources.get(logicalId)!;
          // Each line ends with its line break: the first key's starts the section's next line.
          expect(text.slice(at, start), id).toBe(`${logicalId === ids[0] ? '\n' : ''}  ${logicalId}:`);
          expect(text.slice(start, end), id).toMatch(/^\n {4}Type: /);
          at = end;
        }
      }
    }
  });
});

describe('toYaml, text beyond ASCII', () => {
  it('is escaped, so that a template is ASCII throughout and reads back as the same text (CloudFormation hands non-ASCII back as "?": review s22-names N1)', () => {
    const data = { Description: 'Kundenportal für Händler — Customer’s app', Branch: 'release/リリース', Emoji: 'smile \u{1F600}', Breaks: 'a\u2028b\u0085c', 'clé: x': 'é' };
    const text = toYaml(data);
    expect(text).toMatch(/^[\x00-\x7e]*$/);
    expect(text).toContain('"Kundenportal f\\u00fcr H\\u00e4ndler \\u2014 Customer\\u2019s app"');
    expect(text).toContain('"smile \\U0001f600"');
    expect(load(text)).toEqual(data);
    expect(parse(text, { version: '1.1' })).toEqual(data);
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

  it('writes a key as it writes the same text as a value, quoted or plain, however many other keys came between (the writer keeps a bounded number of key texts)', () => {
    const keys = ['Type', 'yes', 'On', '0123', 'a: b', 'clé', '~', 'x:', 'Fn::Sub', '${AWS::Region}', ''];
    // A key, then the same text as a value: `key: key`, unless the key is written otherwise.
    const expected = (key: string) => `  ${toYaml({ k: key }).slice('k: '.length, -1)}: ${toYaml({ k: key }).slice('k: '.length)}`;
    const asKeys = (list: readonly string[]) => Object.fromEntries(list.map((k) => [k, k]));
    const many = Array.from({ length: 10_000 }, (_, i) => `Key${i}`);
    for (const list of [keys, many, keys, [...many.slice(0, 5_000), ...keys], keys]) {
      const text = toYaml({ map: asKeys(list) });
      expect(text).toBe(`map:\n${list.map(expected).join('')}`);
      expect(parse(text, { version: '1.1' })).toEqual({ map: asKeys(list) });
      expect(yamlBytes({ map: asKeys(list) })).toBe(text.length);
    }
  });
});

describe('toYaml, a quoted string', () => {
  it("is JSON's double-quoted string with every character past `~` escaped, whether or not it holds a character to escape", () => {
    // None of them plain (PLAIN): each is written quoted.
    const strings = ['200000000109', '2012-10-17', '*', 'a: b', 'yes', 'No', '0123', '', ' lead', 'trail:', '#x', '-', '"hi" she said', 'back\\slash', 'tab\there', 'line\nbreak', 'del\x7f', 'é', 'a\u2028b', 'smile \u{1F600}', 'lone \ud800'];
    const asciiEscaped = (s: string) => JSON.stringify(s).replace(/[^\x00-\x7e]/gu, (c) => {
      const code = c.codePointAt(0)!;
      return code > 0xffff ? `\\U${code.toString(16).padStart(8, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    });
    for (const s of strings) {
      expect(toYaml({ k: s }), s).toBe(`k: ${asciiEscaped(s)}\n`);
      expect(yamlBytes({ k: s }), s).toBe(Buffer.byteLength(toYaml({ k: s })));
    }
  });
});
