/**
 * The built CLI as a process against a local AWS (moto's server, or the StackSets layer in front of it): credentials
 * for moto and nothing else of the user's environment, stdin never a terminal.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const CLI = resolve('.build/src/cli.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `stdin`: a pipe left open (a non-terminal the CLI could read from) or none at all. */
export function runCli(args: readonly string[], endpoint: string, stdin: 'pipe' | 'ignore' = 'ignore'): Promise<CliRun> {
  return new Promise((done) => {
    const child = spawn('node', [CLI, ...args, '--endpoint', endpoint], {
      stdio: [stdin, 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true' },
    });
    let stdout = '';
    let stderr = '';
    // Both are pipes (stdio above); node's types know it only for a literal stdin.
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
