import { UsageError } from '../errors.js';

/**
 * A request an operation cannot honour: wrong options in a migration file, or
 * a change the live schema makes impossible. The message names the operation.
 */
export class OperationError extends UsageError {
  readonly operation: string;
  constructor(operation: string, message: string, hint?: string) {
    super(`${operation}: ${message}`, hint);
    this.operation = operation;
  }
}
