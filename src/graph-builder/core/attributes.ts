import type { TensorData } from './tensor-data';

/** ONNX attribute kinds; JS numbers are ambiguous, so every op declares the kind of each attribute. */
export type AttrKind = 'int' | 'float' | 'string' | 'ints' | 'floats' | 'tensor';

export type AttrValue = number | string | readonly number[] | TensorData;

export type Attrs = Readonly<Record<string, AttrValue | undefined>>;

export type AttrKinds<A> = { readonly [K in keyof A]-?: AttrKind };
