/**
 * The OpenAPI 3.1 document, assembled from the very schemas the routes validate with: a route registers its
 * schema here when it compiles its validator, so the document cannot drift from what the server enforces.
 */

export interface EndpointDoc {
  method: 'get' | 'post';
  path: string;
  summary: string;
  tag: string;
  /** Needs a bearer token. */
  auth: boolean;
  /** The JSON request body: its schema (as validated) and an example that satisfies it. */
  json?: { schema: object; example: unknown };
  /** A multipart upload with one binary part named file or message. */
  upload?: string;
  /** An example of `data` in a successful answer, or the media type of a non-JSON answer. */
  response: { data: unknown } | { mediaType: string };
}

/** Keywords of ours that JSON Schema does not know; written as descriptions instead. */
function forDocument(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(forDocument);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    // The hint ends a sentence that names the field ("logId must be ..."); on its own it starts one.
    if (key === 'errorHint') out.description = String(value).replace(/^m/, 'M');
    else out[key] = forDocument(value);
  }
  return out;
}

const envelope = (data: object) => ({
  type: 'object',
  required: ['result', 'message', 'data'],
  properties: { result: { type: 'integer' }, message: { type: 'string' }, data },
});

export class ApiCatalog {
  private readonly endpoints: EndpointDoc[] = [];

  add(endpoint: EndpointDoc): void {
    this.endpoints.push(endpoint);
  }

  list(): readonly EndpointDoc[] {
    return this.endpoints;
  }

  document(): object {
    const paths: Record<string, Record<string, object>> = {};
    for (const endpoint of this.endpoints) {
      paths[endpoint.path] ??= {};
      paths[endpoint.path]![endpoint.method] = this.operation(endpoint);
    }
    return {
      openapi: '3.1.0',
      info: {
        title: 'chatlog',
        version: '0.1.0',
        description:
          'Chat-record service: durable messages, sync by cursor, history, revoke, focus, groups. Every answer is the envelope ' +
          '{result, message, data}; result 0 is success, other codes are listed under components.responses. The WebSocket at ' +
          'GET /ws (API.md §6) is not an HTTP operation and is described there.',
      },
      paths,
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        responses: {
          Error: {
            description:
              'An error envelope: -1000 (500), -1007 (404), -1009 (503), -1010 and -1011 (401), -1012 (400), -1019 (403), -1029 (429, Retry-After), -10202 (413).',
            content: { 'application/json': { schema: envelope({ type: 'null' }) } },
          },
        },
      },
    };
  }

  private operation(endpoint: EndpointDoc): object {
    const requestBody: Record<string, object> = {};
    if (endpoint.json) requestBody['application/json'] = { schema: forDocument(endpoint.json.schema), example: endpoint.json.example };
    if (endpoint.upload) {
      requestBody['multipart/form-data'] = {
        schema: {
          type: 'object',
          properties: { file: { type: 'string', format: 'binary', description: endpoint.upload }, message: { type: 'string', format: 'binary' } },
        },
      };
    }
    const ok =
      'data' in endpoint.response
        ? { 'application/json': { schema: envelope({}), example: { result: 0, message: 'OK', data: endpoint.response.data } } }
        : { [endpoint.response.mediaType]: {} };
    return {
      summary: endpoint.summary,
      tags: [endpoint.tag],
      ...(endpoint.auth && { security: [{ bearer: [] }] }),
      ...(Object.keys(requestBody).length > 0 && { requestBody: { required: true, content: requestBody } }),
      responses: { 200: { description: 'OK', content: ok }, default: { $ref: '#/components/responses/Error' } },
    };
  }
}
