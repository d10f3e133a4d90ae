/** The body of every answer (API.md §1): `result` 0 and `message` "OK" on success, with `data`. */
export interface Envelope<T> {
  result: number;
  message: string;
  data: T | null;
}
