/*
 * util.h
 *	  Small helpers several modules share (see util.c).
 */
#ifndef SHELFOPS_UTIL_H
#define SHELFOPS_UTIL_H

#include "postgres.h"

#include "utils/date.h"

/* YYYY-MM-DD whatever DateStyle says (palloc'd): for documents and messages. */
extern char *shelfops_iso_date(DateADT d);

/* qsort comparator for an array of C strings (bytewise). */
extern int	shelfops_cmp_cstring_ptr(const void *a, const void *b);

/* Index of key in a bytewise-sorted array of n strings, or -1. */
extern int	shelfops_find_sorted(char **arr, int n, const char *key);

/*
 * ERROR (name_too_long) unless a server path given as argument "what" fits in
 * MAXPGPATH: longer ones would fail deep in a file call with an internal error.
 */
extern void shelfops_check_path_length(const char *path, const char *what);

/* Lower-case hex SHA-256 of a buffer (palloc'd). */
extern char *shelfops_sha256_hex(const void *data, size_t len);

#endif							/* SHELFOPS_UTIL_H */
