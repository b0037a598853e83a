/**
 * Rich functions (Flink's `AbstractRichFunction` and `RichMapFunction`
 * family): classes whose instances reach their runtime context through
 * `this.getRuntimeContext()` anywhere, not only in `open(ctx)`. The runtime
 * calls `setRuntimeContext` before `open`. Any function object may instead
 * take the context in `open(ctx)` and keep it (see `RichFunction`); process
 * functions, window functions and the rest extend {@link AbstractRichFunction}
 * to get the same: `class Enrich extends AbstractRichFunction implements ProcessFunction<In, Out>`.
 */
/* eslint-disable @typescript-eslint/no-unnecessary-type-parameters -- the type parameters type the abstract method a subclass implements */
import { ProgramDefinitionError } from './errors.js';
import type { Collector, RichFunction, RuntimeContext } from './functions.js';

/** Base of functions that use `getRuntimeContext()` (Flink's AbstractRichFunction). */
export abstract class AbstractRichFunction implements RichFunction {
  #ctx: RuntimeContext | undefined;

  /** Called by the runtime before `open`; a program does not call it. */
  setRuntimeContext(ctx: RuntimeContext): void {
    this.#ctx = ctx;
  }

  /** The context of the parallel instance running this function (from `open` on, not while the pipeline is planned). */
  getRuntimeContext(): RuntimeContext {
    const ctx = this.#ctx;
    if (ctx === undefined) {
      throw new ProgramDefinitionError(
        `${this.constructor.name}.getRuntimeContext() was called before the function runs: ` +
          'the context exists from open() on, not while the program builds its pipeline',
      );
    }
    return ctx;
  }

  /** Called once per parallel instance before the first record (override to set up state or metrics). */
  open(_ctx: RuntimeContext): void {
    // Nothing to set up by default.
  }

  /** Called once when the instance ends (override to release resources). */
  close(): void {
    // Nothing to release by default.
  }
}

/** A map function with a runtime context. */
export abstract class RichMapFunction<IN, OUT> extends AbstractRichFunction {
  /** Maps one record. */
  abstract map(value: IN): OUT;
}

/** A flatMap function with a runtime context. */
export abstract class RichFlatMapFunction<IN, OUT> extends AbstractRichFunction {
  /** Emits zero or more records for one record. */
  abstract flatMap(value: IN, out: Collector<OUT>): void;
}

/** A filter function with a runtime context. */
export abstract class RichFilterFunction<T> extends AbstractRichFunction {
  /** Whether to keep the record. */
  abstract filter(value: T): boolean;
}

/** A reduce function with a runtime context. */
export abstract class RichReduceFunction<T> extends AbstractRichFunction {
  /** Combines two values (must be associative). */
  abstract reduce(a: T, b: T): T;
}
