/**
 * The local AWS a test file runs against: moto's server (src/deploy/local.ts), and when asked the StackSets layer
 * (test/support/stacksets-proxy.ts) in front of it, started once for the file, stopped after it (the layer first),
 * and reset before each test (the layer, then moto, then the file's own setup). One place for the hooks the rollout
 * and CLI tests share, so each file says only what it does differently.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { Aws } from '../../src/deploy/clients';
import { LOCAL_CREDENTIALS, startNewLocalAws, type LocalAws } from '../../src/deploy/local';
import { startStackSetsProxy, type StackSetsProxy } from './stacksets-proxy';

export interface LocalAwsOptions {
  /** Start the StackSets layer in front of moto; `endpoint` is then the layer's. */
  proxy?: boolean;
  /** The Region `aws()` defaults to: the example orgs' unless given. */
  region?: string;
  /**
   * AWS's managed policies in every account's IAM (moto reads MOTO_IAM_LOAD_MANAGED_POLICIES when it builds an
   * account's IAM: it inherits this process's environment, set only while it starts), for a test that attaches one by
   * its `arn:aws:iam::aws:policy/` ARN. moto then builds about 1,600 policies for each account and partition it touches,
   * and again for each at every reset: only for the tests that attach one.
   */
  awsManagedPolicies?: boolean;
  /** Attempts of each call by `aws()`'s clients (Aws's maxAttempts: 8 when unset). */
  maxAttempts?: number;
  /** beforeAll's timeout; vitest's hookTimeout (test/vitest.config.ts) when unset. */
  timeout?: number;
  /** false: no reset before each test (a file that resets in its own steps, or whose tests build on each other). */
  reset?: boolean;
  /** Run once after starting, within beforeAll's timeout. */
  beforeAll?: (env: LocalAwsEnv) => Promise<void>;
  /** Run before each test, after the resets. */
  beforeEach?: (env: LocalAwsEnv) => Promise<void>;
}

export interface LocalAwsEnv {
  /** moto's server. */
  readonly local: LocalAws;
  /** The StackSets layer; only with `proxy: true`. */
  readonly proxy: StackSetsProxy;
  /** Where the code under test is pointed: the layer's endpoint when there is one, else moto's. */
  readonly endpoint: string;
  /** Clients with moto's credentials, at `endpoint` unless another is given (`local.endpoint`: moto's, past the layer). */
  aws(region?: string, endpoint?: string): Aws;
}

/** `start()` with `variables` in this process's environment, which a process it starts inherits; put back after. */
async function withEnvironment<T>(variables: Record<string, string>, start: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  try {
    return await start();
  } finally {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** Registers the file's hooks; the returned object's fields are set once beforeAll has run. */
export function useLocalAws(options: LocalAwsOptions = {}): LocalAwsEnv {
  let local: LocalAws | undefined;
  let proxy: StackSetsProxy | undefined;
  const env: LocalAwsEnv = {
    get local() {
      if (!local) throw new Error('the local AWS is started in beforeAll');
      return local;
    },
    get proxy() {
      if (!proxy) throw new Error(options.proxy ? 'the StackSets layer is started in beforeAll' : 'useLocalAws({ proxy: true }) starts the StackSets layer');
      return proxy;
    },
    get endpoint() {
      return options.proxy ? env.proxy.endpoint : env.local.endpoint;
    },
    aws: (region = options.region ?? 'eu-west-1', endpoint = env.endpoint) => new Aws({ region, endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: options.maxAttempts }),
  };
  beforeAll(async () => {
    local = options.awsManagedPolicies ? await withEnvironment({ MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' }, startNewLocalAws) : await startNewLocalAws();
    if (options.proxy) proxy = await startStackSetsProxy(local.endpoint);
    await options.beforeAll?.(env);
  }, options.timeout);
  afterAll(async () => {
    await proxy?.stop();
    await local?.stop();
  });
  // A request the layer refused for its shape (stacksets-proxy.ts, requestProblem) is one AWS refuses too, whatever a test
  // asserts of what came after it: none may have been sent, unless the test sent it itself and emptied the list. The
  // layer's reset keeps the list (a test may reset it midway); it is emptied here, for the next test.
  if (options.proxy) afterEach(() => expect(proxy?.malformed.splice(0) ?? [], 'requests CloudFormation refuses for their shape').toEqual([]));
  if (options.reset !== false || options.beforeEach) {
    beforeEach(async () => {
      if (options.reset !== false) {
        proxy?.reset();
        await env.local.reset();
      }
      await options.beforeEach?.(env);
    });
  }
  return env;
}
