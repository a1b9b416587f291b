import { describe, expect, it } from 'vitest';
import { renderTemplate, takeRendering, type CfnTemplate, type TemplateDefinition } from '../src/cfn/template';
import type { Account } from '../src/org/model';
import { familyStages, type Unit } from '../src/stages/family';
import { toYaml, toYamlWithResources } from '../src/yaml';

const account = (name: string, id: string): Account => ({ name, id, role: 'source' });
const alpha = account('alpha', '111111111111');
const beta = account('beta', '222222222222');

/** A unit's definition as plain data (a module's definition holds cloudform objects; the family renders both alike). */
const definition = (parts: Partial<TemplateDefinition>): TemplateDefinition => ({ description: 'unit', parameters: {}, resources: {}, outputs: {}, ...parts });

/** A source account's unit whose ids every such unit shares: the family names them by the account. */
const sourceUnit = (source: Account): Unit => ({
  key: `account ${source.id}`,
  label: `source account ${source.name}`,
  conditionLabel: `Account ${source.name}`,
  accounts: [source],
  renameIds: (id) => `${id}In${source.id}`,
  uses: [],
  accountValues: [],
  notes: [],
  definition: definition({
    resources: {
      Role: { Type: 'AWS::IAM::Role', Properties: { RoleName: `role-${source.name}`, Path: '/' } },
      Policy: {
        Type: 'AWS::IAM::ManagedPolicy',
        DependsOn: 'Role',
        Properties: {
          Roles: [{ Ref: 'Role' }],
          Description: { 'Fn::Sub': '${Role} ${Role.Arn} ${AWS::AccountId} ${Elsewhere} ${!Role}' },
          Path: { 'Fn::GetAtt': ['Role', 'Path'] },
          Account: { Ref: 'AWS::AccountId' },
          Chosen: { 'Fn::If': ['Role', { Ref: 'Role' }, { Ref: 'AWS::NoValue' }] },
        },
      },
      Topic: { Type: 'AWS::SNS::Topic', DependsOn: ['Role', 'Policy'], Metadata: { Of: { Ref: 'Role' } } },
    } as unknown as TemplateDefinition['resources'],
    outputs: {
      RoleArn: { description: 'the role', value: { 'Fn::GetAtt': ['Role', 'Arn'] } as never, export: `role-${source.name}` },
      RoleName: { description: 'its name', value: { Ref: 'Role' } as never },
    },
  }),
});

const family = { id: 'test-family', module: 'test', description: 'a test family' };

