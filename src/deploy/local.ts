/**
 * The local AWS: moto's server (from the pinned Python requirements) on
 * 127.0.0.1, with the fixes below. Nothing is sent anywhere else.
 *
 * `xstack local` runs one until Ctrl-C and records its endpoint in a file of
 * the user's (`sharedStateFile`); `--local` on plan, deploy, destroy, verify
 * and bootstrap then runs against it, so what one command deployed the next
 * one sees. Without it, `--local` starts one for that command alone (empty,
 * and gone after it: what `make demo` shows). `--local` runs `xstack
 * bootstrap` there like on AWS; moto needs nothing AWS would not have (it
 * lets the caller assume any role in any account, the way
 * OrganizationAccountAccessRole does in accounts Organizations created).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { XstackError } from '../errors';
import { packageRoot } from '../package-root';

export const LOCAL_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export interface LocalAws {
  endpoint: string;
  /** The one a running `xstack local` serves: never reset, never stopped from here. */
  shared: boolean;
  /** Settles when the server has exited (stopped, or on its own). */
  exited: Promise<void>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * moto's server, with fixes where moto parts from CloudFormation. Tests and
 * users run this same server (`startLocalAws`, `xstack local`): nothing is
 * patched again in a test layer.
 *
 * 1. moto keeps the template a StackSet was created with for every instance
 *    created later, even after UpdateStackSet gave it a new one.
 *    CloudFormation creates each instance from the StackSet's template as it
 *    is ("stack sets let you create stacks ... by using a single
 *    CloudFormation template",
 *    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-concepts.html;
 *    UpdateStackSet replaces that template,
 *    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStackSet.html).
 *    Without it, an account added after a template change gets the old template.
 *
 * 2. moto leaves an AWS::IAM::ManagedPolicy in place when its stack is deleted
 *    or its template drops it, still attached; the roles it is attached to
 *    then cannot be deleted ("Cannot delete entity, must detach all policies
 *    first."), so `destroy` and removing an account failed. CloudFormation's
 *    delete handler for the type detaches the policy from every entity it is
 *    attached to, deletes its other versions and then the policy: its
 *    registry schema gives that handler exactly iam:ListEntitiesForPolicy,
 *    iam:DetachRolePolicy, iam:DetachUserPolicy, iam:DetachGroupPolicy,
 *    iam:GetPolicy, iam:ListPolicyVersions, iam:DeletePolicyVersion and
 *    iam:DeletePolicy (`handlers.delete.permissions`, the calls a handler makes,
 *    https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html;
 *    the schema is the one `aws cloudformation describe-type --type RESOURCE
 *    --type-name AWS::IAM::ManagedPolicy` returns and cfn-lint ships), which
 *    is IAM's own procedure for deleting a managed policy
 *    (https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicy.html).
 *    Modelled as that: every role, user and group the policy is attached to
 *    (not only those its template names), then the versions, then the policy.
 *    A role's own delete is left as moto has it.
 *
 * 3. moto leaves an AWS::EC2::RouteTable in place when its stack goes; the
 *    VPC then cannot be deleted ("has dependencies"). CloudFormation's delete
 *    handler deletes it (its schema: ec2:DescribeRouteTables,
 *    ec2:DeleteRouteTable); moto's own DeleteRouteTable is called, which
 *    still refuses a table with associations, as EC2 does.
 *
 * 4. moto keeps, when a stack is deleted, only the resources whose
 *    DeletionPolicy is Retain (moto 5.2 cloudformation/parsing.py,
 *    ResourceMap.delete); it deletes those marked RetainExceptOnCreate, which
 *    CloudFormation keeps: "For all other stack operations, such as stack
 *    deletion, CloudFormation retains the resource"
 *    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html).
 *    moto's delete reads them as Retain. (moto rolls back nothing: a create it
 *    fails is not a rollback to model here; the StackSets test layer models a
 *    failed create, test/support/stacksets-proxy.ts.)
 *
 * And two costs moto's server pays on every request, which change no answer
 * (a loop of 500 ListStackSets against the server: its CPU 1.85 -> 1.30 ms a
 * request; of IAM GetRole 2.11 -> 1.54):
 *
 * 5. Its dispatcher asks whether a request's host is the name of one of
 *    moto's modules by listing moto's folder and testing each entry for a
 *    folder (moto 5.2 moto_server/werkzeug_app.py get_backend_for_host,
 *    backends.list_of_moto_modules): ~175 stat calls a request, for a host
 *    such as cloudformation.eu-west-1.amazonaws.com that is none of them.
 *    The folder does not change while the server runs: listed once.
 *
 * 6. werkzeug's server logs every request, a line on stderr at INFO
 *    (werkzeug serving.py WSGIRequestHandler.log_request; its logger is set to
 *    INFO only where no level is set, _internal.py _log), which this process
 *    then reads and drops. Set to WARNING: a request's error and traceback
 *    ("Error on request", ERROR) are still written, and kept for the error
 *    the server's exit is reported with.
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

