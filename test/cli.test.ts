// The command line as a process: help, version, usage errors (exit 64),
// one-line user errors without stack traces, output that survives a closed
// pipe, --json that parses. AWS errors are provoked without leaving
// 127.0.0.1: no credentials, an unknown profile, a closed local port.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load } from 'js-yaml';
import { fitLine } from '../src/deploy/command';
import { isAwsEndpoint } from '../src/aws/endpoint';
import { userMessage } from '../src/errors';
import { runCli, tempDir } from './helpers';

const CLI = resolve('.build/src/cli.js');
const EXAMPLE = 'parameters/example.yaml';
const COMMANDS = ['compile', 'plan', 'deploy', 'destroy', 'verify', 'audit', 'profiles', 'schema', 'local'];

/** An environment with no AWS credentials anywhere and no instance metadata lookups (nothing leaves 127.0.0.1). */
function isolatedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const home = tempDir('home');
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    // `--local` looks for a running `xstack local` in the temporary folder: a developer's own is not this test's.
    TMPDIR: home,
    XSTACK_MOTO_SERVER: process.env.XSTACK_MOTO_SERVER ?? '.venv/bin/moto_server',
    ...extra,
  };
}

const xstack = (args: string[], env?: NodeJS.ProcessEnv) => spawnSync('node', [CLI, ...args], { encoding: 'utf8', env: env ?? process.env, timeout: 120_000 });

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  await new Promise((done) => server.close(done));
  return port;
}