describe('a family unit renamed in place', () => {
  const [stage] = familyStages(family, [sourceUnit(alpha), sourceUnit(beta)]);
  const template: CfnTemplate = renderTemplate(stage.definition);
  const a = (id: string) => `${id}In${alpha.id}`;

  it('renames every logical id, sorted, and every reference to one: Ref, Fn::GetAtt, Fn::Sub ${Id} and ${Id.Attr}, DependsOn', () => {
    expect(Object.keys(template.Resources)).toEqual([a('Policy'), `PolicyIn${beta.id}`, a('Role'), `RoleIn${beta.id}`, a('Topic'), `TopicIn${beta.id}`]);
    const policy = template.Resources[a('Policy')];
    expect(policy.DependsOn).toBe(a('Role'));
    expect(policy.Properties).toEqual({
      Roles: [{ Ref: a('Role') }],
      // Pseudo parameters, names that are no resource of the unit, and literal `${!…}` text are left as they are.
      Description: { 'Fn::Sub': `\${${a('Role')}} \${${a('Role')}.Arn} \${AWS::AccountId} \${Elsewhere} \${!Role}` },
      Path: { 'Fn::GetAtt': [a('Role'), 'Path'] },
      Account: { Ref: 'AWS::AccountId' },
      // The first item of Fn::If names a condition, not a resource.
      Chosen: { 'Fn::If': ['Role', { Ref: a('Role') }, { Ref: 'AWS::NoValue' }] },
    });
    expect(template.Resources[a('Topic')].DependsOn).toEqual([a('Role'), a('Policy')]);
    expect(template.Resources[a('Topic')].Metadata).toEqual({ Of: { Ref: a('Role') } });
  });

  it("puts each unit's resources and outputs under the condition of its accounts, right after Type", () => {
    expect(template.Conditions).toEqual({
      AccountAlpha: { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, alpha.id] },
      AccountBeta: { 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, beta.id] },
    });
    expect(Object.keys(template.Resources[a('Policy')])).toEqual(['Type', 'Condition', 'DependsOn', 'Properties']);
    expect(template.Resources[a('Policy')].Condition).toBe('AccountAlpha');
    expect(template.Resources[`RoleIn${beta.id}`].Condition).toBe('AccountBeta');
  });

  it('renames the outputs and their values, in the template and in the definition the graph reads', () => {
    expect(template.Outputs?.[a('RoleArn')]).toEqual({ Condition: 'AccountAlpha', Description: 'the role', Value: { 'Fn::GetAtt': [a('Role'), 'Arn'] }, Export: { Name: 'role-alpha' } });
    expect(template.Outputs?.[a('RoleName')]).toEqual({ Condition: 'AccountAlpha', Description: 'its name', Value: { Ref: a('Role') } });
    expect(stage.definition.outputs[a('RoleName')]).toEqual({ description: 'its name', value: { Ref: a('Role') }, condition: 'AccountAlpha' });
  });

  it("refuses a unit made of a family's merged resources, which are shared with that family's template and would be renamed in it", () => {
    const reused: Unit = { ...sourceUnit(alpha), definition: stage.definition };
    expect(() => familyStages(family, [reused])).toThrow(/already rendered resource/);
  });

  it('renders each unit as it reads it, before the next is made', () => {
    const events: string[] = [];
    function* units(): Generator<Unit> {
      for (const source of [alpha, beta]) {
        events.push(`made ${source.name}`);
        const unit = sourceUnit(source);
        yield {
          ...unit,
          get definition() {
            events.push(`read ${source.name}`);
            return unit.definition;
          },
        };
      }
    }
    const stages = familyStages(family, units());
    expect(events.indexOf('read alpha')).toBeGreaterThan(events.indexOf('made alpha'));
    expect(events.lastIndexOf('read alpha')).toBeLessThan(events.indexOf('made beta'));
    expect(renderTemplate(stages[0].definition)).toEqual(template);
  });

  it("hands the rendering a part was written from to takeRendering once, every later rendering a copy alike, each written as that text", () => {
    for (const layout of [undefined, new Map([[1, [`account ${alpha.id}`, `account ${beta.id}`]]])]) {
      const [part] = familyStages(family, [sourceUnit(alpha), sourceUnit(beta)], layout);
      const first = takeRendering(part.definition);
      const second = takeRendering(part.definition);
      const third = renderTemplate(part.definition);
      expect(second).not.toBe(first);
      expect(third).not.toBe(second);
      for (const rendering of [first, second, third]) {
        expect(rendering).toEqual(template);
        expect(toYamlWithResources(rendering).text).toBe(toYaml(template));
      }
      // Changing the one handed out changes no later rendering.
      delete (first as Partial<CfnTemplate>).Outputs;
      expect(renderTemplate(part.definition)).toEqual(template);
    }
  });

  it('renders what a definition changed after planning holds, though a rendering was made when its part was written', () => {
    const [part] = familyStages(family, [sourceUnit(alpha), sourceUnit(beta)]);
    const resources = part.definition.resources as unknown as Record<string, unknown>;
    const id = `TopicIn${alpha.id}`;
    resources[id] = { Type: 'AWS::SNS::Topic' };
    expect(renderTemplate(part.definition).Resources[id]).toEqual({ Type: 'AWS::SNS::Topic' });
  });

  it('leaves the ids of a unit without renameIds as they are', () => {
    const { renameIds: _, ...unique } = sourceUnit(alpha);
    const [only] = familyStages(family, [unique]);
    const t = renderTemplate(only.definition);
    expect(Object.keys(t.Resources)).toEqual(['Policy', 'Role', 'Topic']);
    expect(t.Resources.Policy.DependsOn).toBe('Role');
    // A unit in every target account of its template needs no condition.
    expect(t.Resources.Policy.Condition).toBeUndefined();
  });
});