from moto.iam import models as iam
from moto.utilities.utils import get_partition
def delete_managed_policy(cls, resource_name, cloudformation_json, account_id, region_name):
    backend = iam.iam_backends[account_id][get_partition(region_name)]
    policy = backend.managed_policies.get(resource_name)
    if policy is None:
        return
    for role in list(backend.roles.values()):
        if policy.arn in role.managed_policies:
            backend.detach_role_policy(policy.arn, role.name)
    for user in list(backend.users.values()):
        if policy.arn in user.managed_policies:
            backend.detach_user_policy(policy.arn, user.name)
    for group in list(backend.groups.values()):
        if policy.arn in group.managed_policies:
            backend.detach_group_policy(policy.arn, group.name)
    for version in list(policy.versions):
        if not version.is_default:
            backend.delete_policy_version(policy.arn, version.version_id)
    backend.delete_policy(policy.arn)
iam.ManagedPolicy.delete_from_cloudformation_json = classmethod(delete_managed_policy)

from moto.ec2.models import route_tables
def delete_route_table(cls, resource_name, cloudformation_json, account_id, region_name):
    from moto.ec2.models import ec2_backends
    ec2_backends[account_id][region_name].delete_route_table(resource_name)
route_tables.RouteTable.delete_from_cloudformation_json = classmethod(delete_route_table)

from moto.cloudformation import parsing
_delete = parsing.ResourceMap.delete
def delete_keeping_retained(self):
    original = self._resource_json_map
    self._resource_json_map = {k: (dict(v, DeletionPolicy="Retain") if isinstance(v, dict) and v.get("DeletionPolicy") == "RetainExceptOnCreate" else v) for k, v in original.items()}
    try:
        return _delete(self)
    finally:
        self._resource_json_map = original
parsing.ResourceMap.delete = delete_keeping_retained

