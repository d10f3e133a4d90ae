import type { Duplex } from 'node:stream';

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** Answers a refused upgrade with a plain HTTP response carrying the envelope; no socket is made. */
export function refuseUpgrade(socket: Duplex, status: number, result: number, message: string): void {
  const body = JSON.stringify({ result, message, data: null });
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Closes every socket with 1001 (going away), not waiting past a second for clients that do not answer. */
export async function closeAll(
  sockets: Iterable<{ once(event: 'close', listener: () => void): unknown; close(code: number, reason: string): void; terminate(): void }>,
): Promise<void> {
  await Promise.all(
    [...sockets].map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close(1001, 'server shutting down');
          setTimeout(() => {
            ws.terminate();
            resolve();
          }, 1000).unref();
        }),
    ),
  );
}