/** Runs the CLI with stdout closed as soon as it starts, like `| head` that has read enough. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn('node', [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => done({ code, stderr }));
  });
}

const oneLine = (text: string) => {
  expect(text.split('\n').filter(Boolean), text).toHaveLength(1);
  expect(text).not.toMatch(/\n\s+at |internal error/);
};

describe('help and version', () => {
  it('--version prints the package version', () => {
    const run = xstack(['--version']);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`);
  });

  it('the built CLI runs as a program (npm link points `xstack` at it; tsc writes it without the executable bit, make build sets it)', () => {
    const run = spawnSync(CLI, ['--version'], { encoding: 'utf8' });
    expect(run.error).toBeUndefined();
    expect(run.stdout).toBe(`${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`);
  });

  it.each(COMMANDS)('%s: --help, -h and `xstack help COMMAND` print its usage and exit 0', (command) => {
    const long = xstack([command, '--help']);
    expect(long.status).toBe(0);
    expect(long.stdout).toMatch(new RegExp(`^Usage: xstack ${command} \\[options\\]`));
    expect(xstack([command, '-h']).stdout).toBe(long.stdout);
    expect(xstack(['help', command]).stdout).toBe(long.stdout);
  });

  it('the overview lists every command and the exit codes', () => {
    const run = xstack(['--help']);
    expect(run.status).toBe(0);
    for (const command of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(run.stdout).toContain('64  usage error');
  });
});

describe('what a compile loads', () => {
  it('the compile and the setup template it writes load no AWS SDK client: one reached through the reader policy cost ~50 MB and 0.1 s at 250 teams (src/iam/attached-policies.ts, reader-actions.ts)', () => {
    const modules = ['compile', 'setup'].map((m) => JSON.stringify(resolve(`.build/src/${m}.js`)));
    const script = `${modules.map((m) => `require(${m});`).join('')}process.stdout.write(String(Object.keys(require.cache).filter((k) => k.includes('@aws-sdk')).length));`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('0');
  });
});

describe('usage errors exit 64, never 2 (which means "changes")', () => {
  it("explain with an empty --principal, --action or --resource: a usage error naming it, not a filter that matches nothing (review s50-input N8)", () => {
    for (const option of ['--principal', '--action', '--resource']) {
      const run = xstack(['explain', EXAMPLE, option, '']);
      expect(run.status, option).toBe(64);
      expect(run.stderr.split('\n')[0]).toBe(`xstack: ${option} "": is empty; give a value, or leave the option out (was a shell variable unset?)`);
    }
  });

  it('an option given no value (the next option taken as it, or an unset variable) is a usage error before anything runs: no folder named --revision, no default credentials in place of an empty --profile (review s59-cli m1, m2)', () => {
    const dir = tempDir('cli-values');
    const cases: Array<[string[], string]> = [
      [['compile', resolve(EXAMPLE), '--out', '--revision'], "xstack: --out --revision: the value looks like an option, so --out was given none; give --out its value (for a path that starts with '-', write ./--revision)"],
      [['plan', EXAMPLE, '--profile', ''], 'xstack: --profile "": is empty; give a value, or leave the option out (was a shell variable unset?)'],
      [['plan', EXAMPLE, '--profile', '  '], 'xstack: --profile "  ": is only white space; give a value, or leave the option out (was a shell variable unset?)'],
      [['deploy', EXAMPLE, '--profile', '--yes'], 'xstack: --profile --yes: the value looks like an option, so --profile was given none; give --profile its value'],
      [['destroy', EXAMPLE, '--output-reader-role', ''], 'xstack: --output-reader-role "": is empty; give a value, or leave the option out (was a shell variable unset?)'],
      [['deploy', EXAMPLE, '--output-reader-role', 'x y'], 'xstack: --output-reader-role x y: not a role name; expected the name of a role in the target accounts (1 to 64 letters, digits and + = , . @ _ -), after its path if it has one (path/name)'],
      [['bootstrap', EXAMPLE, '--access-role', 'arn:aws:iam::1:role/x'], 'xstack: --access-role arn:aws:iam::1:role/x: not a role name; expected the name of a role in the target accounts (1 to 64 letters, digits and + = , . @ _ -), after its path if it has one (path/name)'],
    ];
    for (const [args, message] of cases) {
      const run = spawnSync(process.execPath, [resolve('.build/src/cli.js'), ...args], { cwd: dir, encoding: 'utf8' });
      expect([run.status, run.stderr.split('\n')[0]], args.join(' ')).toEqual([64, message]);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("an option's problem that needs no org file is said before the org is read: a bad --max-wait with an org file that does not exist (review s59-cli m3)", () => {
    const run = xstack(['deploy', 'no-such-org.yaml', '--max-wait', '0']);
    expect([run.status, run.stderr.split('\n')[0]]).toEqual([64, 'xstack: --max-wait 0: expected a whole number of minutes, 1 or more (or leave it out to wait until each operation ends)']);
  });

  it.each([
    ['a misspelt command', ['compil'], "xstack: unknown command 'compil'\n(Did you mean compile?)\n"],
    ['help for a misspelt command', ['help', 'compil'], "xstack: unknown command 'compil'\n(Did you mean compile?)\n"],
    ['a misspelt option', ['compile', '--otu', 'x'], "xstack: unknown option '--otu'\n(Did you mean --out?)\n"],
    ['an option of another command', ['compile', '--detailed-exitcode'], "xstack: unknown option '--detailed-exitcode'\n"],
    ['--yes on plan', ['plan', EXAMPLE, '--yes'], "xstack: unknown option '--yes'\n"],
    ['--json on compile', ['compile', '--json'], "xstack: unknown option '--json'\n"],
    ['--output-reader-role on verify, which reads no retained resource', ['verify', EXAMPLE, '--output-reader-role', 'x'], "xstack: unknown option '--output-reader-role'\n"],
    ['a missing org file argument', ['plan'], "xstack: missing required argument 'ORG_FILE'\n"],
    ['two org files to plan', ['plan', EXAMPLE, EXAMPLE], 'xstack: too many arguments for \'plan\'. Expected 1 argument but got 2.\n'],
    ['a missing option value', ['compile', '--out'], "xstack: option '--out <DIR>' argument missing\n"],
    ['profiles without --for', ['profiles', EXAMPLE], "xstack: required option '--for <WHO>' not specified\n"],
    ['profiles --for someone', ['profiles', EXAMPLE, '--for', 'admin'], "xstack: option '--for <WHO>' argument 'admin' is invalid. Allowed choices are developer, maintainer, ci.\n"],
    ['no command', [], 'Usage: xstack [options] [command]'],
    // KMS's waiting period is 7 to 30 days (API_ScheduleKeyDeletion.html), and only --delete-retained schedules keys.
    ['--key-deletion-days out of KMS\'s range', ['destroy', EXAMPLE, '--delete-retained', '--key-deletion-days', '5'], "xstack: --key-deletion-days 5: expected a whole number of days from 7 to 30, KMS's waiting period\n"],
    ['--key-deletion-days without --delete-retained', ['destroy', EXAMPLE, '--key-deletion-days', '30'], 'xstack: --key-deletion-days takes effect with --delete-retained only'],
    // Minutes, 1 or more, checked before any AWS client (review s57-deploy m3); plan waits for no operation of its own.
    ...['0', '1.5', 'ten'].map((value) => [`--max-wait ${value}`, ['deploy', EXAMPLE, '--max-wait', value], `xstack: --max-wait ${value}: expected a whole number of minutes, 1 or more (or leave it out to wait until each operation ends)\n`] as [string, string[], string]),
    ['--max-wait on plan', ['plan', EXAMPLE, '--max-wait', '5'], "xstack: unknown option '--max-wait'\n"],
    // destroy and verify take it too, checked the same (mutations-12: the option left off either).
    ...['destroy', 'verify'].map((command) => [`--max-wait 0 on ${command}`, [command, EXAMPLE, '--max-wait', '0'], 'xstack: --max-wait 0: expected a whole number of minutes, 1 or more (or leave it out to wait until each operation ends)\n'] as [string, string[], string]),
    // Refused before any emulator starts (review s39-readme n5).
    ['--local with --endpoint, which it would ignore', ['plan', EXAMPLE, '--local', '--endpoint', 'http://127.0.0.1:1'], 'xstack: --local runs against a local AWS with its own endpoint and credentials, so --endpoint would be ignored; give --local, or --endpoint\n'],
    ['--local with --profile and --endpoint', ['deploy', EXAMPLE, '--local', '--profile', 'p', '--endpoint', 'http://127.0.0.1:1'], 'xstack: --local runs against a local AWS with its own endpoint and credentials, so --endpoint and --profile would be ignored; give --local, or --endpoint and --profile\n'],
    // Refused before the local AWS starts: a port is 1 to 65535, and without --port it takes a free one (review s42-mutations-4 LC1).
    ...['0', '65536', '80a'].map((port) => [`local --port ${port}`, ['local', '--port', port], `xstack: option '--port <N>' argument '${port}' is invalid. not a port number (1-65535)\n(run 'xstack local --help' for usage)\n`] as [string, string[], string]),
  ])('%s', (_name, args, expected) => {
    const run = xstack(args);
    expect(run.status, run.stderr).toBe(64);
    expect(run.stderr.startsWith(expected), run.stderr).toBe(true);
    expect(run.stdout).toBe('');
  });

  it('bootstrap --output-reader-role with a SELF_MANAGED org is refused before any call: bootstrap makes that reader itself', () => {
    const run = xstack(['bootstrap', EXAMPLE, '--output-reader-role', 'x', '--endpoint', 'http://127.0.0.1:9']);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('xstack: bootstrap takes --output-reader-role with SERVICE_MANAGED StackSets only');
    // With --local, before a local AWS starts: nothing on stdout (review s43-readme-run M2).
    const local = xstack(['bootstrap', EXAMPLE, '--output-reader-role', 'x', '--local']);
    expect(local.status).toBe(1);
    expect(local.stdout).toBe('');
    expect(local.stderr).toContain('xstack: bootstrap takes --output-reader-role with SERVICE_MANAGED StackSets only');
  });

  it('an inconsistent combination is a usage error too', () => {
    const run = xstack(['profiles', EXAMPLE, '--for', 'ci', '--sso-role', 'x']);
    expect(run.status).toBe(64);
    expect(run.stderr).toBe("xstack: --source-profile, --credential-source, --sso-* and --session-name apply to --for developer or maintainer only\n(run 'xstack profiles --help' for usage)\n");
  });

  it("--sso-role takes the permission set's name, not the role IAM Identity Center provisions from it", () => {
    const run = xstack(['profiles', EXAMPLE, '--for', 'developer', '--sso-session', 'corp', '--sso-account-id', '555555555555', '--sso-role', 'AWSReservedSSO_Developer_0123abcd4567ef89']);
    expect(run.status).toBe(64);
    expect(run.stderr).toBe("xstack: --sso-role 'AWSReservedSSO_Developer_0123abcd4567ef89' is the role IAM Identity Center provisions; give the permission set's name, 'Developer'\n(run 'xstack profiles --help' for usage)\n");
  });
});

describe('user errors: one line, exit 1, no stack trace', () => {
  it('a missing org file', () => {
    const run = xstack(['plan', 'parameters/nope.yaml']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('xstack: cannot read the organization file parameters/nope.yaml: there is no such file; give the path of an org file such as parameters/example.yaml\n');
  });

  it('a missing --manifest for verify, in words, not a raw ENOENT (review s30-cli m10)', () => {
    const run = xstack(['verify', EXAMPLE, '--manifest', 'nope.json', '--endpoint', 'http://127.0.0.1:9'], isolatedEnv());
    expect([run.status, run.stderr]).toEqual([1, 'xstack: cannot read the manifest nope.json: no such file or folder; pass the manifest of what was deployed, or leave --manifest out to compare with the org file as it is now\n']);
  });

  it("'.' given as org file is said to be a folder, not a file to rename; a .json org file's layout is <name>.layout.json, as its folder is <name> (review s30-cli m11)", () => {
    const dir = tempDir('dot');
    const inDir = (args: string[]) => spawnSync('node', [CLI, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000 });
    const dot = inDir(['compile', '.', '--out', 'dist']);
    expect([dot.status, dot.stderr]).toEqual([1, 'xstack: cannot read the organization file .: it is a folder; give the path of an org file such as parameters/example.yaml\nNothing was written.\n']);
    writeFileSync(join(dir, 'g.json'), JSON.stringify(load(readFileSync(EXAMPLE, 'utf8'))));
    const run = inDir(['compile', 'g.json', '--out', 'dist']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('layout: wrote g.layout.json');
    expect(readdirSync(dir).sort()).toEqual(['dist', 'g.json', 'g.layout.json']);
    expect(readdirSync(join(dir, 'dist'))).toEqual(['g']);
  });

  it('a folder given as org file: one line, and that nothing was written (review s38-helpers-diff H11)', () => {
    const run = xstack(['compile', 'parameters', '--out', join(tempDir('folder'), 'dist')]);
    expect(run.status).toBe(1);
    oneLine(run.stderr.replace(/\nNothing was written\.\n$/, '\n'));
    expect(run.stderr).toMatch(/parameters: it is a folder; .*\nNothing was written\.\n$/);
  });

  it.each(['plan', 'deploy'])('no AWS credentials anywhere: %s says so in one line (no note of a check it could not make first, no 8-line Node-version warning from the SDK; review s30-cli m9)', (command) => {
    const run = xstack([command, EXAMPLE, '--endpoint', 'http://127.0.0.1:9'], isolatedEnv());
    expect(run.status).toBe(1);
    expect(run.stderr).toBe("xstack: no AWS credentials found (environment, ~/.aws/config, SSO or instance role); pass --profile NAME, set AWS_PROFILE, or run 'aws configure' / 'aws sso login'\n");
  });

  it('an unknown --profile, named, with where it was looked for', () => {
    const env = isolatedEnv();
    writeFileSync(env.AWS_CONFIG_FILE!, '[profile other]\nregion = eu-west-1\n');
    const run = xstack(['verify', EXAMPLE, '--profile', 'nope', '--endpoint', 'http://127.0.0.1:9'], env);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`xstack: there is no AWS profile 'nope' in ${env.AWS_CONFIG_FILE} or ${env.AWS_SHARED_CREDENTIALS_FILE}; 'aws configure list-profiles' lists the profiles there\n`);
  });

  it("a --profile the config defines under a header with a comment or quotes is found, as the AWS CLI reads it: 'gave no credentials', not 'no such profile'", () => {
    const env = isolatedEnv();
    writeFileSync(env.AWS_CONFIG_FILE!, '[profile commented] # mine\nregion = eu-west-1\n[profile "quoted"]\nregion = eu-west-1\n');
    for (const profile of ['commented', 'quoted']) {
      const run = xstack(['verify', EXAMPLE, '--profile', profile, '--endpoint', 'http://127.0.0.1:9'], env);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^xstack: AWS profile '${profile}' gave no credentials`));
    }
  });

  it("a --profile defined only in the shared credentials file, or as [default] in the config, is found: 'gave no credentials', not 'no such profile' (review s42-mutations-4 ER3, CS2)", () => {
    const env = isolatedEnv();
    // A key id without its secret: the SDK finds the profile and no credentials in it.
    writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE!, '[keys-only]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n');
    writeFileSync(env.AWS_CONFIG_FILE!, '[default]\nregion = eu-west-1\n');
    for (const profile of ['keys-only', 'default']) {
      const run = xstack(['verify', EXAMPLE, '--profile', profile, '--endpoint', 'http://127.0.0.1:9'], env);
      expect(run.status).toBe(1);
      expect(run.stderr, profile).toMatch(new RegExp(`^xstack: AWS profile '${profile}' gave no credentials \\(.+\\); if it signs in with IAM Identity Center, run 'aws sso login --profile ${profile}'\\n$`));
    }
  });

  it("an IAM Identity Center profile without a live session (never signed in, or expired): 'gave no credentials', with 'aws sso login' for it (review s42-mutations-4 ER9)", () => {
    const env = isolatedEnv();
    writeFileSync(env.AWS_CONFIG_FILE!, '[profile sso]\nsso_start_url = https://example.awsapps.com/start\nsso_region = eu-west-1\nsso_account_id = 111111111111\nsso_role_name = Developer\nregion = eu-west-1\n');
    const run = xstack(['verify', EXAMPLE, '--profile', 'sso', '--endpoint', 'http://127.0.0.1:9'], env);
    expect(run.status).toBe(1);
    oneLine(run.stderr);
    // The SDK's CredentialsProviderError says 'The SSO session associated with this profile is invalid', not 'could not load credentials'.
    expect(run.stderr).toMatch(/^xstack: AWS profile 'sso' gave no credentials \(.*SSO session.*\); if it signs in with IAM Identity Center, run 'aws sso login --profile sso'\n$/);
  });

  it('an unreachable endpoint', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const run = xstack(['plan', EXAMPLE, '--endpoint', endpoint], isolatedEnv({ AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' }));
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`xstack: cannot reach ${endpoint} (ECONNREFUSED); check --endpoint / AWS_ENDPOINT_URL, the network and any proxy\n`);
  });

  it('an endpoint whose host name does not resolve (ENOTFOUND, a typo in --endpoint) is said as unreachable, naming it (review s42-mutations-4 ER6)', () => {
    // As Node's resolver fails it (getaddrinfo): no file system path, so not read as a file's error.
    const error = Object.assign(new Error('getaddrinfo ENOTFOUND cloudformaton.eu-west-1.amazonaws.com'), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname: 'cloudformaton.eu-west-1.amazonaws.com' });
    expect(userMessage(error, { endpoint: 'https://cloudformaton.eu-west-1.amazonaws.com' })).toBe(
      'cannot reach https://cloudformaton.eu-west-1.amazonaws.com (ENOTFOUND); check --endpoint / AWS_ENDPOINT_URL, the network and any proxy',
    );
    // Wrapped as a cause, as a client may wrap it.
    expect(userMessage(new Error('request failed', { cause: error }), {})).toBe('cannot reach the AWS endpoint (ENOTFOUND); check --endpoint / AWS_ENDPOINT_URL, the network and any proxy');
  });

  it('a call AWS refuses (403 AccessDenied) is one line naming the error AWS gave, not an internal error (review s42-mutations-4 ER8)', async () => {
    // An endpoint that refuses every call as AWS's query protocol does (STS, IAM, CloudFormation), or its JSON protocol.
    const server = createHttpServer((request, response) => {
      request.resume();
      request.on('end', () => {
        if (request.headers['x-amz-target']) {
          response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'AccessDeniedException' });
          response.end(JSON.stringify({ __type: 'AccessDeniedException', message: 'User: arn:aws:iam::111111111111:user/someone is not authorized to perform this action' }));
          return;
        }
        response.writeHead(403, { 'content-type': 'text/xml' });
        response.end('<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::111111111111:user/someone is not authorized to perform this action</Message></Error><RequestId>1</RequestId></ErrorResponse>');
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const child = spawn('node', [CLI, 'plan', EXAMPLE, '--endpoint', endpoint], { env: isolatedEnv({ AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' }) });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const status = await new Promise<number | null>((done) => child.on('close', done));
      expect(status, stderr).toBe(1);
      expect(stderr).not.toMatch(/internal error|\n\s+at /);
      // A note of a read that was refused may come first; the last line is the refusal.
      expect(stderr.trimEnd().split('\n').pop()).toMatch(/^xstack: AWS refused a call: AccessDenied(Exception)?: User: arn:aws:iam::111111111111:user\/someone is not authorized to perform this action$/);
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  it('an invalid org file: the problems, and that nothing was written (the output folder does not exist, so nothing was "left as it was")', () => {
    const dir = tempDir('invalid');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(EXAMPLE, 'utf8').replace('prefix: acme', 'prefix: xn--acme'));
    const run = xstack(['compile', bad, '--out', join(dir, 'dist')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^xstack: 1 problem in the organization file:\n {2}.*bad\.yaml:8:9: prefix: 'xn--acme' makes a name AWS rejects: S3 bucket name 'xn--acme-artifacts-111111111111-eu-west-1' starts with 'xn--', which S3 reserves.*\nNothing was written\.\n$/);
    expect(existsSync(join(dir, 'dist'))).toBe(false);
  });

  it("a YAML mistake is one problem at its line, whatever the parser stumbled on after it (a key's ':' left out)", () => {
    const dir = tempDir('yaml-mistake');
    const bad = join(dir, 'org.yaml');
    writeFileSync(bad, readFileSync(EXAMPLE, 'utf8').replace('repositories:\n  web-app:\n', 'repositories:\n  web-app\n'));
    const run = xstack(['compile', bad, '--out', join(dir, 'dist')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`xstack: 1 problem in the organization file:\n  ${bad}:29:3: (yaml): the ':' after 'web-app' is missing; expected 'web-app:', its keys on the lines below\nNothing was written.\n`);
  });

  it.each([
    [['--endpoint', '127.0.0.1:5057'], {}, 64, "xstack: --endpoint 127.0.0.1:5057 is not an http:// or https:// URL; expected e.g. http://127.0.0.1:5057\n(run 'xstack plan --help' for usage)\n"],
    [[], { AWS_ENDPOINT_URL: 'localhost:4566' }, 1, 'xstack: AWS_ENDPOINT_URL localhost:4566 is not an http:// or https:// URL; expected e.g. http://localhost:4566, or unset it to reach AWS\n'],
    [['--region', 'eu-wst-1', '--endpoint', 'http://127.0.0.1:9'], {}, 64, "xstack: --region eu-wst-1 is not a known region (did you mean eu-west-1?); expected a region of the org's partition aws, such as its own, eu-west-1\n(run 'xstack plan --help' for usage)\n"],
    [['--region', 'us-gov-west-1', '--endpoint', 'http://127.0.0.1:9'], {}, 64, "xstack: --region us-gov-west-1 is in partition aws-us-gov, not aws; expected a region of the org's partition aws, such as its own, eu-west-1\n(run 'xstack plan --help' for usage)\n"],
  ] as const)('a bad endpoint or region %j %j: named before any AWS client is built, no stack trace', (args, env, status, expected) => {
    const run = xstack(['plan', EXAMPLE, ...args], isolatedEnv({ AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', ...env }));
    expect(run.status).toBe(status);
    expect(run.stderr).toBe(expected);
  });

  it("an endpoint is an emulator's unless it is AWS's own (FIPS, dual-stack, China, a VPC interface endpoint): a run through AWS's is where the org lives", () => {
    for (const aws of ['https://cloudformation-fips.us-east-1.amazonaws.com', 'https://cloudformation.us-east-1.api.aws', 'https://cloudformation.cn-north-1.amazonaws.com.cn', 'https://vpce-0abc-12345678.cloudformation.eu-west-1.vpce.amazonaws.com']) {
      expect(isAwsEndpoint(aws), aws).toBe(true);
    }
    for (const emulator of ['http://127.0.0.1:5000', 'http://localhost:4566', 'https://amazonaws.com.example.org', 'https://notamazonaws.com', 'not a url']) {
      expect(isAwsEndpoint(emulator), emulator).toBe(false);
    }
  });

  it.each([
    [['schema', '--out'], '--out'],
    [['profiles', EXAMPLE, '--for', 'developer', '--write'], '--write'],
  ])('%j into a folder that does not exist: refused, naming the folder, which is not created', (args, option) => {
    const missing = join(tempDir('missing-parent'), 'nonexistent');
    const file = join(missing, 'file');
    const run = xstack([...args, file]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`xstack: ${option} ${file}: the folder ${missing} does not exist; create it first, or correct the path\n`);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('two org files compiled together', () => {
  it('of one prefix, sharing an account (in another region too): refused, naming both files and the account, nothing written; another prefix compiles', () => {
    const dir = tempDir('overlap');
    const west = join(dir, 'west.yaml');
    const east = join(dir, 'east.yaml');
    writeFileSync(west, readFileSync(EXAMPLE, 'utf8'));
    writeFileSync(east, readFileSync(EXAMPLE, 'utf8').replace('region: eu-west-1', 'region: us-east-1'));
    const run = xstack(['compile', west, east, '--out', join(dir, 'dist')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${west} and ${east} both have prefix 'acme' and deploy to 111111111111 (shared-services in ${west}, shared-services in ${east}), 222222222222`);
    expect(run.stderr).toContain('and 2 more: their IAM roles and policies would have the same names there');
    expect(run.stderr).toMatch(/; give one of them another prefix\nNothing was written\.\n$/);
    expect(existsSync(join(dir, 'dist'))).toBe(false);
    expect(existsSync(join(dir, 'west.layout.json'))).toBe(false);
    writeFileSync(east, readFileSync(east, 'utf8').replace('prefix: acme', 'prefix: acmeus'));
    expect(xstack(['compile', west, east, '--out', join(dir, 'dist')]).status).toBe(0);
  });

  it("both invalid: every file's problems in one error, at their lines, nothing written (review s38-cli m2)", () => {
    const dir = tempDir('two-invalid');
    writeFileSync(join(dir, 'a.yaml'), readFileSync(EXAMPLE, 'utf8').replace('    environment: dev', '    enviroment: dev'));
    writeFileSync(join(dir, 'b.yaml'), readFileSync(EXAMPLE, 'utf8').replace('prefix: acme', 'prefix: Acme!'));
    const run = runCli(['compile', 'a.yaml', 'b.yaml', '--out', 'dist'], dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^xstack: 2 problems in 2 files:\n {2}a\.yaml:16:5: accounts\.dev\.enviroment: unknown key 'enviroment' .*\n {2}b\.yaml:\d+:\d+: prefix: .*\nNothing was written\.\n$/);
    expect(readdirSync(dir).sort()).toEqual(['a.yaml', 'b.yaml']);
    // One that cannot be read is one problem among them, not the only one said (review s39-diff nit 2).
    const three = runCli(['compile', 'a.yaml', 'nothere.yaml', 'b.yaml', '--out', 'dist'], dir);
    expect(three.stderr).toMatch(/^xstack: 3 problems in 3 files:\n {2}a\.yaml:16:5: .*\n {2}nothere\.yaml: \(file\): cannot read the organization file nothere\.yaml: there is no such file; .*\n {2}b\.yaml:\d+:\d+: prefix: .*\nNothing was written\.\n$/);
  });
});

describe('compile --revision', () => {
  it("records the org file's commit, and uncommitted changes; outside a git work tree it says that it recorded none (review s38-cli m9)", () => {
    const dir = tempDir('revision');
    writeFileSync(join(dir, 'example.yaml'), readFileSync(EXAMPLE, 'utf8'));
    const revisionOf = () => (JSON.parse(readFileSync(join(dir, 'dist', 'example', 'manifest.json'), 'utf8')) as { source: { revision?: string } }).source.revision;
    const outside = runCli(['compile', 'example.yaml', '--out', 'dist', '--revision'], dir);
    expect(outside.status).toBe(0);
    expect(outside.stderr).toContain('note: --revision: no git revision could be read for example.yaml (outside a git work tree, in a repository with no commit yet, or git not installed), so none was recorded for it\n');
    expect(revisionOf()).toBeUndefined();
    const git = (...args: string[]) => spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: dir, encoding: 'utf8' }).stdout.trim();
    git('init', '-q');
    git('add', 'example.yaml');
    git('commit', '-qm', 'org');
    const commit = git('rev-parse', 'HEAD');
    const inside = runCli(['compile', 'example.yaml', '--out', 'dist', '--revision'], dir);
    expect([inside.status, inside.stderr]).toEqual([0, '']);
    expect(revisionOf()).toBe(commit);
    writeFileSync(join(dir, 'example.yaml'), `${readFileSync(join(dir, 'example.yaml'), 'utf8')}# a change\n`);
    expect(runCli(['compile', 'example.yaml', '--out', 'dist', '--revision'], dir).status).toBe(0);
    expect(revisionOf()).toBe(`${commit} with uncommitted changes`);
  });
});

describe('output', () => {
  it('compile survives a closed stdout (`xstack compile | head`): no EPIPE, exit 0, files written', async () => {
    const out = join(tempDir('pipe'), 'dist');
    const run = await withClosedStdout(['compile', '--out', out]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(readFileSync(join(out, 'govcloud', 'manifest.json'), 'utf8')).toContain('xstack-manifest/1');
  });

  it('help survives a closed stdout', async () => {
    const run = await withClosedStdout(['help', 'plan']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  // One moto server for the AWS commands (started by the CLI itself on 127.0.0.1, stopped after).
  it('plan --local --json --detailed-exitcode: stdout is one JSON document, exit 2 for changes; and plan | head does not crash', { timeout: 180_000 }, async () => {
    const run = xstack(['plan', EXAMPLE, '--local', '--json', '--detailed-exitcode'], isolatedEnv());
    expect(run.status, run.stderr).toBe(2);
    const plan = JSON.parse(run.stdout) as { stackSets: Array<{ stackSet: string; action: string }> };
    expect(plan.stackSets.length).toBeGreaterThan(5);
    expect(plan.stackSets.every((s) => s.action === 'create')).toBe(true);
    // Everything but the JSON document goes to stderr: the emulator's address and the local bootstrap's steps.
    expect(run.stderr).toMatch(/^local AWS \(moto\) at http:\/\/127\.0\.0\.1:\d+\nbootstrap \(local\):\n/);
    const piped = await withClosedStdout(['plan', EXAMPLE, '--local']);
    expect(piped.stderr).toBe('');
    expect(piped.code).toBe(0);
  });
});

describe('progress on a terminal', () => {
  it('cuts a line to the terminal width (a wrapped line would break the in-place redraw), counting characters, not bytes', () => {
    const line = '  ✗ pipeline-web-app: failed, 1 done, 2 failed: Resource handler returned message: "Access Denied"';
    expect(fitLine(line, 200)).toBe(line);
    expect(fitLine(line, undefined)).toBe(line);
    const cut = fitLine(line, 40);
    expect([...cut]).toHaveLength(39);
    expect(cut).toBe(`${[...line].slice(0, 38).join('')}…`);
    expect(fitLine('x'.repeat(40), 40)).toHaveLength(39);
    expect(fitLine('x'.repeat(39), 40)).toBe('x'.repeat(39));
  });
});
