/**
 * The uid lists one event (and its notice) may carry: at most about 12 KiB of uids each, so that no event of a
 * big group grows past what a comet frame holds (16 KiB), nor costs every online member a large parse. Clients
 * read the member list for the rest.
 */
const MAX_LIST_BYTES = 12 * 1024;

export function listsOfBoundedSize(uids: string[]): string[][] {
  const lists: string[][] = [];
  let list: string[] = [];
  let bytes = 0;
  for (const uid of uids) {
    // A uid in protobuf: its UTF-8 bytes, a tag and a length.
    const size = Buffer.byteLength(uid) + 3;
    if (list.length > 0 && bytes + size > MAX_LIST_BYTES) {
      lists.push(list);
      list = [];
      bytes = 0;
    }
    list.push(uid);
    bytes += size;
  }
  if (list.length > 0) lists.push(list);
  return lists;
}
