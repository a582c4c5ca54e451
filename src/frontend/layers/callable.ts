/** A layer class that can also be called without `new`, Keras style: `Dense(128)` as well as `new Dense(128)`. */
export type CallableClass<C extends abstract new (...args: never[]) => unknown> = C & ((...args: ConstructorParameters<C>) => InstanceType<C>);

/** Wraps a class so calling it constructs it; `instanceof`, `extends` and statics keep working. */
export function callableClass<C extends new (...args: never[]) => unknown>(cls: C): CallableClass<C> {
  return new Proxy(cls, {
    apply: (target, _this, args) => new target(...(args as never[])),
  }) as CallableClass<C>;
}
