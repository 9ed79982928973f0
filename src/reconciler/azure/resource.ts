/**
 * One ARM resource through the SDK's operations for its type, the same way for every kind: a read that tells "absent"
 * from "its parent is gone", and long-running writes started or resumed through lro.ts (never waited for).
 */
import type { OperationState, SimplePollerLike } from '@azure/core-lro';
import type { OperationStatus } from '../contracts';
import { toAzureError, type AzureError } from './errors';
import { resumeLro, startLro, type BeginOptions, type LroStep } from './lro';

type Poller<T> = SimplePollerLike<OperationState<T>, T>;

/** The SDK methods of one resource type, bound to one resource (its resource group, parents and name). */
export interface SdkOperations<Resource, Body, Patch> {
  get(): Promise<Resource>;
  beginCreate(body: Body, options: BeginOptions): Promise<Poller<Resource>>;
  /** Absent: the resource cannot change in place (a change is UnsupportedChange, e.g. a database). */
  beginUpdate?(patch: Patch, options: BeginOptions): Promise<Poller<Resource>>;
  beginDelete(options: BeginOptions): Promise<Poller<unknown>>;
}

/** A field of the spec that differs from Azure. */
export interface FieldChange {
  /** Spec path, e.g. spec.storage.sizeGB */
  readonly field: string;
  readonly azure: string;
  readonly desired: string;
}

/** A difference Azure cannot change in place. */
export interface UnsupportedChange extends FieldChange {
  readonly why: string;
}

/** The spec compared with Azure: what to send (only what differs), what it changes, and what cannot change. */
export interface Comparison<Patch> {
  /** Undefined when nothing is to be sent. */
  readonly patch?: Patch;
  readonly changes: readonly FieldChange[];
  readonly unsupported: readonly UnsupportedChange[];
}

export type ReadResult<Resource> =
  | { readonly status: 'found'; readonly resource: Resource }
  | { readonly status: 'absent' }
  /** A child's read answered by the ARM gateway: its parent (the server) is gone. */
  | { readonly status: 'parentGone'; readonly error: AzureError };

export interface WriteOptions {
  /** metadata.generation whose spec the write applies. */
  readonly generation?: number;
  /** Values that must never end up in the recorded operation (passwords in the request). */
  readonly secrets?: readonly string[];
}

/** Resume arguments are placeholders: a resumed poller only follows the recorded operation URL (see lro.ts). */
const UNUSED = {} as never;

export class ArmResource<Resource, Body, Patch> {
  constructor(
    private readonly operations: SdkOperations<Resource, Body, Patch>,
    /** A child resource (its 404 may mean that its parent is gone). */
    private readonly isChild: boolean,
  ) {}

  get canUpdate(): boolean {
    return this.operations.beginUpdate !== undefined;
  }

  /** Throws what the SDK threw for anything but a 404 (classify it with errors/classify.ts). */
  async read(): Promise<ReadResult<Resource>> {
    try {
      return { status: 'found', resource: await this.operations.get() };
    } catch (e) {
      const error = toAzureError(e);
      if (error.statusCode !== 404 && error.code !== 'ResourceNotFound' && error.code !== 'ResourceGroupNotFound') throw e;
      const parentGone = this.isChild && (error.code === 'ParentResourceNotFound' || error.failureCause?.toLowerCase() === 'gateway');
      return parentGone ? { status: 'parentGone', error } : { status: 'absent' };
    }
  }

  /** A write to a child that Azure refused because its parent (the server) is not there. */
  isParentGone(error: AzureError): boolean {
    return this.isChild && (error.code === 'ParentResourceNotFound' || (error.statusCode === 404 && error.failureCause?.toLowerCase() === 'gateway'));
  }

  startCreate(body: Body, opts: WriteOptions = {}): Promise<LroStep<Resource>> {
    return startLro((o) => this.operations.beginCreate(body, o), { type: 'Create', ...opts });
  }

  startUpdate(patch: Patch, opts: WriteOptions = {}): Promise<LroStep<Resource>> {
    const update = this.operations.beginUpdate;
    if (!update) throw new Error('this resource type cannot be updated in place');
    return startLro((o) => update.call(this.operations, patch, o), { type: 'Update', ...opts });
  }

  startDelete(opts: WriteOptions = {}): Promise<LroStep<unknown>> {
    return startLro((o) => this.operations.beginDelete(o), { type: 'Delete', ...opts });
  }

  /** Polls a recorded operation once; the request is never sent again. */
  resume(operation: OperationStatus): Promise<LroStep<unknown>> {
    switch (operation.type) {
      case 'Delete':
        return resumeLro((o) => this.operations.beginDelete(o), operation);
      case 'Update':
        if (this.operations.beginUpdate) return resumeLro((o) => this.operations.beginUpdate!(UNUSED, o), operation);
        return resumeLro((o) => this.operations.beginCreate(UNUSED, o), operation);
      case 'Create':
      default:
        return resumeLro((o) => this.operations.beginCreate(UNUSED, o), operation);
    }
  }
}
