/**
 * Checkpointing and restart strategies in the API: the plan data they make,
 * plan overrides winning, the argument checks, and (type tests, checked by
 * `pnpm --filter @freshet/api typecheck`) the misuse that does not compile.
 */
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- the negative tests pass wrong types on purpose */
import { describe, expect, it } from 'vitest';
import {
  CheckpointingMode,
  RestartStrategies,
  StreamExecutionEnvironment,
  type CheckpointConfig,
} from './index.js';
import { buildStreamGraph } from './internal.js';

describe('env.enableCheckpointing and getCheckpointConfig', () => {
  it('puts nothing in the plan while checkpointing is disabled', async () => {
    const graph = await buildStreamGraph((env) => {
      env.getCheckpointConfig().setCheckpointTimeout(5000);
      env.fromElements(1).print();
    });
    expect(graph.config.checkpointing).toBeUndefined();
    expect(graph.config.restartStrategy).toBeUndefined();
  });

  it('puts the interval, the mode and Flink-like defaults into the plan', async () => {
    const graph = await buildStreamGraph((env) => {
      env.enableCheckpointing(1000);
      env.fromElements(1).print();
    });
    expect(graph.config.checkpointing).toEqual({
      intervalMs: 1000,
      mode: 'EXACTLY_ONCE',
      timeoutMs: 600_000,
      minPauseBetweenCheckpointsMs: 0,
      tolerableCheckpointFailureNumber: -1,
      maxRetainedCheckpoints: 3,
    });
  });

  it('takes every CheckpointConfig setting', async () => {
    let config: CheckpointConfig | undefined;
    const graph = await buildStreamGraph((env) => {
      env.enableCheckpointing(200, CheckpointingMode.AT_LEAST_ONCE);
      config = env
        .getCheckpointConfig()
        .setCheckpointTimeout(3000)
        .setMinPauseBetweenCheckpoints(50)
        .setTolerableCheckpointFailureNumber(2)
        .setMaxRetainedCheckpoints(5);
      env.fromElements(1).print();
    });
    expect(graph.config.checkpointing).toEqual({
      intervalMs: 200,
      mode: 'AT_LEAST_ONCE',
      timeoutMs: 3000,
      minPauseBetweenCheckpointsMs: 50,
      tolerableCheckpointFailureNumber: 2,
      maxRetainedCheckpoints: 5,
    });
    expect(config!.getCheckpointInterval()).toBe(200);
    expect(config!.isCheckpointingEnabled()).toBe(true);
    expect(config!.getCheckpointingMode()).toBe('AT_LEAST_ONCE');
    expect(config!.getCheckpointTimeout()).toBe(3000);
    expect(config!.getMinPauseBetweenCheckpoints()).toBe(50);
    expect(config!.getTolerableCheckpointFailureNumber()).toBe(2);
    expect(config!.getMaxRetainedCheckpoints()).toBe(5);
    expect(new StreamExecutionEnvironment().getCheckpointConfig().getCheckpointInterval()).toBe(-1);
  });

  it('lets plan overrides enable, change and disable checkpointing', async () => {
    const program = (env: StreamExecutionEnvironment): void => {
      env.enableCheckpointing(1000);
      env.getCheckpointConfig().setCheckpointTimeout(7000);
      env.fromElements(1).print();
    };
    const changed = await buildStreamGraph(program, [], { checkpointing: { intervalMs: 250 } });
    expect(changed.config.checkpointing).toMatchObject({ intervalMs: 250, timeoutMs: 7000 });
    const disabled = await buildStreamGraph(program, [], { checkpointing: { intervalMs: 0 } });
    expect(disabled.config.checkpointing).toBeUndefined();
    const enabled = await buildStreamGraph((env) => void env.fromElements(1).print(), [], {
      checkpointing: { intervalMs: 300, mode: 'AT_LEAST_ONCE' },
    });
    expect(enabled.config.checkpointing).toMatchObject({
      intervalMs: 300,
      mode: 'AT_LEAST_ONCE',
      timeoutMs: 600_000,
    });
  });

  it('rejects invalid settings with messages that say what is expected', () => {
    const env = new StreamExecutionEnvironment();
    expect(() => env.enableCheckpointing(0)).toThrow(
      'setCheckpointInterval expects a positive integer (got 0)',
    );
    expect(() => env.enableCheckpointing(100, 'ONCE' as 'EXACTLY_ONCE')).toThrow(
      "enableCheckpointing expects 'EXACTLY_ONCE' or 'AT_LEAST_ONCE' (got 'ONCE')",
    );
    const c = env.getCheckpointConfig();
    expect(() => c.setCheckpointTimeout(0)).toThrow('setCheckpointTimeout expects a positive integer');
    expect(() => c.setMinPauseBetweenCheckpoints(-1)).toThrow(
      'setMinPauseBetweenCheckpoints expects a non-negative integer',
    );
    expect(() => c.setTolerableCheckpointFailureNumber(-2)).toThrow(
      'setTolerableCheckpointFailureNumber expects a non-negative integer',
    );
    expect(() => c.setMaxRetainedCheckpoints(0)).toThrow(
      'setMaxRetainedCheckpoints expects a positive integer',
    );
    expect(() => new StreamExecutionEnvironment({ checkpointing: { intervalMs: -5 } })).toThrow(
      'The checkpoint interval override expects a non-negative integer',
    );
  });
});

