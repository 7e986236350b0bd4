/*
 * envelope.c
 *	  Owns the model envelope: building it around a family's payload and checking
 *	  magic, format version, kind, length and CRC-32C before any library reads it.
 *
 * The parser is pure (see envelope.h); compile with -DSHELFOPS_NO_BACKEND to get
 * only that part, as the fuzzer does.
 */
#ifdef SHELFOPS_NO_BACKEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <string.h>

#include "port/pg_crc32c.h"

#include "envelope.h"

static uint16
get_u16(const uint8 *p)
{
	return (uint16) (p[0] | (p[1] << 8));
}

static uint32
get_u32(const uint8 *p)
{
	return (uint32) p[0] | ((uint32) p[1] << 8) | ((uint32) p[2] << 16) | ((uint32) p[3] << 24);
}

static uint64
get_u64(const uint8 *p)
{
	return (uint64) get_u32(p) | ((uint64) get_u32(p + 4) << 32);
}

static void
put_u16(uint8 *p, uint16 v)
{
	p[0] = v & 0xFF;
	p[1] = (v >> 8) & 0xFF;
}

static void
put_u32(uint8 *p, uint32 v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xFF;
}

static void
put_u64(uint8 *p, uint64 v)
{
	put_u32(p, (uint32) v);
	put_u32(p + 4, (uint32) (v >> 32));
}

static uint32
crc32c_of(const uint8 *data, size_t len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, len);
	FIN_CRC32C(crc);
	return (uint32) crc;
}

const char *
envelope_kind_name(int kind)
{
	switch (kind)
	{
		case MODEL_KIND_XGBOOST:
			return "xgboost";
		case MODEL_KIND_SEASONAL_NAIVE:
			return "seasonal_naive";
		case MODEL_KIND_MOVING_AVERAGE:
			return "moving_average";
		default:
			return NULL;
	}
}

const char *
envelope_status_text(EnvelopeStatus st)
{
	switch (st)
	{
		case ENVELOPE_OK:
			return "ok";
		case ENVELOPE_TRUNCATED_HEADER:
			return "shorter than the envelope header";
		case ENVELOPE_BAD_MAGIC:
			return "wrong magic number";
		case ENVELOPE_FORMAT_UNSUPPORTED:
			return "unsupported envelope format version";
		case ENVELOPE_BAD_HEADER_CRC:
			return "header checksum mismatch";
		case ENVELOPE_BAD_RESERVED:
			return "reserved header bytes are not zero";
		case ENVELOPE_UNKNOWN_KIND:
			return "unknown model kind";
		case ENVELOPE_ZERO_LENGTH:
			return "empty payload";
		case ENVELOPE_LENGTH_MISMATCH:
			return "payload length does not match the bytes present";
		case ENVELOPE_BAD_PAYLOAD_CRC:
			return "payload checksum mismatch";
	}
	return "unknown envelope status";
}

/*
 * Order of checks: magic and format version first (those two fields keep their
 * place in every future format, so a newer envelope is recognised as such rather
 * than as corruption), then the header checksum, then the fields it covers, then
 * the payload.
 */
EnvelopeStatus
envelope_parse(const uint8 *buf, size_t len, EnvelopeHeader *hdr, const uint8 **payload)
{
	memset(hdr, 0, sizeof(*hdr));
	*payload = NULL;

	if (buf == NULL || len < ENVELOPE_HEADER_SIZE)
		return ENVELOPE_TRUNCATED_HEADER;
	if (memcmp(buf, ENVELOPE_MAGIC, ENVELOPE_MAGIC_LEN) != 0)
		return ENVELOPE_BAD_MAGIC;

	hdr->format = get_u16(buf + 8);
	if (hdr->format == 0 || hdr->format > ENVELOPE_FORMAT_VERSION)
		return ENVELOPE_FORMAT_UNSUPPORTED;

	hdr->kind = get_u16(buf + 10);
	hdr->reserved = get_u32(buf + 12);
	hdr->payload_len = get_u64(buf + 16);
	hdr->payload_crc = get_u32(buf + 24);
	hdr->header_crc = get_u32(buf + 28);

	if (crc32c_of(buf, 28) != hdr->header_crc)
		return ENVELOPE_BAD_HEADER_CRC;
	if (hdr->reserved != 0)
		return ENVELOPE_BAD_RESERVED;
	if (envelope_kind_name(hdr->kind) == NULL)
		return ENVELOPE_UNKNOWN_KIND;
	if (hdr->payload_len == 0)
		return ENVELOPE_ZERO_LENGTH;
	if (hdr->payload_len != (uint64) (len - ENVELOPE_HEADER_SIZE))
		return ENVELOPE_LENGTH_MISMATCH;
	if (crc32c_of(buf + ENVELOPE_HEADER_SIZE, (size_t) hdr->payload_len) != hdr->payload_crc)
		return ENVELOPE_BAD_PAYLOAD_CRC;

	*payload = buf + ENVELOPE_HEADER_SIZE;
	return ENVELOPE_OK;
}

