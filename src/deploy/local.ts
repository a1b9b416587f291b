/**
 * The local AWS: moto's server (from the pinned Python requirements) on
 * 127.0.0.1, on a free port. Nothing is sent anywhere else. `--local` runs
 * `xstack bootstrap` there like on AWS; moto needs nothing AWS would not have
 * (it lets the caller assume any role in any account, the way
 * OrganizationAccountAccessRole does in accounts Organizations created).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { XstackError } from '../errors';

export const LOCAL_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export interface LocalAws {
  endpoint: string;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * moto's server, with one fix where moto parts from CloudFormation: moto keeps
 * the template a StackSet was created with for every instance created later,
 * even after UpdateStackSet gave it a new one. CloudFormation creates each
 * instance from the StackSet's template as it is ("stack sets let you create
 * stacks ... by using a single CloudFormation template",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-concepts.html;
 * UpdateStackSet replaces that template,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html).
 * Without it, an account added after a template change gets the old template.
 */
const MOTO_SERVER = `
import sys
from moto.cloudformation import models
_update = models.StackSet.update
def update(self, *args, **kwargs):
    result = _update(self, *args, **kwargs)
    self.instances.template = self.template
    return result
models.StackSet.update = update
from moto.server import main
sys.exit(main())
`;

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

export async function startLocalAws(motoServer = process.env.XSTACK_MOTO_SERVER ?? '.venv/bin/moto_server'): Promise<LocalAws> {
  if (!existsSync(motoServer)) throw new XstackError('NO_EMULATOR', `moto_server not found at ${motoServer}; run 'make setup' (it installs the pinned test/requirements.txt)`);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // The interpreter moto_server was installed with (its folder's python3), running moto's server with the fix above.
  const python = join(dirname(motoServer), 'python3');
  if (!existsSync(python)) throw new XstackError('NO_EMULATOR', `no python3 beside ${motoServer}; run 'make setup' (it installs the pinned test/requirements.txt in .venv)`);
  const child: ChildProcess = spawn(python, ['-c', MOTO_SERVER, '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + String(d)).slice(-2000)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new XstackError('EMULATOR_FAILED', `moto_server exited: ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new XstackError('EMULATOR_FAILED', `moto_server did not start within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    async reset() {
      await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
