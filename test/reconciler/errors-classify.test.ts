/** errors/classify.ts: Azure, Kubernetes and PostgreSQL failures, each in one of four classes, as the services send them. */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestError } from '@azure/core-rest-pipeline';
import { createHttpHeaders } from './helpers/fake-arm';
import { ArmThrottledError } from '../../src/reconciler/azure/throttle';
import { classifyAzureError, classifyError, classifyKubernetesError, classifyPostgresError, postgresConditionMessage } from '../../src/reconciler/errors/classify';
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

  it('network failures have a PascalCase reason that says what happened; the errno stays in code and message', () => {
    const cases: Array<[code: string | undefined, message: string, reason: string]> = [
      ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:443', 'AzureUnreachable'],
      ['ENOTFOUND', 'getaddrinfo ENOTFOUND management.azure.com', 'AzureUnreachable'],
      ['EAI_AGAIN', 'getaddrinfo EAI_AGAIN management.azure.com', 'AzureUnreachable'],
      ['EHOSTUNREACH', 'connect EHOSTUNREACH 20.0.0.1:443', 'AzureUnreachable'],
      ['ENETUNREACH', 'connect ENETUNREACH 20.0.0.1:443', 'AzureUnreachable'],
      ['ECONNRESET', 'read ECONNRESET', 'AzureConnectionLost'],
      ['ECONNRESET', 'socket hang up', 'AzureConnectionLost'],
      ['EPIPE', 'write EPIPE', 'AzureConnectionLost'],
      ['ECONNABORTED', 'aborted', 'AzureConnectionLost'],
      ['UND_ERR_SOCKET', 'other side closed', 'AzureConnectionLost'],
      ['ERR_STREAM_PREMATURE_CLOSE', 'Premature close', 'AzureConnectionLost'],
      ['ETIMEDOUT', 'connect ETIMEDOUT 20.0.0.1:443', 'AzureTimedOut'],
      ['UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error', 'AzureTimedOut'],
      ['CERT_HAS_EXPIRED', 'certificate has expired', 'AzureTlsFailed'],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate', 'AzureTlsFailed'],
      ['EPROTO', 'write EPROTO ssl3_get_record:wrong version number', 'AzureTlsFailed'],
    ];
    for (const [code, message, reason] of cases) {
      const c = classifyAzureError(Object.assign(new Error(message), { code }));
      assert.equal(c.reason, reason, `${code}: ${message}`);
      assert.equal(c.code, code);
      assert.equal(c.message, message);
    }
    // What @azure/core-rest-pipeline throws when Node gave no code.
    const sendError = classifyAzureError(new RestError('request to https://management.azure.com failed', { code: 'REQUEST_SEND_ERROR' }));
    assert.deepEqual([sendError.reason, sendError.class], ['AzureUnreachable', 'transient']);
  });

  it('Azure\'s own code is the reason', () => {
    assert.equal(classifyAzureError({ code: 'ServerIsBusy', message: 'Try again later.' }).reason, 'ServerIsBusy');
    assert.equal(classifyAzureError(restError(403, 'AuthorizationFailed', 'no rights')).reason, 'AuthorizationFailed');
    assert.equal(classifyAzureError(restError(404, 'Microsoft.DBforPostgreSQL/notFound', 'x')).reason, 'MicrosoftDBforPostgreSQLnotFound');
  });

  it('an untrusted certificate on the way to ARM is the admin\'s to fix, not retried every second', () => {
    assert.equal(classifyAzureError(Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' })).class, 'userError');
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

  it('network failures have a PascalCase reason, not the errno', () => {
    const refused = classifyKubernetesError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }));
    assert.deepEqual([refused.reason, refused.code, refused.class], ['KubernetesUnreachable', 'ECONNREFUSED', 'transient']);
    const reset = classifyKubernetesError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    assert.equal(reset.reason, 'KubernetesConnectionLost');
    assert.equal(classifyKubernetesError(new KubeApiError(409, 'Conflict', 'm', 'PUT', '/x')).reason, 'Conflict');
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
  it('a failed connection (network, TLS, login, refused by the firewall) is PostgresUnreachable, the errno or SQLSTATE in the message', () => {
    const unreachable: Array<[string | undefined, string]> = [
      ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'],
      ['ECONNRESET', 'read ECONNRESET'],
      ['EPIPE', 'write EPIPE'],
      ['ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.5:5432'],
      ['ENOTFOUND', 'getaddrinfo ENOTFOUND srv.postgres.database.azure.com'],
      ['EAI_AGAIN', 'getaddrinfo EAI_AGAIN srv.postgres.database.azure.com'],
      [undefined, 'Connection terminated unexpectedly'],
      [undefined, 'Connection terminated due to connection timeout'],
      [undefined, 'timeout expired'],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'],
      ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"],
      ['ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'],
      ['08006', 'server closed the connection unexpectedly'],
      ['57P03', 'the database system is starting up'],
      ['28P01', 'password authentication failed for user "app"'],
      ['28000', 'no pg_hba.conf entry for host "203.0.113.7", user "app", database "shop", SSL encryption'],
    ];
    for (const [code, message] of unreachable) {
      const c = classifyPostgresError(code === undefined ? new Error(message) : pg(code, message));
      assert.equal(c.reason, 'PostgresUnreachable', `${code}: ${message}`);
      assert.equal(c.message, message);
    }
    assert.equal(classifyPostgresError(pg('42501', 'permission denied')).reason, 'PostgresError');
  });
  it('a refusal by the firewall (pg_hba) says which address to admit, and how', () => {
    const refused = classifyPostgresError(pg('28000', 'no pg_hba.conf entry for host "203.0.113.7", user "pgadmin", database "shop", SSL encryption'));
    assert.equal(postgresConditionMessage('locking database shop against PUBLIC failed', refused),
      'locking database shop against PUBLIC failed: 28000: no pg_hba.conf entry for host "203.0.113.7", user "pgadmin", database "shop", SSL encryption'
      + ' (the server\'s firewall rules do not admit 203.0.113.7, the address the reconciler connects from: add a PostgresFirewallRule for it, or use private access)');
    const login = classifyPostgresError(pg('28P01', 'password authentication failed for user "pgadmin"'));
    assert.equal(postgresConditionMessage('setting up role x', login), 'setting up role x: 28P01: password authentication failed for user "pgadmin"');
    assert.equal(classifyPostgresError(pg('22003', 'out of range')).reason, 'InvalidSpec');
  });
});

describe('every reason is PascalCase', () => {
  it('whatever was thrown', () => {
    const thrown: unknown[] = [
      Object.assign(new Error('x'), { code: 'ECONNRESET' }), Object.assign(new Error('x'), { code: 'EAI_AGAIN' }),
      Object.assign(new Error('x'), { code: 'ERR_SOCKET_CLOSED' }), new Error('no code'), 'a string', undefined,
      { code: 'weird-code!', message: 'm' }, { code: '1234', message: 'm' },
    ];
    for (const e of thrown) {
      for (const c of [classifyAzureError(e), classifyKubernetesError(e), classifyPostgresError(e), classifyError(e)]) {
        // Upper case first, letters and digits, and not an errno (ECONNRESET): some lower case.
        assert.match(c.reason, /^[A-Z](?=.*[a-z])[A-Za-z0-9]*$/, `${c.source} ${c.code}: ${c.reason}`);
      }
    }
  });
});
