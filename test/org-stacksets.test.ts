/** Which StackSets are an org's (listOrgStackSets): `<prefix>-<stage id>`, not every name beginning `<prefix>-`. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { compileOrg } from '../src/compile';
import { parseOrg } from '../src/org/load';
import { isOrgStackSetName, STAGE_IDS } from '../src/stages/model';
import { generateOrgYaml } from '../bench/generate-org.mjs';

describe('isOrgStackSetName', () => {
  it("accepts the org's stage ids and parts, and the stage ids of xstack before issue 12", () => {
    for (const id of STAGE_IDS) {
      expect(isOrgStackSetName(`acme-${id}`, 'acme'), id).toBe(true);
      expect(isOrgStackSetName(`acme-${id}-2`, 'acme'), id).toBe(true);
      expect(isOrgStackSetName(`acme-${id}-17`, 'acme'), id).toBe(true);
    }
    for (const earlier of ['source-identity-shared-services', 'source-repositories-shared', 'source-events-shared-2', 'access-roles-shared', 'pipeline-web-app']) {
      expect(isOrgStackSetName(`acme-${earlier}`, 'acme'), earlier).toBe(true);
    }
  });

  it("rejects another org's StackSets whose prefix begins with `<prefix>-`, and names that are no stage id", () => {
    for (const other of ['acme-team', 'acme-us', 'acme-labs', 'acme-pipeline', 'acme-source-identity', 'acme-ci', 'acme-pipelines', 'acme-2']) {
      for (const id of STAGE_IDS) {
        expect(isOrgStackSetName(`${other}-${id}`, 'acme'), `${other}-${id}`).toBe(false);
        expect(isOrgStackSetName(`${other}-${id}-2`, 'acme'), `${other}-${id}-2`).toBe(false);
      }
    }
    for (const name of ['acme', 'acme-', 'acme-pipelines-', 'acme-pipelines-x', 'acme-pipelines2', 'acmepipelines', 'other-pipelines', 'acme-team-pipelines', 'acme-pipeline-', 'acme-source-identity-']) {
      expect(isOrgStackSetName(name, 'acme'), name).toBe(false);
    }
  });

  it('every stage a compile makes is a name of its org (the example, a generated org), and STAGE_IDS holds no id no compile makes', () => {
    const made = new Set<string>();
    for (const [text, file] of [
      [readFileSync('parameters/example.yaml', 'utf8'), 'parameters/example.yaml'],
      [generateOrgYaml(3), 'generated.yaml'],
    ] as const) {
      const compiled = compileOrg(parseOrg(text, file));
      for (const stage of compiled.stages) {
        expect(isOrgStackSetName(`${compiled.org.prefix}-${stage.id}`, compiled.org.prefix), stage.id).toBe(true);
        made.add(stage.id.replace(/-[0-9]+$/, ''));
      }
    }
    expect([...made].every((id) => (STAGE_IDS as readonly string[]).includes(id))).toBe(true);
  });
});
