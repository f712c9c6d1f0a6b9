/* fuzz_checkpoint.c: libFuzzer target for the checkpoint loader
 * (src/io/checkpoint.c), through checkpoint_parse, its from-memory entry.
 *
 * Every section carries a CRC-32, so nearly every mutation of a payload
 * would stop at the CRC check and the decoding behind it would go
 * unfuzzed. Each input is therefore parsed twice: as it is (the framing
 * and CRC checks), and, when that differs, with every CRC that the
 * framing lets us find recomputed (the decoding and validation of each
 * section). The format's CRC is zlib's crc32 over tag, length and payload.
 *
 * Besides the sanitizers, the target checks the loader's contract: a
 * refusal leaves *out untouched and says which file; an accepted file
 * gives a built model that saves again, and what it saves loads back and
 * saves to the same bytes (encode(parse(x)) is a fixed point). A broken
 * contract aborts, which libFuzzer reports as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/error.h"
#include "io/checkpoint.h"

#define NAME "fuzz.ckpt"

static unsigned char *encode(checkpoint *c, size_t *size)
{
    *size = checkpoint_size(&c->model, &c->history);
    if (*size == 0)
        abort();   /* a loaded model is built, so it can be saved */
    unsigned char *buf = malloc(*size);
    if (!buf)
        abort();
    checkpoint_encode(&c->model, &c->extras, &c->history, buf);
    return buf;
}

/* Rewrites the CRC of every section whose frame fits in buf (header 12
 * bytes; each section: 4-byte tag, u64 length, payload, u32 CRC, all
 * little-endian). Returns whether anything changed. */
static int fix_crcs(unsigned char *buf, size_t len)
{
    int changed = 0;
    size_t pos = 12;
    while (pos <= len && len - pos >= 16) {
        uint64_t length = 0;
        for (int i = 0; i < 8; i++)
            length |= (uint64_t)buf[pos + 4 + i] << (8 * i);
        if (length > len - pos - 16)
            break;
        unsigned char *crc = buf + pos + 12 + length;
        uint32_t want = (uint32_t)crc32_z(0L, buf + pos, 12 + (size_t)length);
        for (int i = 0; i < 4; i++) {
            unsigned char b = (unsigned char)(want >> (8 * i));
            changed |= crc[i] != b;
            crc[i] = b;
        }
        pos += 16 + (size_t)length;
    }
    return changed;
}

static void parse_one(const unsigned char *data, size_t size)
{
    checkpoint c, before;
    memset(&c, 0xa5, sizeof c);
    memcpy(&before, &c, sizeof c);
    char err[EMBER_ERR_SIZE] = "";

    if (checkpoint_parse(data, size, NAME, &c, err) != 0) {
        if (memcmp(&c, &before, sizeof c) != 0 || strncmp(err, NAME, strlen(NAME)) != 0)
            abort();
        return;
    }

    size_t first_size;
    unsigned char *first = encode(&c, &first_size);
    checkpoint_free(&c);

    checkpoint again;
    if (checkpoint_parse(first, first_size, NAME, &again, err) != 0)
        abort();   /* what we saved, we must load */
    size_t second_size;
    unsigned char *second = encode(&again, &second_size);
    checkpoint_free(&again);
    if (second_size != first_size || memcmp(first, second, first_size) != 0)
        abort();
    free(first);
    free(second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_one(data, size);

    /* A copy of exactly size bytes, so reads past the end still trip
     * AddressSanitizer. */
    unsigned char *fixed = malloc(size ? size : 1);
    if (!fixed)
        abort();
    memcpy(fixed, data, size);
    if (fix_crcs(fixed, size))
        parse_one(fixed, size);
    free(fixed);
    return 0;
}
