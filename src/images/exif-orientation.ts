/**
 * The EXIF orientation sharp reports (metadata().orientation) for a TIFF-structured EXIF block:
 * the bytes after "Exif\0\0" in a JPEG APP1 segment, or a PNG eXIf chunk. Used by the PNG and
 * JPEG header readers so that probing those formats does not load sharp.
 *
 * libvips hands the block to libexif, then reads IFD0's Orientation back as a number and
 * replaces anything outside 1..8 with 1. libexif's checks are reproduced here, because a block
 * it cannot read leaves no orientation (which probeImage reports as 1), never an error:
 * - the block, with its 6-byte "Exif\0\0" header, is cut to 0xfffe bytes (the size of a JPEG
 *   segment), so an IFD0 past that is not seen (a PNG eXIf chunk can be longer);
 * - "II" or "MM", then 42, then IFD0's offset, whose entry count must fit in the block;
 * - IFD0's entries are loaded only as far as they fit whole;
 * - only IFD0 counts: an Orientation in IFD1 (the thumbnail's) or a sub-IFD is not used.
 *
 * Returns the orientation (1 when absent or unreadable), or null for a tag stored in a way
 * whose handling was not checked against sharp (not a single SHORT, twice in IFD0, IFD0
 * overlapping the TIFF header): the caller then asks sharp.
 */
export function exifOrientation(tiff: Uint8Array): number | null {
  const size = Math.min(tiff.length, 0xfffe - 6);
  if (size < 8) return 1;
  let le: boolean;
  if (tiff[0] === 0x49 && tiff[1] === 0x49) le = true;
  else if (tiff[0] === 0x4d && tiff[1] === 0x4d) le = false;
  else return 1;
  const u16 = (at: number) => (le ? tiff[at]! | (tiff[at + 1]! << 8) : (tiff[at]! << 8) | tiff[at + 1]!);
  const u32 = (at: number) =>
    le
      ? (tiff[at]! | (tiff[at + 1]! << 8) | (tiff[at + 2]! << 16) | (tiff[at + 3]! << 24)) >>> 0
      : ((tiff[at]! << 24) | (tiff[at + 1]! << 16) | (tiff[at + 2]! << 8) | tiff[at + 3]!) >>> 0;
  if (u16(2) !== 42) return 1;
  const ifd0 = u32(4);
  if (ifd0 + 2 > size) return 1;
  if (ifd0 < 8) return null;
  // At most 65535 entries, and only those that fit: a bounded loop whatever the count says.
  const count = Math.min(u16(ifd0), Math.floor((size - ifd0 - 2) / 12));
  let orientation: number | undefined;
  for (let i = 0, at = ifd0 + 2; i < count; i++, at += 12) {
    if (u16(at) !== 0x0112) continue;
    const type = u16(at + 2);
    if (orientation !== undefined || type !== 3 || u32(at + 4) !== 1) return null;
    orientation = u16(at + 8);
  }
  return orientation !== undefined && orientation >= 1 && orientation <= 8 ? orientation : 1;
}
