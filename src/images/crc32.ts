import zlib from "node:zlib";

const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/**
 * CRC-32 of b[from..to) as PNG computes it (ISO 3309): zlib's own where Node has it (20.15 and
 * later), the table below otherwise (the package supports Node 20.9).
 */
export function crc32(b: Uint8Array, from: number, to: number): number {
  return native ? native(b.subarray(from, to)) >>> 0 : tableCrc32(b, from, to);
}

let table: Uint32Array | undefined;

export function tableCrc32(b: Uint8Array, from: number, to: number): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = from; i < to; i++) c = table[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
