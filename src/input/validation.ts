import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { AppError } from '../errors.js';

/**
 * One Ajv instance, schemas compiled once at start. A schema may carry `errorHint`, the end of the sentence
 * a client reads when that value is wrong ("logId must be a positive integer, as a number or a decimal string").
 */
export function createAjv(): Ajv {
  const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: false, verbose: true });
  ajv.addKeyword({ keyword: 'errorHint', schemaType: 'string' });
  return ajv;
}

export type Validator<T> = (value: unknown) => T;

export function compileValidator<T>(ajv: Ajv, schema: object, prefix = ''): Validator<T> {
  const validate = ajv.compile(schema);
  return (value) => {
    if (!validate(value)) throw AppError.invalidParams(describeError(validate, prefix));
    return value as T;
  };
}

function describeError(validate: ValidateFunction, prefix: string): string {
  // A failed anyOf follows the errors of its branches; the rule as a whole says more than its first branch.
  const error = validate.errors!.find((e) => e.keyword === 'anyOf') ?? validate.errors![0]!;
  const path = prefix + error.instancePath.slice(1).replaceAll('/', '.');
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return `${path ? `${path}.` : ''}${missing} is required`;
  }
  const field = path || 'the request body';
  const hint = (error.parentSchema as { errorHint?: string } | undefined)?.errorHint;
  if (hint) return `${field} ${hint}`;
  return `${field} ${plainMessage(error)}`;
}

function plainMessage(error: ErrorObject): string {
  const schema = error.parentSchema as { minimum?: number; maximum?: number; minLength?: number; maxLength?: number };
  switch (error.keyword) {
    case 'minimum':
    case 'maximum':
      if (schema.minimum !== undefined && schema.maximum !== undefined) return `must be between ${schema.minimum} and ${schema.maximum}`;
      break;
    case 'minLength':
    case 'maxLength':
      if (schema.minLength !== undefined && schema.maxLength !== undefined) return `must be ${schema.minLength} to ${schema.maxLength} characters`;
      break;
    case 'enum':
      return `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    case 'type':
      return `must be ${article((error.params as { type: string }).type)}`;
  }
  return error.message ?? 'is invalid';
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
