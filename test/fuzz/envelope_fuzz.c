/*
 * envelope_fuzz.c
 *	  libFuzzer harness for the model envelope parser (src/envelope.c built with
 *	  -DSHELFOPS_NO_BACKEND).  Checks, for any input: the parser never reads out
 *	  of bounds (ASan), accepts only self-consistent envelopes, and -- using the
 *	  input as a payload -- that a built envelope parses back to the same bytes
 *	  and that every single-bit flip of it is rejected.
 *
 * Build and run: see docs/models.md ("Fuzzing").
 */
#include "postgres_fe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EnvelopeHeader hdr;
	const uint8 *payload;
	EnvelopeStatus st;
	uint8	   *buf;
	size_t		total;
	size_t		bit;

	/* 1. arbitrary bytes as an envelope */
	st = envelope_parse(data, size, &hdr, &payload);
	if (st == ENVELOPE_OK)
	{
		if (payload != data + ENVELOPE_HEADER_SIZE || hdr.payload_len != size - ENVELOPE_HEADER_SIZE ||
			hdr.format != ENVELOPE_FORMAT_VERSION || envelope_kind_name(hdr.kind) == NULL)
			abort();
	}
	if (envelope_status_text(st) == NULL)
		abort();

	/* 2. the input as a payload: round trip, then one bit flipped */
	if (size == 0)
		return 0;
	total = ENVELOPE_HEADER_SIZE + size;
	buf = malloc(total);
	envelope_build(buf, (ModelKind) (1 + data[0] % MODEL_KIND_MAX), data, size);
	st = envelope_parse(buf, total, &hdr, &payload);
	if (st != ENVELOPE_OK || hdr.payload_len != size || memcmp(payload, data, size) != 0)
		abort();

	bit = 0;
	for (size_t i = 0; i < size && i < 8; i++)
		bit = bit * 131 + data[i];
	bit %= total * 8;
	buf[bit / 8] ^= (uint8) (1u << (bit % 8));
	st = envelope_parse(buf, total, &hdr, &payload);
	if (st == ENVELOPE_OK)
	{
		fprintf(stderr, "single-bit flip at bit %zu accepted\n", bit);
		abort();
	}

	/* 3. every truncation of the valid envelope is rejected */
	buf[bit / 8] ^= (uint8) (1u << (bit % 8));
	if (envelope_parse(buf, total - 1 - (bit % total), &hdr, &payload) == ENVELOPE_OK)
		abort();

	free(buf);
	return 0;
}
