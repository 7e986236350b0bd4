/*
 * envelope.h
 *	  The checked envelope every stored model travels in.
 *
 * Layout (all integers little-endian, 32-byte header, then the payload):
 *
 *	 offset size  field
 *	  0      8    magic "SHELFOPS"
 *	  8      2    envelope format version (ENVELOPE_FORMAT_VERSION)
 *	 10      2    model kind (ModelKind)
 *	 12      4    reserved, must be zero
 *	 16      8    payload length in bytes (> 0)
 *	 24      4    CRC-32C of the payload
 *	 28      4    CRC-32C of header bytes 0..27
 *	 32      n    payload (what the model family saved)
 *
 * envelope_parse() is pure C (no palloc, no ereport) so the fuzzer can drive it
 * with -DSHELFOPS_NO_BACKEND; the backend wrappers turn its status into
 * ereport(ERROR).  No model library sees a byte of a payload before every check
 * here has passed.
 */
#ifndef SHELFOPS_ENVELOPE_H
#define SHELFOPS_ENVELOPE_H

#ifdef SHELFOPS_NO_BACKEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#define ENVELOPE_MAGIC			"SHELFOPS"
#define ENVELOPE_MAGIC_LEN		8
#define ENVELOPE_HEADER_SIZE	32
#define ENVELOPE_FORMAT_VERSION 1	/* the only format this build reads and writes */
#define ENVELOPE_MAX_PAYLOAD	((uint64) 0x3FFFFFFF - ENVELOPE_HEADER_SIZE)	/* bytea limit */

typedef enum ModelKind
{
	MODEL_KIND_NONE = 0,		/* "any kind" for envelope_open */
	MODEL_KIND_XGBOOST = 1,
	MODEL_KIND_SEASONAL_NAIVE = 2,
	MODEL_KIND_MOVING_AVERAGE = 3
} ModelKind;

#define MODEL_KIND_MAX 3

typedef enum EnvelopeStatus
{
	ENVELOPE_OK = 0,
	ENVELOPE_TRUNCATED_HEADER,	/* fewer bytes than a header */
	ENVELOPE_BAD_MAGIC,
	ENVELOPE_FORMAT_UNSUPPORTED,	/* format version 0 or newer than ours */
	ENVELOPE_BAD_HEADER_CRC,
	ENVELOPE_BAD_RESERVED,
	ENVELOPE_UNKNOWN_KIND,
	ENVELOPE_ZERO_LENGTH,
	ENVELOPE_LENGTH_MISMATCH,	/* header length != bytes present */
	ENVELOPE_BAD_PAYLOAD_CRC
} EnvelopeStatus;

typedef struct EnvelopeHeader
{
	uint16		format;
	uint16		kind;
	uint32		reserved;
	uint64		payload_len;
	uint32		payload_crc;
	uint32		header_crc;
} EnvelopeHeader;

/*
 * Check buf[0..len) completely.  On ENVELOPE_OK *payload points into buf.
 * Whatever the status, *hdr holds the fields decoded so far (zero otherwise),
 * so error messages can name what was found.
 */
extern EnvelopeStatus envelope_parse(const uint8 *buf, size_t len,
									 EnvelopeHeader *hdr, const uint8 **payload);

/* Write header + payload into out (ENVELOPE_HEADER_SIZE + len bytes). */
extern void envelope_build(uint8 *out, ModelKind kind, const uint8 *payload, size_t len);

/* Name of a kind ("xgboost", ...) or NULL when unknown. */
extern const char *envelope_kind_name(int kind);

/* Human text for a status (no values; the backend adds those). */
extern const char *envelope_status_text(EnvelopeStatus st);

#ifndef SHELFOPS_NO_BACKEND
/* palloc'd bytea holding the enveloped payload. */
extern bytea *envelope_wrap(ModelKind kind, const char *payload, size_t len);

/*
 * Verify env and return its kind and payload (pointing into env's detoasted
 * copy, which lives in the current memory context).  expected_kind
 * MODEL_KIND_NONE accepts any known kind.  Every failure is
 * ereport(ERROR, ERRCODE_DATA_CORRUPTED) -- or ERRCODE_FEATURE_NOT_SUPPORTED
 * for a newer format -- naming what was wrong.  hdr_out may be NULL.
 */
extern void envelope_open(bytea *env, ModelKind expected_kind, ModelKind *kind,
						  const char **payload, size_t *len, EnvelopeHeader *hdr_out);
#endif

#endif							/* SHELFOPS_ENVELOPE_H */
