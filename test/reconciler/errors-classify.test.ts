/** errors/classify.ts: Azure, Kubernetes and PostgreSQL failures, each in one of four classes, as the services send them. */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestError } from '@azure/core-rest-pipeline';
import { createHttpHeaders } from './helpers/fake-arm';
import { ArmThrottledError } from '../../src/reconciler/azure/throttle';
import { classifyAzureError, classifyError, classifyKubernetesError, classifyPostgresError } from '../../src/reconciler/errors/classify';
import { KubeApiError } from '../../src/reconciler/kube/client';

function restError(status: number, code: string, message: string, headers: Record<string, string> = {}): RestError {
  return new RestError(message, {
    statusCode: status,
    code,
    // What the SDK's deserializer leaves on the response: the parsed error body.
    response: {
      status,
      headers: createHttpHeaders(headers),
      bodyAsText: JSON.stringify({ error: { code, message } }),
      parsedBody: { error: { code, message } },
      request: {} as never,
    } as RestError['response'],
  });
}

describe('classifyAzureError', () => {
  it('a busy server (the operation of a 202 ends ServerIsBusy or InternalServerError) is transient', () => {
    assert.equal(classifyAzureError({ code: 'ServerIsBusy', message: 'Try again later.' }).class, 'transient');
    assert.equal(classifyAzureError({ code: 'InternalServerError', message: 'An unexpected error occured while processing the request.' }).class, 'transient');
  });

  it('a cancelled operation is transient', () => {
    assert.equal(classifyAzureError({ code: 'OperationCancelled', message: 'Operation was cancelled.' }).class, 'transient');
    assert.equal(classifyAzureError({ code: 'Canceled', message: 'operation canceled' }).class, 'transient');
  });

  it('a child read after its parent is gone is a 404 from the gateway: parent gone', () => {
    const gone = classifyAzureError(restError(404, 'ResourceNotFound', "The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/srv' under resource group 'rg' was not found.", { 'x-ms-failure-cause': 'gateway' }));
    assert.equal(gone.parentGone, true);
    assert.equal(gone.notFound, true);
    const childOnly = classifyAzureError(restError(404, 'ResourceNotFound', "The requested resource of type 'Microsoft.DBforPostgreSQL/flexibleServers/databases' with name 'x' was not found."));
    assert.equal(childOnly.parentGone, undefined);
    assert.equal(childOnly.notFound, true);
    assert.equal(classifyAzureError(restError(404, 'ParentResourceNotFound', 'Parent resource srv not found.')).parentGone, true);
  });

  it('throttling waits for Retry-After', () => {
    const t = classifyAzureError(new ArmThrottledError(90_000, 429));
    assert.deepEqual([t.class, t.retryAfterMs], ['throttled', 90_000]);
    const raw = classifyAzureError(restError(429, 'TooManyRequests', 'slow down', { 'retry-after': '17' }));
    assert.deepEqual([raw.class, raw.retryAfterMs], ['throttled', 17_000]);
  });

  it('5xx, 408 and 409 are transient; a stopped server and other 4xx are the user\'s', () => {
    assert.equal(classifyAzureError(restError(503, 'ServiceUnavailable', 'x')).class, 'transient');
    assert.equal(classifyAzureError(restError(500, 'SomethingNew', 'x')).class, 'transient');
    assert.equal(classifyAzureError(restError(409, 'AnotherOperationInProgress', 'x')).class, 'transient');
    assert.equal(classifyAzureError(restError(409, 'ServerStopped', 'Start the server and try again.')).class, 'userError');
    assert.equal(classifyAzureError(restError(403, 'AuthorizationFailed', 'no rights')).class, 'userError');
    assert.equal(classifyAzureError(restError(400, 'InvalidParameterValue', 'bad')).class, 'userError');
  });

  it('a failed operation with Azure\'s own code: quota and invalid values are the user\'s, unknown codes are retried', () => {
    assert.equal(classifyAzureError({ code: 'ServerQuotaExceeded', message: 'quota' }).class, 'userError');
    assert.equal(classifyAzureError({ code: 'InvalidParameterValue', message: 'bad' }).class, 'userError');
    assert.equal(classifyAzureError({ code: 'ProvisioningFailed', message: '?' }).class, 'transient');
  });

  it('network failures are transient', () => {
    const e = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' });
    assert.equal(classifyAzureError(e).class, 'transient');
  });
});

describe('classifyKubernetesError', () => {
  it('conflicts and server errors are transient, 429 throttled, RBAC the admin\'s', () => {
    const k = (status: number, reason: string) => new KubeApiError(status, reason, 'm', 'PUT', '/x');
    assert.equal(classifyKubernetesError(k(409, 'Conflict')).class, 'transient');
    assert.equal(classifyKubernetesError(k(503, 'ServiceUnavailable')).class, 'transient');
    assert.equal(classifyKubernetesError(k(429, 'TooManyRequests')).class, 'throttled');
    assert.equal(classifyKubernetesError(k(403, 'Forbidden')).class, 'userError');
    assert.equal(classifyError(k(409, 'Conflict')).source, 'kubernetes');
  });
});

describe('classifyPostgresError', () => {
  const pg = (code: string, message = 'm') => Object.assign(new Error(message), { code });
  it('connection loss, shutdown, resources, deadlocks: transient', () => {
    for (const code of ['08006', '57P01', '57P03', '53300', '40P01', 'ECONNREFUSED', 'ETIMEDOUT']) {
      assert.equal(classifyPostgresError(pg(code)).class, 'transient', code);
    }
  });
  it('authentication, privileges, TLS trust: the user\'s; a value out of range: invalid spec', () => {
    for (const code of ['28P01', '42501', '3D000', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
      assert.equal(classifyPostgresError(pg(code)).class, 'userError', code);
    }
    assert.equal(classifyPostgresError(pg('22003', 'value "2147483648" is out of range for type integer')).class, 'invalidSpec');
    assert.equal(classifyError(pg('28P01')).source, 'postgres');
  });
});