from moto import backends
moto_modules = frozenset(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: moto_modules

import logging
logging.getLogger("werkzeug").setLevel(logging.WARNING)

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

/** Where a running `xstack local` records its endpoint and pid: one file per user, in the temporary folder. */
export const sharedStateFile = () => join(tmpdir(), `xstack-local-${process.getuid?.() ?? userInfo().username}.json`);

const LOCAL_ENDPOINT = /^http:\/\/127\.0\.0\.1:\d{1,5}$/;

/**
 * The server a running `xstack local` recorded, if it is still there: the
 * file the user's own, the endpoint on 127.0.0.1, its process alive, and
 * moto answering there. Anything else is as if none ran.
 */
export async function runningSharedAws(): Promise<{ endpoint: string; pid: number } | undefined> {
  const file = sharedStateFile();
  let state: { endpoint?: unknown; pid?: unknown };
  try {
    if (process.getuid && statSync(file).uid !== process.getuid()) return undefined;
    state = JSON.parse(readFileSync(file, 'utf8')) as typeof state;
  } catch {
    return undefined;
  }
  const { endpoint, pid } = state;
  if (typeof endpoint !== 'string' || !LOCAL_ENDPOINT.test(endpoint) || typeof pid !== 'number') return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  try {
    const res = await fetch(`${endpoint}/moto-api/config`, { signal: AbortSignal.timeout(3_000) });
    return res.ok ? { endpoint, pid } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The local AWS `--local` runs against: the one `xstack local` serves while
 * it runs (left as it is after this run), else a new one for this run.
 */
export async function startLocalAws(motoServer?: string): Promise<LocalAws> {
  const shared = await runningSharedAws();
  if (!shared) return startNewLocalAws(motoServer);
  return {
    endpoint: shared.endpoint,
    shared: true,
    exited: new Promise<void>(() => {}),
    async reset() {
      throw new XstackError('SHARED_LOCAL_AWS', `the local AWS at ${shared.endpoint} is xstack local's (pid ${shared.pid}): not reset from another process`);
    },
    async stop() {
      /* xstack local's to stop (Ctrl-C where it runs) */
    },
  };
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** moto's server: XSTACK_MOTO_SERVER, else `.venv/bin/moto_server` in xstack's folder. */
const defaultMotoServer = () => process.env.XSTACK_MOTO_SERVER ?? join(packageRoot() ?? '.', '.venv', 'bin', 'moto_server');

/** A new local AWS of this process's own, on a free port or on `port`; tests and `xstack local` start theirs here. */
export async function startNewLocalAws(motoServer = defaultMotoServer(), options: { port?: number } = {}): Promise<LocalAws> {
  if (!existsSync(motoServer)) throw new XstackError('NO_EMULATOR', `moto_server not found at ${motoServer}; run 'make venv' in ${packageRoot() ?? "xstack's folder"} (it builds .venv from the pinned test/requirements.txt), or set XSTACK_MOTO_SERVER to a moto_server`);
  if (options.port !== undefined && !(await portFree(options.port))) throw new XstackError('PORT_IN_USE', `port ${options.port} on 127.0.0.1 is in use; choose another --port, or leave it out for a free one`);
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  // The interpreter moto_server was installed with (its folder's python3), running moto's server with the fixes above.
  const python = join(dirname(motoServer), 'python3');
  if (!existsSync(python)) throw new XstackError('NO_EMULATOR', `no python3 beside ${motoServer}; run 'make venv' in ${packageRoot() ?? "xstack's folder"} (it builds .venv from the pinned test/requirements.txt), or set XSTACK_MOTO_SERVER to the moto_server of a Python venv`);
  const child: ChildProcess = spawn(python, ['-c', MOTO_SERVER, '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
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
    shared: false,
    exited,
    async reset() {
      await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * `xstack local`: a local AWS until SIGINT or SIGTERM, recorded for
 * `--local` while it runs. One per user at a time.
 */
export async function serveLocalAws(options: { port?: number }, write: (text: string) => void): Promise<number> {
  const running = await runningSharedAws();
  if (running) throw new XstackError('LOCAL_AWS_RUNNING', `a local AWS is already running at ${running.endpoint} (xstack local, pid ${running.pid}); use it (--local finds it), or stop it with Ctrl-C where it runs`);
  const local = await startNewLocalAws(undefined, options);
  const file = sharedStateFile();
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ endpoint: local.endpoint, pid: process.pid })}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  const forget = () => {
    try {
      if ((JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown }).pid === process.pid) rmSync(file);
    } catch {
      /* gone already */
    }
  };
  write(
    `local AWS (moto) at ${local.endpoint}, until Ctrl-C; everything in it is in memory and goes when it stops.\n` +
      `  xstack plan|deploy|verify|destroy|bootstrap ORG_FILE --local   runs against it while it runs (bootstrapped on each run)\n` +
      `  --endpoint ${local.endpoint} with AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing   the same, for xstack or any AWS tool\n`,
  );
  let signal: NodeJS.Signals | undefined;
  let stop: (s: NodeJS.Signals) => void = () => {};
  try {
    await new Promise<void>((resolve) => {
      stop = (s) => {
        signal = s;
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      void local.exited.then(resolve);
    });
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    forget();
    await local.stop();
  }
  if (!signal) throw new XstackError('EMULATOR_FAILED', `the local AWS at ${local.endpoint} exited on its own`);
  write('local AWS stopped\n');
  return 0;
}
