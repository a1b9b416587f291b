// parameters/org.schema.json: generated from the validator's checks, kept
// fresh, valid JSON Schema (ajv, draft 2020-12, strict), and in agreement with
// the validator: what the validator accepts the schema accepts, and the
// structural mistakes (unknown key, wrong type, bad choice, pattern, range,
// missing field) both refuse.
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { generateOrgYaml } from '../bench/generate-org.mjs';
import { OrgFileError } from '../src/errors';
import { parseOrg } from '../src/org/load';
import { ORG_SCHEMA_FILE, orgJsonSchema, orgJsonSchemaText } from '../src/org/json-schema';
import { ORG_FILES } from './helpers';

const validate = new Ajv2020({ strict: true, allErrors: true }).compile(orgJsonSchema());
const schemaAccepts = (text: string) => validate(parse(text));
const validatorAccepts = (text: string) => {
  try {
    parseOrg(text, 'org.yaml');
    return true;
  } catch (error) {
    if (!(error instanceof OrgFileError)) throw error;
    return false;
  }
};

describe('the org file JSON Schema', () => {
  it(`${ORG_SCHEMA_FILE} is what the validator's checks generate now (run \`make compile\` and commit when this fails)`, () => {
    expect(readFileSync(ORG_SCHEMA_FILE, 'utf8')).toBe(orgJsonSchemaText());
  });

  it('every example org file names it for the YAML language server, and it accepts them', () => {
    for (const file of ORG_FILES) {
      const text = readFileSync(file, 'utf8');
      expect(text.split('\n')[0], file).toBe('# yaml-language-server: $schema=./org.schema.json');
      expect(schemaAccepts(text), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect(schemaAccepts(generateOrgYaml(30))).toBe(true);
  });

  const example = readFileSync('parameters/example.yaml', 'utf8');
  it.each([
    ['an unknown key', example.replace('prefix: acme', 'prefix: acme\nprefx: acme'), 'prefx'],
    ['an unquoted account id', example.replace('"222222222222"', '222222222222'), '/accounts/dev/id'],
    ['an 11-digit account id', example.replace('"222222222222"', '"22222222222"'), '/accounts/dev/id'],
    ['an unknown role', example.replace('role: source', 'role: sauce'), '/accounts/shared-services/role'],
    ['an account name with capitals', example.replace('  dev:\n    id', '  Dev:\n    id'), '/accounts'],
    ['a prefix with capitals', example.replace('prefix: acme', 'prefix: Acme'), '/prefix'],
    ['a session of 13 hours', example.replace('maxSessionHours: 1', 'maxSessionHours: 13'), '/access/developers/maxSessionHours'],
    ['a missing region', example.replace('  region: eu-west-1\n', ''), '/organization'],
    ['an empty repositories mapping', example.replace(/repositories:\n[\s\S]*?\npipelines:/, 'repositories: {}\npipelines:'), '/repositories'],
    ['a CIDR of /8', example.replace('10.20.0.0/16', '10.0.0.0/8'), '/access/ci/network/cidr'],
    ['an AZ name where an AZ ID goes', example.replace('availabilityZones: 2\n', 'availabilityZones: 2\n      availabilityZoneIds: [eu-west-1a, eu-west-1b]\n'), '/access/ci/network/availabilityZoneIds'],
    // Values the validator reads only to refuse them with the reason (review s23-readme R5): an editor must not offer them.
    ['partition aws-cn (no CodePipeline in the China Regions)', example.replace('partition: aws', 'partition: aws-cn').replace('region: eu-west-1', 'region: cn-north-1'), '/organization/partition'],
    ['a Region without CodeCommit', example.replace('region: eu-west-1', 'region: eu-central-2'), '/organization/region'],
    ['a Region no partition has', example.replace('region: eu-west-1', 'region: eu-west-9'), '/organization/region'],
    ['requireMfa: true (role chaining carries no MFA)', example.replace('requireMfa: false', 'requireMfa: true'), '/access/developers/requireMfa'],
    ['a session of 2 hours (role chaining: one hour)', example.replace('maxSessionHours: 1', 'maxSessionHours: 2'), '/access/developers/maxSessionHours'],
    ['a session of 12 hours (role chaining: one hour)', example.replace('maxSessionHours: 1', 'maxSessionHours: 12'), '/access/developers/maxSessionHours'],
  ])('refuses %s, as the validator does', (_name, text, where) => {
    expect(validatorAccepts(text)).toBe(false);
    expect(schemaAccepts(text)).toBe(false);
    // Where the schema says it is wrong: the field's path, or (an unknown key) the key's name.
    const at = (e: NonNullable<typeof validate.errors>[number]) => e.instancePath === where || e.instancePath.startsWith(`${where}/`) || e.params.additionalProperty === where;
    expect(validate.errors!.some(at), JSON.stringify(validate.errors)).toBe(true);
  });

  it("says where it cannot refuse what compile refuses: rules per event bus below the org's Region's default", () => {
    const quotas = (orgJsonSchema().properties as Record<string, { properties: Record<string, { description?: string }> }>).eventBridgeQuotas;
    expect(quotas.properties.rulesPerBus.description).toMatch(/^a whole number from the org's Region's default to 100000: EventBridge's default is 300 rules per event bus, 100 in af-south-1, 100 in eu-south-1 \(checked by xstack compile, not by this schema\)$/);
    const below = example + 'eventBridgeQuotas:\n  rulesPerBus: 200\n';
    expect(validatorAccepts(below)).toBe(false);
    expect(schemaAccepts(below)).toBe(true);
  });
});