describe('env.setRestartStrategy and RestartStrategies', () => {
  const strategyOf = async (configure: (env: StreamExecutionEnvironment) => void) =>
    (
      await buildStreamGraph((env) => {
        configure(env);
        env.fromElements(1).print();
      })
    ).config.restartStrategy;

  it('puts each strategy into the plan as data', async () => {
    expect(await strategyOf((env) => env.setRestartStrategy(RestartStrategies.noRestart()))).toEqual({
      type: 'none',
    });
    expect(await strategyOf((env) => env.setRestartStrategy(RestartStrategies.fixedDelay(3, 1000)))).toEqual({
      type: 'fixed-delay',
      attempts: 3,
      delayMs: 1000,
    });
    expect(
      await strategyOf((env) =>
        env.setRestartStrategy(RestartStrategies.exponentialDelay({ initialBackoffMs: 10, jitterFactor: 0 })),
      ),
    ).toEqual({
      type: 'exponential-delay',
      initialBackoffMs: 10,
      maxBackoffMs: 60_000,
      backoffMultiplier: 1.5,
      resetBackoffThresholdMs: 3_600_000,
      jitterFactor: 0,
    });
    expect(
      await strategyOf((env) => env.setRestartStrategy(RestartStrategies.failureRate(2, 60_000, 500))),
    ).toEqual({
      type: 'failure-rate',
      maxFailuresPerInterval: 2,
      intervalMs: 60_000,
      delayMs: 500,
    });
  });

  it('lets a plan override replace the strategy', async () => {
    const graph = await buildStreamGraph(
      (env) => {
        env.setRestartStrategy(RestartStrategies.noRestart());
        env.fromElements(1).print();
      },
      [],
      { restartStrategy: { type: 'fixed-delay', attempts: 1, delayMs: 0 } },
    );
    expect(graph.config.restartStrategy).toEqual({ type: 'fixed-delay', attempts: 1, delayMs: 0 });
  });

  it('describes strategies and rejects invalid arguments', () => {
    expect(RestartStrategies.fixedDelay(3, 1000).describe()).toBe('fixed-delay (3 attempts, 1000 ms apart)');
    expect(RestartStrategies.noRestart().describe()).toBe('no restart');
    expect(() => RestartStrategies.fixedDelay(-1, 10)).toThrow(
      'RestartStrategies.fixedDelay attempts expects a non-negative integer',
    );
    expect(() => RestartStrategies.exponentialDelay({ backoffMultiplier: 0.5 })).toThrow(
      'RestartStrategies.exponentialDelay backoffMultiplier expects a number from 1 to 1000 (got 0.5)',
    );
    expect(() => RestartStrategies.exponentialDelay({ initialBackoffMs: 100, maxBackoffMs: 10 })).toThrow(
      'expects maxBackoffMs >= initialBackoffMs',
    );
    expect(() => RestartStrategies.failureRate(1, 0, 1)).toThrow(
      'RestartStrategies.failureRate intervalMs expects a positive integer',
    );
    const env = new StreamExecutionEnvironment();
    expect(() =>
      // @ts-expect-error -- a plain object is not a strategy: use RestartStrategies
      env.setRestartStrategy({ type: 'none' }),
    ).toThrow('setRestartStrategy expects a strategy made by RestartStrategies');
  });
});

describe('type tests: misuse does not compile', () => {
  it('checkpointing and restart strategies', () => {
    const env = new StreamExecutionEnvironment();
    // @ts-expect-error -- the interval is a number of milliseconds
    expect(() => env.enableCheckpointing('1000')).toThrow();
    // @ts-expect-error -- not a checkpointing mode
    expect(() => env.enableCheckpointing(1000, 'EXACTLY_TWICE')).toThrow();
    // @ts-expect-error -- a restart strategy, not a number of attempts
    expect(() => env.setRestartStrategy(3)).toThrow();
    // @ts-expect-error -- fixedDelay needs the delay too
    expect(() => RestartStrategies.fixedDelay(3)).toThrow();
    // @ts-expect-error -- an unknown option of exponentialDelay
    RestartStrategies.exponentialDelay({ initialBackoff: 10 });
    // @ts-expect-error -- failureRate takes (maxFailuresPerInterval, intervalMs, delayMs)
    expect(() => RestartStrategies.failureRate(1, 1000)).toThrow();
    const strategy = RestartStrategies.noRestart();
    expect(() => {
      // @ts-expect-error -- a strategy's data is read-only
      strategy.spec.type = 'fixed-delay';
    }).toThrow(TypeError);
    const config = env.getCheckpointConfig();
    // @ts-expect-error -- not a checkpointing mode
    expect(() => config.setCheckpointingMode('exactly_once')).toThrow();
  });
});