void
envelope_build(uint8 *out, ModelKind kind, const uint8 *payload, size_t len)
{
	memcpy(out, ENVELOPE_MAGIC, ENVELOPE_MAGIC_LEN);
	put_u16(out + 8, ENVELOPE_FORMAT_VERSION);
	put_u16(out + 10, (uint16) kind);
	put_u32(out + 12, 0);
	put_u64(out + 16, (uint64) len);
	put_u32(out + 24, crc32c_of(payload, len));
	put_u32(out + 28, crc32c_of(out, 28));
	if (len > 0)
		memcpy(out + ENVELOPE_HEADER_SIZE, payload, len);
}

#ifndef SHELFOPS_NO_BACKEND

bytea *
envelope_wrap(ModelKind kind, const char *payload, size_t len)
{
	bytea	   *out;

	if (envelope_kind_name(kind) == NULL)
		elog(ERROR, "envelope_wrap: unknown model kind %d", (int) kind);
	if (len == 0)
		elog(ERROR, "envelope_wrap: refusing to wrap an empty %s payload", envelope_kind_name(kind));
	if ((uint64) len > ENVELOPE_MAX_PAYLOAD)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s model of %zu bytes is too large to store", envelope_kind_name(kind), len),
				 errdetail("A stored model holds at most %llu bytes.",
						   (unsigned long long) ENVELOPE_MAX_PAYLOAD)));

	out = (bytea *) palloc(VARHDRSZ + ENVELOPE_HEADER_SIZE + len);
	SET_VARSIZE(out, VARHDRSZ + ENVELOPE_HEADER_SIZE + len);
	envelope_build((uint8 *) VARDATA(out), kind, (const uint8 *) payload, len);
	return out;
}

void
envelope_open(bytea *env, ModelKind expected_kind, ModelKind *kind,
			  const char **payload, size_t *len, EnvelopeHeader *hdr_out)
{
	const uint8 *buf = (const uint8 *) VARDATA_ANY(env);
	size_t		buflen = VARSIZE_ANY_EXHDR(env);
	EnvelopeHeader hdr;
	const uint8 *p;
	EnvelopeStatus st = envelope_parse(buf, buflen, &hdr, &p);

	switch (st)
	{
		case ENVELOPE_OK:
			break;
		case ENVELOPE_TRUNCATED_HEADER:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model envelope is truncated: %zu bytes, the header alone needs %d",
							buflen, ENVELOPE_HEADER_SIZE)));
			break;
		case ENVELOPE_BAD_MAGIC:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model bytes are not a shelfops model envelope: wrong magic number"),
					 errdetail("The first 8 bytes must be \"%s\".", ENVELOPE_MAGIC)));
			break;
		case ENVELOPE_FORMAT_UNSUPPORTED:
			if (hdr.format > ENVELOPE_FORMAT_VERSION)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("model envelope format version %u is not supported", (unsigned) hdr.format),
						 errdetail("This shelfops reads envelope format version %d only; the model was written by a newer shelfops.",
								   ENVELOPE_FORMAT_VERSION)));
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model envelope format version %u is invalid", (unsigned) hdr.format),
					 errdetail("Supported envelope format versions: %d.", ENVELOPE_FORMAT_VERSION)));
			break;
		case ENVELOPE_BAD_HEADER_CRC:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model envelope header is corrupted: checksum mismatch"),
					 errdetail("Stored header CRC-32C %08x does not match the header bytes.",
							   hdr.header_crc)));
			break;
		case ENVELOPE_BAD_RESERVED:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model envelope header is corrupted: reserved bytes are %08x, not zero",
							hdr.reserved)));
			break;
		case ENVELOPE_UNKNOWN_KIND:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model envelope names unknown model kind %u", (unsigned) hdr.kind),
					 errdetail("Known kinds: 1 (xgboost), 2 (seasonal_naive), 3 (moving_average).")));
			break;
		case ENVELOPE_ZERO_LENGTH:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model envelope holds an empty payload")));
			break;
		case ENVELOPE_LENGTH_MISMATCH:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model envelope is corrupted: header says %llu payload bytes, %zu are present",
							(unsigned long long) hdr.payload_len, buflen - ENVELOPE_HEADER_SIZE)));
			break;
		case ENVELOPE_BAD_PAYLOAD_CRC:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model payload is corrupted: checksum mismatch"),
					 errdetail("Stored payload CRC-32C %08x does not match the %llu payload bytes.",
							   hdr.payload_crc, (unsigned long long) hdr.payload_len)));
			break;
	}

	if (expected_kind != MODEL_KIND_NONE && hdr.kind != (uint16) expected_kind)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model envelope holds a %s model, %s was expected",
						envelope_kind_name(hdr.kind), envelope_kind_name(expected_kind))));

	*kind = (ModelKind) hdr.kind;
	*payload = (const char *) p;
	*len = (size_t) hdr.payload_len;
	if (hdr_out)
		*hdr_out = hdr;
}

#endif							/* !SHELFOPS_NO_BACKEND */
