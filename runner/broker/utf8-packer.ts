/**
 * UTF-8 copies of many strings packed into a few large Buffers: the bytes a bulk publish hands Redis.
 *
 * Why: given strings, ioredis concatenates a whole LPUSH into one string and encodes it again on the socket write
 * (half of a bulk send's CPU); given Buffers, it copies bytes. And a batch of message strings kept alive until it
 * is sent survives young-generation collections, each of which copies it again; a message written here at once
 * leaves its string to die young, while its bytes wait outside the JS heap.
 */
export class Utf8Packer {
  private slab = Buffer.alloc(0);
  private at = 0;

  /** @param slabSize bytes per Buffer allocated (a string longer than a third of it gets one of its own). Default 1 MiB. */
  constructor(private readonly slabSize = 1 << 20) {}

  /** The string's UTF-8 bytes (the same Redis would store for the string itself), as a slice of a shared Buffer. */
  add(text: string): Buffer {
    // A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair: 4 for 2), so this room is always enough
    // and write() never truncates.
    const room = text.length * 3;
    if (this.slab.length - this.at < room) {
      this.slab = Buffer.allocUnsafe(Math.max(this.slabSize, room));
      this.at = 0;
    }
    const start = this.at;
    this.at += this.slab.write(text, start, 'utf8');
    return this.slab.subarray(start, this.at);
  }
}
