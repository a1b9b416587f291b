/**
 * CloudFormation's limits on one template (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html:
 * 500 resources, 200 outputs, 200 parameters, 1 MB from S3), which the compile checks on every stage it emits
 * (compile.ts limitProblems). The family packing keeps stages well under them, so this check is the last guard, and no
 * example org comes near it: here one stage is grown to exactly each limit (no problem) and one past it (one problem
 * naming the count and the limit). Parameters never reach it: the compile refuses any parameter first. The limits are written out, not read from LIMITS, so a moved limit fails here too
 * (review s40-mutations 10).
 * A file of its own: the planner is replaced for every test of the file, growing the stage the test names.
 */
import { describe, expect, it, vi } from 'vitest';
import { renderTemplate, type TemplateDefinition } from '../src/cfn/template';
import { toYaml } from '../src/yaml';
import { compileProblems } from './helpers';

/** The stage each test grows, and how: read by the planner below on every compile. */
const grown = vi.hoisted(() => ({ stage: '', grow: (definition: TemplateDefinition): TemplateDefinition => definition }));

vi.mock('../src/stages/plan', async (original) => {
  const plan = await original<typeof import('../src/stages/plan')>();
  return {
    ...plan,
    planStages: (...args: Parameters<typeof plan.planStages>) => plan.planStages(...args).map((s) => (s.id === grown.stage ? { ...s, definition: grown.grow(s.definition) } : s)),
  };
});

/** One source account, one pipeline account, one pipeline: a small org, whose stages are far under every limit. */
const ORG = [
  'organization: { partition: aws, region: eu-west-1 }',
  'prefix: acme',
  'accounts:',
  '  src: { id: "111111111111", role: source }',
  '  dev: { id: "222222222222", role: pipeline, environment: dev }',
  'repositories:',
  '  app: { account: src }',
  'pipelines:',
  '  app: { repository: app, branches: { dev: main }, deploy: { type: codedeploy } }',
  '',
].join('\n');
const STAGE = 'pipeline-foundation';

const fillers = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

/** The compile's problems with the stage grown to `total` of a section (those it has, and fillers). */
function problemsWith(section: 'resources' | 'outputs' | 'parameters', total: number): string[] {
  grown.stage = STAGE;
  grown.grow = (d) => {
    const more = total - Object.keys(d[section]).length;
    expect(more, section).toBeGreaterThan(0);
    const added = fillers(more, 'Filler').map((id) => {
      if (section === 'resources') return [id, { Type: 'AWS::CloudFormation::WaitConditionHandle' }];
      if (section === 'outputs') return [id, { description: 'filler', value: 'x' }];
      return [id, { type: 'String', description: 'filler' }];
    });
    return { ...d, [section]: { ...d[section], ...Object.fromEntries(added) } };
  };
  return compileProblems(ORG, 'limits.yaml');
}

describe("CloudFormation's limits on one template, checked by the compile (review s40-mutations 10)", () => {
  it.each([
    ['resources', 500],
    ['outputs', 200],
  ] as const)('%s: exactly %i compile; one more is one problem naming the count and the limit', (section, limit) => {
    expect(problemsWith(section, limit)).toEqual([]);
    expect(problemsWith(section, limit + 1)).toEqual([`${STAGE}: ${limit + 1} ${section}, over CloudFormation's limit of ${limit}`]);
  });

  it("parameters: never counted against the limit of 200, as the compile refuses a template taking any parameter at all before it counts (stages/graph.ts orderStages): one is refused, and 201 are each refused, by name", () => {
    // So compile.ts's count of parameters cannot be reached through a compile; the other counts, which share its code, are tested above.
    const refusal = (name: string) => `${STAGE}: template ${STAGE} takes parameter ${name}; a StackSet gives every account the same parameter values, so a value must be named, imported or chosen by the template's conditions`;
    expect(problemsWith('parameters', 1)).toEqual([refusal('Filler0000')]);
    expect(problemsWith('parameters', 201)).toEqual(fillers(201, 'Filler').map(refusal));
  });

  it('template body: exactly 1,000,000 bytes of YAML compile; 1,000,001 is one problem naming both', () => {
    /** The stage with a filler resource whose metadata pads its template to `bytes`, checked to be exactly that. */
    const padTo = (bytes: number) => {
      const padded = (d: TemplateDefinition, pad: number): TemplateDefinition => ({
        ...d,
        resources: { ...d.resources, Padding: { Type: 'AWS::CloudFormation::WaitConditionHandle', Metadata: { Padding: 'x'.repeat(pad) } } as never },
      });
      grown.stage = STAGE;
      grown.grow = (d) => {
        const size = (pad: number) => Buffer.byteLength(toYaml(renderTemplate(padded(d, pad))));
        // From one character on, each more is one byte more (an empty string is written quoted: "").
        const pad = bytes - size(1) + 1;
        expect(size(pad)).toBe(bytes);
        return padded(d, pad);
      };
      return compileProblems(ORG, 'limits.yaml');
    };
    expect(padTo(1_000_000)).toEqual([]);
    expect(padTo(1_000_001)).toEqual([`${STAGE}: 1000001 bytes of template body, over CloudFormation's limit of 1000000`]);
  });
});
