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
import { XstackError } from '../errors';

export const LOCAL_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export interface LocalAws {
  endpoint: string;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

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
  const child: ChildProcess = spawn(motoServer, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
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
