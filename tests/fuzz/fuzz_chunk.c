/* fuzz_chunk.c -- libFuzzer target: the worker's chunk decoder.
 *
 * A worker inflates and unshuffles the stored chunks rank 0 read from the
 * file (chunkdec.h), so a damaged or hostile file reaches chunk_decode:
 * its head, its chunk table and the deflate streams.  An input is a u32
 * (little-endian) giving the size of the output the worker would expect,
 * then the payload.  The output buffer is exactly that size (ASan sees
 * any write past it); on failure the message must be a C string.  The
 * seeds (gen_seeds.c) are valid payloads: deflate alone, shuffle +
 * deflate in 2-D with edge chunks, and a chunk whose deflate was skipped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunkdec.h"
#include "fixture.h"

/* Larger expected outputs are cut to this (the worker's are bounded by
 * the partition size too). */
#define MAX_OUT (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct chunk_scratch scratch;
    struct h5b_error err = {""};
    if (size < 4)
        return 0;
    size_t out_len = (size_t)(data[0] | data[1] << 8 | data[2] << 16 |
                              (uint32_t)data[3] << 24) % (MAX_OUT + 1);
    unsigned char *out = malloc(out_len ? out_len : 1);
    if (!out)
        return 0;
    if (chunk_decode(data + 4, size - 4, out, out_len, &scratch, &err) < 0 &&
        !memchr(err.msg, '\0', sizeof err.msg))
        fixture_die("chunk_decode", "message not NUL-terminated");
    free(out);
    return 0;
}