describe('a family packed into parts by the bytes of its units', () => {
  /** A unit of one resource whose YAML takes about `kilobytes` KB; each unit in its own account, all in one pipeline account's family. */
  const bigUnit = (n: number, kilobytes: number): Unit => {
    const source = account(`s${n}`, String(n).repeat(12));
    return {
      key: `account ${source.id}`,
      label: `source account ${source.name}`,
      conditionLabel: `Account ${source.name}`,
      accounts: [source],
      uses: [],
      accountValues: [],
      notes: [],
      definition: definition({ resources: { [`Topic${n}`]: { Type: 'AWS::SNS::Topic', Properties: { DisplayName: 'x'.repeat(kilobytes * 1000) } } } as unknown as TemplateDefinition['resources'] }),
    };
  };
  const partsOf = (kilobytes: number[]) => familyStages(family, kilobytes.map((kb, i) => bigUnit(i + 1, kb))).map((st) => Object.keys(st.definition.resources));

  it('starts a part where the next unit would take the part past 85 % of 1 MB, in the units order (a first compile: no layout)', () => {
    expect(partsOf([400, 400, 400, 50])).toEqual([['Topic1', 'Topic2'], ['Topic3', 'Topic4']]);
    expect(partsOf([100, 800, 10])).toEqual([['Topic1'], ['Topic2', 'Topic3']]);
  });

  it('measures a pack group as the one template it was before layouts: the same parts as that one unit, at every size near the limit', () => {
    const source = account('g', '999999999999');
    const topics = (from: number, n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`Grouped${from + i}`, { Type: 'AWS::SNS::Topic', Properties: { DisplayName: 'y'.repeat(40) } }])) as unknown as TemplateDefinition['resources'];
    const groupUnit = (key: string, resources: TemplateDefinition['resources'], packGroup?: string): Unit => ({
      key,
      ...(packGroup ? { packGroup } : {}),
      label: key,
      conditionLabel: `Account ${source.name}`,
      accounts: [source],
      uses: [],
      accountValues: [],
      notes: [],
      definition: definition({ resources }),
    });
    // 300 units of a topic each, as one group; and the one unit they were.
    const grouped = () => Array.from({ length: 300 }, (_, i) => groupUnit(`topic ${i}`, topics(i, 1), 'g'));
    const whole = () => [groupUnit('all topics', topics(0, 300))];
    const parts = (units: Unit[]) => familyStages(family, units).map((st) => Object.keys(st.definition.resources).length);
    const sizes = [790, 800, 805, 810, 815, 820, 830];
    // Near 850 KB a part: a unit of that many KB after the group does or does not join its part, alike either way.
    expect(sizes.map((kb) => parts([...grouped(), bigUnit(1, kb)]))).toEqual(sizes.map((kb) => parts([...whole(), bigUnit(1, kb)])));
    expect(new Set(sizes.map((kb) => parts([...whole(), bigUnit(1, kb)]).length))).toEqual(new Set([1, 2]));
  });

  it('cuts by the resources a template holds, and still by the bytes where a part so cut would be past them', () => {
    /** A unit of one small resource, each in its own account. */
    const smallUnit = (n: number): Unit => {
      const source = account(`small${n}`, String(n).padStart(12, '0'));
      return { ...bigUnit(n, 0), key: `account ${source.id}`, label: `source account ${source.name}`, conditionLabel: `Account ${source.name}`, accounts: [source] };
    };
    const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `Topic${from + i}`);
    const parts = (units: Unit[]) => familyStages(family, units).map((st) => Object.keys(st.definition.resources).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5))));
    const small = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => smallUnit(from + i));
    // 500 resources a part, the bytes far below their limit.
    expect(parts(small(1, 1100))).toEqual([ids(1, 500), ids(501, 1000), ids(1001, 1100)]);
    // The second part the resources leave is past the bytes: cut there by them, as a part measured unit by unit is.
    expect(parts([...small(1, 600), bigUnit(701, 350), bigUnit(702, 350), bigUnit(703, 350), smallUnit(704)])).toEqual([ids(1, 500), [...ids(501, 600), 'Topic701', 'Topic702'], ['Topic703', 'Topic704']]);
  });

  it('counts a condition units share for each of them, though their template writes it once', () => {
    // Nine units, each about 100 KB of one condition they all hold: written once, but the units they were measure 900 KB.
    const shared = { Shared: { 'Fn::Equals': ['x'.repeat(100_000), 'y'] } };
    const withShared = (n: number): Unit => {
      const unit = bigUnit(n, 0);
      return { ...unit, definition: { ...unit.definition, conditions: shared } };
    };
    const parts = familyStages(family, Array.from({ length: 9 }, (_, i) => withShared(i + 1))).map((st) => Object.keys(st.definition.resources));
    expect(parts).toEqual([Array.from({ length: 8 }, (_, i) => `Topic${i + 1}`), ['Topic9']]);
  });

  it('puts a unit over the limit on its own in a part of its own, and a family of one unit in one part', () => {
    expect(partsOf([50, 900, 50])).toEqual([['Topic1'], ['Topic2'], ['Topic3']]);
    expect(partsOf([2000])).toEqual([['Topic1']]);
  });
});
